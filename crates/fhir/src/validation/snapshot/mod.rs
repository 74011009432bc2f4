//! Snapshot generation from the differential, at load time, following the R4 profiling rules
//! (profiling.html, elementdefinition.html#interpretation):
//!
//! - [`chain`]: the base definition chain, each base generated first, cycles reported;
//! - [`path`]: matching differential ids to base elements, type-renamed choices included;
//! - [`slicing`]: slices, re-slices, extension slices and type slices;
//! - [`types`]: stepping into a data type, a type profile or a `contentReference`;
//! - [`merge`]: applying an element's properties, refusing a widened cardinality or type;
//! - [`tree`]: the snapshot as a tree of elements, and its output in snapshot order.

pub mod chain;
pub mod error;
pub mod merge;
pub mod path;
pub mod slicing;
pub mod tree;
pub mod types;

pub use error::SnapshotError;

use serde_json::Value;
use std::collections::HashMap;

/// What generation did at load.
#[derive(Debug, Default)]
pub struct Generated {
    /// Snapshots generated.
    pub count: usize,
    /// Profiles left out because a definition they need is not loaded (their base, or a
    /// type profile they constrain below), each naming what is missing.
    pub unavailable: Vec<SnapshotError>,
}

/// Gives every StructureDefinition without a snapshot one generated from its differential.
/// A profile that needs a definition that is not loaded is removed and reported in
/// [`Generated::unavailable`]; a wrong profile (a widened cardinality, a path its base does not
/// have, a cycle) fails the load, naming the definition and the element.
pub fn generate_missing(
    definitions: &mut HashMap<String, Value>,
) -> Result<Generated, SnapshotError> {
    let mut missing: Vec<String> = definitions
        .iter()
        .filter(|(_, sd)| {
            sd.pointer("/snapshot/element")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
        .map(|(url, _)| url.clone())
        .collect();
    missing.sort();
    let mut generated = Vec::with_capacity(missing.len());
    let mut report = Generated::default();
    {
        let mut generator = chain::Generator::new(definitions);
        for url in &missing {
            match generator.snapshot_of(url) {
                Ok(elements) => generated.push((url.clone(), elements)),
                Err(e) if e.missing => report.unavailable.push(e),
                Err(e) => return Err(e),
            }
        }
    }
    report.count = generated.len();
    for e in &report.unavailable {
        definitions.remove(&e.url);
    }
    for (url, elements) in generated {
        if let Some(Value::Object(sd)) = definitions.get_mut(&url) {
            let elements = std::rc::Rc::try_unwrap(elements).unwrap_or_else(|rc| (*rc).clone());
            sd.insert(
                "snapshot".into(),
                serde_json::json!({ "element": elements }),
            );
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
