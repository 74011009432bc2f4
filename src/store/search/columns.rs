//! How an index row is laid out in `search_index`.

use fhir_engine::search::{IndexRow, IndexValue};

/// `sys`, `val`, `raw`, `lo`, `hi`: dates use only lo/hi, everything else lo NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumns<'a> {
    pub param: &'a str,
    pub sys: &'a str,
    pub val: &'a str,
    pub raw: &'a str,
    pub lo: Option<i64>,
    pub hi: Option<i64>,
    /// `val` is a token's code or a reference's id: compared whole, never as text by prefix
    /// or pattern, so SQLite may hold a UUID as its bytes (`uuid_value`).
    pub keyed: bool,
}

pub fn columns(row: &IndexRow) -> IndexColumns<'_> {
    let mut c = IndexColumns {
        param: &row.param,
        sys: "",
        val: "",
        raw: "",
        lo: None,
        hi: None,
        keyed: false,
    };
    match &row.value {
        IndexValue::Token { system, code } => {
            c.sys = system;
            c.val = code;
            c.keyed = true;
        }
        IndexValue::String { normalized, exact } => {
            c.val = normalized;
            c.raw = exact;
        }
        IndexValue::Reference {
            target_type,
            target_id,
            raw,
        } => {
            c.sys = target_type;
            // a reference we cannot read as Type/id (a canonical, a urn) is found by its text
            c.val = if target_id.is_empty() { raw } else { target_id };
            c.keyed = !target_id.is_empty();
            // `Type/id` as written is `sys/val` and nothing compares it: only a text that is
            // not ours (an absolute URL, a urn) is compared as written (`Match::ReferenceText`)
            c.raw = if is_type_slash_id(raw, target_type, target_id) {
                ""
            } else {
                raw
            };
        }
        IndexValue::Date(r) => {
            c.lo = Some(r.low);
            c.hi = Some(r.high);
        }
        IndexValue::Uri(u) => c.val = u,
    }
    c
}

/// Whether `raw` is exactly `{target_type}/{target_id}`.
fn is_type_slash_id(raw: &str, target_type: &str, target_id: &str) -> bool {
    !target_id.is_empty()
        && raw
            .strip_prefix(target_type)
            .and_then(|rest| rest.strip_prefix('/'))
            == Some(target_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(target_type: &str, target_id: &str, raw: &str) -> IndexRow {
        IndexRow {
            param: "subject".into(),
            value: IndexValue::Reference {
                target_type: target_type.into(),
                target_id: target_id.into(),
                raw: raw.into(),
            },
        }
    }

    /// A relative reference keeps no text (nearly half of a referral's index rows), one
    /// written otherwise keeps it, so that a search by that text still finds it.
    #[test]
    fn a_reference_keeps_its_text_only_when_it_is_not_type_slash_id() {
        let row = reference("Patient", "p1", "Patient/p1");
        let c = columns(&row);
        assert_eq!((c.sys, c.val, c.raw), ("Patient", "p1", ""));
        for raw in [
            "https://other.example.org/fhir/Patient/p1",
            "Patient/p1/_history/2",
        ] {
            let row = reference("Patient", "p1", raw);
            assert_eq!(columns(&row).raw, raw);
        }
        let urn = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
        let row = reference("", "", urn);
        let c = columns(&row);
        assert_eq!((c.val, c.raw), (urn, urn));
        let row = reference("Patient", "p", "Patient/p1");
        assert_eq!(columns(&row).raw, "Patient/p1");
    }
}
