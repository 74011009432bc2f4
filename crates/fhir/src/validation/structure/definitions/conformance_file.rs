//! One conformance file, wherever it was read from (a folder, a package, a tarball): which
//! files are worth reading, and how a file's bytes become a resource. The one place a new
//! format (XML) plugs in.

use super::LoadError;
use serde_json::Value;

/// The resource types the validator loads; everything else in an IG is skipped.
pub const LOADED_TYPES: [&str; 3] = ["StructureDefinition", "ValueSet", "CodeSystem"];

/// A file read from a source: its name for messages and its bytes.
pub struct SourceFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Whether a file of this name can hold a conformance resource: a JSON or XML file, unless its
/// name follows the IG publisher's `{ResourceType}-{id}.json` convention with another resource
/// type (examples, SearchParameters, CapabilityStatements), which is skipped unread.
pub fn worth_reading(file_name: &str) -> bool {
    let Some(stem) = file_name
        .strip_suffix(".json")
        .or_else(|| file_name.strip_suffix(".xml"))
    else {
        return false;
    };
    match stem.split_once('-') {
        Some((prefix, _)) if is_resource_type_name(prefix) => {
            LOADED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(prefix))
        }
        _ => !stem.starts_with('.') && stem != "package",
    }
}

/// A resource type name as the publisher writes it in file names (`StructureDefinition`,
/// `valueset`, `Patient`).
fn is_resource_type_name(prefix: &str) -> bool {
    KNOWN_PREFIXES
        .iter()
        .any(|k| k.eq_ignore_ascii_case(prefix))
}

/// Resource types that IG packages name files after, besides the loaded ones.
const KNOWN_PREFIXES: &[&str] = &[
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "ConceptMap",
    "NamingSystem",
    "SearchParameter",
    "OperationDefinition",
    "CapabilityStatement",
    "ImplementationGuide",
    "StructureMap",
    "Questionnaire",
    "QuestionnaireResponse",
    "Library",
    "Measure",
    "Bundle",
    "Parameters",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Encounter",
    "Observation",
    "Condition",
    "Procedure",
    "MedicationRequest",
    "Medication",
    "MedicationStatement",
    "MedicationDispense",
    "AllergyIntolerance",
    "Immunization",
    "DiagnosticReport",
    "DocumentReference",
    "Composition",
    "Coverage",
    "CarePlan",
    "CareTeam",
    "Goal",
    "Device",
    "Specimen",
    "ServiceRequest",
    "Provenance",
    "RelatedPerson",
    "FamilyMemberHistory",
    "Basic",
    "Binary",
    "Consent",
    "Task",
    "Communication",
    "MessageDefinition",
    "GraphDefinition",
    "ExampleScenario",
    "TestScript",
    "ActivityDefinition",
    "PlanDefinition",
    "R5Requirements",
    "Requirements",
    "ActorDefinition",
    "Subscription",
    "SubscriptionTopic",
    "OperationOutcome",
    "List",
];

/// The resource in a file (a conformance resource, a Bundle of them, or anything else, which
/// the caller skips). `name` is the file's name in messages.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Value, LoadError> {
    if name.ends_with(".xml") {
        let text = String::from_utf8_lossy(bytes);
        return crate::xml::parse_definition_file(&text).map_err(|error| LoadError::Xml {
            source_name: name.to_string(),
            error,
        });
    }
    serde_json::from_slice(bytes).map_err(|error| LoadError::Json {
        source_name: name.to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_resource_types_are_skipped_by_name() {
        assert!(worth_reading("StructureDefinition-us-core-patient.json"));
        assert!(worth_reading("structuredefinition-us-core-patient.json"));
        assert!(worth_reading("valueset-us-core-goal-description.json"));
        assert!(worth_reading("CodeSystem-x.json"));
        assert!(!worth_reading("SearchParameter-us-core-patient-name.json"));
        assert!(!worth_reading("Patient-example.json"));
        assert!(!worth_reading("operationdefinition-docref.json"));
        // no convention: read and looked at
        assert!(worth_reading("my-profile.json"));
        assert!(worth_reading("hbpc-coverage.json"));
        assert!(!worth_reading("package.json"));
        assert!(!worth_reading(".index.json"));
        assert!(worth_reading("StructureDefinition-x.xml"));
        assert!(!worth_reading("Patient-example.xml"));
    }
}
