//! The referral Task's state machine (FHIR task-status, as staff may move it).

/// States in which a referral is no longer evaluated.
pub fn is_final(status: &str) -> bool {
    matches!(
        status,
        "rejected" | "cancelled" | "completed" | "failed" | "entered-in-error"
    )
}

/// Whether staff may move a referral Task from `from` to `to`.
pub fn allowed(from: &str, to: &str) -> bool {
    if from == to || to == "entered-in-error" {
        return !is_final(from) || from == to;
    }
    matches!(
        (from, to),
        ("draft", "requested" | "cancelled")
            | (
                "requested",
                "received" | "accepted" | "rejected" | "cancelled" | "ready"
            )
            | (
                "received" | "on-hold",
                "accepted" | "rejected" | "cancelled"
            )
            | (
                "accepted",
                "in-progress" | "on-hold" | "cancelled" | "completed" | "ready"
            )
            | (
                "ready",
                "in-progress" | "cancelled" | "failed" | "completed"
            )
            | (
                "in-progress",
                "on-hold" | "completed" | "cancelled" | "failed"
            )
            | ("on-hold", "in-progress")
    )
}

/// The status an evaluation gives a referral Task whose stored status is `prior`: the
/// decision's own (`decided`) when the state machine allows the move. Otherwise, so that the
/// EHR's copy of the Task (which follows the same machine) can follow:
/// - a referral already accepted (or further along) that turns out ineligible is `cancelled`,
///   not `rejected` (FHIR rejects only what was never accepted);
/// - otherwise the Task stays where it is (e.g. `in-progress`, where staff moved it, while the
///   referral remains eligible); only a `draft` Task takes its first decision as before.
pub fn after_evaluation<'a>(prior: Option<&'a str>, decided: &'a str) -> &'a str {
    let Some(prior) = prior else {
        return decided;
    };
    if allowed(prior, decided) {
        decided
    } else if decided == "rejected" && allowed(prior, "cancelled") {
        "cancelled"
    } else if prior == "draft" {
        decided
    } else {
        prior
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_moves_only_along_allowed_transitions() {
        assert_eq!(after_evaluation(None, "rejected"), "rejected");
        assert_eq!(after_evaluation(Some("on-hold"), "rejected"), "rejected");
        assert_eq!(after_evaluation(Some("accepted"), "rejected"), "cancelled");
        assert_eq!(
            after_evaluation(Some("in-progress"), "rejected"),
            "cancelled"
        );
        assert_eq!(after_evaluation(Some("accepted"), "on-hold"), "on-hold");
        assert_eq!(after_evaluation(Some("on-hold"), "accepted"), "accepted");
        assert_eq!(
            after_evaluation(Some("in-progress"), "accepted"),
            "in-progress"
        );
        for prior in [
            "requested",
            "received",
            "accepted",
            "on-hold",
            "ready",
            "in-progress",
        ] {
            for decided in ["accepted", "rejected", "on-hold"] {
                let to = after_evaluation(Some(prior), decided);
                assert!(
                    allowed(prior, to) || to == prior,
                    "{prior} -> {decided} gave {to}"
                );
            }
        }
    }

    #[test]
    fn transitions() {
        assert!(allowed("accepted", "in-progress"));
        assert!(allowed("in-progress", "completed"));
        assert!(allowed("on-hold", "cancelled"));
        assert!(allowed("accepted", "entered-in-error"));
        assert!(!allowed("completed", "in-progress"));
        assert!(!allowed("rejected", "accepted"));
        assert!(!allowed("cancelled", "entered-in-error"));
        assert!(allowed("completed", "completed"));
    }
}
