//! What snapshot generation needs of the loaded StructureDefinitions: look one up by canonical,
//! list those without a snapshot, give one its snapshot, and leave out one that cannot have one.
//! The loader's versioned [`Canonicals`] and a plain map (tests, tools) both provide it.

use crate::validation::structure::definitions::canonical::Canonicals;
use serde_json::Value;
use std::collections::HashMap;

pub trait DefinitionSet {
    /// The definition a canonical (`url` or `url|version`) means.
    fn definition(&self, canonical: &str) -> Option<&Value>;
    /// The canonicals of the definitions without a snapshot, each naming one loaded version.
    fn without_snapshot(&self) -> Vec<String>;
    fn definition_mut(&mut self, canonical: &str) -> Option<&mut Value>;
    fn leave_out(&mut self, canonical: &str);
}

fn lacks_snapshot(sd: &Value) -> bool {
    sd.pointer("/snapshot/element")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
}

impl DefinitionSet for HashMap<String, Value> {
    fn definition(&self, canonical: &str) -> Option<&Value> {
        self.get(canonical)
    }

    fn without_snapshot(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .iter()
            .filter(|(_, sd)| lacks_snapshot(sd))
            .map(|(url, _)| url.clone())
            .collect();
        urls.sort();
        urls
    }

    fn definition_mut(&mut self, canonical: &str) -> Option<&mut Value> {
        self.get_mut(canonical)
    }

    fn leave_out(&mut self, canonical: &str) {
        self.remove(canonical);
    }
}

impl DefinitionSet for Canonicals {
    fn definition(&self, canonical: &str) -> Option<&Value> {
        self.get(canonical)
    }

    /// The latest version by its bare URL (what unversioned references mean), older versions
    /// as `url|version`.
    fn without_snapshot(&self) -> Vec<String> {
        let mut canonicals: Vec<String> = self
            .all_versions()
            .filter(|(_, entry, _)| lacks_snapshot(&entry.value))
            .map(|(url, entry, latest)| match (&entry.version, latest) {
                (Some(version), false) => format!("{url}|{version}"),
                _ => url.clone(),
            })
            .collect();
        canonicals.sort();
        canonicals
    }

    fn definition_mut(&mut self, canonical: &str) -> Option<&mut Value> {
        self.get_mut(canonical)
    }

    fn leave_out(&mut self, canonical: &str) {
        self.remove(canonical);
    }
}
