//! The HBPC program as FHIR resources: its Organization, the gateway Device that generates
//! plans, and role-only PractitionerRoles for agency staff not yet named.

use super::services::Role;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Program {
    pub organization_id: String,
    pub organization_name: String,
    /// `(system, value)` of the program organisation's identifier.
    pub organization_identifier: (String, String),
    pub device_id: String,
}

impl Default for Program {
    fn default() -> Self {
        Self {
            organization_id: "hbpc-program".into(),
            organization_name: "Home Based Palliative Care program".into(),
            organization_identifier: (
                "http://hbpc.example.org/fhir/sid/organization".into(),
                "hbpc-program".into(),
            ),
            device_id: "hbpc-gateway".into(),
        }
    }
}

impl Program {
    pub fn organization_ref(&self) -> Value {
        json!({"reference": format!("Organization/{}", self.organization_id), "display": self.organization_name})
    }

    pub fn device_ref(&self) -> Value {
        json!({"reference": format!("Device/{}", self.device_id), "display": "hbpc-gateway"})
    }

    pub fn role_id(&self, role: Role) -> String {
        format!("{}-{}", self.organization_id, role.slug())
    }

    pub fn role_ref(&self, role: Role) -> Value {
        json!({"reference": format!("PractitionerRole/{}", self.role_id(role)),
               "display": format!("{} ({})", role.display(), self.organization_name)})
    }

    /// The resources the program's references point to, created once at start.
    pub fn resources(&self) -> Vec<Value> {
        let (system, value) = &self.organization_identifier;
        let mut all = vec![
            json!({
                "resourceType": "Organization",
                "id": self.organization_id,
                "identifier": [{"system": system, "value": value}],
                "active": true,
                "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                      "code": "prov", "display": "Healthcare Provider"}]}],
                "name": self.organization_name,
            }),
            json!({
                "resourceType": "Device",
                "id": self.device_id,
                "identifier": [{"system": "http://hbpc.example.org/fhir/sid/device", "value": self.device_id}],
                "status": "active",
                "deviceName": [{"name": "hbpc-gateway", "type": "user-friendly-name"}],
                "version": [{"value": env!("CARGO_PKG_VERSION")}],
                "owner": {"reference": format!("Organization/{}", self.organization_id)},
            }),
        ];
        for role in Role::ALL {
            all.push(json!({
                "resourceType": "PractitionerRole",
                "id": self.role_id(role),
                "identifier": [{"system": "http://hbpc.example.org/fhir/sid/program-role",
                                "value": self.role_id(role)}],
                "active": true,
                "organization": {"reference": format!("Organization/{}", self.organization_id)},
                "code": [role.concept()],
            }));
        }
        all
    }
}
