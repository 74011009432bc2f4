//! Intake's validation policy: liberal in what we accept, exact in what we decide.
//!
//! A resource is checked against R4, the profiles it declares and, when it is an HBPC referral
//! ServiceRequest that declares none, the referral profile (`domain::guide::default_profiles`).
//! In a referral (the ServiceRequest alone, or a Bundle or message carrying one) what the
//! evidence lacks is not a reason to refuse it: the issues of the referral's evidence elements
//! and of every other resource it travels with become warnings, and the criteria evaluate the
//! evidence (unknown or not met, with the reason). A referenced resource that misses its target
//! profile is reported with the rules it misses, as `$validate` on it would. What stays an error
//! (422) is a referral the program cannot act on at all: no placer identifier, not an order, not
//! a palliative referral code, not about a Patient, no referral date (docs/eligibility.md).

use crate::domain::guide::default_profiles::HbpcDefaultProfiles;
use fhir_engine::outcome::{Issue, Severity};
use fhir_engine::validation::structure::{Request, StructureValidator};
use fhir_engine::validation::{IntakeValidator, Outcome};
use serde_json::Value;
use std::sync::Arc;

/// The referral's elements that carry evidence: their problems are the criteria's to judge.
const EVIDENCE_ELEMENTS: [&str; 6] = [
    "reasonReference",
    "reasonCode",
    "insurance",
    "supportingInfo",
    "requester",
    "performer",
];

pub struct IntakePolicy {
    validator: Arc<StructureValidator>,
    default_profiles: bool,
    referrals: HbpcDefaultProfiles,
}

impl IntakePolicy {
    pub fn new(validator: Arc<StructureValidator>, default_profiles: bool) -> Self {
        Self {
            validator,
            default_profiles,
            referrals: HbpcDefaultProfiles::new(),
        }
    }

    /// Where the referral is: `Some(entries)` with the Bundle entries holding a referral (empty
    /// for a referral sent alone), `None` when there is no referral.
    fn referral_entries(&self, resource: &Value) -> Option<Vec<usize>> {
        if self.referrals.is_referral(resource) {
            return Some(Vec::new());
        }
        let entries = resource.get("entry").and_then(Value::as_array)?;
        let found: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.get("resource")
                    .is_some_and(|r| self.referrals.is_referral(r))
            })
            .map(|(i, _)| i)
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// The issues that say how a referenced resource misses `profile`, rooted at `root` (the
    /// target's path in the request).
    fn target_issues(&self, target: &Value, profile: &str, root: &str) -> Vec<Issue> {
        let rt = target
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let request = Request {
            profiles: vec![profile.to_string()],
            default_profiles: false,
        };
        self.validator
            .validate(target, &request)
            .profile
            .into_iter()
            .filter(Issue::is_error)
            .map(|mut issue| {
                issue.severity = Severity::Warning;
                issue.text = format!("{profile}: {}", issue.text);
                issue.expression = issue
                    .expression
                    .iter()
                    .map(|e| match e.strip_prefix(rt) {
                        Some(rest) => format!("{root}{rest}"),
                        None => e.clone(),
                    })
                    .collect();
                issue
            })
            .collect()
    }
}

impl IntakeValidator for IntakePolicy {
    fn check(&self, resource: &Value) -> Outcome {
        let request = Request {
            profiles: Vec::new(),
            default_profiles: self.default_profiles,
        };
        let mut outcome = self.validator.validate(resource, &request);
        if outcome.base_errors() {
            return outcome;
        }
        let Some(referrals) = self.referral_entries(resource) else {
            return outcome;
        };
        let mut details = Vec::new();
        for issue in outcome.profile.iter_mut().filter(|i| i.is_error()) {
            let Some(at) = issue.expression.first().cloned() else {
                continue;
            };
            if !is_evidence_issue(&at, &referrals) {
                continue;
            }
            issue.severity = Severity::Warning;
            if let Some((target, profiles)) = nonconforming_target(&issue.text) {
                if let Some((root, resource)) = find_target(resource, target, &at) {
                    for profile in profiles {
                        details.extend(self.target_issues(resource, profile, &root));
                    }
                }
            }
            issue.text.push_str(
                " (accepted: the referral is evaluated, and the criteria judge this evidence)",
            );
        }
        outcome.profile.extend(details);
        outcome
    }

    fn knows_type(&self, resource_type: &str) -> bool {
        self.validator.knows_resource_type(resource_type)
    }
}

/// Whether an issue at `at` concerns the referral's evidence: any resource beside the referral
/// in a Bundle, or one of the referral's evidence elements.
fn is_evidence_issue(at: &str, referrals: &[usize]) -> bool {
    let within_referral = match entry_of(at) {
        Some((index, rest)) if referrals.contains(&index) => rest,
        Some(_) => return true,
        None if referrals.is_empty() => at.strip_prefix("ServiceRequest").unwrap_or(""),
        // the Bundle itself
        None => return false,
    };
    let element = within_referral
        .strip_prefix('.')
        .unwrap_or_default()
        .split(['.', '['])
        .next()
        .unwrap_or_default();
    EVIDENCE_ELEMENTS.contains(&element)
}

/// `(i, rest)` of `Bundle.entry[i].resource{rest}`.
fn entry_of(at: &str) -> Option<(usize, &str)> {
    let rest = at.strip_prefix("Bundle.entry[")?;
    let close = rest.find(']')?;
    let index = rest[..close].parse().ok()?;
    let rest = rest[close + 1..].strip_prefix(".resource")?;
    Some((index, rest))
}

/// `(reference, profiles)` of the engine's "the target {reference} does not conform to {p} or {q}"
/// (after the profile's label).
fn nonconforming_target(text: &str) -> Option<(&str, Vec<&str>)> {
    const LEAD: &str = "the target ";
    let rest = &text[text.find(LEAD)? + LEAD.len()..];
    let (reference, profiles) = rest.split_once(" does not conform to ")?;
    Some((reference, profiles.split(" or ").collect()))
}

/// The resource `reference` names, with its path in the request: a Bundle entry (by fullUrl, or
/// by `Type/id`), or a resource contained in the one that refers to it.
fn find_target<'a>(request: &'a Value, reference: &str, at: &str) -> Option<(String, &'a Value)> {
    if let Some(local) = reference.strip_prefix('#') {
        let (holder, root) = match entry_of(at) {
            Some((i, _)) => (
                request.pointer(&format!("/entry/{i}/resource"))?,
                format!("Bundle.entry[{i}].resource"),
            ),
            None => (
                request,
                request
                    .get("resourceType")
                    .and_then(Value::as_str)?
                    .to_string(),
            ),
        };
        let contained = holder.get("contained").and_then(Value::as_array)?;
        let index = contained
            .iter()
            .position(|c| c.get("id").and_then(Value::as_str) == Some(local))?;
        return Some((format!("{root}.contained[{index}]"), &contained[index]));
    }
    let entries = request.get("entry").and_then(Value::as_array)?;
    entries.iter().enumerate().find_map(|(i, e)| {
        let resource = e.get("resource")?;
        let full_url = e.get("fullUrl").and_then(Value::as_str);
        let key = format!(
            "{}/{}",
            resource.get("resourceType").and_then(Value::as_str)?,
            resource
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
        );
        (full_url == Some(reference) || reference == key || reference.ends_with(&format!("/{key}")))
            .then(|| (format!("Bundle.entry[{i}].resource"), resource))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_issues_are_those_beside_the_referral_or_in_its_evidence_elements() {
        assert!(is_evidence_issue("ServiceRequest.reasonReference[0]", &[]));
        assert!(is_evidence_issue("ServiceRequest.requester", &[]));
        assert!(!is_evidence_issue("ServiceRequest.intent", &[]));
        assert!(!is_evidence_issue("ServiceRequest.identifier", &[]));
        assert!(!is_evidence_issue("ServiceRequest", &[]));
        assert!(is_evidence_issue(
            "Bundle.entry[3].resource.clinicalStatus",
            &[5]
        ));
        assert!(is_evidence_issue(
            "Bundle.entry[5].resource.insurance[0].reference",
            &[5]
        ));
        assert!(!is_evidence_issue("Bundle.entry[5].resource.code", &[5]));
        assert!(!is_evidence_issue("Bundle.type", &[5]));
    }

    #[test]
    fn reads_the_engines_target_message() {
        assert_eq!(
            nonconforming_target(
                "hbpc-referral-servicerequest: the target urn:uuid:1 does not conform to http://a or http://b"
            ),
            Some(("urn:uuid:1", vec!["http://a", "http://b"]))
        );
        assert_eq!(nonconforming_target("something else"), None);
    }
}
