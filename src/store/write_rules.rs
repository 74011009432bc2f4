//! Backend-neutral rules of `ResourceStore::apply`, shared by every store implementation.

use super::{OpFailure, StoreError, WriteOp};
use fhir_engine::fast_hash::FastMap;
use fhir_engine::model::identifier::{IdentifierToken, SystemMatch};

/// How a conditional create resolved.
pub enum Resolution {
    Proceed,
    /// It matched this existing id; nothing is created.
    Existing(String),
}

/// The claim key's system column: `*` for "any system", empty for "no system".
pub fn claim_system(token: &IdentifierToken) -> &str {
    match &token.system {
        SystemMatch::Any => "*",
        SystemMatch::NoSystem => "",
        SystemMatch::Exactly(s) => s,
    }
}

/// The search system filter: `None` matches any system.
pub fn search_system(token: &IdentifierToken) -> Option<&str> {
    match &token.system {
        SystemMatch::Any => None,
        SystemMatch::NoSystem => Some(""),
        SystemMatch::Exactly(s) => Some(s),
    }
}

/// What the identifier search found for a conditional create.
pub fn resolve_matches(index: usize, matches: &[String]) -> Result<Option<Resolution>, StoreError> {
    match matches {
        [] => Ok(None),
        [one] => Ok(Some(Resolution::Existing(one.clone()))),
        many => Err(StoreError::Op {
            index,
            failure: OpFailure::MultipleMatches { count: many.len() },
        }),
    }
}

/// `Type/pre-assigned` → `Type/existing` for every conditional create that matched. The keys
/// carry ids this server assigned, so the Fx hasher serves (`fast_hash`): every reference of
/// every resource in the commit is looked up.
pub fn aliases(ops: &[WriteOp], resolutions: &[Resolution]) -> FastMap<String, String> {
    ops.iter()
        .zip(resolutions)
        .filter_map(|(op, r)| match r {
            Resolution::Existing(existing) => {
                let rt = op.resource_type();
                Some((format!("{rt}/{}", op.id()), format!("{rt}/{existing}")))
            }
            Resolution::Proceed => None,
        })
        .collect()
}

/// `If-Match` against the live (non-deleted) version.
pub fn check_if_match(
    index: usize,
    if_match: Option<u64>,
    live: Option<u64>,
) -> Result<(), StoreError> {
    match if_match {
        Some(expected) if live != Some(expected) => Err(StoreError::Op {
            index,
            failure: OpFailure::VersionConflict {
                expected,
                current: live,
            },
        }),
        _ => Ok(()),
    }
}
