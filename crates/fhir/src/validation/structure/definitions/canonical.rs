//! Conformance resources by canonical URL, every loaded version of each, and which version a
//! reference (`url` or `url|version`) means.
//!
//! The rule (docs/conformance.md, "FHIR packages"):
//! - `url` alone means the latest loaded version (see [`compare_versions`]);
//! - `url|version` means exactly that version, else the latest loaded version that starts with
//!   `version.` (a `major.minor` reference), else the latest version (a fallback: the resolution
//!   says it was not exact, so callers can say so);
//! - the same URL and version loaded twice keeps the first loaded (the vendored core, then the
//!   caller's guide, then the IGs in the order given).

use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

/// One loaded version of a canonical resource.
#[derive(Debug, Clone)]
pub struct Entry {
    pub version: Option<String>,
    pub value: Value,
    /// Where it was read from (a file, or `package#version: file`), for messages.
    pub source: String,
}

/// A canonical reference resolved to a loaded resource.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    pub entry: &'a Entry,
    /// False when the reference asked for a version that is not loaded and got the latest.
    pub exact: bool,
}

/// What [`Canonicals::insert`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A URL and version not loaded before.
    New,
    /// A new version of a URL loaded before in other versions (listed).
    OtherVersions(Vec<Option<String>>),
    /// The same URL and version was loaded before, from `kept`; the first one stays.
    Duplicate { kept: String, same_content: bool },
    /// No `url`.
    Ignored,
}

/// Resources of one kind by URL; each URL's versions sorted oldest first.
#[derive(Debug, Default)]
pub struct Canonicals {
    by_url: HashMap<String, Vec<Entry>>,
}

impl Canonicals {
    pub fn insert(&mut self, value: Value, source: &str) -> Inserted {
        let Some(url) = value.get("url").and_then(Value::as_str) else {
            return Inserted::Ignored;
        };
        let version = value
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_string);
        let entries = self.by_url.entry(url.to_string()).or_default();
        if let Some(old) = entries.iter().find(|e| e.version == version) {
            return Inserted::Duplicate {
                kept: old.source.clone(),
                same_content: old.value == value,
            };
        }
        let others: Vec<Option<String>> = entries.iter().map(|e| e.version.clone()).collect();
        let at = entries
            .iter()
            .position(|e| compare_versions(e.version.as_deref(), version.as_deref()).is_gt())
            .unwrap_or(entries.len());
        entries.insert(
            at,
            Entry {
                version,
                value,
                source: source.to_string(),
            },
        );
        if others.is_empty() {
            Inserted::New
        } else {
            Inserted::OtherVersions(others)
        }
    }

    /// The resource a canonical reference means (see the module's rule).
    pub fn resolve(&self, canonical: &str) -> Option<Resolved<'_>> {
        let (url, version) = split(canonical);
        let entries = self.by_url.get(url)?;
        let latest = entries.last()?;
        let Some(wanted) = version else {
            return Some(Resolved {
                entry: latest,
                exact: true,
            });
        };
        let exact = entries
            .iter()
            .find(|e| e.version.as_deref() == Some(wanted))
            .or_else(|| {
                entries.iter().rev().find(|e| {
                    e.version
                        .as_deref()
                        .and_then(|v| v.strip_prefix(wanted))
                        .is_some_and(|rest| rest.starts_with('.'))
                })
            });
        Some(match exact {
            Some(entry) => Resolved { entry, exact: true },
            None => Resolved {
                entry: latest,
                exact: false,
            },
        })
    }

    /// The resource a canonical reference means, `url|version` or `url`.
    pub fn get(&self, canonical: &str) -> Option<&Value> {
        self.resolve(canonical).map(|r| &r.entry.value)
    }

    /// The loaded version a canonical reference means, to change it in place.
    pub fn get_mut(&mut self, canonical: &str) -> Option<&mut Value> {
        let at = self.position(canonical)?;
        let (url, _) = split(canonical);
        Some(&mut self.by_url.get_mut(url)?.get_mut(at)?.value)
    }

    /// Removes the loaded version a canonical reference means (the URL goes with its last).
    pub fn remove(&mut self, canonical: &str) {
        let Some(at) = self.position(canonical) else {
            return;
        };
        let (url, _) = split(canonical);
        if let Some(entries) = self.by_url.get_mut(url) {
            entries.remove(at);
            if entries.is_empty() {
                self.by_url.remove(url);
            }
        }
    }

    fn position(&self, canonical: &str) -> Option<usize> {
        let resolved = self.resolve(canonical)?;
        let entries = self.by_url.get(split(canonical).0)?;
        entries.iter().position(|e| std::ptr::eq(e, resolved.entry))
    }

    pub fn contains_key(&self, canonical: &str) -> bool {
        self.resolve(canonical).is_some()
    }

    /// The latest version of every URL.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.by_url
            .iter()
            .filter_map(|(url, entries)| Some((url, &entries.last()?.value)))
    }

    /// Every loaded version of every URL, with whether it is the URL's latest.
    pub fn all_versions(&self) -> impl Iterator<Item = (&String, &Entry, bool)> {
        self.by_url.iter().flat_map(|(url, entries)| {
            let last = entries.len().saturating_sub(1);
            entries
                .iter()
                .enumerate()
                .map(move |(i, e)| (url, e, i == last))
        })
    }

    /// The loaded versions of `url`, oldest first.
    pub fn versions(&self, url: &str) -> &[Entry] {
        self.by_url.get(url).map_or(&[], Vec::as_slice)
    }

    /// How many URLs.
    pub fn len(&self) -> usize {
        self.by_url.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }
}

/// `http://x/ValueSet/y|4.0.1` → (`http://x/ValueSet/y`, `Some("4.0.1")`).
pub fn split(canonical: &str) -> (&str, Option<&str>) {
    match canonical.split_once('|') {
        Some((url, version)) if !version.is_empty() => (url, Some(version)),
        Some((url, _)) => (url, None),
        None => (canonical, None),
    }
}

/// The order of versions, oldest first: when both are semantic versions (`major.minor[.patch…]`
/// with an optional `-label`), by number, a labelled pre-release before its release; otherwise
/// (dates such as `2018-08-12`, mixed schemes) as plain strings. No version is the oldest.
pub fn compare_versions(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (semver(a), semver(b)) {
            (Some(x), Some(y)) => {
                x.0.cmp(&y.0)
                    // no label (a release) after any label
                    .then_with(|| match (x.1, y.1) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Greater,
                        (Some(_), None) => Ordering::Less,
                        (Some(l), Some(m)) => l.cmp(m),
                    })
            }
            _ => a.cmp(b),
        },
    }
}

/// `1.2.3-ballot` → ([1, 2, 3], Some("ballot")); `None` unless at least `major.minor`.
fn semver(v: &str) -> Option<(Vec<u64>, Option<&str>)> {
    let (release, label) = match v.split_once('-') {
        Some((r, l)) => (r, Some(l)),
        None => (v, None),
    };
    let parts: Vec<u64> = release
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    (parts.len() >= 2).then_some((parts, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sd(version: Option<&str>) -> Value {
        let mut v = json!({"resourceType": "StructureDefinition", "url": "http://x/sd"});
        if let Some(version) = version {
            v["version"] = version.into();
        }
        v
    }

    #[test]
    fn versions_order_by_number_then_as_strings() {
        let cmp = |a: &str, b: &str| compare_versions(Some(a), Some(b));
        assert_eq!(cmp("3.1.1", "9.0.0"), Ordering::Less);
        assert_eq!(cmp("10.0.0", "9.0.0"), Ordering::Greater);
        assert_eq!(cmp("5.3.0-ballot-tc1", "5.3.0"), Ordering::Less);
        assert_eq!(cmp("5.3.0-ballot", "5.2.0"), Ordering::Greater);
        assert_eq!(cmp("4.0", "4.0.1"), Ordering::Less);
        // dates and mixed schemes: plain strings
        assert_eq!(cmp("2018-08-12", "2020-01-01"), Ordering::Less);
        assert_eq!(cmp("2018-08-12", "3.0.0"), Ordering::Less);
        assert_eq!(compare_versions(None, Some("0.1")), Ordering::Less);
    }

    #[test]
    fn a_bare_url_means_the_latest_and_a_version_means_that_version() {
        let mut c = Canonicals::default();
        assert_eq!(c.insert(sd(Some("9.0.0")), "a"), Inserted::New);
        assert_eq!(
            c.insert(sd(Some("3.1.1")), "b"),
            Inserted::OtherVersions(vec![Some("9.0.0".into())])
        );
        c.insert(sd(Some("3.2.0")), "c");
        c.insert(sd(None), "d");
        let version = |canonical: &str| {
            let r = c.resolve(canonical).expect("resolved");
            (r.entry.version.clone(), r.exact)
        };
        assert_eq!(version("http://x/sd"), (Some("9.0.0".into()), true));
        assert_eq!(version("http://x/sd|3.1.1"), (Some("3.1.1".into()), true));
        // major.minor picks the latest patch; a version not loaded falls back to the latest
        assert_eq!(version("http://x/sd|3"), (Some("3.2.0".into()), true));
        assert_eq!(version("http://x/sd|3.1"), (Some("3.1.1".into()), true));
        assert_eq!(version("http://x/sd|4.0.0"), (Some("9.0.0".into()), false));
        assert!(c.get("http://x/other").is_none());
        assert_eq!(c.versions("http://x/sd").len(), 4);
        assert_eq!(c.iter().count(), 1);
        assert_eq!(c.all_versions().filter(|(_, _, latest)| *latest).count(), 1);
    }

    #[test]
    fn the_same_version_twice_keeps_the_first() {
        let mut c = Canonicals::default();
        c.insert(sd(Some("1.0.0")), "first");
        let mut changed = sd(Some("1.0.0"));
        changed["title"] = "changed".into();
        assert_eq!(
            c.insert(changed, "second"),
            Inserted::Duplicate {
                kept: "first".into(),
                same_content: false
            }
        );
        assert_eq!(
            c.insert(sd(Some("1.0.0")), "third"),
            Inserted::Duplicate {
                kept: "first".into(),
                same_content: true
            }
        );
        assert_eq!(c.resolve("http://x/sd").unwrap().entry.source, "first");
        assert_eq!(
            c.insert(json!({"resourceType": "ValueSet"}), "x"),
            Inserted::Ignored
        );
    }
}
