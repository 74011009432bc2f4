//! `_elements` and `_summary` (R4 search §3.1.1.5.9–10): a subset of each resource's top-level
//! elements, tagged `SUBSETTED`. Elements are named as the definitions name them: a choice
//! element by its base name (`_elements=deceased` keeps `deceasedBoolean` or
//! `deceasedDateTime`), so the resource type's element definitions are needed.

use serde_json::{json, Map, Value};

/// A top-level element of a resource type, as its base StructureDefinition defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementDef {
    /// The JSON name; for a choice element (`deceased[x]`) the base name (`deceased`).
    pub name: String,
    pub choice: bool,
    /// Minimum cardinality above 0.
    pub mandatory: bool,
    /// Marked `isSummary` in the base definition.
    pub summary: bool,
}

/// The subsets `_summary` asks for that this module makes (`count` and `false` return
/// resources whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// The elements the base definition marks `isSummary` (and the mandatory ones).
    True,
    /// `text`, `id`, `meta` and the mandatory elements.
    Text,
    /// Everything but `text`.
    Data,
}

impl Summary {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "true" => Some(Summary::True),
            "text" => Some(Summary::Text),
            "data" => Some(Summary::Data),
            _ => None,
        }
    }
}

/// What to keep of a resource.
#[derive(Debug, Clone, Copy)]
pub enum Subset<'a> {
    /// `_elements`: these elements, plus the mandatory ones.
    Elements(&'a [String]),
    Summary(Summary),
}

/// The definition a JSON member belongs to: `deceasedDateTime` → `deceased[x]`,
/// `_birthDate` (a primitive's extensions) → `birthDate`.
fn definition_of<'d>(key: &str, defs: &'d [ElementDef]) -> Option<&'d ElementDef> {
    let name = key.strip_prefix('_').unwrap_or(key);
    defs.iter()
        .find(|d| !d.choice && d.name == name)
        .or_else(|| {
            defs.iter().find(|d| {
                d.choice
                    && name
                        .strip_prefix(d.name.as_str())
                        .and_then(|suffix| suffix.chars().next())
                        .is_some_and(|c| c.is_ascii_uppercase())
            })
        })
}

/// `resource` reduced to `what`; `defs` are its type's top-level elements (empty when unknown:
/// then names are matched as written, and nothing counts as mandatory).
pub fn subset(resource: &Value, what: Subset<'_>, defs: &[ElementDef]) -> Value {
    let Some(fields) = resource.as_object() else {
        return resource.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        let def = definition_of(key, defs);
        let name = def.map_or(key.strip_prefix('_').unwrap_or(key), |d| d.name.as_str());
        let mandatory = def.is_some_and(|d| d.mandatory);
        let keep = matches!(name, "resourceType" | "id" | "meta")
            || match what {
                Subset::Elements(list) => mandatory || list.iter().any(|e| e == name || e == key),
                Subset::Summary(Summary::True) => def.is_some_and(|d| d.summary) || mandatory,
                Subset::Summary(Summary::Text) => name == "text" || mandatory,
                Subset::Summary(Summary::Data) => name != "text",
            };
        if keep {
            out.insert(key.clone(), value.clone());
        }
    }
    let meta = out
        .entry("meta")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(|m| m.entry("tag").or_insert_with(|| json!([])));
    if let Some(Value::Array(tags)) = meta {
        tags.push(json!({
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
            "display": "subsetted"
        }));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, choice: bool, mandatory: bool) -> ElementDef {
        ElementDef {
            name: name.into(),
            choice,
            mandatory,
            summary: false,
        }
    }

    /// Part of R4 Patient (and one mandatory element, as in a profile or a Task).
    fn patient_defs() -> Vec<ElementDef> {
        vec![
            def("id", false, false),
            def("meta", false, false),
            def("text", false, false),
            def("gender", false, false),
            def("birthDate", false, false),
            def("deceased", true, false),
            def("multipleBirth", true, false),
            def("photo", false, false),
            def("name", false, true),
        ]
    }

    fn patient() -> Value {
        json!({"resourceType": "Patient", "id": "1", "text": {"status": "generated", "div": "<div/>"},
               "gender": "male", "_gender": {"id": "x"}, "birthDate": "1950",
               "deceasedDateTime": "2026-01-02", "multipleBirthInteger": 2,
               "photo": [{"url": "http://x"}], "name": [{"family": "X"}]})
    }

    #[test]
    fn elements_keep_named_and_mandatory() {
        let s = subset(
            &patient(),
            Subset::Elements(&["gender".to_string()]),
            &patient_defs(),
        );
        assert_eq!(s["gender"], "male");
        assert!(s.get("_gender").is_some());
        assert!(s.get("birthDate").is_none() && s.get("deceasedDateTime").is_none());
        assert_eq!(
            s["name"][0]["family"], "X",
            "mandatory elements are always kept"
        );
        assert_eq!(s["meta"]["tag"][0]["code"], "SUBSETTED");
        let s = subset(&patient(), Subset::Elements(&["gender".to_string()]), &[]);
        assert!(
            s.get("name").is_none(),
            "no definitions: nothing is mandatory"
        );
    }

    #[test]
    fn elements_name_choice_elements_by_their_base_name() {
        let s = subset(
            &patient(),
            Subset::Elements(&["deceased".to_string()]),
            &patient_defs(),
        );
        assert_eq!(s["deceasedDateTime"], "2026-01-02");
        assert!(s.get("multipleBirthInteger").is_none());
        // `birth` is no element, though `birthDate` starts with it
        let s = subset(
            &patient(),
            Subset::Elements(&["birth".to_string()]),
            &patient_defs(),
        );
        assert!(s.get("birthDate").is_none(), "{s}");
    }

    #[test]
    fn summary_text_and_data() {
        let s = subset(&patient(), Subset::Summary(Summary::Data), &patient_defs());
        assert!(s.get("text").is_none());
        assert_eq!(s["multipleBirthInteger"], 2);
        assert_eq!(s["deceasedDateTime"], "2026-01-02");
        let mut defs = patient_defs();
        for d in defs.iter_mut() {
            d.summary = matches!(d.name.as_str(), "id" | "meta" | "gender" | "deceased");
        }
        let s = subset(&patient(), Subset::Summary(Summary::True), &defs);
        let kept: Vec<&String> = s.as_object().unwrap().keys().collect();
        for key in ["gender", "deceasedDateTime", "name"] {
            assert!(s.get(key).is_some(), "_summary=true keeps {key}: {kept:?}");
        }
        for key in ["text", "birthDate", "photo"] {
            assert!(s.get(key).is_none(), "_summary=true drops {key}: {kept:?}");
        }
        let s = subset(&patient(), Subset::Summary(Summary::Text), &patient_defs());
        assert!(s.get("text").is_some() && s.get("name").is_some());
        assert!(s.get("gender").is_none() && s.get("deceasedDateTime").is_none());
        assert_eq!(s["meta"]["tag"][0]["code"], "SUBSETTED");
    }
}
