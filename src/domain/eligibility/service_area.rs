//! "The home where you get the care is in the service area": the patient's home address
//! against the configured ZIP codes, ZIP-3 prefixes and counties.

use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use serde_json::Value;

const EXPRESSION: &str = "Patient.address.where(use = 'home' or use.empty()).first().select(postalCode.substring(0, 5) in %zipCodes or postalCode.substring(0, 3) in %zip3 or district in %counties)";

pub fn evaluate(ev: &Scope, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::ServiceArea,
            verdict,
            reason,
            evidence,
            EXPRESSION,
        )
    };
    let Some(key) = ev.patient_key().filter(|k| ev.contains(k)) else {
        let named = ev
            .referral()
            .member("subject")
            .and_then(|s| s.member("reference"))
            .and_then(Value::as_str)
            .unwrap_or("none");
        return finding(
            Verdict::Unknown,
            format!("the patient (ServiceRequest.subject {named}) could not be read"),
            vec![],
        );
    };
    let key = key.to_string();
    let Some(address) = ev.get(&key).and_then(home_address) else {
        return finding(
            Verdict::Unknown,
            format!("{key} has no home address (Patient.address)"),
            vec![key],
        );
    };
    let zip: String = address
        .member("postalCode")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .take(5)
        .collect();
    let county = address
        .member("district")
        .and_then(Value::as_str)
        .unwrap_or("");
    if zip.is_empty() && county.is_empty() {
        return finding(
            Verdict::Unknown,
            format!("{key} home address has no ZIP code or county (Patient.address.postalCode, .district)"),
            vec![key],
        );
    }
    let by_zip = zip.len() == 5
        && (rules.service_area_zip_codes.contains(&zip)
            || rules
                .service_area_zip3
                .iter()
                .any(|p| zip.starts_with(p.as_str())));
    let by_county = !county.is_empty()
        && rules
            .service_area_counties
            .iter()
            .any(|c| c.eq_ignore_ascii_case(county.trim()));
    if by_zip || by_county {
        finding(
            Verdict::Met,
            format!(
                "{key} home address (Patient.address.postalCode/district) is in the service area"
            ),
            vec![key],
        )
    } else {
        finding(
            Verdict::NotMet,
            format!("{key} home address (Patient.address.postalCode/district) is outside the service area"),
            vec![key],
        )
    }
}

/// The home address: `use` home, else the first that is not old, work, temp or billing.
fn home_address(patient: &Value) -> Option<&Value> {
    let addresses = patient.member("address").and_then(Value::as_array)?;
    addresses
        .iter()
        .find(|a| a.member("use").and_then(Value::as_str) == Some("home"))
        .or_else(|| {
            addresses.iter().find(|a| {
                !matches!(
                    a.member("use").and_then(Value::as_str),
                    Some("old" | "work" | "temp" | "billing")
                )
            })
        })
}
