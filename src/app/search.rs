//! Search and history: parse the request against the search registry, ask the store for one
//! indexed page, hand the page (and its links' cursors) to the HTTP layer.

use super::intake::check_id;
use super::intake::check_supported_type;
use super::AppError;
use crate::config::SearchSettings;
use crate::domain::guide::resource_types::search_registry;
use crate::store::search::SearchResult;
use crate::store::{SharedStore, StoredResource};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fhir_engine::outcome::{Issue, IssueType};
use fhir_engine::search::date_range;
use fhir_engine::search::elements::ElementDef;
use fhir_engine::search::parse::{Handling, Parser, SearchLimits};
use fhir_engine::search::{Compartment, HistoryQuery, SearchQuery};
use fhir_engine::validation::structure::StructureValidator;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Search {
    store: SharedStore,
    limits: SearchLimits,
    /// The base definitions `_elements` and `_summary` read (choice and mandatory elements).
    definitions: Option<Arc<StructureValidator>>,
}

/// A page of search results with the query it answers (for links and `_elements`).
pub struct SearchPage {
    pub query: SearchQuery,
    /// The path the links repeat: `Type`, or `Patient/<id>/Type` for a compartment search.
    pub path: String,
    pub result: SearchResult,
    /// With `_elements` or `_summary`: the top-level elements of each type on the page.
    pub element_defs: HashMap<String, Vec<ElementDef>>,
}

impl SearchPage {
    /// The top-level element definitions of `resource_type` (empty when unknown).
    pub fn elements_of(&self, resource_type: &str) -> &[ElementDef] {
        self.element_defs
            .get(resource_type)
            .map_or(&[], Vec::as_slice)
    }
}

/// A page of history, newest first.
pub struct HistoryPage {
    pub versions: Vec<StoredResource>,
    /// The recognised parameters, for the links.
    pub link_params: Vec<(String, String)>,
    /// `_page` value of the next page, when there is one.
    pub next: Option<String>,
}

impl Search {
    pub fn new(store: SharedStore, settings: &SearchSettings) -> Self {
        Self {
            store,
            limits: SearchLimits {
                default_count: settings.default_count,
                max_count: settings.max_count,
                max_included: settings.max_included,
            },
            definitions: None,
        }
    }

    /// `_elements` and `_summary` name elements as these definitions do.
    pub fn with_definitions(mut self, definitions: Arc<StructureValidator>) -> Self {
        self.definitions = Some(definitions);
        self
    }

    fn parser<'a>(&'a self, base_url: &'a str, handling: Handling) -> Parser<'a> {
        Parser {
            registry: search_registry(),
            base_url,
            handling,
            limits: &self.limits,
        }
    }

    /// `required_tag`: a `_tag` criterion (`system|code`) the caller's access adds; it
    /// narrows the matches but is not shown in the Bundle's links.
    pub async fn search(
        &self,
        resource_type: &str,
        params: &[(String, String)],
        required_tag: Option<&str>,
        handling: Handling,
        base_url: &str,
    ) -> Result<SearchPage, AppError> {
        let query = self.parse(resource_type, params, required_tag, handling, base_url)?;
        self.page(query, resource_type.to_string()).await
    }

    /// Runs a parsed query; with `_elements` or `_summary`, the page carries the top-level
    /// element definitions of each type on it.
    async fn page(&self, query: SearchQuery, path: String) -> Result<SearchPage, AppError> {
        let result = self.store.search(&query).await.map_err(AppError::Store)?;
        let mut element_defs = HashMap::new();
        if let Some(definitions) = self
            .definitions
            .as_ref()
            .filter(|_| query.elements.is_some() || query.summary.is_some())
        {
            for stored in result.matches.iter().chain(&result.included) {
                element_defs
                    .entry(stored.resource_type.clone())
                    .or_insert_with(|| definitions.top_level_elements(&stored.resource_type));
            }
        }
        Ok(SearchPage {
            query,
            path,
            result,
            element_defs,
        })
    }

    /// Compartment search, `GET /fhir/Patient/<id>/<type>?…` (R4 §3.1.0.8.2): the search,
    /// narrowed to the resources the R4 Patient CompartmentDefinition puts in that patient's
    /// compartment (any of its parameters for the type pointing at the patient).
    #[allow(clippy::too_many_arguments)]
    pub async fn compartment_search(
        &self,
        compartment: &str,
        id: &str,
        resource_type: &str,
        params: &[(String, String)],
        required_tag: Option<&str>,
        handling: Handling,
        base_url: &str,
    ) -> Result<SearchPage, AppError> {
        let definition = Compartment::patient();
        if compartment != definition.code {
            return Err(AppError::NotFound(Issue::error(
                IssueType::NotSupported,
                format!(
                    "compartment search is offered for the {} compartment only",
                    definition.code
                ),
            )));
        }
        check_id(id)?;
        check_supported_type(resource_type)?;
        let clause = definition
            .clause(search_registry(), resource_type, id)
            .ok_or_else(|| {
                AppError::invalid(Issue::error(
                    IssueType::NotSupported,
                    format!(
                        "{resource_type} is not in the {} compartment ({})",
                        definition.code, definition.url
                    ),
                ))
            })?;
        let mut query = self.parse(resource_type, params, required_tag, handling, base_url)?;
        query.clauses.push(clause);
        self.page(query, format!("{compartment}/{id}/{resource_type}"))
            .await
    }

    fn parse(
        &self,
        resource_type: &str,
        params: &[(String, String)],
        required_tag: Option<&str>,
        handling: Handling,
        base_url: &str,
    ) -> Result<SearchQuery, AppError> {
        check_supported_type(resource_type)?;
        let mut all = params.to_vec();
        if let Some(tag) = required_tag {
            all.push(("_tag".to_string(), tag.to_string()));
        }
        let mut query = self
            .parser(base_url, handling)
            .parse(resource_type, &all)
            .map_err(AppError::Invalid)?;
        if let Some(tag) = required_tag {
            if let Some(i) = query
                .link_params
                .iter()
                .rposition(|(k, v)| k == "_tag" && v == tag)
            {
                query.link_params.remove(i);
            }
        }
        Ok(query)
    }

    /// Ids matching conditional criteria (`PUT/DELETE /fhir/{type}?…`): at most two, which is
    /// enough to tell none, one and several apart. Unknown parameters are refused: a
    /// conditional write must never match more than the client meant.
    pub async fn conditional_matches(
        &self,
        resource_type: &str,
        params: &[(String, String)],
        base_url: &str,
    ) -> Result<Vec<String>, AppError> {
        check_supported_type(resource_type)?;
        let mut query = self
            .parser(base_url, Handling::Strict)
            .parse(resource_type, params)
            .map_err(AppError::Invalid)?;
        if query.clauses.is_empty() {
            return Err(AppError::invalid(Issue::error(
                IssueType::Invalid,
                "a conditional update or delete needs search criteria, such as ?identifier=system|value",
            )));
        }
        query.count = 2;
        query.includes.clear();
        query.revincludes.clear();
        query.count_only = false;
        query.total = false;
        let result = self.store.search(&query).await.map_err(AppError::Store)?;
        Ok(result.matches.into_iter().map(|r| r.id).collect())
    }

    /// `_history` at instance (type and id), type (type) or system (neither) level.
    pub async fn history(
        &self,
        resource_type: Option<&str>,
        id: Option<&str>,
        params: &[(String, String)],
        handling: Handling,
    ) -> Result<HistoryPage, AppError> {
        if let Some(rt) = resource_type {
            check_supported_type(rt)?;
        }
        let mut q = HistoryQuery {
            resource_type: resource_type.map(str::to_string),
            id: id.map(str::to_string),
            since_ms: None,
            count: self.limits.default_count,
            after: None,
        };
        let mut link_params = Vec::new();
        for (name, value) in params {
            match name.as_str() {
                "_since" => {
                    let since = date_range::parse(&value.replace(' ', "+")).ok_or_else(|| {
                        AppError::invalid(Issue::error(
                            IssueType::Invalid,
                            format!("_since must be an instant such as 2026-03-04T10:00:00Z, not '{value}'"),
                        ))
                    })?;
                    q.since_ms = Some(since.low);
                    link_params.push((name.clone(), value.clone()));
                }
                "_count" => {
                    let n: usize = value.parse().map_err(|_| {
                        AppError::invalid(Issue::error(
                            IssueType::Invalid,
                            format!("_count must be a positive integer, not '{value}'"),
                        ))
                    })?;
                    q.count = n.clamp(1, self.limits.max_count);
                    link_params.push((name.clone(), value.clone()));
                }
                "_page" => {
                    q.after = Some(decode_history_cursor(value).ok_or_else(|| {
                        AppError::invalid(Issue::error(
                            IssueType::Invalid,
                            "the history paging cursor is not valid; follow the Bundle's links",
                        ))
                    })?);
                }
                "_format" | "_pretty" => {}
                other => {
                    if handling == Handling::Strict {
                        return Err(AppError::invalid(Issue::error(
                            IssueType::NotSupported,
                            format!(
                                "'{other}' is not supported by _history (_since and _count are)"
                            ),
                        )));
                    }
                }
            }
        }
        let count = q.count;
        q.count = count + 1;
        let mut versions = self.store.history(&q).await.map_err(AppError::Store)?;
        let next = if versions.len() > count {
            versions.truncate(count);
            versions.last().map(encode_history_cursor)
        } else {
            None
        };
        if id.is_some() && versions.is_empty() && q.after.is_none() && q.since_ms.is_none() {
            return Err(AppError::NotFound(Issue::error(
                IssueType::NotFound,
                format!(
                    "{}/{} is not known",
                    resource_type.unwrap_or_default(),
                    id.unwrap_or_default()
                ),
            )));
        }
        Ok(HistoryPage {
            versions,
            link_params,
            next,
        })
    }
}

fn encode_history_cursor(v: &StoredResource) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}.{}.{}.{}",
        v.last_updated_ms, v.version_id, v.resource_type, v.id
    ))
}

fn decode_history_cursor(text: &str) -> Option<(i64, String, String, u64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    let mut parts = raw.splitn(4, '.');
    let lu = parts.next()?.parse().ok()?;
    let v = parts.next()?.parse().ok()?;
    let rt = parts.next()?.to_string();
    let id = parts.next()?.to_string();
    Some((lu, rt, id, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_cursor_round_trip() {
        let v = StoredResource {
            resource_type: "CarePlan".into(),
            id: "a.b".into(),
            version_id: 3,
            last_updated_ms: 42,
            deleted: false,
            body: None,
        };
        assert_eq!(
            decode_history_cursor(&encode_history_cursor(&v)),
            Some((42, "CarePlan".into(), "a.b".into(), 3))
        );
    }
}
