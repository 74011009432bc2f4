//! Bundle rules: unique fullUrls, MessageHeader/Composition first, and resolution of
//! references between entries.

use super::walker::Walk;
use crate::json::member::{member, member_str};
use crate::outcome::IssueType;
use serde_json::Value;

/// The entries of the Bundle being walked, for resolving references inside it.
#[derive(Clone, Default)]
pub struct BundleIndex<'a> {
    entries: Vec<IndexedEntry<'a>>,
}

/// An entry's addresses, read once per Bundle rather than once per reference.
#[derive(Clone)]
struct IndexedEntry<'a> {
    full_url: Option<&'a str>,
    resource_type: Option<&'a str>,
    id: Option<&'a str>,
    resource: &'a Value,
}

impl<'a> BundleIndex<'a> {
    pub fn build(bundle: &'a Value) -> Self {
        let entries = member(bundle, "entry")
            .and_then(Value::as_array)
            .map(|es| {
                es.iter()
                    .filter_map(|e| {
                        let resource = member(e, "resource")?;
                        Some(IndexedEntry {
                            full_url: member_str(e, "fullUrl"),
                            resource_type: member_str(resource, "resourceType"),
                            id: member_str(resource, "id"),
                            resource,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { entries }
    }

    /// The entry resource a reference points at: by fullUrl, else by `Type/id`.
    pub fn resolve(&self, reference: &str) -> Option<&'a Value> {
        if let Some(e) = self.entries.iter().find(|e| e.full_url == Some(reference)) {
            return Some(e.resource);
        }
        let mut parts = reference.rsplit('/');
        let id = parts.next()?;
        let rt = parts.next()?;
        self.entries
            .iter()
            .find(|e| e.resource_type == Some(rt) && e.id == Some(id))
            .map(|e| e.resource)
    }
}

impl<'a> Walk<'a> {
    pub fn bundle_rules(&mut self, _index: &BundleIndex<'a>, bundle: &'a Value, path: &str) {
        let kind = bundle
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(entries) = bundle.get("entry").and_then(Value::as_array) else {
            return;
        };
        if kind != "history" {
            // bdl-7: unique, unless the versions differ
            let mut seen: Vec<(&str, Option<&str>)> = Vec::with_capacity(entries.len());
            for (i, e) in entries.iter().enumerate() {
                let Some(url) = e.get("fullUrl").and_then(Value::as_str) else {
                    continue;
                };
                let version = e
                    .pointer("/resource/meta/versionId")
                    .and_then(Value::as_str);
                if seen
                    .iter()
                    .any(|(u, v)| *u == url && (*v == version || v.is_none() || version.is_none()))
                {
                    let at = format!("{path}.entry[{i}].fullUrl");
                    self.error(
                        IssueType::Duplicate,
                        &at,
                        format!("fullUrl '{url}' appears in more than one entry (bdl-7)"),
                    );
                } else {
                    seen.push((url, version));
                }
            }
        }
        let first = entries
            .first()
            .and_then(|e| e.pointer("/resource/resourceType"))
            .and_then(Value::as_str);
        let rule = match kind {
            "message" => Some((
                "MessageHeader",
                "bdl-12: a message must have a MessageHeader as the first resource",
            )),
            "document" => Some((
                "Composition",
                "bdl-11: a document must have a Composition as the first resource",
            )),
            _ => None,
        };
        if let Some((wanted, text)) = rule {
            if first != Some(wanted) {
                let at = format!("{path}.entry[0]");
                self.error(IssueType::Invariant, &at, text.to_string());
            }
        }
    }
}
