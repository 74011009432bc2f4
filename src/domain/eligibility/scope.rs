//! One evaluation's view of the evidence. Every criterion and the plan ask for the referral and
//! whether a resource is about the referral's patient; [`Evidence`] answers each with a map
//! lookup and a reference parse, so an evaluation reads them once here and asks the view.
//! Everything else is the evidence's own (the view dereferences to it).

use super::evidence::{type_and_id, Evidence, PatientReference};
use serde_json::Value;
use std::ops::Deref;

pub struct Scope<'a> {
    evidence: &'a Evidence,
    referral: &'a Value,
    patient: Option<PatientReference<'a>>,
    /// `Patient/id` of the referral's subject.
    patient_key: Option<String>,
}

impl<'a> Scope<'a> {
    pub fn new(evidence: &'a Evidence) -> Self {
        let referral = evidence.referral();
        let patient = PatientReference::of(referral);
        let patient_key = patient
            .and_then(|p| p.parts)
            .map(|(rt, id)| type_and_id(rt, id));
        Self {
            evidence,
            referral,
            patient,
            patient_key,
        }
    }

    pub fn evidence(&self) -> &'a Evidence {
        self.evidence
    }

    /// As [`Evidence::referral`].
    pub fn referral(&self) -> &'a Value {
        self.referral
    }

    /// As [`Evidence::patient_key`].
    pub fn patient_key(&self) -> Option<&str> {
        self.patient_key.as_deref()
    }

    /// As [`Evidence::about_patient`].
    pub fn about_patient(&self, resource: &Value, element: &str) -> bool {
        PatientReference::covers(self.patient, resource, element)
    }
}

impl Deref for Scope<'_> {
    type Target = Evidence;

    fn deref(&self) -> &Evidence {
        self.evidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_as_the_evidence_does() {
        for subject in [
            json!({"reference": "https://x.org/fhir/Patient/p/_history/3"}),
            json!({"reference": "Patient/p"}),
            json!({"reference": "urn:uuid:1"}),
            json!({"display": "x"}),
            Value::Null,
        ] {
            let mut referral = json!({"resourceType": "ServiceRequest", "id": "sr"});
            if !subject.is_null() {
                referral["subject"] = subject;
            }
            let ev = Evidence::new(referral);
            let scope = Scope::new(&ev);
            assert_eq!(scope.patient_key(), ev.patient_key().as_deref());
            assert_eq!(scope.referral(), ev.referral());
            for other in [
                json!({"subject": {"reference": "Patient/p"}}),
                json!({"subject": {"reference": "Patient/q"}}),
                json!({"subject": {"reference": "https://x.org/fhir/Patient/p/_history/3"}}),
                json!({"subject": {"reference": "urn:uuid:1"}}),
                json!({"subject": {"display": "x"}}),
                json!({}),
            ] {
                assert_eq!(
                    scope.about_patient(&other, "subject"),
                    ev.about_patient(&other, "subject"),
                    "{other}"
                );
            }
        }
    }
}
