//! Re-evaluating a referral the program already accepted: which new determinations may change
//! the decision. Only evidence that contradicts a criterion (not met) undoes an acceptance;
//! evidence that is merely missing leaves the decision standing, and the Task records what is
//! missing (docs/eligibility.md, "Re-evaluation").

use super::task;
use crate::domain::eligibility::{Decision, Determination, Verdict};
use fhir_engine::text::push_separated;
use serde_json::{json, Value};

/// Task statuses of a referral the program accepted (staff may have moved it on).
const ACCEPTED: [&str; 2] = ["accepted", "in-progress"];

/// Marks the note this module writes, so that staff notes are kept beside it.
const NOTE_AUTHOR: &str = "HBPC gateway re-evaluation";

/// What a re-evaluation does with the stored decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Reevaluation {
    /// The new determination is the decision (first evaluation, not accepted yet, or contrary
    /// evidence).
    Decide,
    /// The accepted decision stands. `Some`: the stored Task with what is missing recorded;
    /// `None`: it already records exactly that.
    Stands(Option<Value>),
}

/// Judges a new determination against the referral's stored Task.
pub fn judge(prior_task: &Value, determination: &Determination, now: &str) -> Reevaluation {
    let status = prior_task
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ACCEPTED.contains(&status) || determination.decision() != Decision::Pending {
        return Reevaluation::Decide;
    }
    let missing = task::missing_evidence(determination);
    let note = note_text(determination);
    let prior_missing: Vec<&Value> = outputs(prior_task)
        .filter(|o| task::is_missing_evidence(o))
        .collect();
    let prior_note = notes(prior_task)
        .find(|n| is_ours(n))
        .and_then(|n| n.get("text"))
        .and_then(Value::as_str);
    if prior_missing.iter().copied().eq(missing.iter()) && prior_note == Some(note.as_str()) {
        return Reevaluation::Stands(None);
    }
    let mut kept = prior_task.clone();
    let mut output: Vec<Value> = outputs(prior_task)
        .filter(|o| !task::is_missing_evidence(o))
        .cloned()
        .collect();
    output.extend(missing);
    let mut note_list: Vec<Value> = notes(prior_task).filter(|n| !is_ours(n)).cloned().collect();
    note_list.push(json!({"authorString": NOTE_AUTHOR, "time": now, "text": note}));
    kept["output"] = Value::Array(output);
    kept["note"] = Value::Array(note_list);
    kept["lastModified"] = Value::String(now.to_string());
    Reevaluation::Stands(Some(kept))
}

/// A staff member's status on an accepted referral survives a re-evaluation that confirms it
/// (an `in-progress` Task does not go back to `accepted`).
pub fn keep_staff_status(generated_task: &mut Value, prior_task: &Value) {
    let prior = prior_task.get("status").and_then(Value::as_str);
    if generated_task.get("status").and_then(Value::as_str) == Some("accepted")
        && prior == Some("in-progress")
    {
        generated_task["status"] = Value::String("in-progress".into());
    }
}

fn note_text(determination: &Determination) -> String {
    let mut text = String::from("Re-evaluated without evidence for: ");
    push_separated(
        &mut text,
        determination.with(Verdict::Unknown),
        "; ",
        |text, finding| {
            text.push_str(finding.criterion.display());
            text.push_str(" (");
            text.push_str(&finding.reason);
            text.push(')');
        },
    );
    text.push_str(
        ". The referral stays accepted: only evidence that contradicts a criterion changes it.",
    );
    text
}

fn outputs(task: &Value) -> impl Iterator<Item = &Value> {
    task.get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn notes(task: &Value) -> impl Iterator<Item = &Value> {
    task.get("note")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn is_ours(note: &Value) -> bool {
    note.get("authorString").and_then(Value::as_str) == Some(NOTE_AUTHOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::{Criterion, Finding};

    fn determination(verdicts: &[(Criterion, Verdict)]) -> Determination {
        Determination {
            findings: verdicts
                .iter()
                .map(|(criterion, verdict)| Finding {
                    criterion: *criterion,
                    verdict: *verdict,
                    reason: format!("reason for {}", criterion.code()),
                    evidence: Vec::new(),
                    expression: "ServiceRequest",
                })
                .collect(),
            symptoms: Vec::new(),
            precondition: None,
        }
    }

    fn accepted_task() -> Value {
        json!({"resourceType": "Task", "id": "t", "status": "accepted",
               "note": [{"text": "called the family"}],
               "output": [{"type": {"coding": [{"code": "determination"}]},
                           "valueReference": {"reference": "#determination"}}]})
    }

    #[test]
    fn missing_evidence_leaves_an_accepted_referral_accepted_and_says_what_is_missing() {
        let pending = determination(&[
            (Criterion::ALL[0], Verdict::Met),
            (Criterion::ALL[1], Verdict::Unknown),
        ]);
        let Reevaluation::Stands(Some(kept)) =
            judge(&accepted_task(), &pending, "2026-01-01T00:00:00Z")
        else {
            panic!("an accepted referral must stand on missing evidence");
        };
        assert_eq!(kept["status"], "accepted");
        let outputs = kept["output"].as_array().unwrap();
        assert_eq!(outputs.len(), 2, "{kept}");
        assert!(task::is_missing_evidence(&outputs[1]));
        let notes = kept["note"].as_array().unwrap();
        assert_eq!(
            notes[0]["text"], "called the family",
            "staff notes are kept"
        );
        assert!(notes[1]["text"]
            .as_str()
            .unwrap()
            .contains(Criterion::ALL[1].display()));
        // the same determination again records nothing new
        assert_eq!(
            judge(&kept, &pending, "2026-01-02T00:00:00Z"),
            Reevaluation::Stands(None)
        );
    }

    #[test]
    fn contrary_evidence_or_an_undecided_referral_is_decided_again() {
        let not_met = determination(&[(Criterion::ALL[0], Verdict::NotMet)]);
        assert_eq!(
            judge(&accepted_task(), &not_met, "now"),
            Reevaluation::Decide
        );
        let pending = determination(&[(Criterion::ALL[0], Verdict::Unknown)]);
        let on_hold = json!({"resourceType": "Task", "status": "on-hold"});
        assert_eq!(judge(&on_hold, &pending, "now"), Reevaluation::Decide);
    }

    #[test]
    fn a_confirmed_referral_keeps_the_status_staff_gave_it() {
        let mut generated = json!({"status": "accepted"});
        keep_staff_status(&mut generated, &json!({"status": "in-progress"}));
        assert_eq!(generated["status"], "in-progress");
        let mut generated = json!({"status": "rejected"});
        keep_staff_status(&mut generated, &json!({"status": "in-progress"}));
        assert_eq!(generated["status"], "rejected");
    }
}
