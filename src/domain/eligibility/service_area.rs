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
        return finding(
            Verdict::Unknown,
            "the patient could not be read".into(),
            vec![],
        );
    };
    let key = key.to_string();
    let Some(address) = ev.get(&key).and_then(home_address) else {
        return finding(
            Verdict::Unknown,
            "the patient has no home address".into(),
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
            "the home address has no ZIP code or county".into(),
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
            "the home address is in the service area".into(),
            vec![key],
        )
    } else {
        finding(
            Verdict::NotMet,
            "the home address is outside the service area".into(),
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
