//! The R4 Patient compartment (`definitions/r4-core/compartment-patient.json`, extracted from
//! the official CompartmentDefinition by `scripts/profiles/vendor_compartment.py`): which
//! search parameters put a resource in a patient's compartment, as one search clause.

use super::query::{Clause, Criterion, Match};
use super::registry::Registry;
use crate::fast_hash::FastMap;
use std::sync::OnceLock;

const PATIENT_COMPARTMENT_JSON: &str =
    include_str!("../../definitions/r4-core/compartment-patient.json");

/// A CompartmentDefinition: its focal type and, per member type, the parameters that link a
/// resource to the focal resource.
#[derive(Debug, Default)]
pub struct Compartment {
    pub url: String,
    pub code: String,
    members: FastMap<String, Vec<String>>,
}

impl Compartment {
    /// The R4 Patient compartment, loaded once.
    pub fn patient() -> &'static Compartment {
        static PATIENT: OnceLock<Compartment> = OnceLock::new();
        PATIENT.get_or_init(|| Compartment::from_json(PATIENT_COMPARTMENT_JSON).unwrap_or_default())
    }

    fn from_json(text: &str) -> Option<Compartment> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let mut members = FastMap::default();
        for r in v.get("resource")?.as_array()? {
            let params = r
                .get("param")?
                .as_array()?
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect();
            members.insert(r.get("code")?.as_str()?.to_string(), params);
        }
        Some(Compartment {
            url: v.get("url")?.as_str()?.to_string(),
            code: v.get("code")?.as_str()?.to_string(),
            members,
        })
    }

    /// The parameters that put a `resource_type` in the compartment; `None` when the type
    /// cannot be in it.
    pub fn params(&self, resource_type: &str) -> Option<&[String]> {
        self.members.get(resource_type).map(Vec::as_slice)
    }

    /// `resource_type`s in the compartment of `<code>/<id>`: any of the compartment's
    /// parameters pointing at it (ORed), and the focal resource itself. Parameters the
    /// registry does not index are left out; `None` when none is left.
    pub fn clause(&self, registry: &Registry, resource_type: &str, id: &str) -> Option<Clause> {
        let mut criteria: Vec<Criterion> = self
            .params(resource_type)?
            .iter()
            .filter(|p| registry.param(resource_type, p).is_some())
            .map(|p| Criterion {
                param: p.clone(),
                matches: Match::Reference {
                    target_type: Some(self.code.clone()),
                    id: id.to_string(),
                },
            })
            .collect();
        if resource_type == self.code && registry.param(resource_type, "_id").is_some() {
            criteria.push(Criterion {
                param: "_id".into(),
                matches: Match::Token {
                    system: None,
                    code: id.to_string(),
                },
            });
        }
        (!criteria.is_empty()).then_some(Clause::Any(criteria))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_patient_compartment_is_loaded() {
        let c = Compartment::patient();
        assert_eq!(c.url, "http://hl7.org/fhir/CompartmentDefinition/patient");
        assert_eq!(c.code, "Patient");
        assert_eq!(
            c.params("CarePlan").map(<[String]>::to_vec),
            Some(vec!["patient".to_string(), "performer".to_string()])
        );
        assert_eq!(
            c.params("Observation").map(<[String]>::to_vec),
            Some(vec!["subject".to_string(), "performer".to_string()])
        );
        assert!(
            c.params("Task").is_none(),
            "Task is not in the R4 Patient compartment"
        );
        assert!(c.params("Organization").is_none());
    }
}
