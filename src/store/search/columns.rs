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
}

pub fn columns(row: &IndexRow) -> IndexColumns<'_> {
    let mut c = IndexColumns {
        param: &row.param,
        sys: "",
        val: "",
        raw: "",
        lo: None,
        hi: None,
    };
    match &row.value {
        IndexValue::Token { system, code } => {
            c.sys = system;
            c.val = code;
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
            c.raw = raw;
        }
        IndexValue::Date(r) => {
            c.lo = Some(r.low);
            c.hi = Some(r.high);
        }
        IndexValue::Uri(u) => c.val = u,
    }
    c
}
