//! Bundle rules: unique fullUrls, MessageHeader/Composition first, and resolution of
//! references between entries.

use super::walker::Walk;
use crate::bundle::references::{FullUrls, Resolved};
use crate::json::member::{member, member_str};
use crate::outcome::IssueType;
use serde_json::Value;

/// The entries of the Bundle being walked, for resolving references inside it.
#[derive(Clone, Default)]
pub struct BundleIndex<'a> {
    entries: Vec<IndexedEntry<'a>>,
    /// R4 "Resolving references in Bundles", as intake stores the references.
    urls: std::rc::Rc<FullUrls>,
}

/// An entry's addresses, read once per Bundle rather than once per reference.
#[derive(Clone)]
struct IndexedEntry<'a> {
    /// In `Bundle.entry`.
    position: usize,
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
                    .enumerate()
                    .filter_map(|(position, e)| {
                        let resource = member(e, "resource")?;
                        Some(IndexedEntry {
                            position,
                            full_url: member_str(e, "fullUrl"),
                            resource_type: member_str(resource, "resourceType"),
                            id: member_str(resource, "id"),
                            resource,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            entries,
            urls: std::rc::Rc::new(FullUrls::of_bundle(bundle).0),
        }
    }

    /// The entry resource a reference points at, found in an entry among `containers` (the
    /// resources being walked, innermost last): by R4 Bundle reference resolution, else by
    /// `Type/id` of an entry's resource (looser than intake: the validator checks target
    /// profiles against it).
    pub fn resolve(&self, reference: &str, containers: &[&'a Value]) -> Option<&'a Value> {
        let referrer = containers.iter().rev().find_map(|c| {
            self.entries
                .iter()
                .find(|e| std::ptr::eq(e.resource, *c))
                .map(|e| e.full_url)
        });
        match self.urls.resolve(reference, referrer.flatten()) {
            Resolved::Entry(p) => {
                return self
                    .entries
                    .iter()
                    .find(|e| e.position == p)
                    .map(|e| e.resource)
            }
            Resolved::Dangling => return None,
            Resolved::Outside => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_relative_reference_resolves_against_the_referring_entrys_full_url() {
        let bundle = json!({"resourceType": "Bundle", "type": "message", "entry": [
            {"fullUrl": "http://ehr.example.org/fhir/Patient/p1",
             "resource": {"resourceType": "Patient", "id": "local"}},
            {"fullUrl": "http://ehr.example.org/fhir/Observation/o1",
             "resource": {"resourceType": "Observation", "subject": {"reference": "Patient/p1"}}},
            {"fullUrl": "urn:uuid:5b1f0c4e-8a4e-4f0e-9a31-1c3f0d2b7e55",
             "resource": {"resourceType": "Observation"}},
        ]});
        let index = BundleIndex::build(&bundle);
        let patient = &bundle["entry"][0]["resource"];
        let in_o1 = [&bundle, &bundle["entry"][1]["resource"]];
        let found = index.resolve("Patient/p1", &in_o1);
        assert!(found.is_some_and(|r| std::ptr::eq(r, patient)));
        // from an entry with a URN fullUrl, `Patient/p1` is the server's: no entry has the id
        let in_urn = [&bundle, &bundle["entry"][2]["resource"]];
        assert!(index.resolve("Patient/p1", &in_urn).is_none());
        // by Type/id of the resource, as before
        assert!(index
            .resolve("Patient/local", &in_urn)
            .is_some_and(|r| std::ptr::eq(r, patient)));
        assert!(index
            .resolve("urn:uuid:00000000-0000-4000-8000-000000000000", &in_o1)
            .is_none());
    }
}
