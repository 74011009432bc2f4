//! Which of the R4 search parameters of the stored types the gateway indexes, and so advertises
//! and accepts (`search.indexed_parameters`). Every indexed parameter costs index rows, and so
//! B-tree pages, on every write of its type: the default is the set the program, its clients and
//! the Patient compartment use, not all 378 that R4 defines for these types.

use super::resource_types::REFERRAL_RESOURCE_TYPES;
use fhir_engine::search::registry::{Registry, R4_SEARCH_PARAMETERS};
use std::sync::OnceLock;

/// Always searchable, whatever the setting: R4's minimum (`_id`), and `_lastUpdated`. The
/// store answers both from its resource tables, without index rows.
pub const ALWAYS: [&str; 2] = ["_id", "_lastUpdated"];

/// The default of `search.indexed_parameters`: `Type.code`, `*.code` (every stored type that
/// has it). The Patient compartment's parameters are all here, so that `Patient/{id}/{type}`
/// finds everything the CompartmentDefinition puts in it.
pub const DEFAULT: &[&str] = &[
    // access by tag (own-referral clients), profile
    "*._tag",
    "*._profile",
    "*.identifier",
    "ServiceRequest.patient",
    "ServiceRequest.subject",
    "ServiceRequest.performer",
    "ServiceRequest.requester",
    "ServiceRequest.status",
    "ServiceRequest.code",
    "ServiceRequest.category",
    "ServiceRequest.authored",
    "Patient.name",
    "Patient.family",
    "Patient.given",
    "Patient.birthdate",
    "Patient.gender",
    "Patient.link",
    "Practitioner.name",
    "PractitionerRole.practitioner",
    "PractitionerRole.organization",
    "Organization.name",
    "Coverage.patient",
    "Coverage.beneficiary",
    "Coverage.subscriber",
    "Coverage.policy-holder",
    "Coverage.payor",
    "Coverage.status",
    "Condition.patient",
    "Condition.subject",
    "Condition.asserter",
    "Condition.code",
    "Condition.category",
    "Condition.clinical-status",
    "Observation.patient",
    "Observation.subject",
    "Observation.performer",
    "Observation.code",
    "Observation.category",
    "Observation.status",
    "Observation.date",
    "Observation.has-member",
    "Observation.encounter",
    "Consent.patient",
    "Consent.status",
    "RelatedPerson.patient",
    "DocumentReference.patient",
    "DocumentReference.subject",
    "DocumentReference.author",
    "DocumentReference.type",
    "DocumentReference.status",
    "QuestionnaireResponse.patient",
    "QuestionnaireResponse.subject",
    "QuestionnaireResponse.author",
    "QuestionnaireResponse.questionnaire",
    "QuestionnaireResponse.status",
    "Task.patient",
    "Task.focus",
    "Task.owner",
    "Task.status",
    "Task.business-status",
    "CarePlan.patient",
    "CarePlan.subject",
    "CarePlan.performer",
    "CarePlan.care-team",
    "CarePlan.based-on",
    "CarePlan.status",
    "CarePlan.category",
    "CarePlan.date",
    "CareTeam.patient",
    "CareTeam.subject",
    "CareTeam.participant",
    "CareTeam.status",
    "CareTeam.category",
    "Goal.patient",
    "Goal.subject",
    "Goal.lifecycle-status",
    "Provenance.patient",
    "Provenance.target",
    "Provenance.agent",
];

/// Every R4 parameter of the stored types that the engine can index, built once.
pub fn available() -> &'static Registry {
    static AVAILABLE: OnceLock<Registry> = OnceLock::new();
    AVAILABLE.get_or_init(|| {
        // The vendored file is part of the build; a parse failure is a build defect that the
        // registry test catches, so an empty registry here only disables search.
        Registry::from_json(R4_SEARCH_PARAMETERS, REFERRAL_RESOURCE_TYPES).unwrap_or_default()
    })
}

/// The registry of `entries` (the setting's syntax: `Type.code`, `*.code`, `Type.*` or `*`),
/// plus [`ALWAYS`]. An entry that names no stored type or no parameter of it is an error that
/// names the entry: a misspelt parameter would otherwise silently stop being searchable.
pub fn select(entries: &[String]) -> Result<Registry, String> {
    let all = available();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for entry in entries {
        let (ty, code) = match entry.trim() {
            "*" => ("*", "*"),
            e => e.split_once('.').ok_or_else(|| {
                format!("'{entry}' is not Type.parameter (or *.parameter, Type.*, *)")
            })?,
        };
        if ty != "*" && !REFERRAL_RESOURCE_TYPES.contains(&ty) {
            return Err(format!("'{entry}': {ty} is not a stored resource type"));
        }
        let known = match (ty, code) {
            (_, "*") => true,
            ("*", code) => all.types().any(|t| all.param(t, code).is_some()),
            (ty, code) => all.param(ty, code).is_some(),
        };
        if !known {
            return Err(format!(
                "'{entry}': no indexable R4 search parameter {code} on {ty}"
            ));
        }
        wanted.push((ty, code));
    }
    let mut registry = all.clone();
    registry.retain(|ty, code| {
        ALWAYS.contains(&code)
            || wanted
                .iter()
                .any(|&(t, c)| (t == "*" || t == ty) && (c == "*" || c == code))
    });
    Ok(registry)
}

static CONFIGURED: OnceLock<Registry> = OnceLock::new();

/// Sets the indexed parameters for this process, before the store or search first needs them
/// (the CLI does, right after loading the settings).
pub fn install(entries: &[String]) -> Result<(), String> {
    let registry = select(entries)?;
    let fingerprint = fingerprint(&registry);
    let installed = CONFIGURED.get_or_init(|| registry);
    if self::fingerprint(installed) != fingerprint {
        return Err("the indexed search parameters were already in use with another set".into());
    }
    Ok(())
}

/// The registry of the indexed parameters: the installed set, else the default.
pub fn indexed() -> &'static Registry {
    CONFIGURED.get_or_init(|| {
        let defaults: Vec<String> = DEFAULT.iter().map(|s| s.to_string()).collect();
        select(&defaults).unwrap_or_default()
    })
}

/// `Type.code` of every parameter of `registry`, sorted and comma-separated: the store keeps it
/// to tell at start whether its rows were built for another set (and rebuilds them if so).
pub fn fingerprint(registry: &Registry) -> String {
    let mut all: Vec<String> = registry
        .types()
        .flat_map(|t| registry.params(t).iter())
        .map(|p| format!("{}.{}", p.resource_type, p.code))
        .collect();
    all.sort();
    all.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_default_names_only_known_parameters_and_covers_the_patient_compartment() {
        let registry = select(&strings(DEFAULT)).expect("the default is valid");
        let compartment = fhir_engine::search::Compartment::patient();
        for ty in REFERRAL_RESOURCE_TYPES {
            for code in compartment.params(ty).unwrap_or_default() {
                if available().param(ty, code).is_some() {
                    assert!(registry.param(ty, code).is_some(), "{ty}.{code}");
                }
            }
            if !available().params(ty).is_empty() {
                for code in ALWAYS {
                    assert!(registry.param(ty, code).is_some(), "{ty}.{code}");
                }
            }
        }
        assert!(registry.param("Task", "_tag").is_some());
        assert!(registry.param("Patient", "address-city").is_none());
    }

    #[test]
    fn entries_are_checked_and_wildcards_expand() {
        let all = select(&strings(&["*"])).expect("all");
        assert_eq!(fingerprint(&all), fingerprint(available()));
        let some = select(&strings(&["Patient.*", "*.status"])).expect("some");
        assert_eq!(
            some.params("Patient").len(),
            available().params("Patient").len()
        );
        assert!(some.param("Task", "status").is_some());
        assert!(some.param("Task", "_id").is_some());
        assert!(some.param("Task", "focus").is_none());
        for bad in ["Patient.nope", "Nope.status", "status", "*.nope"] {
            let err = select(&strings(&[bad])).expect_err(bad);
            assert!(err.contains(bad), "{err}");
        }
    }
}
