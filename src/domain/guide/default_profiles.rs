//! The program's default-profile policy: a resource that declares no `meta.profile` gets an HBPC
//! profile only when it is an HBPC referral (`validation.default_profiles`). Everything else (a
//! lab order, a DNR order, a wound-care CarePlan) is checked against R4 and what it declares; the
//! resources a referral references are checked in their roles through the referral profile's
//! target profiles.

use super::HBPC_CANONICAL;
use fhir_engine::model::coding::codings;
use fhir_engine::validation::structure::DefaultProfiles;
use serde_json::Value;

/// The profile an HBPC referral ServiceRequest gets when it declares none.
pub const REFERRAL_PROFILE: &str = "hbpc-referral-servicerequest";

/// The referral types (ValueSet hbpc-referral-type), as compiled into the guide.
const REFERRAL_TYPE_VALUE_SET: &str =
    include_str!("../../../profiles/ValueSet-hbpc-referral-type.json");

/// A ServiceRequest based on another ServiceRequest (e.g. therapy ordered with a referral) is
/// an order placed under the referral, not a referral: it gets no default referral profile.
pub fn is_ancillary_order(resource: &Value, rt: &str) -> bool {
    rt == "ServiceRequest"
        && resource
            .get("basedOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| b.get("reference").and_then(Value::as_str))
            .any(|r| {
                r.starts_with("ServiceRequest/")
                    || r.contains("/ServiceRequest/")
                    || r.starts_with("urn:uuid:")
            })
}

/// An HBPC referral: a ServiceRequest with a `code` or `category` coding that `is_referral_type`
/// accepts (ValueSet hbpc-referral-type), not an order placed under another ServiceRequest.
pub fn is_hbpc_referral(
    resource: &Value,
    is_referral_type: impl Fn(Option<&str>, &str) -> bool,
) -> bool {
    resource.get("resourceType").and_then(Value::as_str) == Some("ServiceRequest")
        && !is_ancillary_order(resource, "ServiceRequest")
        && (resource
            .get("code")
            .is_some_and(|code| codings(code).any(|(s, c)| is_referral_type(s, c)))
            || resource
                .get("category")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|cat| codings(cat).any(|(s, c)| is_referral_type(s, c))))
}

/// [`REFERRAL_PROFILE`] for HBPC referrals, nothing for anything else.
pub struct HbpcDefaultProfiles {
    referral_profile: String,
    /// `(system, code)` of the referral types.
    referral_types: Vec<(String, String)>,
}

impl HbpcDefaultProfiles {
    pub fn new() -> Self {
        let vs: Value = serde_json::from_str(REFERRAL_TYPE_VALUE_SET).unwrap_or(Value::Null);
        let referral_types = vs
            .pointer("/compose/include")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|include| {
                let system = include
                    .get("system")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                include
                    .get("concept")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("code").and_then(Value::as_str))
                    .map(move |c| (system.clone(), c.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        Self {
            referral_profile: format!("{HBPC_CANONICAL}/StructureDefinition/{REFERRAL_PROFILE}"),
            referral_types,
        }
    }

    pub fn is_referral(&self, resource: &Value) -> bool {
        is_hbpc_referral(resource, |s, c| {
            self.referral_types
                .iter()
                .any(|(ts, tc)| Some(ts.as_str()) == s && tc == c)
        })
    }
}

impl Default for HbpcDefaultProfiles {
    fn default() -> Self {
        Self::new()
    }
}

impl DefaultProfiles for HbpcDefaultProfiles {
    fn default_profile(&self, _resource_type: &str, resource: &Value) -> Option<&str> {
        self.is_referral(resource)
            .then_some(self.referral_profile.as_str())
    }
}
