//! Eligibility for Home Based Palliative Care: each of the program's criteria evaluated from
//! FHIR evidence to met, not met or unknown, with the evidence used and a one-line reason.

mod advanced_illness;
mod consent;
mod evidence;
mod home_safety;
mod homebound;
mod physician;
mod plan_member;
mod preconditions;
mod rules;
mod scope;
mod service_area;
mod symptoms;
pub mod terminology;
mod weighed;

pub use consent::caregivers;
pub use evidence::{reference_key, reference_keys, refers_to, Evidence};
pub use physician::managing_physician;
pub use preconditions::Precondition;
pub use rules::EligibilityRules;
pub use scope::Scope;
pub use symptoms::{symptoms, Symptom};
pub use terminology::{ClinicalTerminology, Membership, Terminology};

/// The program's eligibility list, in its order. Codes are CodeSystem hbpc-eligibility-criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Criterion {
    PlanMember,
    AdvancedIllness,
    SymptomManagement,
    WantsHomeCare,
    WillingParticipants,
    HomeboundCertified,
    ServiceArea,
    HomeSafe,
    PhysicianReferral,
    PlanPhysicianDirects,
}

impl Criterion {
    pub const ALL: [Criterion; 10] = [
        Criterion::PlanMember,
        Criterion::AdvancedIllness,
        Criterion::SymptomManagement,
        Criterion::WantsHomeCare,
        Criterion::WillingParticipants,
        Criterion::HomeboundCertified,
        Criterion::ServiceArea,
        Criterion::HomeSafe,
        Criterion::PhysicianReferral,
        Criterion::PlanPhysicianDirects,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Criterion::PlanMember => "plan-member",
            Criterion::AdvancedIllness => "advanced-illness",
            Criterion::SymptomManagement => "symptom-management",
            Criterion::WantsHomeCare => "wants-home-care",
            Criterion::WillingParticipants => "willing-participants",
            Criterion::HomeboundCertified => "homebound-certified",
            Criterion::ServiceArea => "service-area",
            Criterion::HomeSafe => "home-safe",
            Criterion::PhysicianReferral => "physician-referral",
            Criterion::PlanPhysicianDirects => "plan-physician-directs",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Criterion::PlanMember => "Plan member",
            Criterion::AdvancedIllness => "Progressive, advanced medical condition",
            Criterion::SymptomManagement => "Needs assistance with symptom management",
            Criterion::WantsHomeCare => "Desires to receive this care at home",
            Criterion::WillingParticipants => "Patient and caregivers are willing participants",
            Criterion::HomeboundCertified => "Homebound, certified by a physician",
            Criterion::ServiceArea => "Home is in the service area",
            Criterion::HomeSafe => "Home is a place where services can be given safely",
            Criterion::PhysicianReferral => "Referred by a physician",
            Criterion::PlanPhysicianDirects => "All care directed by a plan physician",
        }
    }

    /// What evidence would decide the criterion when it is unknown.
    pub fn evidence_needed(self) -> &'static str {
        match self {
            Criterion::PlanMember => "an active Coverage (member id type MB) from the plan, referenced by ServiceRequest.insurance",
            Criterion::AdvancedIllness => "an active, confirmed Condition (clinicalStatus, verificationStatus) coded in ICD-10-CM or SNOMED CT from the advanced-illness ValueSet, sent with the referral and referenced by ServiceRequest.reasonReference",
            Criterion::SymptomManagement => "a symptom Condition or symptom score Observation (pain, dyspnea, recurrent infection)",
            Criterion::WantsHomeCare => "the participation Consent in force on the referral date (status active, provision.period) stating care at home (provision.code)",
            Criterion::WillingParticipants => "an active participation Consent in force on the referral date with the patient and caregivers as performers",
            Criterion::HomeboundCertified => "the homebound certification Observation (SNOMED 160689007), final, by a physician with a qualification, with basedOn the referral",
            Criterion::ServiceArea => "the patient's home address with a ZIP code or county",
            Criterion::HomeSafe => "a completed home safety assessment Observation with a coded result",
            Criterion::PhysicianReferral => "the requester Practitioner or PractitionerRole with a physician qualification",
            Criterion::PlanPhysicianDirects => "the managing physician's Practitioner (NPI) or PractitionerRole (organization)",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// CodeSystem hbpc-eligibility-result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    NotMet,
    Unknown,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not-met",
            Verdict::Unknown => "unknown",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Verdict::Met => "Met",
            Verdict::NotMet => "Not met",
            Verdict::Unknown => "Unknown (evidence missing)",
        }
    }
}

/// One criterion's result, with what was read to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub criterion: Criterion,
    pub verdict: Verdict,
    pub reason: String,
    /// `Type/id` of each resource that decided the result.
    pub evidence: Vec<String>,
    /// FHIRPath of what was read, rooted at the resources evaluated.
    pub expression: &'static str,
}

impl Finding {
    fn new(
        criterion: Criterion,
        verdict: Verdict,
        reason: impl Into<String>,
        evidence: Vec<String>,
        expression: &'static str,
    ) -> Self {
        Self {
            criterion,
            verdict,
            reason: reason.into(),
            evidence,
            expression,
        }
    }
}

/// The overall result of a determination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Eligible,
    Ineligible,
    /// None failed, some could not be decided.
    Pending,
    /// The referral is not an active order ([`Precondition::ReferralStatus`]): nothing decided.
    NotEvaluated,
}

impl Decision {
    /// The code `$evaluate-eligibility` answers and the metrics count by.
    pub fn code(self) -> &'static str {
        match self {
            Decision::Eligible => "eligible",
            Decision::Ineligible => "ineligible",
            Decision::Pending => "pending",
            Decision::NotEvaluated => "not-evaluated",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Determination {
    pub findings: Vec<Finding>,
    /// The symptoms found to need managing (the plan's symptom activities), as [`symptoms`]
    /// gives them.
    pub symptoms: Vec<Symptom>,
    /// The precondition that decided the referral before the criteria (then `findings` is empty).
    pub precondition: Option<Precondition>,
}

impl Determination {
    pub fn decision(&self) -> Decision {
        match &self.precondition {
            Some(Precondition::Deceased { .. }) => return Decision::Ineligible,
            Some(Precondition::ReferralStatus { .. }) => return Decision::NotEvaluated,
            None => {}
        }
        if self.findings.iter().any(|f| f.verdict == Verdict::NotMet) {
            Decision::Ineligible
        } else if self.findings.iter().any(|f| f.verdict == Verdict::Unknown) {
            Decision::Pending
        } else {
            Decision::Eligible
        }
    }

    pub fn with(&self, verdict: Verdict) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.verdict == verdict)
    }

    pub fn verdict(&self, criterion: Criterion) -> Option<Verdict> {
        self.findings
            .iter()
            .find(|f| f.criterion == criterion)
            .map(|f| f.verdict)
    }
}

/// Evaluates every criterion for the referral in `evidence`.
pub fn evaluate(
    evidence: &Evidence,
    rules: &EligibilityRules,
    terminology: &dyn Terminology,
) -> Determination {
    evaluate_in(&Scope::new(evidence), rules, terminology)
}

/// [`evaluate`] in an evaluation's view of the evidence.
pub fn evaluate_in(
    ev: &Scope,
    rules: &EligibilityRules,
    terminology: &dyn Terminology,
) -> Determination {
    if let Some(precondition) = preconditions::check(ev) {
        return Determination {
            findings: Vec::new(),
            symptoms: Vec::new(),
            precondition: Some(precondition),
        };
    }
    let symptoms = symptoms::symptoms(ev, rules, terminology);
    // both consent criteria read the same Consents, latest first
    let consents = consent::consents(ev);
    let findings = vec![
        plan_member::evaluate(ev, rules),
        advanced_illness::evaluate(ev, rules, terminology),
        symptoms::evaluate(ev, rules, terminology, &symptoms),
        consent::wants_home_care(ev, rules, &consents),
        consent::willing_participants(ev, rules, &consents),
        homebound::evaluate(ev, rules),
        service_area::evaluate(ev, rules),
        home_safety::evaluate(ev, rules),
        physician::physician_referral(ev, rules),
        physician::plan_physician_directs(ev, rules),
    ];
    Determination {
        findings,
        symptoms,
        precondition: None,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod verdicts_tests;
