//! Reading a transaction or batch Bundle into entry requests; [`references`]: resolving
//! references between a Bundle's entries.

pub mod references;

use crate::json::resource_type_of;
use crate::outcome::{Issue, IssueType};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    Transaction,
    Batch,
}

impl BundleKind {
    pub fn response_type(self) -> &'static str {
        match self {
            BundleKind::Transaction => "transaction-response",
            BundleKind::Batch => "batch-response",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    /// R4 transaction processing order: DELETE, POST, PUT (and PATCH), then GET.
    pub fn processing_rank(self) -> u8 {
        match self {
            Method::Delete => 0,
            Method::Post => 1,
            Method::Put => 2,
            Method::Get => 3,
        }
    }
}

/// One `Bundle.entry`, checked for shape (not yet for content).
#[derive(Debug, Clone)]
pub struct EntryRequest {
    pub index: usize,
    pub full_url: Option<String>,
    pub method: Method,
    pub resource_type: String,
    /// From the request URL (`Type/id`) for PUT, DELETE and a GET read.
    pub id: Option<String>,
    /// A GET vread's version (`Type/id/_history/vid`).
    pub version: Option<String>,
    /// The query of the request URL (`Type?criteria`): the criteria of a conditional update
    /// or delete, or a GET's search parameters.
    pub criteria: Option<String>,
    pub resource: Option<Value>,
    pub if_none_exist: Option<String>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

pub fn kind_of(bundle: &Value) -> Result<BundleKind, Issue> {
    match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => Ok(BundleKind::Transaction),
        Some("batch") => Ok(BundleKind::Batch),
        Some("message") => Err(Issue::error(
            IssueType::NotSupported,
            "message Bundles are processed by POST [base]/$process-message, not by POST [base]",
        )
        .at("Bundle.type")),
        Some(other) => Err(Issue::error(
            IssueType::Value,
            format!("POST [base] accepts a transaction or batch Bundle, not type '{other}'"),
        )
        .at("Bundle.type")),
        None => Err(Issue::error(IssueType::Required, "Bundle.type is required").at("Bundle.type")),
    }
}

/// Splits the Bundle into entry requests; each entry either parses or carries its issue.
pub fn entry_requests(bundle: &mut Value) -> Vec<Result<EntryRequest, Issue>> {
    let entries = match bundle.get_mut("entry") {
        Some(Value::Array(entries)) => std::mem::take(entries),
        _ => Vec::new(),
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| entry_request(index, entry))
        .collect()
}

fn entry_request(index: usize, mut entry: Value) -> Result<EntryRequest, Issue> {
    let at = |field: &str| format!("Bundle.entry[{index}].{field}");
    let request = entry
        .get("request")
        .ok_or_else(|| {
            Issue::error(
                IssueType::Required,
                "entry.request is required in a transaction or batch",
            )
            .at(at("request"))
        })?
        .clone();
    let text = |field: &str| {
        request
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let method = match text("method").as_deref() {
        Some("GET") => Method::Get,
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        Some(m @ ("HEAD" | "PATCH")) => {
            return Err(Issue::error(
                IssueType::NotSupported,
                format!("entry.request.method {m} is not supported in a Bundle by this server"),
            )
            .at(at("request.method")))
        }
        _ => {
            return Err(Issue::error(
                IssueType::Required,
                "entry.request.method is missing or unknown",
            )
            .at(at("request.method")))
        }
    };
    let url = text("url").ok_or_else(|| {
        Issue::error(IssueType::Required, "entry.request.url is required").at(at("request.url"))
    })?;
    let (path, criteria) = match url.trim_start_matches('/').split_once('?') {
        Some((path, query)) => (path, Some(query.to_string())),
        None => (url.trim_start_matches('/'), None),
    };
    let mut parts = path.split('/');
    let resource_type = parts.next().unwrap_or_default().to_string();
    let id = parts.next().map(str::to_string);
    // GET [type]/[id]/_history/[vid]: a vread
    let version = match (method, parts.next(), parts.next()) {
        (Method::Get, Some("_history"), Some(v)) if !v.is_empty() => Some(v.to_string()),
        (_, None, _) => None,
        // anything else after the id: not a form this method takes
        _ => Some(String::new()),
    };
    let has_id = id.as_deref().is_some_and(|i| !i.is_empty())
        && version.as_deref() != Some("")
        && parts.next().is_none();
    let conditional = criteria.as_deref().is_some_and(|c| !c.is_empty());
    // POST [type]; PUT and DELETE [type]/[id] or [type]?criteria; GET [type]/[id] or
    // [type]?params
    let well_formed = match method {
        Method::Post => id.is_none() && criteria.is_none(),
        Method::Put | Method::Delete => {
            (has_id && version.is_none() && criteria.is_none()) || (id.is_none() && conditional)
        }
        Method::Get => (has_id && criteria.is_none()) || id.is_none(),
    };
    if resource_type.is_empty() || !well_formed {
        let expected = match method {
            Method::Post => "[type]",
            Method::Put | Method::Delete => "[type]/[id] or [type]?[criteria]",
            Method::Get => "[type]/[id], [type]/[id]/_history/[vid] or [type]?[parameters]",
        };
        return Err(Issue::error(
            IssueType::Invalid,
            format!("entry.request.url '{url}' must have the form {expected} for this method"),
        )
        .at(at("request.url")));
    }

    let resource = entry.get_mut("resource").map(Value::take);
    if matches!(method, Method::Post | Method::Put) {
        let Some(res) = resource.as_ref() else {
            return Err(Issue::error(
                IssueType::Required,
                "entry.resource is required for POST and PUT",
            )
            .at(at("resource")));
        };
        if resource_type_of(res) != Some(resource_type.as_str()) {
            return Err(Issue::error(
                IssueType::Invalid,
                format!(
                    "entry.resource is a {} but entry.request.url names {resource_type}",
                    resource_type_of(res).unwrap_or("(no resourceType)")
                ),
            )
            .at(at("resource.resourceType")));
        }
    }
    Ok(EntryRequest {
        index,
        full_url: entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        method,
        resource_type,
        id,
        version,
        criteria,
        resource,
        if_none_exist: text("ifNoneExist"),
        if_match: text("ifMatch"),
        if_none_match: text("ifNoneMatch"),
        if_modified_since: text("ifModifiedSince"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_entries_and_reports_bad_ones() {
        let mut b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient"},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=s|v"}},
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Condition"}},
            {"request": {"method": "DELETE", "url": "Patient/9"}},
            {"resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Patient"},
             "request": {"method": "PUT", "url": "Patient?identifier=s%7Cv"}},
            {"request": {"method": "GET", "url": "Patient?name=x", "ifNoneMatch": "W/\"1\""}},
            {"request": {"method": "PUT", "url": "Patient?"}, "resource": {"resourceType": "Patient"}},
            {"request": {"method": "POST", "url": "Patient?identifier=s|v"}, "resource": {"resourceType": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/1?x=1"}},
            {"request": {"method": "DELETE", "url": "Patient/1/_history/2"}},
            {"request": {"method": "GET", "url": "Patient/1/_history"}},
            {"request": {"method": "GET", "url": "Patient/1/_history/2"}},
        ]});
        assert_eq!(kind_of(&b).unwrap(), BundleKind::Transaction);
        let e = entry_requests(&mut b);
        let first = e[0].as_ref().unwrap();
        assert_eq!(first.if_none_exist.as_deref(), Some("identifier=s|v"));
        assert_eq!(
            e[1].as_ref().unwrap_err().expression,
            vec!["Bundle.entry[1].resource.resourceType"]
        );
        assert_eq!(e[2].as_ref().unwrap().id.as_deref(), Some("9"));
        assert_eq!(e[3].as_ref().unwrap_err().code, IssueType::Required);
        let conditional = e[4].as_ref().unwrap();
        assert_eq!(conditional.id, None);
        assert_eq!(conditional.criteria.as_deref(), Some("identifier=s%7Cv"));
        let search = e[5].as_ref().unwrap();
        assert_eq!(search.method, Method::Get);
        assert_eq!(search.if_none_match.as_deref(), Some("W/\"1\""));
        let vread = e[11].as_ref().unwrap();
        assert_eq!(
            (vread.id.as_deref(), vread.version.as_deref()),
            (Some("1"), Some("2"))
        );
        for (bad, entry) in e.iter().enumerate().skip(6).take(5) {
            assert_eq!(
                entry.as_ref().unwrap_err().expression,
                vec![format!("Bundle.entry[{bad}].request.url")]
            );
        }
    }
}
