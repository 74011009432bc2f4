//! SMART scopes for Backend Services and the one check every route goes through.
//!
//! Accepted forms (all `system/`):
//! - v2: `system/CarePlan.rs`, `system/*.cruds` (letters of `cruds`, in that order);
//! - v1: `system/*.read` (= `rs`), `system/ServiceRequest.write` (= `cud`), `system/X.*` (= `cruds`);
//! - operations (ours): `system/$validate`, `system/$process-message`, … one per operation.
//!
//! Protected types (AuditEvent) are never covered by the `*` wildcard: reading the audit trail
//! takes an explicit `system/AuditEvent.rs` (or `.read`), the admin scope.

use std::fmt;

/// Types a wildcard scope does not reach.
pub const PROTECTED_TYPES: &[&str] = &["AuditEvent"];

/// The admin scope: read and search the audit trail.
pub const ADMIN_SCOPE: &str = "system/AuditEvent.rs";

/// A FHIR REST interaction on a resource type, as far as scopes are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Create,
    Read,
    Vread,
    Update,
    Patch,
    Delete,
    /// Type-level search, and resources pulled in by `_include` / `_revinclude`.
    Search,
    /// Instance or type history.
    History,
}

impl Interaction {
    /// The SMART v2 permission this interaction needs.
    pub fn permission(self) -> Perms {
        match self {
            Interaction::Create => Perms::C,
            Interaction::Read | Interaction::Vread | Interaction::History => Perms::R,
            Interaction::Update | Interaction::Patch => Perms::U,
            Interaction::Delete => Perms::D,
            Interaction::Search => Perms::S,
        }
    }

    /// The R4 `restful-interaction` code, used as the AuditEvent subtype.
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::Update => "update",
            Interaction::Patch => "patch",
            Interaction::Delete => "delete",
            Interaction::Search => "search-type",
            Interaction::History => "history-instance",
        }
    }
}

/// A set of `c r u d s` permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms(u8);

impl Perms {
    pub const NONE: Perms = Perms(0);
    pub const C: Perms = Perms(1);
    pub const R: Perms = Perms(2);
    pub const U: Perms = Perms(4);
    pub const D: Perms = Perms(8);
    pub const S: Perms = Perms(16);
    pub const ALL: Perms = Perms(31);

    pub fn union(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }

    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// The v2 letters, e.g. `rs`.
    pub fn letters(self) -> String {
        "cruds"
            .chars()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, c)| c)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSelector {
    Any,
    Type(String),
}

/// One parsed scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Rest { types: TypeSelector, perms: Perms },
    Operation(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("only system/ scopes are supported (SMART Backend Services)")]
    NotSystem,
    #[error("expected system/<Type|*>.<cruds|read|write|*> or system/$<operation>")]
    Malformed,
    #[error("'{0}' is not a resource type name")]
    BadType(String),
    #[error("'{0}' is not a permission: use letters of cruds in order, read, write or *")]
    BadPermission(String),
}

fn is_type_name(s: &str) -> bool {
    s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn parse_perms(s: &str) -> Result<Perms, ScopeError> {
    match s {
        "read" => return Ok(Perms::R.union(Perms::S)),
        "write" => return Ok(Perms::C.union(Perms::U).union(Perms::D)),
        "*" => return Ok(Perms::ALL),
        _ => {}
    }
    // v2: a non-empty subsequence of "cruds", each letter once, in order.
    let mut perms = 0u8;
    let mut last: Option<usize> = None;
    for c in s.chars() {
        let i = "cruds"
            .find(c)
            .ok_or_else(|| ScopeError::BadPermission(s.into()))?;
        if last.is_some_and(|l| i <= l) {
            return Err(ScopeError::BadPermission(s.into()));
        }
        last = Some(i);
        perms |= 1 << i;
    }
    if perms == 0 {
        return Err(ScopeError::BadPermission(s.into()));
    }
    Ok(Perms(perms))
}

impl Grant {
    pub fn parse(scope: &str) -> Result<Grant, ScopeError> {
        let rest = scope.strip_prefix("system/").ok_or(ScopeError::NotSystem)?;
        if let Some(op) = rest.strip_prefix('$') {
            let plain = !op.is_empty()
                && op.len() <= 64
                && op.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            return if plain {
                Ok(Grant::Operation(op.to_string()))
            } else {
                Err(ScopeError::Malformed)
            };
        }
        let (ty, perms) = rest.rsplit_once('.').ok_or(ScopeError::Malformed)?;
        let types = match ty {
            "*" => TypeSelector::Any,
            t if is_type_name(t) => TypeSelector::Type(t.to_string()),
            t => return Err(ScopeError::BadType(t.chars().take(64).collect())),
        };
        Ok(Grant::Rest {
            types,
            perms: parse_perms(perms)?,
        })
    }

    /// Does this grant reach `resource_type`?
    fn reaches(&self, resource_type: &str) -> bool {
        match self {
            Grant::Rest {
                types: TypeSelector::Any,
                ..
            } => !PROTECTED_TYPES.contains(&resource_type),
            Grant::Rest {
                types: TypeSelector::Type(t),
                ..
            } => t == resource_type,
            Grant::Operation(_) => false,
        }
    }

    /// Everything `other` allows, this allows too.
    pub fn covers(&self, other: &Grant) -> bool {
        match (self, other) {
            (Grant::Operation(a), Grant::Operation(b)) => a == b,
            (
                Grant::Rest { types, perms },
                Grant::Rest {
                    types: other_types,
                    perms: other_perms,
                },
            ) => {
                perms.contains(*other_perms)
                    && match (types, other_types) {
                        (TypeSelector::Any, TypeSelector::Any) => true,
                        (TypeSelector::Any, TypeSelector::Type(b)) => {
                            !PROTECTED_TYPES.contains(&b.as_str())
                        }
                        (TypeSelector::Type(a), TypeSelector::Type(b)) => a == b,
                        (TypeSelector::Type(_), TypeSelector::Any) => false,
                    }
            }
            _ => false,
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Operation(op) => write!(f, "system/${op}"),
            Grant::Rest { types, perms } => {
                let ty = match types {
                    TypeSelector::Any => "*",
                    TypeSelector::Type(t) => t,
                };
                write!(f, "system/{ty}.{}", perms.letters())
            }
        }
    }
}

/// What a token (or, with auth off, everyone) may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    grants: Vec<Grant>,
    everything: bool,
}

impl ScopeSet {
    /// Auth disabled: every interaction, the audit trail included.
    pub fn everything() -> Self {
        Self {
            grants: Vec::new(),
            everything: true,
        }
    }

    pub fn from_grants(grants: Vec<Grant>) -> Self {
        Self {
            grants,
            everything: false,
        }
    }

    /// Parses a space-separated `scope` claim, ignoring scopes we do not understand
    /// (`launch`, `openid`, granular `?` scopes …): they grant nothing here.
    pub fn parse_lenient(scopes: &str) -> Self {
        Self::from_grants(
            scopes
                .split_ascii_whitespace()
                .filter_map(|s| Grant::parse(s).ok())
                .collect(),
        )
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// THE scope check: may this interaction run on this resource type?
    /// Every route maps its request to an `Interaction` and a type and asks this.
    pub fn permits(&self, interaction: Interaction, resource_type: &str) -> bool {
        self.everything
            || self.grants.iter().any(|g| match g {
                Grant::Rest { perms, .. } => {
                    g.reaches(resource_type) && perms.contains(interaction.permission())
                }
                Grant::Operation(_) => false,
            })
    }

    /// May this operation (`validate`, `process-message`, …) be invoked?
    pub fn permits_operation(&self, operation: &str) -> bool {
        self.everything
            || self
                .grants
                .iter()
                .any(|g| matches!(g, Grant::Operation(op) if op == operation))
    }

    /// The requested scopes that `allowed` covers, in request order, each once.
    pub fn grantable(requested: &str, allowed: &ScopeSet) -> Vec<String> {
        let mut granted: Vec<String> = Vec::new();
        for scope in requested.split_ascii_whitespace() {
            let Ok(grant) = Grant::parse(scope) else {
                continue;
            };
            let covered = allowed.everything || allowed.grants.iter().any(|a| a.covers(&grant));
            if covered && !granted.iter().any(|g| g == scope) {
                granted.push(scope.to_string());
            }
        }
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse_lenient(s)
    }

    #[test]
    fn v2_and_v1_forms() {
        let s = set("system/CarePlan.rs system/ServiceRequest.c");
        assert!(s.permits(Interaction::Read, "CarePlan"));
        assert!(s.permits(Interaction::Search, "CarePlan"));
        assert!(!s.permits(Interaction::Update, "CarePlan"));
        assert!(s.permits(Interaction::Create, "ServiceRequest"));
        assert!(!s.permits(Interaction::Read, "ServiceRequest"));
        let v1 = set("system/*.read system/ServiceRequest.write");
        assert!(v1.permits(Interaction::Vread, "Patient"));
        assert!(v1.permits(Interaction::Search, "Patient"));
        assert!(!v1.permits(Interaction::Create, "Patient"));
        assert!(v1.permits(Interaction::Delete, "ServiceRequest"));
        assert!(set("system/*.cruds").permits(Interaction::Patch, "Task"));
    }

    #[test]
    fn wildcards_never_reach_the_audit_trail() {
        assert!(!set("system/*.cruds system/*.*").permits(Interaction::Read, "AuditEvent"));
        assert!(set(ADMIN_SCOPE).permits(Interaction::Search, "AuditEvent"));
        assert!(set("system/AuditEvent.read").permits(Interaction::Read, "AuditEvent"));
    }

    #[test]
    fn operations_are_their_own_permission() {
        let s = set("system/$validate");
        assert!(s.permits_operation("validate"));
        assert!(!s.permits_operation("process-message"));
        assert!(!s.permits(Interaction::Read, "Patient"));
        assert!(!set("system/*.cruds").permits_operation("validate"));
    }

    #[test]
    fn malformed_scopes_are_named() {
        assert_eq!(
            Grant::parse("user/Patient.read"),
            Err(ScopeError::NotSystem)
        );
        assert!(matches!(
            Grant::parse("system/Patient.rc"),
            Err(ScopeError::BadPermission(_))
        ));
        assert!(matches!(
            Grant::parse("system/Patient.rr"),
            Err(ScopeError::BadPermission(_))
        ));
        assert!(matches!(
            Grant::parse("system/patient.r"),
            Err(ScopeError::BadType(_))
        ));
        assert_eq!(Grant::parse("system/Patient"), Err(ScopeError::Malformed));
        assert_eq!(Grant::parse("system/$"), Err(ScopeError::Malformed));
    }

    #[test]
    fn granting_keeps_what_the_client_may_have() {
        let allowed = set("system/*.rs system/ServiceRequest.c system/$validate");
        let granted = ScopeSet::grantable(
            "system/Patient.rs system/Patient.c system/ServiceRequest.c system/$validate \
             system/AuditEvent.rs openid system/Patient.rs",
            &allowed,
        );
        assert_eq!(
            granted,
            [
                "system/Patient.rs",
                "system/ServiceRequest.c",
                "system/$validate"
            ]
        );
    }

    #[test]
    fn letters_round_trip() {
        for s in ["system/*.cruds", "system/Task.rs", "system/Goal.c"] {
            assert_eq!(Grant::parse(s).unwrap().to_string(), s);
        }
    }
}
