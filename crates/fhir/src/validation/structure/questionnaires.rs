//! Questionnaire and QuestionnaireResponse rules beyond the element definitions (linkId
//! uniqueness is que-2, a FHIRPath invariant):
//! - an `enableWhen` names an item of the Questionnaire, not itself nor one inside it, and
//!   preferably one before it (as the HL7 validator checks); its `answer[x]` has the type the
//!   named item answers with, and an ordering operator applies to ordered answers only;
//! - a response whose Questionnaire is at hand (contained, in the same Bundle, or loaded)
//!   answers only that Questionnaire's items, with answers of the item's type, one answer
//!   unless the item repeats, none for groups and display items.

use super::walker::Walk;
use crate::json::member::{member, member_str};
use crate::outcome::{IssueType, Severity};
use serde_json::{Map, Value};

/// One item of a Questionnaire, in document (pre-)order.
struct Item<'a> {
    link_id: Option<&'a str>,
    kind: &'a str,
    value: &'a Value,
    path: String,
    /// Positions (in the flattened list) of the items it is inside.
    ancestors: Vec<usize>,
}

fn items(value: &Value) -> &[Value] {
    member(value, "item")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn flatten<'a>(holder: &'a Value, path: &str, ancestors: &[usize], out: &mut Vec<Item<'a>>) {
    for (i, item) in items(holder).iter().enumerate() {
        let at = out.len();
        let path = format!("{path}.item[{i}]");
        out.push(Item {
            link_id: member_str(item, "linkId"),
            kind: member_str(item, "type").unwrap_or_default(),
            value: item,
            path: path.clone(),
            ancestors: ancestors.to_vec(),
        });
        let mut inner = ancestors.to_vec();
        inner.push(at);
        flatten(item, &path, &inner, out);
    }
}

/// The `answer[x]` / `value[x]` types an item of `kind` answers with (FHIR type suffixes).
fn answer_types(kind: &str) -> &'static [&'static str] {
    match kind {
        "boolean" => &["Boolean"],
        "decimal" => &["Decimal"],
        "integer" => &["Integer"],
        "date" => &["Date"],
        "dateTime" => &["DateTime"],
        "time" => &["Time"],
        "string" | "text" => &["String"],
        "url" => &["Uri"],
        // answerOption may offer dates, times, integers and strings as well as codings
        "choice" => &["Coding", "Date", "Time", "Integer", "String"],
        "open-choice" => &["Coding", "Date", "Time", "Integer", "String"],
        "attachment" => &["Attachment"],
        "reference" => &["Reference"],
        "quantity" => &["Quantity"],
        _ => &[],
    }
}

/// The suffix of the first `prefix[x]` member of `obj` (`answerCoding` → `Coding`).
fn choice_suffix<'a>(obj: &'a Map<String, Value>, prefix: &str) -> Option<(&'a str, &'a str)> {
    obj.keys().find_map(|k| {
        k.strip_prefix(prefix)
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|rest| (k.as_str(), rest))
    })
}

impl<'a> Walk<'a> {
    pub fn questionnaire(&mut self, questionnaire: &'a Value, path: &str) {
        let mut all = Vec::new();
        flatten(questionnaire, path, &[], &mut all);
        for (at, item) in all.iter().enumerate() {
            let conditions = member(item.value, "enableWhen")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            for (j, condition) in conditions.iter().enumerate() {
                let here = format!("{}.enableWhen[{j}]", item.path);
                self.enable_when(&all, at, condition, &here);
            }
        }
    }

    fn enable_when(&mut self, all: &[Item<'a>], at: usize, condition: &'a Value, here: &str) {
        let Some(question) = member_str(condition, "question") else {
            return;
        };
        let question_at = format!("{here}.question");
        let Some(target) = all.iter().position(|i| i.link_id == Some(question)) else {
            self.error(
                IssueType::BusinessRule,
                &question_at,
                format!(
                    "no item of this Questionnaire has the linkId '{question}' that enableWhen names"
                ),
            );
            return;
        };
        if target == at {
            self.error(
                IssueType::BusinessRule,
                &question_at,
                format!("item '{question}' cannot be enabled by its own answer"),
            );
            return;
        }
        if all[target].ancestors.contains(&at) {
            self.error(
                IssueType::BusinessRule,
                &question_at,
                format!("enableWhen names '{question}', an item inside the item it enables"),
            );
            return;
        }
        if target > at {
            self.report(
                Severity::Warning,
                IssueType::BusinessRule,
                &question_at,
                format!("enableWhen names '{question}', which comes after the item it enables"),
            );
        }
        let Some(obj) = condition.as_object() else {
            return;
        };
        let operator = member_str(condition, "operator").unwrap_or_default();
        let Some((key, answer)) = choice_suffix(obj, "answer") else {
            return;
        };
        // `exists` takes a boolean whatever the item (que-7)
        if operator == "exists" {
            return;
        }
        let kind = all[target].kind;
        let allowed = answer_types(kind);
        let answer_at = format!("{here}.{key}");
        if !allowed.contains(&answer) {
            let text = if allowed.is_empty() {
                format!("item '{question}' is a {kind} item, which has no answer to compare (only 'exists' applies)")
            } else {
                format!(
                    "item '{question}' is a {kind} item: its answers are {}, not {answer}",
                    allowed.join(" or ")
                )
            };
            self.error(IssueType::BusinessRule, &answer_at, text);
            return;
        }
        if matches!(operator, ">" | "<" | ">=" | "<=")
            && matches!(answer, "Boolean" | "Coding" | "Reference" | "Attachment")
        {
            self.error(
                IssueType::BusinessRule,
                &answer_at,
                format!(
                    "the operator '{operator}' orders answers, and {answer} answers have no order"
                ),
            );
        }
    }

    pub fn questionnaire_response(&mut self, response: &'a Value, path: &str) {
        let Some(canonical) = member_str(response, "questionnaire") else {
            return;
        };
        let Some(questionnaire) = self.questionnaire_at_hand(response, canonical) else {
            return;
        };
        self.response_items(items(questionnaire), response, path);
    }

    /// The Questionnaire a response names: contained (`#id`), in the Bundle being walked, or
    /// among the loaded conformance resources. None when it is not at hand.
    fn questionnaire_at_hand(&self, response: &'a Value, canonical: &str) -> Option<&'a Value> {
        let is_questionnaire = |r: &&Value| member_str(r, "resourceType") == Some("Questionnaire");
        if let Some(id) = canonical.strip_prefix('#') {
            return member(response, "contained")
                .and_then(Value::as_array)?
                .iter()
                .filter(is_questionnaire)
                .find(|r| member_str(r, "id") == Some(id));
        }
        let url = canonical.split('|').next().unwrap_or(canonical);
        let has_url = |r: &&Value| is_questionnaire(r) && member_str(r, "url") == Some(url);
        let in_bundle = self
            .containers
            .iter()
            .filter(|c| member_str(c, "resourceType") == Some("Bundle"))
            .filter_map(|b| member(b, "entry").and_then(Value::as_array))
            .flatten()
            .filter_map(|e| member(e, "resource"))
            .find(has_url);
        in_bundle.or_else(|| self.reg.published().iter().find(has_url))
    }

    /// The items of a response (or of a response item or answer) against the Questionnaire
    /// items at that level.
    fn response_items(&mut self, defined: &'a [Value], holder: &'a Value, path: &str) {
        for (i, item) in items(holder).iter().enumerate() {
            let at = format!("{path}.item[{i}]");
            let Some(link_id) = member_str(item, "linkId") else {
                continue;
            };
            let Some(definition) = defined
                .iter()
                .find(|d| member_str(d, "linkId") == Some(link_id))
            else {
                self.error(
                    IssueType::Structure,
                    &format!("{at}.linkId"),
                    format!("the Questionnaire has no item '{link_id}' here"),
                );
                continue;
            };
            self.response_item(definition, item, &at);
        }
    }

    fn response_item(&mut self, definition: &'a Value, item: &'a Value, at: &str) {
        let link_id = member_str(definition, "linkId").unwrap_or_default();
        let kind = member_str(definition, "type").unwrap_or_default();
        let answers = member(item, "answer")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let repeats = member(definition, "repeats").and_then(Value::as_bool) == Some(true);
        if matches!(kind, "group" | "display") && !answers.is_empty() {
            self.error(
                IssueType::Structure,
                &format!("{at}.answer[0]"),
                format!("item '{link_id}' is a {kind} item: it has no answers"),
            );
            return;
        }
        if answers.len() > 1 && !repeats {
            self.error(
                IssueType::Structure,
                &format!("{at}.answer[1]"),
                format!("item '{link_id}' does not repeat: one answer only"),
            );
        }
        let allowed = answer_types(kind);
        for (j, answer) in answers.iter().enumerate() {
            let Some(obj) = answer.as_object() else {
                continue;
            };
            if let Some((key, found)) = choice_suffix(obj, "value") {
                if !allowed.is_empty() && !allowed.contains(&found) {
                    self.error(
                        IssueType::Structure,
                        &format!("{at}.answer[{j}].{key}"),
                        format!(
                            "item '{link_id}' is a {kind} item: its answers are {}, not {found}",
                            allowed.join(" or ")
                        ),
                    );
                }
            }
            self.response_items(items(definition), answer, &format!("{at}.answer[{j}]"));
        }
        let nested = !items(item).is_empty();
        if nested && kind != "group" {
            self.error(
                IssueType::Structure,
                &format!("{at}.item[0]"),
                format!("item '{link_id}' is a {kind} item: nested items go inside its answers"),
            );
        } else if nested {
            self.response_items(items(definition), item, at);
        }
    }
}
