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

#[cfg(test)]
mod tests {
    use super::*;

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
