//! The HBPC program as FHIR resources: its Organization, the gateway Device that generates
//! plans, and role-only PractitionerRoles for agency staff not yet named.

use super::services::Role;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Program {
    organization_id: String,
    organization_name: String,
    /// `(system, value)` of the program organisation's identifier.
    organization_identifier: (String, String),
    device_id: String,
    /// The references every plan repeats, built once (each evaluation clones them).
    references: References,
}

#[derive(Debug, Clone)]
struct References {
    organization: Value,
    device: Value,
    /// In the order of [`Role::ALL`].
    roles: Vec<Value>,
}

impl Default for Program {
    fn default() -> Self {
        Self::new(
            "hbpc-program".into(),
            "Home Based Palliative Care program".into(),
            (
                "http://hbpc.example.org/fhir/sid/organization".into(),
                "hbpc-program".into(),
            ),
            "hbpc-gateway".into(),
        )
    }
}

impl Program {
    pub fn new(
        organization_id: String,
        organization_name: String,
        organization_identifier: (String, String),
        device_id: String,
    ) -> Self {
        let references = References {
            organization: json!({"reference": format!("Organization/{organization_id}"), "display": organization_name}),
            device: json!({"reference": format!("Device/{device_id}"), "display": "hbpc-gateway"}),
            roles: Role::ALL
                .into_iter()
                .map(|role| {
                    json!({"reference": format!("PractitionerRole/{organization_id}-{}", role.slug()),
                           "display": format!("{} ({organization_name})", role.display())})
                })
                .collect(),
        };
        Self {
            organization_id,
            organization_name,
            organization_identifier,
            device_id,
            references,
        }
    }

    pub fn organization_name(&self) -> &str {
        &self.organization_name
    }

    pub fn organization_ref(&self) -> Value {
        self.references.organization.clone()
    }

    pub fn device_ref(&self) -> Value {
        self.references.device.clone()
    }

    pub fn role_id(&self, role: Role) -> String {
        format!("{}-{}", self.organization_id, role.slug())
    }

    pub fn role_ref(&self, role: Role) -> Value {
        self.references.roles[role.index()].clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_the_configured_program() {
        let program = Program::new(
            "org".into(),
            "Org & Co".into(),
            ("urn:sys".into(), "v".into()),
            "dev".into(),
        );
        assert_eq!(
            program.organization_ref(),
            json!({"reference": "Organization/org", "display": "Org & Co"})
        );
        assert_eq!(
            program.device_ref(),
            json!({"reference": "Device/dev", "display": "hbpc-gateway"})
        );
        for role in Role::ALL {
            assert_eq!(
                program.role_ref(role),
                json!({"reference": format!("PractitionerRole/{}", program.role_id(role)),
                       "display": format!("{} (Org & Co)", role.display())})
            );
        }
    }
}
