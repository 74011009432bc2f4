//! The search and history algorithms over any backend: a keyset page, its bodies, the total
//! when asked, then `_include` / `_revinclude` (with `:iterate`).

use super::sql::{Builder, Dialect};
use super::{SearchResult, SqlRunner};
use crate::store::{StoreError, StoredResource};
use fhir_engine::search::{Cursor, HistoryQuery, Include, SearchQuery};
use std::collections::{HashMap, HashSet};

/// `_include:iterate` rounds: each round follows the resources the last one added.
const MAX_ITERATE_ROUNDS: usize = 3;
/// Ids per `IN (…)` list, well below both backends' parameter limits.
const CHUNK: usize = 500;

pub async fn search(
    runner: &dyn SqlRunner,
    dialect: Dialect,
    q: &SearchQuery,
) -> Result<SearchResult, StoreError> {
    let mut result = SearchResult::default();
    if q.total {
        let mut b = Builder::new(dialect);
        let text = b.count(q);
        result.total = Some(runner.count(b.finish(text)).await?.max(0) as u64);
    }
    if q.count_only || q.count == 0 {
        return Ok(result);
    }
    let mut b = Builder::new(dialect);
    let text = b.page(q, q.count + 1);
    let mut keys = runner.keys(b.finish(text)).await?;
    let backward = q.cursor.as_ref().is_some_and(|c| c.backward);
    let more = keys.len() > q.count;
    keys.truncate(q.count);
    if backward {
        keys.reverse();
    }
    let cursor_at = |(id, key): &(String, i64), backward: bool| Cursor {
        key: *key,
        id: id.clone(),
        backward,
    };
    // forward: a next page when more rows came back; a previous page when we did not start
    // at the beginning. Backward: the mirror image.
    let (has_next, has_previous) = if backward {
        (true, more)
    } else {
        (more, q.cursor.is_some())
    };
    if has_next {
        result.next = keys.last().map(|k| cursor_at(k, false));
    }
    if has_previous {
        result.previous = keys.first().map(|k| cursor_at(k, true));
    }
    let ids: Vec<String> = keys.into_iter().map(|(id, _)| id).collect();
    result.matches = load(runner, dialect, &q.resource_type, &ids).await?;
    result.included = included(runner, dialect, q, &result.matches).await?;
    Ok(result)
}

/// Current live versions of `ids`, in the order of `ids` (deleted or missing ones left out).
async fn load(
    runner: &dyn SqlRunner,
    dialect: Dialect,
    resource_type: &str,
    ids: &[String],
) -> Result<Vec<StoredResource>, StoreError> {
    let mut found: HashMap<String, StoredResource> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut b = Builder::new(dialect);
        let text = b.current_of(resource_type, chunk);
        for r in runner.versions(b.finish_lookup(text)).await? {
            found.insert(r.id.clone(), r);
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

async fn included(
    runner: &dyn SqlRunner,
    dialect: Dialect,
    q: &SearchQuery,
    matches: &[StoredResource],
) -> Result<Vec<StoredResource>, StoreError> {
    if (q.includes.is_empty() && q.revincludes.is_empty()) || matches.is_empty() {
        return Ok(Vec::new());
    }
    let key = |r: &StoredResource| (r.resource_type.clone(), r.id.clone());
    let mut seen: HashSet<(String, String)> = matches.iter().map(key).collect();
    let mut out: Vec<StoredResource> = Vec::new();
    // the first round follows every include from the matches; later rounds only the
    // :iterate ones, from what the previous round added
    let mut frontier: Vec<StoredResource> = matches.to_vec();
    for round in 0..=MAX_ITERATE_ROUNDS {
        let active = |i: &&Include| round == 0 || i.iterate;
        let mut wanted: Vec<(String, String)> = Vec::new();
        for inc in q.includes.iter().filter(active) {
            let sources = ids_of_type(&frontier, &inc.source_type);
            for chunk in sources.chunks(CHUNK) {
                let mut b = Builder::new(dialect);
                let text = b.referenced(
                    &inc.source_type,
                    &inc.param,
                    chunk,
                    inc.target_type.as_deref(),
                );
                wanted.extend(runner.pairs(b.finish_lookup(text)).await?);
            }
        }
        for inc in q.revincludes.iter().filter(active) {
            let target_types: Vec<String> = match &inc.target_type {
                Some(t) => vec![t.clone()],
                None => frontier
                    .iter()
                    .map(|r| r.resource_type.clone())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect(),
            };
            for target in target_types {
                let targets = ids_of_type(&frontier, &target);
                for chunk in targets.chunks(CHUNK) {
                    let mut b = Builder::new(dialect);
                    let text = b.referencing(&inc.source_type, &inc.param, &target, chunk);
                    wanted.extend(runner.pairs(b.finish_lookup(text)).await?);
                }
            }
        }
        wanted.retain(|w| !seen.contains(w));
        wanted.sort();
        wanted.dedup();
        let room = q.max_included.saturating_sub(out.len());
        wanted.truncate(room);
        if wanted.is_empty() {
            break;
        }
        let mut by_type: HashMap<String, Vec<String>> = HashMap::new();
        for (t, id) in &wanted {
            by_type.entry(t.clone()).or_default().push(id.clone());
        }
        let mut added = Vec::new();
        for (t, ids) in by_type {
            added.extend(load(runner, dialect, &t, &ids).await?);
        }
        added.sort_by(|a, b| (&a.resource_type, &a.id).cmp(&(&b.resource_type, &b.id)));
        seen.extend(wanted);
        out.extend(added.iter().cloned());
        frontier = added;
    }
    Ok(out)
}

fn ids_of_type(resources: &[StoredResource], resource_type: &str) -> Vec<String> {
    resources
        .iter()
        .filter(|r| r.resource_type == resource_type)
        .map(|r| r.id.clone())
        .collect()
}

pub async fn history(
    runner: &dyn SqlRunner,
    dialect: Dialect,
    q: &HistoryQuery,
) -> Result<Vec<StoredResource>, StoreError> {
    let mut b = Builder::new(dialect);
    let text = b.history(q);
    runner.versions(b.finish(text)).await
}
