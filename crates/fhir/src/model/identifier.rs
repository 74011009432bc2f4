//! Business identifiers: extraction from resources and the `identifier` search token.

use crate::json::member::Member;
use serde_json::Value;

/// An `identifier` token: `system|value`, `|value` (no system) or `value` (any system).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentifierToken {
    pub system: SystemMatch,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SystemMatch {
    Any,
    NoSystem,
    Exactly(String),
}

impl IdentifierToken {
    pub fn parse(token: &str) -> Option<Self> {
        let (system, value) = match token.split_once('|') {
            None => (SystemMatch::Any, token),
            Some(("", value)) => (SystemMatch::NoSystem, value),
            Some((system, value)) => (SystemMatch::Exactly(system.to_string()), value),
        };
        (!value.is_empty()).then(|| Self {
            system,
            value: value.to_string(),
        })
    }
}

/// A stored identifier; an absent system is stored as the empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

/// `identifier` is 0..* on most resources and 0..1 on a few (e.g. QuestionnaireResponse).
pub fn identifiers_of(resource: &Value) -> Vec<Identifier> {
    let one = |v: &Value| {
        let value = v.member("value").and_then(Value::as_str)?;
        Some(Identifier {
            system: v
                .member("system")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            value: value.to_string(),
        })
    };
    match resource.member("identifier") {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(obj @ Value::Object(_)) => one(obj).into_iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_forms() {
        assert_eq!(
            IdentifierToken::parse("http://x|1").unwrap().system,
            SystemMatch::Exactly("http://x".into())
        );
        assert_eq!(
            IdentifierToken::parse("|1").unwrap().system,
            SystemMatch::NoSystem
        );
        assert_eq!(
            IdentifierToken::parse("1").unwrap().system,
            SystemMatch::Any
        );
        assert!(IdentifierToken::parse("http://x|").is_none());
    }

    #[test]
    fn extracts_array_and_single() {
        let r = json!({"identifier": [{"system": "s", "value": "v"}, {"value": "w"}]});
        assert_eq!(identifiers_of(&r).len(), 2);
        let q = json!({"identifier": {"system": "s", "value": "v"}});
        assert_eq!(identifiers_of(&q)[0].value, "v");
    }
}
