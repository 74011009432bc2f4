//! Resolving references between a Bundle's entries, as R4 "Resolving references in Bundles"
//! (bundle.html#references) says: a reference names an entry through the entry's `fullUrl`.
//!
//! - An absolute reference (`http://…/Patient/p1`, `urn:uuid:…`, `urn:oid:…`) names the entry
//!   whose fullUrl it is.
//! - A relative reference (`Patient/p1`) in an entry whose fullUrl is a RESTful URL
//!   (`http://ehr.example.org/fhir/Observation/o1`) is read against that fullUrl's base:
//!   it names the entry `http://ehr.example.org/fhir/Patient/p1`. In an entry whose fullUrl is
//!   a URN, or that has none, it names the server's resource.
//! - A versioned reference (`…/_history/2`) names the entry with that fullUrl whose
//!   `meta.versionId` is that version; an entry without `meta.versionId` (one being written)
//!   is taken as that version.
//! - A `urn:uuid:` or `urn:oid:` reference that names no entry is dangling: it can mean
//!   nothing outside the Bundle.

use crate::model::id::is_valid_id;
use crate::model::reference::rewrite_with_paths;
use serde_json::Value;
use std::collections::HashMap;

/// The entries' fullUrls, keyed for resolution.
#[derive(Debug, Default, Clone)]
pub struct FullUrls {
    /// Version-less fullUrl → the positions of the entries that have it (several only in a
    /// Bundle holding several versions of one resource).
    by_url: HashMap<String, Vec<usize>>,
    /// `resource.meta.versionId` by entry position.
    versions: HashMap<usize, String>,
}

/// What a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// The entry at this position of `Bundle.entry`.
    Entry(usize),
    /// A `urn:uuid:` or `urn:oid:` that no entry has: an error in a Bundle that is stored.
    Dangling,
    /// Nothing in the Bundle: a contained resource (`#…`), the server's resource or another
    /// server's.
    Outside,
}

/// A reference of one entry's resource that is a URN naming no entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanglingReference {
    /// FHIRPath-like location in the resource (`subject.reference`).
    pub path: String,
    pub reference: String,
}

impl FullUrls {
    /// The fullUrls of `Bundle.entry`; also the positions of entries whose fullUrl (and
    /// version) an earlier entry already has, which R4 forbids (bdl-7).
    pub fn of_bundle(bundle: &Value) -> (Self, Vec<usize>) {
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Self::new(entries.iter().enumerate().map(|(i, entry)| {
            (
                i,
                entry.get("fullUrl").and_then(Value::as_str),
                entry
                    .pointer("/resource/meta/versionId")
                    .and_then(Value::as_str),
            )
        }))
    }

    /// `entries`: each entry's position, fullUrl and `resource.meta.versionId`.
    pub fn new<'a>(
        entries: impl IntoIterator<Item = (usize, Option<&'a str>, Option<&'a str>)>,
    ) -> (Self, Vec<usize>) {
        let mut urls = Self::default();
        let mut duplicates = Vec::new();
        for (position, full_url, version) in entries {
            let Some(full_url) = full_url.filter(|u| !u.is_empty()) else {
                continue;
            };
            let (url, _) = split_version(full_url);
            let same = urls.by_url.entry(url.to_string()).or_default();
            let repeated = same.iter().any(|other| {
                version.is_none() || urls.versions.get(other).map(String::as_str) == version
            });
            if repeated {
                duplicates.push(position);
                continue;
            }
            same.push(position);
            if let Some(v) = version {
                urls.versions.insert(position, v.to_string());
            }
        }
        (urls, duplicates)
    }

    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }

    /// What `reference`, found in the entry whose fullUrl is `referrer`, names.
    pub fn resolve(&self, reference: &str, referrer: Option<&str>) -> Resolved {
        if reference.starts_with('#') || reference.is_empty() {
            return Resolved::Outside;
        }
        let (url, version) = split_version(reference);
        let is_urn = url.starts_with("urn:uuid:") || url.starts_with("urn:oid:");
        // absolute references are looked up as they are: the validator resolves each
        // reference several times, and most are URNs
        let joined;
        let absolute = if is_urn || url.contains("://") {
            url
        } else {
            match (relative_parts(url), referrer.and_then(restful_base)) {
                (true, Some(base)) => {
                    joined = format!("{base}/{url}");
                    joined.as_str()
                }
                _ => return Resolved::Outside,
            }
        };
        let found = self.by_url.get(absolute).and_then(|positions| {
            positions.iter().copied().find(|p| match version {
                None => true,
                Some(v) => self.versions.get(p).is_none_or(|have| have == v),
            })
        });
        match found {
            Some(position) => Resolved::Entry(position),
            None if is_urn => Resolved::Dangling,
            None => Resolved::Outside,
        }
    }

    /// Points every reference of `resource` (in the entry whose fullUrl is `referrer`) that
    /// names an entry at `target(position)`, when it gives one; returns the URNs that name no
    /// entry.
    pub fn rewrite(
        &self,
        resource: &mut Value,
        referrer: Option<&str>,
        mut target: impl FnMut(usize) -> Option<String>,
    ) -> Vec<DanglingReference> {
        let mut dangling = Vec::new();
        rewrite_with_paths(resource, &mut |path, r| match self.resolve(r, referrer) {
            Resolved::Entry(position) => target(position),
            Resolved::Dangling => {
                dangling.push(DanglingReference {
                    path: path.to_string(),
                    reference: r.to_string(),
                });
                None
            }
            Resolved::Outside => None,
        });
        dangling
    }
}

/// `(url, version)` of `…/_history/v`.
fn split_version(reference: &str) -> (&str, Option<&str>) {
    // the last segment after a `_history` one: no substring search per reference
    if let Some((head, version)) = reference.rsplit_once('/') {
        if let Some(url) = head.strip_suffix("/_history") {
            if !version.is_empty() {
                return (url, Some(version));
            }
        }
    }
    (reference, None)
}

/// Whether a relative reference has the form `Type/id`.
fn relative_parts(reference: &str) -> bool {
    match reference.split_once('/') {
        Some((rt, id)) => is_type_name(rt) && is_valid_id(id),
        None => false,
    }
}

fn is_type_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `[base]` of a RESTful fullUrl `[base]/Type/id` (http or https), without a trailing slash.
fn restful_base(full_url: &str) -> Option<&str> {
    if !(full_url.starts_with("http://") || full_url.starts_with("https://")) {
        return None;
    }
    let (url, _) = split_version(full_url);
    let (rest, id) = url.rsplit_once('/')?;
    let (base, rt) = rest.rsplit_once('/')?;
    (is_type_name(rt) && is_valid_id(id) && base.contains("://") && !base.ends_with('/'))
        .then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn urls(full_urls: &[(&str, Option<&str>)]) -> FullUrls {
        let (urls, duplicates) = FullUrls::new(
            full_urls
                .iter()
                .enumerate()
                .map(|(i, (u, v))| (i, Some(*u), *v)),
        );
        assert!(duplicates.is_empty());
        urls
    }

    const EHR: &str = "http://ehr.example.org/fhir";

    #[test]
    fn a_relative_reference_is_read_against_the_referrers_restful_base() {
        let u = urls(&[
            ("http://ehr.example.org/fhir/Patient/p1", None),
            ("http://ehr.example.org/fhir/ServiceRequest/s1", None),
            ("urn:uuid:9d9e5b8c-0c39-4d7e-9b6f-2d0f5f1a7a11", None),
        ]);
        let sr = format!("{EHR}/ServiceRequest/s1");
        assert_eq!(u.resolve("Patient/p1", Some(&sr)), Resolved::Entry(0));
        // no such entry: the server's (or the sender's) resource
        assert_eq!(u.resolve("Patient/p2", Some(&sr)), Resolved::Outside);
        // from a URN entry, or one without fullUrl, a relative reference is the server's
        assert_eq!(
            u.resolve(
                "Patient/p1",
                Some("urn:uuid:9d9e5b8c-0c39-4d7e-9b6f-2d0f5f1a7a11")
            ),
            Resolved::Outside
        );
        assert_eq!(u.resolve("Patient/p1", None), Resolved::Outside);
        // another base names another server
        assert_eq!(
            u.resolve(
                "Patient/p1",
                Some("http://other.example/fhir/ServiceRequest/s1")
            ),
            Resolved::Outside
        );
        assert_eq!(u.resolve("#contained", Some(&sr)), Resolved::Outside);
        assert_eq!(u.resolve("patient/p1", Some(&sr)), Resolved::Outside);
    }

    #[test]
    fn absolute_urn_and_versioned_references() {
        let u = urls(&[
            ("http://ehr.example.org/fhir/Patient/p1", Some("3")),
            ("urn:uuid:9d9e5b8c-0c39-4d7e-9b6f-2d0f5f1a7a11", None),
            ("urn:oid:1.2.840.114350.1", None),
            ("https://ehr.example.org/fhir/Condition/c1", None),
        ]);
        assert_eq!(
            u.resolve("http://ehr.example.org/fhir/Patient/p1", None),
            Resolved::Entry(0)
        );
        assert_eq!(
            u.resolve("urn:uuid:9d9e5b8c-0c39-4d7e-9b6f-2d0f5f1a7a11", None),
            Resolved::Entry(1)
        );
        assert_eq!(
            u.resolve("urn:oid:1.2.840.114350.1", None),
            Resolved::Entry(2)
        );
        assert_eq!(
            u.resolve("urn:uuid:00000000-0000-0000-0000-000000000000", None),
            Resolved::Dangling
        );
        assert_eq!(u.resolve("urn:oid:1.2.3", None), Resolved::Dangling);
        // versions: the entry's meta.versionId must be the one named
        assert_eq!(
            u.resolve("http://ehr.example.org/fhir/Patient/p1/_history/3", None),
            Resolved::Entry(0)
        );
        assert_eq!(
            u.resolve("http://ehr.example.org/fhir/Patient/p1/_history/2", None),
            Resolved::Outside
        );
        let obs = "https://ehr.example.org/fhir/Condition/c1";
        assert_eq!(
            u.resolve(
                "Patient/p1/_history/3",
                Some(&format!("{EHR}/Observation/o1"))
            ),
            Resolved::Entry(0)
        );
        // an entry being written has no version yet: it is the version named
        assert_eq!(
            u.resolve("Condition/c1/_history/1", Some(obs)),
            Resolved::Entry(3)
        );
        // http and https are different bases
        assert_eq!(u.resolve("Patient/p1", Some(obs)), Resolved::Outside);
    }

    #[test]
    fn repeated_full_urls_are_reported_unless_they_are_other_versions() {
        let (_, duplicates) = FullUrls::new([
            (0, Some("urn:uuid:1"), None),
            (1, Some("urn:uuid:1"), None),
            (2, Some("http://x.org/fhir/Patient/a"), Some("1")),
            (3, Some("http://x.org/fhir/Patient/a"), Some("2")),
            (4, Some("http://x.org/fhir/Patient/a/_history/2"), Some("2")),
            (5, None, None),
            (6, None, None),
        ]);
        assert_eq!(duplicates, vec![1, 4]);
    }

    #[test]
    fn rewrite_points_references_at_the_targets_and_reports_dangling_urns() {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "http://ehr.example.org/fhir/Patient/p1", "resource": {"resourceType": "Patient"}},
            {"fullUrl": "http://ehr.example.org/fhir/Condition/c1", "resource": {"resourceType": "Condition"}},
        ]});
        let (u, _) = FullUrls::of_bundle(&bundle);
        let mut sr = json!({"resourceType": "ServiceRequest",
            "subject": {"reference": "Patient/p1"},
            "reasonReference": [{"reference": "http://ehr.example.org/fhir/Condition/c1"},
                                {"reference": "Condition/elsewhere"}],
            "insurance": [{"reference": "urn:uuid:missing"}]});
        let targets = ["Patient/new-p", "Condition/new-c"];
        let dangling = u.rewrite(
            &mut sr,
            Some("http://ehr.example.org/fhir/ServiceRequest/s1"),
            |i| targets.get(i).map(|t| t.to_string()),
        );
        assert_eq!(sr["subject"]["reference"], "Patient/new-p");
        assert_eq!(sr["reasonReference"][0]["reference"], "Condition/new-c");
        assert_eq!(sr["reasonReference"][1]["reference"], "Condition/elsewhere");
        assert_eq!(
            dangling,
            vec![DanglingReference {
                path: "insurance[0].reference".into(),
                reference: "urn:uuid:missing".into()
            }]
        );
    }

    #[test]
    fn restful_bases() {
        assert_eq!(
            restful_base("http://a.org/fhir/Patient/1"),
            Some("http://a.org/fhir")
        );
        assert_eq!(
            restful_base("https://a.org/Patient/1/_history/2"),
            Some("https://a.org")
        );
        assert_eq!(restful_base("urn:uuid:1"), None);
        assert_eq!(restful_base("http://a.org/fhir/patient/1"), None);
        assert_eq!(restful_base("http://Patient/1"), None);
    }
}
