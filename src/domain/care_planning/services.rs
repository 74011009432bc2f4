//! The program's types of care, the roles that deliver them, and which a patient gets.

use super::PlanInput;
use crate::domain::eligibility::{refers_to, Scope};
use fhir_engine::json::build::{object, string};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::CodeList;
use serde_json::{json, Value};
use std::sync::LazyLock;

pub const SERVICES_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-services";
const SCT: &str = "http://snomed.info/sct";
const HCPCS: &str = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";
const NUCC: &str = "http://nucc.org/provider-taxonomy";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    RegisteredNurse,
    SocialWorker,
    HomeHealthAide,
    Physiotherapist,
    OccupationalTherapist,
    SpeechTherapist,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::RegisteredNurse,
        Role::SocialWorker,
        Role::HomeHealthAide,
        Role::Physiotherapist,
        Role::OccupationalTherapist,
        Role::SpeechTherapist,
    ];

    /// Position in [`Role::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn slug(self) -> &'static str {
        match self {
            Role::RegisteredNurse => "registered-nurse",
            Role::SocialWorker => "social-worker",
            Role::HomeHealthAide => "home-health-aide",
            Role::Physiotherapist => "physiotherapist",
            Role::OccupationalTherapist => "occupational-therapist",
            Role::SpeechTherapist => "speech-therapist",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Role::RegisteredNurse => "Registered nurse",
            Role::SocialWorker => "Social worker",
            Role::HomeHealthAide => "Home health aide",
            Role::Physiotherapist => "Physiotherapist",
            Role::OccupationalTherapist => "Occupational therapist",
            Role::SpeechTherapist => "Speech and language therapist",
        }
    }

    /// SNOMED CT occupation and NUCC taxonomy (BRIEF §3.3).
    fn codes(self) -> (&'static str, &'static str) {
        match self {
            Role::RegisteredNurse => ("224535009", "163W00000X"),
            Role::SocialWorker => ("106328005", "104100000X"),
            Role::HomeHealthAide => ("768730001", "374U00000X"),
            Role::Physiotherapist => ("36682004", "225100000X"),
            Role::OccupationalTherapist => ("80546007", "225X00000X"),
            Role::SpeechTherapist => ("159026005", "235Z00000X"),
        }
    }

    pub fn concept(self) -> Value {
        static CONCEPTS: LazyLock<Vec<Value>> =
            LazyLock::new(|| Role::ALL.into_iter().map(Role::build_concept).collect());
        CONCEPTS[self.index()].clone()
    }

    fn build_concept(self) -> Value {
        let (sct, nucc) = self.codes();
        json!({"coding": [
            {"system": SCT, "code": sct, "display": self.display()},
            {"system": NUCC, "code": nucc}],
            "text": self.display()})
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    SkilledNursing,
    SocialServices,
    HomeHealthAide,
    PhysicalTherapy,
    OccupationalTherapy,
    SpeechTherapy,
    SymptomManagement,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::SkilledNursing,
        Service::SocialServices,
        Service::HomeHealthAide,
        Service::PhysicalTherapy,
        Service::OccupationalTherapy,
        Service::SpeechTherapy,
        Service::SymptomManagement,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Service::SkilledNursing => "skilled-nursing",
            Service::SocialServices => "social-services",
            Service::HomeHealthAide => "home-health-aide",
            Service::PhysicalTherapy => "physical-therapy",
            Service::OccupationalTherapy => "occupational-therapy",
            Service::SpeechTherapy => "speech-therapy",
            Service::SymptomManagement => "symptom-management",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Service::SkilledNursing => "Skilled nursing care",
            Service::SocialServices => "Medical social services",
            Service::HomeHealthAide => {
                "Home health aide services (short-term, intermittent personal care)"
            }
            Service::PhysicalTherapy => "Physical therapy",
            Service::OccupationalTherapy => "Occupational therapy",
            Service::SpeechTherapy => "Speech-language therapy",
            Service::SymptomManagement => "Symptom management",
        }
    }

    /// What the program text promises for the service.
    pub fn description(self) -> &'static str {
        match self {
            Service::SkilledNursing => "Help the patient and caregivers manage the treatment plan safely and independently; administer treatments for symptoms and quality of life; plan and coordinate care with the managing physician and outpatient and community clinicians.",
            Service::SocialServices => "Identify and secure plan and community resources; counselling on the impact of illness and long-term care.",
            Service::HomeHealthAide => "Short-term, intermittent help with personal care.",
            Service::PhysicalTherapy => "Physical therapy as ordered by the physician, to improve quality of life and safety.",
            Service::OccupationalTherapy => "Occupational therapy as ordered by the physician, to improve quality of life and safety.",
            Service::SpeechTherapy => "Speech therapy as ordered by the physician, to improve quality of life and safety.",
            Service::SymptomManagement => "Evaluate and manage the symptom.",
        }
    }

    pub fn role(self) -> Role {
        match self {
            Service::SkilledNursing | Service::SymptomManagement => Role::RegisteredNurse,
            Service::SocialServices => Role::SocialWorker,
            Service::HomeHealthAide => Role::HomeHealthAide,
            Service::PhysicalTherapy => Role::Physiotherapist,
            Service::OccupationalTherapy => Role::OccupationalTherapist,
            Service::SpeechTherapy => Role::SpeechTherapist,
        }
    }

    /// The activity code: our service code plus SNOMED CT and HCPCS where verified (BRIEF §3.3).
    pub fn concept(self) -> Value {
        static CONCEPTS: LazyLock<Vec<Value>> = LazyLock::new(|| {
            Service::ALL
                .into_iter()
                .map(Service::build_concept)
                .collect()
        });
        CONCEPTS[self as usize].clone()
    }

    fn build_concept(self) -> Value {
        let mut coding = vec![
            json!({"system": SERVICES_SYSTEM, "code": self.code(), "display": self.display()}),
        ];
        let (sct, hcpcs): (Option<(&str, &str)>, Option<&str>) = match self {
            Service::SkilledNursing => (None, Some("G0299")),
            Service::SocialServices => (
                Some(("410606002", "Social service procedure")),
                Some("G0155"),
            ),
            Service::HomeHealthAide => (None, Some("G0156")),
            Service::PhysicalTherapy => (
                Some(("91251008", "Physical therapy procedure")),
                Some("G0151"),
            ),
            Service::OccupationalTherapy => {
                (Some(("84478008", "Occupational therapy")), Some("G0152"))
            }
            Service::SpeechTherapy => (
                Some(("311555007", "Speech and language therapy regime")),
                Some("G0153"),
            ),
            Service::SymptomManagement => (None, None),
        };
        if let Some((code, display)) = sct {
            coding.push(json!({"system": SCT, "code": code, "display": display}));
        }
        if let Some(code) = hcpcs {
            coding.push(json!({"system": HCPCS, "code": code}));
        }
        object([
            ("coding", Value::Array(coding)),
            ("text", string(self.display())),
        ])
    }
}

/// A service in the plan; symptom management names its symptom.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedService {
    pub service: Service,
    pub symptom: Option<crate::domain::eligibility::Symptom>,
}

/// Which services the patient gets, in plan order.
pub fn plan(input: &PlanInput) -> Vec<PlannedService> {
    let ev = input.evidence;
    let rules = input.planning;
    let plain = |service| PlannedService {
        service,
        symptom: None,
    };
    let mut planned = vec![
        plain(Service::SkilledNursing),
        plain(Service::SocialServices),
    ];
    if needs_personal_care(ev, &rules.personal_care_need_codes) {
        planned.push(plain(Service::HomeHealthAide));
    }
    for (service, orders) in [
        (Service::PhysicalTherapy, &rules.physical_therapy_orders),
        (
            Service::OccupationalTherapy,
            &rules.occupational_therapy_orders,
        ),
        (Service::SpeechTherapy, &rules.speech_therapy_orders),
    ] {
        if ordered(ev, orders) {
            planned.push(plain(service));
        }
    }
    for symptom in &input.determination.symptoms {
        planned.push(PlannedService {
            service: Service::SymptomManagement,
            symptom: Some(symptom.clone()),
        });
    }
    planned
}

/// A personal-care need among the patient's active Conditions or the referral's reasons.
fn needs_personal_care(ev: &Scope, codes: &CodeList) -> bool {
    let condition = ev.of_type("Condition").any(|(_, c)| {
        ev.about_patient(c, "subject")
            && c.member("code")
                .is_some_and(|code| codes.matches_concept(code))
            && !matches!(
                c.member("clinicalStatus")
                    .and_then(|s| fhir_engine::model::coding::first_code(s, None)),
                Some("inactive" | "resolved" | "remission")
            )
    });
    condition || codes.matches_any(ev.referral(), "reasonCode")
}

/// Ordered by the referral's `orderDetail`, or by another active order based on the referral.
fn ordered(ev: &Scope, orders: &CodeList) -> bool {
    if orders.matches_any(ev.referral(), "orderDetail") {
        return true;
    }
    let referral = ev.referral_key();
    ev.of_type("ServiceRequest").any(|(key, sr)| {
        key != referral
            && matches!(
                sr.member("status").and_then(Value::as_str),
                Some("active" | "draft")
            )
            && sr.member("code").is_some_and(|c| orders.matches_concept(c))
            && refers_to(sr, "basedOn", referral)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_concepts_are_indexed_in_declaration_order() {
        for (i, role) in Role::ALL.into_iter().enumerate() {
            assert_eq!(role.index(), i);
            assert_eq!(role.concept(), role.build_concept());
            assert_eq!(role.concept()["text"], role.display());
        }
        for (i, service) in Service::ALL.into_iter().enumerate() {
            assert_eq!(service as usize, i);
            assert_eq!(service.concept(), service.build_concept());
            assert_eq!(service.concept()["coding"][0]["code"], service.code());
        }
    }
}
