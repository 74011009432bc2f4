//! Evidence a criterion weighed, each item with the reason it gives (`(evidence key, reason)`):
//! one finding names all the items of its verdict, their reasons joined.

use super::Verdict;
use fhir_engine::text::concat;

/// Why an item of evidence does not count: evidence still missing, or evidence against.
pub(super) enum Problem {
    Pending(String),
    Contrary(String),
}

/// The problems of the items that did not count, for a criterion that none of them met.
#[derive(Default)]
pub(super) struct Problems {
    pending: Vec<String>,
    contrary: Vec<String>,
}

impl Problems {
    pub(super) fn add(&mut self, key: &str, problem: Problem) {
        match problem {
            Problem::Pending(why) => self.pending.push(concat([key, " ", &why])),
            Problem::Contrary(why) => self.contrary.push(concat([key, " ", &why])),
        }
    }

    /// Unknown while any item is still pending (it may decide either way), else not met; the
    /// reasons, pending ones first.
    pub(super) fn verdict(mut self) -> (Verdict, String) {
        if self.pending.is_empty() {
            (Verdict::NotMet, self.contrary.join("; "))
        } else {
            self.pending.extend(self.contrary);
            (Verdict::Unknown, self.pending.join("; "))
        }
    }
}

/// The evidence keys of `items`, in order.
pub(super) fn keys(items: &[(&str, String)]) -> Vec<String> {
    items.iter().map(|(k, _)| k.to_string()).collect()
}

/// The reasons of `items`, joined with "; ".
pub(super) fn reasons(items: &[(&str, String)]) -> String {
    items
        .iter()
        .map(|(_, r)| r.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::{Problem, Problems, Verdict};

    #[test]
    fn a_pending_item_keeps_the_criterion_unknown() {
        let mut problems = Problems::default();
        problems.add("Coverage/a", Problem::Contrary("has ended".into()));
        assert_eq!(
            Problems {
                pending: vec![],
                contrary: vec!["Coverage/a has ended".into()]
            }
            .verdict(),
            (Verdict::NotMet, "Coverage/a has ended".to_string())
        );
        problems.add("Coverage/b", Problem::Pending("is draft".into()));
        assert_eq!(
            problems.verdict(),
            (
                Verdict::Unknown,
                "Coverage/b is draft; Coverage/a has ended".to_string()
            )
        );
    }

    #[test]
    fn keys_and_reasons_keep_the_order() {
        let items = [
            ("Condition/a", "a is refuted".to_string()),
            ("Condition/b", "b is provisional".to_string()),
        ];
        assert_eq!(super::keys(&items), ["Condition/a", "Condition/b"]);
        assert_eq!(super::reasons(&items), "a is refuted; b is provisional");
    }
}
