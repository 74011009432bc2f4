//! Bundle rules, as R4 and the HL7 validator have them: unique fullUrls (bdl-7) and resources,
//! fullUrls that name their entry's resource, documents and messages that start with their
//! Composition or MessageHeader (bdl-11, bdl-12) and contain what it refers to, and the
//! resolution of references between entries.

use super::walker::Walk;
use crate::bundle::references::{FullUrls, Resolved};
use crate::json::member::{member, member_str};
use crate::outcome::{IssueType, Severity};
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

/// The references of a document's Composition that R4 (documents.html) requires inside the
/// Bundle (with attester.party, event.detail and those of its sections).
const COMPOSITION_REFERENCES: &[&str] = &["subject", "author", "encounter", "custodian"];

impl<'a> Walk<'a> {
    pub fn bundle_rules(&mut self, index: &BundleIndex<'a>, bundle: &'a Value, path: &str) {
        let kind = member_str(bundle, "type").unwrap_or_default();
        let entries = member(bundle, "entry")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if entries.is_empty() {
            if matches!(kind, "document" | "message") {
                self.error(
                    IssueType::Invariant,
                    path,
                    format!(
                        "a {kind} Bundle needs entries, the first being its {}",
                        first_of(kind)
                    ),
                );
            }
            return;
        }
        if kind != "history" {
            self.unique_full_urls(entries, path);
        }
        let requests = matches!(kind, "transaction" | "batch");
        for (i, e) in entries.iter().enumerate() {
            if let (Some(url), Some(r)) = (member_str(e, "fullUrl"), member(e, "resource")) {
                // a resource POSTed, or PUT to a conditional URL, in a transaction gets its id
                // from the server: its fullUrl may be its address on the sender's system (R4
                // transaction.html)
                let request = member(e, "request");
                let method = request.and_then(|q| member_str(q, "method"));
                let conditional = request
                    .and_then(|q| member_str(q, "url"))
                    .is_some_and(|u| u.contains('?'));
                let created =
                    requests && (method == Some("POST") || (method == Some("PUT") && conditional));
                self.full_url_names_resource(url, r, created, &format!("{path}.entry[{i}]"));
            }
        }
        if matches!(kind, "document" | "message" | "collection" | "searchset") {
            self.unique_resource_ids(entries, path);
        }
        let wanted = first_of(kind);
        if wanted.is_empty() {
            return;
        }
        let first = member(&entries[0], "resource");
        let at = format!("{path}.entry[0].resource");
        let Some(first) = first.filter(|r| member_str(r, "resourceType") == Some(wanted)) else {
            let rule = if kind == "document" {
                "bdl-11"
            } else {
                "bdl-12"
            };
            self.error(
                IssueType::Invariant,
                &format!("{path}.entry[0]"),
                format!("{rule}: a {kind} must have a {wanted} as the first resource"),
            );
            return;
        };
        let holders = [bundle, first];
        if kind == "document" {
            for name in COMPOSITION_REFERENCES {
                self.references_in_bundle(index, &holders, first, name, &at, "document");
            }
            for (i, attester) in array(first, "attester").iter().enumerate() {
                let at = format!("{at}.attester[{i}]");
                self.references_in_bundle(index, &holders, attester, "party", &at, "document");
            }
            for (i, event) in array(first, "event").iter().enumerate() {
                let at = format!("{at}.event[{i}]");
                self.references_in_bundle(index, &holders, event, "detail", &at, "document");
            }
            self.sections_in_bundle(index, &holders, first, &at);
        } else {
            self.references_in_bundle(index, &holders, first, "focus", &at, "message");
        }
        self.reachable_from_first(index, bundle, entries, kind, path);
    }

    /// bdl-7: a fullUrl appears once, unless the versions differ.
    fn unique_full_urls(&mut self, entries: &'a [Value], path: &str) {
        let mut seen: Vec<(&str, Option<&str>)> = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let Some(url) = member_str(e, "fullUrl") else {
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

    /// Entries without a fullUrl are known by `Type/id`: in a document, message, collection
    /// or search result one resource appears once (several versions only in a history). With
    /// fullUrls, bdl-7 and the fullUrl-names-its-resource rule say the same.
    fn unique_resource_ids(&mut self, entries: &'a [Value], path: &str) {
        let mut seen: Vec<(&str, &str, Option<&str>)> = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if member(e, "fullUrl").is_some() {
                continue;
            }
            let Some(r) = member(e, "resource") else {
                continue;
            };
            let (Some(rt), Some(id)) = (member_str(r, "resourceType"), member_str(r, "id")) else {
                continue;
            };
            let version = r.pointer("/meta/versionId").and_then(Value::as_str);
            if seen.iter().any(|(t, i, v)| {
                *t == rt && *i == id && (*v == version || v.is_none() || version.is_none())
            }) {
                let at = format!("{path}.entry[{i}].resource.id");
                self.error(
                    IssueType::Duplicate,
                    &at,
                    format!("{rt}/{id} appears in more than one entry of this Bundle"),
                );
            } else {
                seen.push((rt, id, version));
            }
        }
    }

    /// An entry's fullUrl is absolute, and a RESTful one (`…/Type/id`) names the entry's
    /// resource: its type and id.
    fn full_url_names_resource(&mut self, url: &str, resource: &Value, created: bool, at: &str) {
        if !(url.starts_with("urn:") || url.contains("://")) {
            self.error(
                IssueType::Invalid,
                &format!("{at}.fullUrl"),
                format!("fullUrl '{url}' must be an absolute URL (or a urn:uuid: / urn:oid:)"),
            );
            return;
        }
        if created || !(url.starts_with("http://") || url.starts_with("https://")) {
            return;
        }
        let mut parts = url.rsplit('/');
        let (Some(url_id), Some(url_type)) = (parts.next(), parts.next()) else {
            return;
        };
        let (url_type, url_id) = if url_type == "_history" {
            // `…/Type/id/_history/v`
            match (parts.next(), parts.next()) {
                (Some(id), Some(t)) => (t, id),
                _ => return,
            }
        } else {
            (url_type, url_id)
        };
        if !self.reg.knows_resource_type(url_type) {
            return;
        }
        let rt = member_str(resource, "resourceType").unwrap_or_default();
        match member_str(resource, "id") {
            None => self.error(
                IssueType::Invalid,
                &format!("{at}.resource"),
                format!("fullUrl '{url}' names {url_type}/{url_id}, but the resource has no id"),
            ),
            Some(id) if id != url_id || rt != url_type || url.contains("/_history/") => {
                self.error(
                    IssueType::Invalid,
                    &format!("{at}.fullUrl"),
                    format!(
                        "fullUrl '{url}' does not name the entry's resource {rt}/{id} (it must end with /{rt}/{id})"
                    ),
                )
            }
            Some(_) => {}
        }
    }

    /// The references under `holder.name` must name entries of the Bundle.
    fn references_in_bundle(
        &mut self,
        index: &BundleIndex<'a>,
        holders: &[&'a Value],
        holder: &'a Value,
        name: &str,
        at: &str,
        kind: &str,
    ) {
        let (values, repeats) = match member(holder, name) {
            Some(Value::Array(items)) => (items.as_slice(), true),
            Some(v) => (std::slice::from_ref(v), false),
            None => return,
        };
        for (i, v) in values.iter().enumerate() {
            let Some(reference) = member_str(v, "reference") else {
                continue;
            };
            if reference.starts_with('#') || index.resolve(reference, holders).is_some() {
                continue;
            }
            let at = if repeats {
                format!("{at}.{name}[{i}].reference")
            } else {
                format!("{at}.{name}.reference")
            };
            self.error(
                IssueType::NotFound,
                &at,
                format!("'{reference}' is not in the Bundle: a {kind} must contain what its {} refers to by {name}", first_of(kind)),
            );
        }
    }

    /// section.author, section.focus and section.entry, in nested sections too.
    fn sections_in_bundle(
        &mut self,
        index: &BundleIndex<'a>,
        holders: &[&'a Value],
        holder: &'a Value,
        at: &str,
    ) {
        for (i, section) in array(holder, "section").iter().enumerate() {
            let at = format!("{at}.section[{i}]");
            for name in ["author", "focus", "entry"] {
                self.references_in_bundle(index, holders, section, name, &at, "document");
            }
            self.sections_in_bundle(index, holders, section, &at);
        }
    }

    /// Every entry of a document is reached from its Composition by following references
    /// (an error otherwise); an entry that only refers to what is reached (a Provenance)
    /// is tolerated with a warning. In a message an unreached entry is a warning.
    fn reachable_from_first(
        &mut self,
        index: &BundleIndex<'a>,
        bundle: &'a Value,
        entries: &'a [Value],
        kind: &str,
        path: &str,
    ) {
        let resources: Vec<Option<&'a Value>> =
            entries.iter().map(|e| member(e, "resource")).collect();
        let targets: Vec<Vec<usize>> = resources
            .iter()
            .map(|r| {
                let Some(r) = r else { return Vec::new() };
                let mut refs = Vec::new();
                references_of(r, &mut refs);
                let holders = [bundle, *r];
                refs.into_iter()
                    .filter_map(|reference| index.resolve(reference, &holders))
                    .filter_map(|t| {
                        resources
                            .iter()
                            .position(|x| x.is_some_and(|x| std::ptr::eq(x, t)))
                    })
                    .collect()
            })
            .collect();
        let mut reached = vec![false; entries.len()];
        visit(0, &targets, &mut reached);
        loop {
            let back = (0..entries.len()).find(|&i| {
                !reached[i] && resources[i].is_some() && targets[i].iter().any(|&t| reached[t])
            });
            let Some(i) = back else { break };
            let rt = resources[i]
                .and_then(|r| member_str(r, "resourceType"))
                .unwrap_or_default();
            if kind == "document" && rt != "Provenance" {
                self.report(
                    Severity::Warning,
                    IssueType::Invalid,
                    &format!("{path}.entry[{i}]"),
                    "this entry is reached from the Composition only by a reference back to it"
                        .into(),
                );
            }
            visit(i, &targets, &mut reached);
        }
        let severity = if kind == "document" {
            Severity::Error
        } else {
            Severity::Warning
        };
        for i in (0..entries.len()).filter(|&i| !reached[i] && resources[i].is_some()) {
            self.report(
                severity,
                IssueType::Invalid,
                &format!("{path}.entry[{i}]"),
                format!(
                    "this entry is not reached by following references from the {} (every entry of a {kind} must be)",
                    first_of(kind)
                ),
            );
        }
    }
}

/// The resource a document or message Bundle starts with; empty for other Bundles.
fn first_of(kind: &str) -> &'static str {
    match kind {
        "document" => "Composition",
        "message" => "MessageHeader",
        _ => "",
    }
}

fn array<'v>(value: &'v Value, name: &str) -> &'v [Value] {
    member(value, name)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Every `reference` string in a resource, not inside a Bundle it holds.
fn references_of<'v>(resource: &'v Value, out: &mut Vec<&'v str>) {
    fn walk<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::Object(map) => {
                if map.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
                    return;
                }
                if let Some(Value::String(r)) = map.get("reference") {
                    if !r.starts_with('#') {
                        out.push(r);
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    if let Value::Object(map) = resource {
        map.values().for_each(|v| walk(v, out));
    }
}

/// Marks `start` and everything reached from it.
fn visit(start: usize, targets: &[Vec<usize>], reached: &mut [bool]) {
    let mut stack = vec![start];
    while let Some(at) = stack.pop() {
        if std::mem::replace(&mut reached[at], true) {
            continue;
        }
        stack.extend(targets[at].iter().copied().filter(|&t| !reached[t]));
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
