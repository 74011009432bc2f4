//! The parsed search: backend-neutral criteria the store turns into indexed SQL.

use super::date_range::DateRange;

/// R4 §3.1.1.4.2 prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePrefix {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Sa,
    Eb,
    Ap,
}

impl DatePrefix {
    pub fn split(value: &str) -> (Self, &str) {
        let prefixes = [
            ("eq", DatePrefix::Eq),
            ("ne", DatePrefix::Ne),
            ("lt", DatePrefix::Lt),
            ("gt", DatePrefix::Gt),
            ("le", DatePrefix::Le),
            ("ge", DatePrefix::Ge),
            ("sa", DatePrefix::Sa),
            ("eb", DatePrefix::Eb),
            ("ap", DatePrefix::Ap),
        ];
        for (p, prefix) in prefixes {
            if let Some(rest) = value.strip_prefix(p) {
                return (prefix, rest);
            }
        }
        (DatePrefix::Eq, value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringMode {
    /// Default: the normalised value starts with the normalised search text.
    Prefix,
    /// `:exact`: the value as written, case and accents included.
    Exact(String),
    /// `:contains`: the normalised value contains the normalised search text.
    Contains,
}

/// What one value of one parameter asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// `system|code` (Some(system)), `|code` (Some("")) or `code` (None: any system).
    Token {
        system: Option<String>,
        code: String,
    },
    String {
        normalized: String,
        mode: StringMode,
    },
    /// `Type/id` or `id` (type None), or an absolute URL of ours reduced to `Type/id`.
    Reference {
        target_type: Option<String>,
        id: String,
    },
    /// Any other absolute reference or canonical, matched as written.
    ReferenceText(String),
    Date {
        prefix: DatePrefix,
        range: DateRange,
    },
    Uri(String),
    /// `param.chain=value`: the reference points at a resource of one of these types that
    /// matches the inner clause.
    Chain(Vec<(String, Box<Clause>)>),
    /// `_has:Type:reference:…=value` (reverse chaining): a resource of `source_type` that
    /// matches `inner` points at this one through its `reference` parameter.
    Has {
        source_type: String,
        reference: String,
        inner: Box<Clause>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub param: String,
    pub matches: Match,
}

/// One parameter occurrence: its comma-separated values are ORed; occurrences are ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    Any(Vec<Criterion>),
    /// `:not`: resources that match none of the criteria (including those without a value).
    None(Vec<Criterion>),
    /// `:missing=true|false`.
    Missing {
        param: String,
        missing: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Default: by id (stable, cheap).
    Id,
    LastUpdated,
    /// A date parameter, by the earliest instant of its values; resources without one last.
    Date,
}

/// A keyset position: the sort key and id of the row a page starts after (or before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: String,
    /// true: the page ends before this row (a `previous` link).
    pub backward: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub source_type: String,
    pub param: String,
    pub target_type: Option<String>,
    pub iterate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub resource_type: String,
    pub clauses: Vec<Clause>,
    pub sort: SortKey,
    /// The date parameter for `SortKey::Date`.
    pub sort_param: Option<String>,
    pub descending: bool,
    pub count: usize,
    pub cursor: Option<Cursor>,
    /// Count every match (`_total=accurate`, `_summary=count`).
    pub total: bool,
    /// `_summary=count`: the total only, no entries.
    pub count_only: bool,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    pub max_included: usize,
    /// `_elements`, when given.
    pub elements: Option<Vec<String>>,
    /// `_summary=true|text|data`, when given.
    pub summary: Option<super::elements::Summary>,
    /// The recognised parameters, normalised, for the `self` and paging links.
    pub link_params: Vec<(String, String)>,
}

/// `_history` at instance (`resource_type` and `id`), type (`resource_type`) or system level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub resource_type: Option<String>,
    pub id: Option<String>,
    pub since_ms: Option<i64>,
    pub count: usize,
    /// Continue after this (last_updated_ms, resource_type, id, version_id), newest first.
    pub after: Option<(i64, String, String, u64)>,
}
