//! Which members of its focus an expression can read. When it reads the focus only through
//! member names and none of them is present, its result is the one it has on an empty
//! object of the same type, so a caller may compute that once and reuse it: most
//! invariants (`contained.contained.empty()`, `dataAbsentReason.empty() or …`) guard
//! members that most resources do not have.

use super::ast::Expr;

/// The member names through which `expr` reads its focus, or None when it may read the focus
/// some other way (`$this`, `%context`, `%resource`, a function applied to the focus, a type
/// name selecting the focus).
pub(crate) fn focus_members(expr: &Expr) -> Option<Vec<String>> {
    let mut names = Vec::new();
    visit(expr, true, &mut names).then_some(names)
}

/// `at_focus`: `$this` is the focus here (not an item of a `where`, `select`, … iteration).
fn visit(expr: &Expr, at_focus: bool, names: &mut Vec<String>) -> bool {
    match expr {
        Expr::Literal(_) | Expr::Index | Expr::Total | Expr::Type(_) => true,
        Expr::This => !at_focus,
        Expr::Variable(name) => !matches!(name.as_str(), "resource" | "rootResource" | "context"),
        Expr::Ident(name) => {
            if at_focus {
                // `Patient.name`: a type name selects the focus itself
                if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    return false;
                }
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            true
        }
        Expr::Member(target, _, _) | Expr::Is(target, _) | Expr::As(target, _) => {
            visit(target, at_focus, names)
        }
        Expr::Negate(inner) | Expr::Fixed(inner) => visit(inner, at_focus, names),
        Expr::Indexer(target, index) => {
            visit(target, at_focus, names) && visit(index, at_focus, names)
        }
        Expr::Binary(_, lhs, rhs) => visit(lhs, at_focus, names) && visit(rhs, at_focus, names),
        Expr::Call(target, func, args) => {
            let Some(target) = target else {
                // applied to `$this`: at the focus, it sees the focus as a whole
                return !at_focus && args.iter().all(|a| visit(a, at_focus, names));
            };
            if !visit(target, at_focus, names) {
                return false;
            }
            // `contained.where(… %resource …)`: the argument runs only for items of a member
            // of the focus, so only when that member (now recorded) is present
            let guarded = at_focus && func.runs_only_on_items() && from_focus_member(target);
            guarded
                || args
                    .iter()
                    .enumerate()
                    .all(|(i, a)| visit(a, at_focus && !func.arg_per_item(i), names))
        }
    }
}

/// A plain path starting at a member of the focus (`contained`, `component.code`): empty
/// when that member is absent.
fn from_focus_member(expr: &Expr) -> bool {
    match expr {
        Expr::Ident(name) => !name.starts_with(|c: char| c.is_ascii_uppercase()),
        Expr::Member(target, _, _) => from_focus_member(target),
        Expr::Indexer(target, _) => from_focus_member(target),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    fn members(expr: &str) -> Option<Vec<String>> {
        focus_members(&parse(expr).expect("parses"))
    }

    #[test]
    fn names_read_from_the_focus() {
        assert_eq!(
            members("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()"),
            Some(vec!["contained".to_string()])
        );
        assert_eq!(
            members("dataAbsentReason.empty() or value.empty()"),
            Some(vec!["dataAbsentReason".to_string(), "value".to_string()])
        );
        // inside where(), names and `$this` are the items', not the focus's
        assert_eq!(
            members("component.where(code = 'x').exists()"),
            Some(vec!["component".to_string()])
        );
        assert_eq!(
            members("entry.where($this.fullUrl.exists()).count() = 1"),
            Some(vec!["entry".to_string()])
        );
    }

    #[test]
    fn arguments_that_run_only_on_items_of_a_focus_member() {
        // dom-3 reads %resource, but only for contained resources
        assert_eq!(
            members("contained.where(('#'+id in %resource.descendants().reference).not()).empty()"),
            Some(vec!["contained".to_string()])
        );
        assert_eq!(
            members("value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"),
            Some(vec!["value".to_string(), "component".to_string()])
        );
        // iif sees an empty input too, and aggregate's start value is read first
        assert_eq!(
            members("code.iif(%resource.id.exists(), true, false)"),
            None
        );
        assert_eq!(members("code.aggregate($this, %resource.id)"), None);
        // a collection that is not a member of the focus
        assert_eq!(
            members("('a' | 'b').where(%resource.id.exists()).empty()"),
            None
        );
    }

    #[test]
    fn other_reads_of_the_focus_are_refused() {
        for expr in [
            "hasValue() or (children().count() > id.count())",
            "$this.code.exists()",
            "where(use = 'home').empty()",
            "%resource.contained.exists()",
            "%context.code.exists()",
            "Observation.code.exists()",
            "code.exists() implies iif(true, $this.text.exists(), false)",
        ] {
            assert_eq!(members(expr), None, "{expr}");
        }
    }
}
