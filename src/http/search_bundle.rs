//! searchset and history Bundles, written as text so that stored resources are embedded as
//! stored, without being parsed again (except for `_elements` and `_summary`).

use super::responses::etag;
use crate::app::search::{HistoryPage, SearchPage};
use crate::store::StoredResource;
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::search::elements::{subset, ElementDef, Subset};
use fhir_engine::search::Cursor;
use serde_json::{json, Value};

/// `base/Type?a=1&b=2` with `extra` appended; empty params give `base/Type`.
pub fn link_url(
    base: &str,
    path: &str,
    params: &[(String, String)],
    extra: Option<(&str, &str)>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    if let Some((k, v)) = extra {
        query.append_pair(k, v);
    }
    let query = query.finish();
    if query.is_empty() {
        format!("{base}/{path}")
    } else {
        format!("{base}/{path}?{query}")
    }
}

fn head(kind: &str, total: Option<u64>, links: Vec<Value>) -> String {
    let mut head = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": fhir_instant(now_millis()) },
        "type": kind,
    });
    if let Some(t) = total {
        head["total"] = json!(t);
    }
    head["link"] = Value::Array(links);
    let text = head.to_string();
    // reopen the object to append the entries
    text[..text.len() - 1].to_string()
}

fn link(relation: &str, url: String) -> Value {
    json!({ "relation": relation, "url": url })
}

/// The stored body, reduced by `_elements` or `_summary` when asked.
fn body_of(stored: &StoredResource, what: Option<Subset<'_>>, defs: &[ElementDef]) -> String {
    let body = stored.body.as_deref().unwrap_or("{}");
    match what {
        None => body.to_string(),
        Some(what) => match serde_json::from_str::<Value>(body) {
            Ok(v) => subset(&v, what, defs).to_string(),
            Err(_) => body.to_string(),
        },
    }
}

pub fn searchset(page: &SearchPage, base: &str) -> String {
    let q = &page.query;
    let r = &page.result;
    let cursor_link = |relation: &str, c: &Cursor| {
        link(
            relation,
            link_url(
                base,
                &page.path,
                &q.link_params,
                Some(("_cursor", &c.encode())),
            ),
        )
    };
    let mut links = vec![link(
        "self",
        link_url(base, &page.path, &q.link_params, None),
    )];
    if let Some(c) = &r.next {
        links.push(cursor_link("next", c));
    }
    if let Some(c) = &r.previous {
        links.push(cursor_link("previous", c));
    }
    let mut out = head("searchset", r.total, links);
    out.push_str(",\"entry\":[");
    // `_elements` names elements of the searched type; `_summary` applies to every entry
    let summary = q.summary.map(Subset::Summary);
    let matched = q.elements.as_deref().map(Subset::Elements).or(summary);
    let entries = r
        .matches
        .iter()
        .map(|s| (s, "match", matched))
        .chain(r.included.iter().map(|s| (s, "include", summary)));
    for (i, (stored, mode, what)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let full_url = json!(format!("{base}/{}/{}", stored.resource_type, stored.id));
        out.push_str(&format!(
            "{{\"fullUrl\":{full_url},\"resource\":{},\"search\":{{\"mode\":\"{mode}\"}}}}",
            body_of(stored, what, page.elements_of(&stored.resource_type))
        ));
    }
    out.push_str("]}");
    out
}

pub fn history(page: &HistoryPage, base: &str, path: &str) -> String {
    let mut links = vec![link("self", link_url(base, path, &page.link_params, None))];
    if let Some(next) = &page.next {
        links.push(link(
            "next",
            link_url(base, path, &page.link_params, Some(("_page", next))),
        ));
    }
    let mut out = head("history", None, links);
    out.push_str(",\"entry\":[");
    for (i, v) in page.versions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (method, url, status) = if v.deleted {
            ("DELETE", format!("{}/{}", v.resource_type, v.id), "200 OK")
        } else if v.version_id == 1 {
            ("POST", v.resource_type.clone(), "201 Created")
        } else {
            ("PUT", format!("{}/{}", v.resource_type, v.id), "200 OK")
        };
        let meta = json!({
            "fullUrl": format!("{base}/{}/{}", v.resource_type, v.id),
            "request": { "method": method, "url": url },
            "response": {
                "status": status,
                "etag": etag(v.version_id),
                "lastModified": fhir_instant(v.last_updated_ms),
            },
        })
        .to_string();
        match (&v.body, v.deleted) {
            (Some(body), false) => {
                out.push_str(&meta[..meta.len() - 1]);
                out.push_str(",\"resource\":");
                out.push_str(body);
                out.push('}');
            }
            _ => out.push_str(&meta),
        }
    }
    out.push_str("]}");
    out
}
