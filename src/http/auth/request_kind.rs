//! What a request asks for, as far as authorization and auditing are concerned, from its
//! method and path alone (this runs before routing). New routes plug in here: map the path to
//! an `Interaction` on a type (or an operation) and `ScopeSet::permits` does the rest.

use crate::domain::auth::scope::Interaction;
use actix_web::http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// Liveness and readiness probes and `/metrics` (counts only, no PHI): neither
    /// authenticated nor audited.
    Probe,
    /// `GET /fhir/metadata`, `.well-known/smart-configuration`, `/auth/jwks`: no token needed.
    Public { subtype: &'static str },
    /// Needs a valid token (when auth is on) but no particular scope: the workbench's
    /// fixtures (`/workbench/fixtures…`, invented data).
    Authenticated { subtype: &'static str },
    /// `POST /auth/token`.
    TokenEndpoint,
    /// A REST interaction on a resource type (and instance).
    Rest {
        interaction: Interaction,
        resource_type: String,
        id: Option<String>,
        version: Option<String>,
    },
    /// `$name` at system, type or instance level.
    Operation {
        name: String,
        resource_type: Option<String>,
        id: Option<String>,
    },
    /// `POST /fhir`: a transaction or batch, authorized entry by entry by its handler.
    Bundle,
    /// Anything else under `/fhir` (unknown routes): a token is needed; routing answers 404/405.
    OtherFhir,
    /// Outside `/fhir` and not ours: routing answers 404.
    Other,
}

/// Conformance resources every authenticated client may read (the published guide).
pub const CONFORMANCE_TYPES: &[&str] = &["StructureDefinition", "ValueSet", "CodeSystem"];

fn decode(segment: &str) -> String {
    // `%24validate` reaches the same route as `$validate`.
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn classify(method: &Method, path: &str) -> RequestKind {
    match path {
        "/healthz" | "/readyz" | "/metrics" => return RequestKind::Probe,
        "/auth/token" => return RequestKind::TokenEndpoint,
        "/auth/jwks" => return RequestKind::Public { subtype: "jwks" },
        "/.well-known/smart-configuration" | "/fhir/.well-known/smart-configuration" => {
            return RequestKind::Public {
                subtype: "smart-configuration",
            }
        }
        _ => {}
    }
    // The workbench (issue #23): its page and assets are public; its fixtures, and anything
    // else under the prefix, need a token. Decoded, so that no spelling of a path slips by
    // (only paths with a `%` are decoded: no allocation on the usual request).
    let decoded;
    let plain = if path.contains('%') {
        decoded = decode(path);
        decoded.as_str()
    } else {
        path
    };
    if crate::http::workbench::is_workbench_path(plain) {
        return if crate::http::workbench::is_public_path(plain) {
            RequestKind::Public {
                subtype: "workbench",
            }
        } else {
            RequestKind::Authenticated {
                subtype: "workbench-fixtures",
            }
        };
    }
    // Operator endpoints (`/admin/deliveries`, …): an operation of their own, granted by
    // `system/$<name>` (e.g. `system/$deliveries`), never by resource scopes.
    if let Some(admin) = path.strip_prefix("/admin/") {
        let name = admin.split('/').next().unwrap_or_default();
        return RequestKind::Operation {
            name: decode(name),
            resource_type: None,
            id: None,
        };
    }
    let Some(rest) = path
        .strip_prefix("/fhir")
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return RequestKind::Other;
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let op = |s: &str| s.strip_prefix('$').map(str::to_string);
    let is_get = method == Method::GET || method == Method::HEAD;
    let rest = |interaction, t: &str, id: Option<&str>, version: Option<&str>| RequestKind::Rest {
        interaction,
        resource_type: t.to_string(),
        id: id.map(str::to_string),
        version: version.map(str::to_string),
    };
    match seg.as_slice() {
        [] if method == Method::POST => RequestKind::Bundle,
        ["metadata"] => RequestKind::Public {
            subtype: "capabilities",
        },
        [name] if name.starts_with('$') => RequestKind::Operation {
            name: op(name).unwrap_or_default(),
            resource_type: None,
            id: None,
        },
        [t, name] if name.starts_with('$') => RequestKind::Operation {
            name: op(name).unwrap_or_default(),
            resource_type: Some(t.to_string()),
            id: None,
        },
        [t, id, name] if name.starts_with('$') => RequestKind::Operation {
            name: op(name).unwrap_or_default(),
            resource_type: Some(t.to_string()),
            id: Some(id.to_string()),
        },
        [t] if is_get => rest(Interaction::Search, t, None, None),
        [t, "_search"] if method == Method::POST => rest(Interaction::Search, t, None, None),
        [t, "_history"] if is_get => rest(Interaction::History, t, None, None),
        [t] if method == Method::POST => rest(Interaction::Create, t, None, None),
        // conditional update, patch and delete (`[type]?criteria`): the same scopes as on
        // `[type]/[id]`
        [t] if method == Method::PUT => rest(Interaction::Update, t, None, None),
        [t] if method == Method::PATCH => rest(Interaction::Patch, t, None, None),
        [t] if method == Method::DELETE => rest(Interaction::Delete, t, None, None),
        [t, id] if is_get => rest(Interaction::Read, t, Some(id), None),
        [t, id] if method == Method::PUT => rest(Interaction::Update, t, Some(id), None),
        [t, id] if method == Method::PATCH => rest(Interaction::Patch, t, Some(id), None),
        [t, id] if method == Method::DELETE => rest(Interaction::Delete, t, Some(id), None),
        [t, id, "_history"] if is_get => rest(Interaction::History, t, Some(id), None),
        // compartment search (`Patient/p1/CarePlan`): a search of the member type
        [_, _, t] if is_get => rest(Interaction::Search, t, None, None),
        [t, id, "_history", v] if is_get => rest(Interaction::Vread, t, Some(id), Some(v)),
        _ => RequestKind::OtherFhir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(m: Method, p: &str) -> RequestKind {
        classify(&m, p)
    }

    #[test]
    fn paths() {
        assert_eq!(k(Method::GET, "/healthz"), RequestKind::Probe);
        assert_eq!(k(Method::GET, "/metrics"), RequestKind::Probe);
        assert_eq!(k(Method::POST, "/fhir"), RequestKind::Bundle);
        assert_eq!(k(Method::POST, "/fhir/"), RequestKind::Bundle);
        assert!(matches!(
            k(Method::GET, "/fhir/metadata"),
            RequestKind::Public { .. }
        ));
        assert!(matches!(
            k(Method::GET, "/fhir/Patient/p1/_history/2"),
            RequestKind::Rest { interaction: Interaction::Vread, ref id, ref version, .. }
                if id.as_deref() == Some("p1") && version.as_deref() == Some("2")
        ));
        assert!(matches!(
            k(Method::POST, "/fhir/ServiceRequest/%24validate"),
            RequestKind::Operation { ref name, .. } if name == "validate"
        ));
        assert!(matches!(
            k(Method::DELETE, "/fhir/Patient/p1"),
            RequestKind::Rest {
                interaction: Interaction::Delete,
                ..
            }
        ));
        assert!(matches!(
            k(Method::GET, "/fhir/CarePlan"),
            RequestKind::Rest {
                interaction: Interaction::Search,
                ..
            }
        ));
        assert_eq!(k(Method::GET, "/fhirx"), RequestKind::Other);
        assert_eq!(
            k(Method::POST, "/admin/deliveries/d1/$retry"),
            RequestKind::Operation {
                name: "deliveries".into(),
                resource_type: None,
                id: None
            }
        );
        assert_eq!(k(Method::GET, "/fhir/a/b/c/d/e"), RequestKind::OtherFhir);
        assert_eq!(k(Method::GET, "/"), RequestKind::Other);
        assert_eq!(
            k(Method::GET, "/workbench"),
            RequestKind::Public {
                subtype: "workbench"
            }
        );
        assert_eq!(
            k(Method::GET, "/workbench/app.js"),
            RequestKind::Public {
                subtype: "workbench"
            }
        );
        for fixtures in [
            "/workbench/fixtures",
            "/workbench/fixtures/referrals/eligible-cancer.json",
            "/workbench/%66ixtures",
            "/%77orkbench/fixtures/x.json",
        ] {
            assert_eq!(
                k(Method::GET, fixtures),
                RequestKind::Authenticated {
                    subtype: "workbench-fixtures"
                },
                "{fixtures}"
            );
        }
        assert_eq!(decode("%2"), "%2");
        assert_eq!(decode("a%"), "a%");
    }
}
