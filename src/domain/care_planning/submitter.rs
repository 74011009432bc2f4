//! The client that submitted a referral, recorded on the referral's Task as a `meta.tag`, so
//! that a client may be shown only the Tasks of its own referrals. Only the gateway sets this
//! tag: what a client sends in it is replaced by what is stored.

use serde_json::{json, Value};

pub const SUBMITTER_TAG_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/submitting-client";

/// The submitting client recorded on a Task, if any.
pub fn submitter_of(task: &Value) -> Option<&str> {
    task.pointer("/meta/tag")?
        .as_array()?
        .iter()
        .find(|t| t.get("system").and_then(Value::as_str) == Some(SUBMITTER_TAG_SYSTEM))?
        .get("code")?
        .as_str()
}

/// Records `client` as the submitter (replacing any submitter tag), or removes the tag.
pub fn set_submitter(task: &mut Value, client: Option<&str>) {
    if client.is_none() && submitter_of(task).is_none() {
        return;
    }
    let Some(object) = task.as_object_mut() else {
        return;
    };
    let meta = object
        .entry("meta")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let mut tags: Vec<Value> = meta
        .get("tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("system").and_then(Value::as_str) != Some(SUBMITTER_TAG_SYSTEM))
        .cloned()
        .collect();
    if let Some(client) = client {
        tags.push(json!({"system": SUBMITTER_TAG_SYSTEM, "code": client}));
    }
    if tags.is_empty() {
        meta.remove("tag");
    } else {
        meta.insert("tag".into(), Value::Array(tags));
    }
    if meta.is_empty() {
        object.remove("meta");
    }
}

/// The `_tag` search value of a submitter's Tasks.
pub fn submitter_token(client: &str) -> String {
    format!("{SUBMITTER_TAG_SYSTEM}|{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_set_replaced_and_removed() {
        let mut task = json!({"resourceType": "Task", "meta": {"profile": ["p"],
            "tag": [{"system": "other", "code": "x"}]}});
        set_submitter(&mut task, Some("ehr-a"));
        assert_eq!(submitter_of(&task), Some("ehr-a"));
        set_submitter(&mut task, Some("ehr-b"));
        assert_eq!(submitter_of(&task), Some("ehr-b"));
        assert_eq!(task["meta"]["tag"].as_array().map(Vec::len), Some(2));
        set_submitter(&mut task, None);
        assert_eq!(submitter_of(&task), None);
        assert_eq!(
            task["meta"]["tag"],
            json!([{"system": "other", "code": "x"}])
        );
        let mut bare = json!({"resourceType": "Task"});
        set_submitter(&mut bare, None);
        assert_eq!(bare, json!({"resourceType": "Task"}));
    }
}
