//! Transaction Bundles (all or nothing, references between entries resolved) and batch
//! Bundles (entry by entry), both processed in R4 order: DELETE, POST, PUT, then GET.

use super::bundle_entry::{
    check_entry, duplicate_full_url, entry_outcome, plan, unresolved, Planned, Target,
};
use super::{Intake, Written};
use crate::app::search::SearchPage;
use crate::app::AppError;
use crate::store::StoredResource;
use fhir_engine::bundle::references::{FullUrls, Resolved};
use fhir_engine::bundle::{entry_requests, kind_of, BundleKind, EntryRequest, Method};
use fhir_engine::json::{parse_resource, resource_type_of};
use fhir_engine::model::reference;
use fhir_engine::outcome::{Issue, IssueType};
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub struct BundleOutcome {
    pub kind: BundleKind,
    /// One per `Bundle.entry`, in the request's order.
    pub entries: Vec<EntryOutcome>,
    /// Validation warnings by entry index: accepted, and returned in `response.outcome`.
    pub warnings: HashMap<usize, Vec<Issue>>,
}

pub enum EntryOutcome {
    Written(Written),
    /// The tombstone's version, `None` when there was nothing to delete.
    Deleted(Option<u64>),
    /// A GET read: the current version.
    Read(StoredResource),
    /// A GET read whose `ifNoneMatch` or `ifModifiedSince` held: 304, no resource.
    NotModified(StoredResource),
    /// A GET search: its page.
    Searched(Box<SearchPage>),
    /// In a batch: this entry failed, the others stand. In a transaction: only a GET (run
    /// after the writes are committed).
    Failed(AppError),
}

impl Intake {
    /// Parses what was posted to [base], within the JSON limits: the one parse that
    /// authorization reads before [`Intake::process_bundle`] takes it.
    pub fn parse_bundle(&self, body: &[u8]) -> Result<Value, AppError> {
        Ok(parse_resource(body, self.limits.json())?)
    }

    /// `bundle`: `body` as [`Intake::parse_bundle`] parsed it (`body` locates its issues).
    /// `base_url`: the FHIR base as the client sees it (searches' links).
    pub async fn process_bundle(
        &self,
        body: &[u8],
        bundle: Value,
        base_url: &str,
    ) -> Result<BundleOutcome, AppError> {
        let rt = resource_type_of(&bundle).unwrap_or_default();
        if rt != "Bundle" {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Invalid,
                    format!("POST [base] takes a Bundle, not a {rt}"),
                )
                .at(format!("{rt}.resourceType")),
            ));
        }
        let kind = kind_of(&bundle).map_err(AppError::invalid)?;
        let count = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if count > self.limits.max_bundle_entries {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::TooCostly,
                    format!(
                        "the Bundle has {count} entries; the limit is {}",
                        self.limits.max_bundle_entries
                    ),
                )
                .at("Bundle.entry"),
            ));
        }
        let mut outcome = self.validator.check(&bundle);
        super::locate(body, &bundle, &mut outcome);
        let mut warnings: HashMap<usize, Vec<Issue>> = HashMap::new();
        for issue in outcome.all().into_iter().filter(|i| !i.is_error()) {
            if let Some(i) = issue.expression.first().and_then(|e| entry_index(e)) {
                warnings.entry(i).or_default().push(issue);
            }
        }
        let mut result = match kind {
            BundleKind::Transaction => {
                super::rejection(outcome)?;
                self.transaction(bundle, None, base_url).await
            }
            BundleKind::Batch => {
                let profile = !outcome.base_errors();
                let issues: Vec<Issue> =
                    outcome.all().into_iter().filter(Issue::is_error).collect();
                self.batch(bundle, issues, profile, base_url).await
            }
        }?;
        result.warnings = warnings;
        Ok(result)
    }

    /// `message_source`: the sender's endpoint when the entries came as a FHIR message.
    pub(super) async fn transaction(
        &self,
        mut bundle: Value,
        message_source: Option<&str>,
        base_url: &str,
    ) -> Result<BundleOutcome, AppError> {
        let (full_urls, duplicates) = FullUrls::of_bundle(&bundle);
        let mut issues: Vec<Issue> = duplicates.into_iter().map(duplicate_full_url).collect();
        let mut entries = Vec::new();
        for request in entry_requests(&mut bundle) {
            match request {
                Ok(entry) => {
                    issues.extend(check_entry(&entry));
                    entries.push(entry);
                }
                Err(issue) => issues.push(issue),
            }
        }
        if !issues.is_empty() {
            return Err(AppError::Invalid(issues));
        }

        // Where each entry writes (conditional URLs are searched now), then every reference
        // to an entry (R4 "Resolving references in Bundles") points at its Type/id.
        let mut targets = Vec::with_capacity(entries.len());
        for entry in &entries {
            targets.push(self.target_of(entry, base_url).await?);
        }
        let written_as: HashMap<usize, String> = entries
            .iter()
            .zip(&targets)
            .filter_map(|(e, t)| Some((e.index, format!("{}/{}", e.resource_type, t.id()?))))
            .collect();
        check_distinct_targets(&entries, &written_as)?;
        for entry in entries.iter_mut() {
            let index = entry.index;
            if let Some(resource) = entry.resource.as_mut() {
                self.resolve_conditional_references(index, resource, base_url)
                    .await?;
                let dangling = full_urls.rewrite(resource, entry.full_url.as_deref(), |i| {
                    written_as.get(&i).cloned()
                });
                issues.extend(dangling.into_iter().map(|d| unresolved(index, d)));
            }
        }
        if !issues.is_empty() {
            return Err(AppError::Invalid(issues));
        }

        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| entries[i].method.processing_rank());
        let mut slots: Vec<Option<(EntryRequest, Target)>> =
            entries.into_iter().zip(targets).map(Some).collect();
        let mut placed: Vec<Option<EntryOutcome>> = (0..order.len()).map(|_| None).collect();
        let (mut ops, mut op_entry, mut gets) = (Vec::new(), Vec::new(), Vec::new());
        for &i in &order {
            let Some((entry, target)) = slots[i].take() else {
                continue;
            };
            match plan(entry, target) {
                Planned::Write(op) => {
                    ops.push(op);
                    op_entry.push(i);
                }
                Planned::NothingDeleted => placed[i] = Some(EntryOutcome::Deleted(None)),
                Planned::Get(entry) => gets.push((i, entry)),
            }
        }
        let outcomes = self
            .apply(
                ops,
                |op| op_entry.get(op).map(|i| format!("Bundle.entry[{i}]")),
                message_source,
            )
            .await?;
        for (outcome, &i) in outcomes.into_iter().zip(&op_entry) {
            placed[i] = Some(entry_outcome(outcome));
        }
        // reads and searches see the transaction's writes
        for (i, entry) in gets {
            placed[i] = Some(self.get_entry(&entry, base_url).await);
        }
        Ok(BundleOutcome {
            warnings: HashMap::new(),
            kind: BundleKind::Transaction,
            entries: placed
                .into_iter()
                .map(|o| o.unwrap_or(EntryOutcome::Deleted(None)))
                .collect(),
        })
    }

    async fn batch(
        &self,
        mut bundle: Value,
        issues: Vec<Issue>,
        profile_issues: bool,
        base_url: &str,
    ) -> Result<BundleOutcome, AppError> {
        let mut per_entry: HashMap<usize, Vec<Issue>> = HashMap::new();
        let mut outside = Vec::new();
        for issue in issues {
            match issue.expression.first().and_then(|e| entry_index(e)) {
                Some(i) => per_entry.entry(i).or_default().push(issue),
                None => outside.push(issue),
            }
        }
        if !outside.is_empty() {
            return Err(if profile_issues {
                AppError::Unprocessable(outside)
            } else {
                AppError::Invalid(outside)
            });
        }
        let (full_urls, duplicates) = FullUrls::of_bundle(&bundle);
        let duplicates: HashSet<usize> = duplicates.into_iter().collect();
        let requests = entry_requests(&mut bundle);
        // A batch's entries are independent: a reference to another entry is kept only when
        // that entry's id is known before it is processed (PUT or DELETE Type/id).
        let fixed_targets: HashMap<usize, Option<String>> = requests
            .iter()
            .flatten()
            .map(|entry| {
                let target = match (entry.method, &entry.id) {
                    (Method::Put | Method::Delete, Some(id)) => {
                        Some(format!("{}/{id}", entry.resource_type))
                    }
                    _ => None,
                };
                (entry.index, target)
            })
            .collect();

        // Each entry checked and planned on its own; then run rank by rank (R4 order).
        let mut placed: Vec<Option<EntryOutcome>> = (0..requests.len()).map(|_| None).collect();
        let mut ranked: Vec<(u8, usize, Planned)> = Vec::new();
        for (index, request) in requests.into_iter().enumerate() {
            let schema_issues = per_entry.remove(&index).unwrap_or_default();
            let prepared = self
                .batch_entry(
                    index,
                    request,
                    schema_issues,
                    profile_issues,
                    duplicates.contains(&index),
                    (&full_urls, &fixed_targets),
                    base_url,
                )
                .await;
            match prepared {
                Ok((rank, planned)) => ranked.push((rank, index, planned)),
                Err(e) => placed[index] = Some(EntryOutcome::Failed(e)),
            }
        }
        ranked.sort_by_key(|(rank, index, _)| (*rank, *index));
        let mut ranks = ranked.into_iter().peekable();
        while let Some((rank, index, planned)) = ranks.next() {
            let mut group = vec![(index, planned)];
            while let Some((_, index, planned)) = ranks.next_if(|(r, _, _)| *r == rank) {
                group.push((index, planned));
            }
            let work = group.into_iter().map(|(index, planned)| async move {
                let outcome = match planned {
                    Planned::NothingDeleted => EntryOutcome::Deleted(None),
                    Planned::Get(entry) => self.get_entry(&entry, base_url).await,
                    Planned::Write(op) => match self
                        .apply(vec![op], |_| Some(format!("Bundle.entry[{index}]")), None)
                        .await
                    {
                        Ok(mut outcomes) => match outcomes.pop() {
                            Some(outcome) => entry_outcome(outcome),
                            None => EntryOutcome::Deleted(None),
                        },
                        Err(e) => EntryOutcome::Failed(e),
                    },
                };
                (index, outcome)
            });
            for (index, outcome) in join_all(work).await {
                placed[index] = Some(outcome);
            }
        }
        Ok(BundleOutcome {
            warnings: HashMap::new(),
            kind: BundleKind::Batch,
            entries: placed
                .into_iter()
                .map(|o| o.unwrap_or(EntryOutcome::Deleted(None)))
                .collect(),
        })
    }

    /// Checks and plans one batch entry; returns its processing rank and what it becomes.
    #[allow(clippy::too_many_arguments)]
    async fn batch_entry(
        &self,
        index: usize,
        request: Result<EntryRequest, Issue>,
        schema_issues: Vec<Issue>,
        profile_issues: bool,
        duplicate: bool,
        (full_urls, fixed_targets): (&FullUrls, &HashMap<usize, Option<String>>),
        base_url: &str,
    ) -> Result<(u8, Planned), AppError> {
        let mut entry = request.map_err(AppError::invalid)?;
        // an entry that breaks only profile rules is unprocessable (422)
        if profile_issues && !schema_issues.is_empty() {
            return Err(AppError::Unprocessable(schema_issues));
        }
        let mut issues = schema_issues;
        issues.extend(check_entry(&entry));
        if duplicate {
            issues.push(duplicate_full_url(index));
        }
        if !issues.is_empty() {
            return Err(AppError::Invalid(issues));
        }
        let target = self.target_of(&entry, base_url).await?;
        if let Some(resource) = entry.resource.as_mut() {
            self.resolve_conditional_references(index, resource, base_url)
                .await?;
            let issues = batch_references(
                index,
                resource,
                entry.full_url.as_deref(),
                full_urls,
                fixed_targets,
            );
            if !issues.is_empty() {
                return Err(AppError::Invalid(issues));
            }
        }
        Ok((entry.method.processing_rank(), plan(entry, target)))
    }
}

fn entry_index(expression: &str) -> Option<usize> {
    let rest = expression.strip_prefix("Bundle.entry[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// R4: a transaction fails when two of its writes resolve to the same resource.
fn check_distinct_targets(
    entries: &[EntryRequest],
    written_as: &HashMap<usize, String>,
) -> Result<(), AppError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for entry in entries.iter().filter(|e| e.method != Method::Get) {
        let Some(target) = written_as.get(&entry.index) else {
            continue;
        };
        if let Some(first) = seen.insert(target.as_str(), entry.index) {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Duplicate,
                    format!("Bundle.entry[{first}] and this entry both write {target}; a transaction writes each resource once"),
                )
                .at(format!("Bundle.entry[{}].request", entry.index)),
            ));
        }
    }
    Ok(())
}

/// Resolves a batch entry's references: to another entry only when that entry's id is known
/// up front; a reference to an entry the batch creates is refused (that is a transaction's
/// job), as is a URN that names no entry.
fn batch_references(
    index: usize,
    resource: &mut Value,
    referrer: Option<&str>,
    full_urls: &FullUrls,
    targets: &HashMap<usize, Option<String>>,
) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (path, r) in reference::references_with_paths(resource) {
        if let Resolved::Entry(other) = full_urls.resolve(&r, referrer) {
            if other != index && targets.get(&other).is_none_or(Option::is_none) {
                issues.push(
                    Issue::error(
                        IssueType::NotSupported,
                        format!(
                            "reference '{r}' names Bundle.entry[{other}], whose id is assigned when it is created; batch entries are independent, send them as a transaction"
                        ),
                    )
                    .at(format!("Bundle.entry[{index}].resource.{path}")),
                );
            }
        }
    }
    let dangling = full_urls.rewrite(resource, referrer, |i| targets.get(&i).cloned().flatten());
    issues.extend(dangling.into_iter().map(|d| unresolved(index, d)));
    issues
}
