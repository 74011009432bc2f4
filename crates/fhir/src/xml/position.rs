//! Line and column of the elements issues name, in an XML document: the document is read
//! again, recording positions, only when there are issues to place.

use super::reader::{parse_with_positions, Positions};
use crate::json::JsonLimits;
use crate::outcome::Issue;

/// Adds `line L, column C` to each issue's diagnostics: the position of the element its first
/// expression names, or of its nearest present ancestor.
pub fn annotate(bytes: &[u8], limits: JsonLimits, issues: &mut [Issue]) {
    if issues.iter().all(|i| i.expression.is_empty()) {
        return;
    }
    if let Ok((_, positions)) = parse_with_positions(bytes, limits) {
        place(&positions, issues);
    }
}

/// [`annotate`] with positions already recorded.
pub fn place(positions: &Positions, issues: &mut [Issue]) {
    for issue in issues {
        let at = issue.expression.first().and_then(|e| find(positions, e));
        if let Some((line, column)) = at {
            issue.diagnostics = Some(format!("line {line}, column {column}"));
        }
    }
}

/// Where the element `expression` names starts, or its nearest present ancestor.
pub fn find(positions: &Positions, expression: &str) -> Option<(usize, usize)> {
    let mut at = expression;
    loop {
        if let Some(found) = positions.get(at) {
            return Some(*found);
        }
        match at.rfind(['.', '[']) {
            Some(cut) if cut > 0 => at = &at[..cut],
            _ => return None,
        }
    }
}
