//! From URL parameters to a `SearchQuery`, per R4 §3.1.1 (RESTful search): parameter types,
//! modifiers, prefixes, chains, OR (commas) and AND (repeats), and the result parameters.

use super::date_range;
use super::elements::Summary;
use super::normalize::normalize;
use super::query::*;
use super::registry::{ParamType, Registry};
use crate::outcome::{Issue, IssueType};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// How the request wants unknown parameters handled (`Prefer: handling=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    Lenient,
    Strict,
}

#[derive(Debug, Clone)]
pub struct SearchLimits {
    pub default_count: usize,
    pub max_count: usize,
    pub max_included: usize,
}

/// Chains deeper than this are refused: each level is a nested indexed lookup.
const MAX_CHAIN_DEPTH: usize = 3;
/// Values ORed in one parameter, and parameters in one search.
const MAX_VALUES: usize = 100;

/// The `_summary` values we answer.
const SUMMARY_VALUES: &str = "true, text, data, count and false";

/// Parameters that change the result, not the match, or that we accept and ignore.
const IGNORED: &[&str] = &["_format", "_pretty"];

/// Each level of a chain or `_has` is a nested indexed lookup: refused past the limit.
fn within_chain_depth(depth: usize) -> Result<(), Issue> {
    if depth >= MAX_CHAIN_DEPTH {
        return Err(Issue::error(
            IssueType::TooCostly,
            format!("chains and _has are limited to {MAX_CHAIN_DEPTH} levels together"),
        ));
    }
    Ok(())
}

fn invalid(text: impl Into<String>) -> Issue {
    Issue::error(IssueType::Invalid, text)
}

fn not_supported(text: impl Into<String>) -> Issue {
    Issue::error(IssueType::NotSupported, text)
}

impl Cursor {
    pub fn encode(&self) -> String {
        let dir = if self.backward { 'b' } else { 'f' };
        URL_SAFE_NO_PAD.encode(format!("{dir}.{}.{}", self.key, self.id))
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = raw.splitn(3, '.');
        let backward = match parts.next()? {
            "f" => false,
            "b" => true,
            _ => return None,
        };
        let key = parts.next()?.parse().ok()?;
        let id = parts.next()?.to_string();
        Some(Cursor { key, id, backward })
    }
}

/// Splits a parameter value at commas not escaped by `\`; `\,` `\|` `\$` `\\` unescape.
fn split_values(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    if !matches!(next, ',' | '$' | '|' | '\\') {
                        last.push('\\');
                    }
                    last.push(next);
                }
            }
            ',' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c)
                }
            }
        }
    }
    out
}

/// Splits `system|code` at the first unescaped `|`.
fn split_token(value: &str) -> (Option<String>, String) {
    match value.split_once('|') {
        Some((system, code)) => (Some(system.to_string()), code.to_string()),
        None => (None, value.to_string()),
    }
}

pub struct Parser<'a> {
    pub registry: &'a Registry,
    /// Our FHIR base URL, so that absolute references to us match `Type/id`.
    pub base_url: &'a str,
    pub handling: Handling,
    pub limits: &'a SearchLimits,
}

impl Parser<'_> {
    pub fn parse(
        &self,
        resource_type: &str,
        params: &[(String, String)],
    ) -> Result<SearchQuery, Vec<Issue>> {
        let mut q = SearchQuery {
            resource_type: resource_type.to_string(),
            clauses: Vec::new(),
            sort: SortKey::Id,
            sort_param: None,
            descending: false,
            count: self.limits.default_count,
            cursor: None,
            total: false,
            count_only: false,
            includes: Vec::new(),
            revincludes: Vec::new(),
            max_included: self.limits.max_included,
            elements: None,
            summary: None,
            link_params: Vec::new(),
        };
        let mut issues = Vec::new();
        if params.len() > MAX_VALUES {
            return Err(vec![Issue::error(
                IssueType::TooCostly,
                format!("a search may have at most {MAX_VALUES} parameters"),
            )]);
        }
        for (name, value) in params {
            // FHIR strings hold no control characters, and PostgreSQL text holds no NUL
            if let Some(c) = crate::json::forbidden_control(name)
                .or_else(|| crate::json::forbidden_control(value))
            {
                issues.push(Issue::error(
                    IssueType::Invalid,
                    format!(
                        "search parameter '{}' holds the control character U+{:04X}",
                        name.escape_default(),
                        c as u32
                    ),
                ));
                continue;
            }
            match self.parameter(&mut q, name, value) {
                Ok(true) => q.link_params.push((name.clone(), value.clone())),
                Ok(false) => {}
                Err(issue) => issues.push(issue),
            }
        }
        if issues.is_empty() {
            Ok(q)
        } else {
            Err(issues)
        }
    }

    /// Ok(true) when the parameter was used (and belongs in the links), Ok(false) when it
    /// was ignored.
    fn parameter(&self, q: &mut SearchQuery, name: &str, value: &str) -> Result<bool, Issue> {
        let (base, modifier) = match name.split_once(':') {
            Some((b, m)) => (b, Some(m)),
            None => (name, None),
        };
        match base {
            "_cursor" => {
                q.cursor = Some(Cursor::decode(value).ok_or_else(|| {
                    invalid("the paging cursor is not valid; follow the Bundle's links")
                })?);
                return Ok(false);
            }
            "_count" => {
                let n: usize = value.parse().map_err(|_| {
                    invalid(format!(
                        "_count must be a non-negative integer, not '{value}'"
                    ))
                })?;
                q.count = n.min(self.limits.max_count);
                if n == 0 {
                    q.count_only = true;
                    q.total = true;
                }
                return Ok(true);
            }
            "_total" => {
                return match value {
                    "accurate" | "estimate" => {
                        q.total = true;
                        Ok(true)
                    }
                    "none" => Ok(true),
                    other => Err(invalid(format!(
                        "_total must be none, estimate or accurate, not '{other}'"
                    ))),
                }
            }
            "_summary" => {
                return match value {
                    "count" => {
                        q.count_only = true;
                        q.total = true;
                        Ok(true)
                    }
                    "false" => Ok(true),
                    other => match Summary::parse(other) {
                        Some(summary) => {
                            q.summary = Some(summary);
                            Ok(true)
                        }
                        None => self.unknown(format!(
                            "_summary={other} is not supported ({SUMMARY_VALUES} are)"
                        )),
                    },
                }
            }
            "_elements" => {
                let list: Vec<String> = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                q.elements = Some(list);
                return Ok(true);
            }
            "_sort" => return self.sort(q, value),
            "_include" | "_revinclude" => {
                let iterate = match modifier {
                    None => false,
                    Some("iterate" | "recurse") => true,
                    Some(m) => return Err(invalid(format!("{base}:{m} is not a valid modifier"))),
                };
                let include = self.include(q, base == "_revinclude", value, iterate)?;
                if base == "_revinclude" {
                    q.revincludes.push(include);
                } else {
                    q.includes.push(include);
                }
                return Ok(true);
            }
            b if IGNORED.contains(&b) => return Ok(false),
            _ => {}
        }
        match self.clause(&q.resource_type, name, value, 0)? {
            Some(clause) => {
                q.clauses.push(clause);
                Ok(true)
            }
            None => self.unknown(format!(
                "'{name}' is not a supported search parameter of {}",
                q.resource_type
            )),
        }
    }

    fn unknown(&self, text: String) -> Result<bool, Issue> {
        match self.handling {
            Handling::Strict => Err(not_supported(text)),
            Handling::Lenient => Ok(false),
        }
    }

    fn sort(&self, q: &mut SearchQuery, value: &str) -> Result<bool, Issue> {
        let keys: Vec<&str> = value.split(',').filter(|s| !s.is_empty()).collect();
        let Some(first) = keys.first() else {
            return Ok(false);
        };
        if keys.len() > 1 {
            self.unknown("_sort supports one key".into())?;
        }
        let (descending, key) = match first.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, *first),
        };
        let sort = match key {
            "_id" => SortKey::Id,
            "_lastUpdated" => SortKey::LastUpdated,
            k => match self.registry.param(&q.resource_type, k) {
                Some(p) if p.kind == ParamType::Date => {
                    q.sort_param = Some(p.code.clone());
                    SortKey::Date
                }
                _ => {
                    return self.unknown(format!(
                        "_sort={key} is not supported on {} (_id, _lastUpdated and date parameters are)",
                        q.resource_type
                    ))
                }
            },
        };
        q.sort = sort;
        q.descending = descending;
        Ok(true)
    }

    fn include(
        &self,
        q: &SearchQuery,
        reverse: bool,
        value: &str,
        iterate: bool,
    ) -> Result<Include, Issue> {
        let mut parts = value.split(':');
        let (Some(source), Some(param)) = (parts.next(), parts.next()) else {
            return Err(invalid(format!(
                "'{value}' is not Type:parameter[:targetType]{}",
                if value == "*" {
                    " (wildcards are not supported)"
                } else {
                    ""
                }
            )));
        };
        let target = parts.next().map(str::to_string);
        let def = self
            .registry
            .param(source, param)
            .filter(|p| p.kind == ParamType::Reference)
            .ok_or_else(|| {
                not_supported(format!(
                    "'{source}:{param}' is not a reference search parameter"
                ))
            })?;
        if let Some(t) = &target {
            if !def.targets.contains(t) {
                return Err(invalid(format!("{source}:{param} cannot point at {t}")));
            }
        }
        if !iterate && !reverse && source != q.resource_type {
            return Err(invalid(format!(
                "_include={value} does not start from {} (use _include:iterate)",
                q.resource_type
            )));
        }
        let target_type = match (reverse, target) {
            (true, None) if !iterate => Some(q.resource_type.clone()),
            (_, t) => t,
        };
        Ok(Include {
            source_type: source.to_string(),
            param: param.to_string(),
            target_type,
            iterate,
        })
    }

    /// One parameter occurrence as a clause; None when the parameter is unknown.
    fn clause(
        &self,
        resource_type: &str,
        name: &str,
        value: &str,
        depth: usize,
    ) -> Result<Option<Clause>, Issue> {
        if let Some(spec) = name.strip_prefix("_has:") {
            return self.has(resource_type, spec, value, depth);
        }
        // a chain: `param[:Type].rest`
        if let Some((head, rest)) = name.split_once('.') {
            return self.chain(resource_type, head, rest, value, depth);
        }
        let (code, modifier) = match name.split_once(':') {
            Some((c, m)) => (c, Some(m)),
            None => (name, None),
        };
        let Some(def) = self.registry.param(resource_type, code) else {
            return Ok(None);
        };
        if modifier == Some("missing") {
            let missing = match value {
                "true" => true,
                "false" => false,
                other => {
                    return Err(invalid(format!(
                        "{name} takes true or false, not '{other}'"
                    )))
                }
            };
            return Ok(Some(Clause::Missing {
                param: code.to_string(),
                missing,
            }));
        }
        let values = split_values(value);
        if values.len() > MAX_VALUES {
            return Err(Issue::error(
                IssueType::TooCostly,
                format!("{name} has more than {MAX_VALUES} values"),
            ));
        }
        let mut criteria = Vec::with_capacity(values.len());
        for v in &values {
            if v.is_empty() {
                return Err(invalid(format!("{name} has an empty value")));
            }
            let matches = match (def.kind, modifier) {
                (ParamType::Token, None | Some("not")) => {
                    let (system, code) = split_token(v);
                    if code.is_empty() {
                        return Err(not_supported(format!(
                            "{name}={v}: a token needs a code (system-only search is not supported)"
                        )));
                    }
                    Match::Token { system, code }
                }
                (ParamType::String, None) => Match::String {
                    normalized: normalize(v),
                    mode: StringMode::Prefix,
                },
                (ParamType::String, Some("exact")) => Match::String {
                    normalized: normalize(v),
                    mode: StringMode::Exact(v.clone()),
                },
                (ParamType::String, Some("contains")) => Match::String {
                    normalized: normalize(v),
                    mode: StringMode::Contains,
                },
                (ParamType::Reference, m) => {
                    let type_modifier = match m {
                        None => None,
                        Some(t) if def.targets.iter().any(|x| x == t) => Some(t),
                        Some(t) => {
                            return Err(not_supported(format!(
                                "{code}:{t} is not a supported modifier (targets: {})",
                                def.targets.join(", ")
                            )))
                        }
                    };
                    self.reference(v, type_modifier)
                }
                (ParamType::Date, None) => {
                    let (prefix, text) = DatePrefix::split(v);
                    let range = date_range::parse(text).ok_or_else(|| {
                        invalid(format!(
                            "{name}={v}: '{text}' is not a FHIR date such as 2026, 2026-03, 2026-03-04 or 2026-03-04T10:00:00Z"
                        ))
                    })?;
                    Match::Date { prefix, range }
                }
                (ParamType::Uri, None) => Match::Uri(v.clone()),
                (kind, Some(m)) => {
                    return Err(not_supported(format!(
                        "the modifier :{m} is not supported on {} parameter {code} (supported: {})",
                        kind.code(),
                        kind.modifiers().join(", ")
                    )))
                }
            };
            criteria.push(Criterion {
                param: code.to_string(),
                matches,
            });
        }
        Ok(Some(if modifier == Some("not") {
            Clause::None(criteria)
        } else {
            Clause::Any(criteria)
        }))
    }

    fn reference(&self, v: &str, type_modifier: Option<&str>) -> Match {
        let ours = format!("{}/", self.base_url.trim_end_matches('/'));
        let local = match v.strip_prefix(&ours) {
            Some(rest) => rest,
            None if v.contains("://") || v.starts_with("urn:") => {
                return Match::ReferenceText(v.to_string())
            }
            None => v,
        };
        let local = local.split("/_history/").next().unwrap_or(local);
        match local.split_once('/') {
            Some((ty, id)) => Match::Reference {
                target_type: Some(ty.to_string()),
                id: id.to_string(),
            },
            None => Match::Reference {
                target_type: type_modifier.map(str::to_string),
                id: local.to_string(),
            },
        }
    }

    /// `_has:Type:reference:parameter` (R4 §3.1.1.5.8), nested `_has` included, within the
    /// chain depth limit. An unknown `Type`, `reference` or `parameter` is an unknown parameter.
    fn has(
        &self,
        resource_type: &str,
        spec: &str,
        value: &str,
        depth: usize,
    ) -> Result<Option<Clause>, Issue> {
        within_chain_depth(depth)?;
        let mut parts = spec.splitn(3, ':');
        let (Some(source), Some(reference), Some(rest)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!(
                "_has:{spec} is not of the form _has:Type:reference:parameter"
            )));
        };
        if source.is_empty() || reference.is_empty() || rest.is_empty() {
            return Err(invalid(format!(
                "_has:{spec} is not of the form _has:Type:reference:parameter"
            )));
        }
        let Some(def) = self
            .registry
            .param(source, reference)
            .filter(|p| p.kind == ParamType::Reference)
        else {
            return Ok(None);
        };
        if !def.targets.iter().any(|t| t == resource_type) {
            return Err(invalid(format!(
                "_has:{source}:{reference}: {source}'s {reference} cannot point at a {resource_type}"
            )));
        }
        let Some(inner) = self.clause(source, rest, value, depth + 1)? else {
            return Ok(None);
        };
        Ok(Some(Clause::Any(vec![Criterion {
            param: format!("_has:{source}:{reference}"),
            matches: Match::Has {
                source_type: source.to_string(),
                reference: reference.to_string(),
                inner: Box::new(inner),
            },
        }])))
    }

    fn chain(
        &self,
        resource_type: &str,
        head: &str,
        rest: &str,
        value: &str,
        depth: usize,
    ) -> Result<Option<Clause>, Issue> {
        within_chain_depth(depth)?;
        let (code, type_modifier) = match head.split_once(':') {
            Some((c, t)) => (c, Some(t)),
            None => (head, None),
        };
        let Some(def) = self
            .registry
            .param(resource_type, code)
            .filter(|p| p.kind == ParamType::Reference)
        else {
            return Ok(None);
        };
        let targets: Vec<&String> = def
            .targets
            .iter()
            .filter(|t| type_modifier.is_none_or(|m| m == t.as_str()))
            .collect();
        let mut branches = Vec::new();
        for target in targets {
            if let Some(inner) = self.clause(target, rest, value, depth + 1)? {
                branches.push((target.clone(), Box::new(inner)));
            }
        }
        if branches.is_empty() {
            return Ok(None);
        }
        Ok(Some(Clause::Any(vec![Criterion {
            param: code.to_string(),
            matches: Match::Chain(branches),
        }])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::registry::tests::registry;

    fn parse(
        rt: &str,
        params: &[(&str, &str)],
        handling: Handling,
    ) -> Result<SearchQuery, Vec<Issue>> {
        let limits = SearchLimits {
            default_count: 20,
            max_count: 100,
            max_included: 500,
        };
        let p = Parser {
            registry: registry(),
            base_url: "http://gw.example/fhir",
            handling,
            limits: &limits,
        };
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        p.parse(rt, &params)
    }

    #[test]
    fn tokens_and_or() {
        let q = parse(
            "CarePlan",
            &[("status", "active,draft"), ("category", "|x")],
            Handling::Strict,
        )
        .unwrap();
        assert_eq!(q.clauses.len(), 2);
        let Clause::Any(c) = &q.clauses[0] else {
            panic!()
        };
        assert_eq!(c.len(), 2);
        let Clause::Any(c) = &q.clauses[1] else {
            panic!()
        };
        assert_eq!(
            c[0].matches,
            Match::Token {
                system: Some(String::new()),
                code: "x".into()
            }
        );
    }

    #[test]
    fn has_is_reverse_chaining_within_the_depth_limit() {
        let q = parse(
            "Patient",
            &[("_has:Observation:patient:code", "http://loinc.org|8867-4")],
            Handling::Strict,
        )
        .unwrap();
        let Clause::Any(c) = &q.clauses[0] else {
            panic!()
        };
        let Match::Has {
            source_type,
            reference,
            inner,
        } = &c[0].matches
        else {
            panic!("{:?}", c[0].matches)
        };
        assert_eq!(
            (source_type.as_str(), reference.as_str()),
            ("Observation", "patient")
        );
        let Clause::Any(inner) = inner.as_ref() else {
            panic!()
        };
        assert_eq!(inner[0].param, "code");
        // malformed, wrong target, too deep: refused even when lenient
        for bad in [
            "_has:Observation:patient",
            "_has:Observation:encounter:code",
            "_has:Observation:patient:_has:Observation:has-member:_has:Observation:has-member:_has:Observation:has-member:code",
        ] {
            assert!(parse("Patient", &[(bad, "x")], Handling::Lenient).is_err(), "{bad}");
        }
        // an unknown pointing parameter is an unknown parameter
        assert!(parse(
            "Patient",
            &[("_has:Observation:nope:code", "x")],
            Handling::Strict
        )
        .is_err());
        assert!(parse(
            "Patient",
            &[("_has:Observation:nope:code", "x")],
            Handling::Lenient
        )
        .is_ok());
    }

    #[test]
    fn chain_and_references() {
        let q = parse(
            "CarePlan",
            &[
                ("patient.identifier", "http://mrn|1"),
                ("care-team", "http://gw.example/fhir/CareTeam/9"),
            ],
            Handling::Strict,
        )
        .unwrap();
        let Clause::Any(c) = &q.clauses[0] else {
            panic!()
        };
        let Match::Chain(branches) = &c[0].matches else {
            panic!()
        };
        assert_eq!(branches[0].0, "Patient");
        let Clause::Any(c) = &q.clauses[1] else {
            panic!()
        };
        assert_eq!(
            c[0].matches,
            Match::Reference {
                target_type: Some("CareTeam".into()),
                id: "9".into()
            }
        );
    }

    #[test]
    fn unknown_parameters() {
        let q = parse(
            "Patient",
            &[("nonsense", "1"), ("family", "x")],
            Handling::Lenient,
        )
        .unwrap();
        assert_eq!(q.link_params, vec![("family".to_string(), "x".to_string())]);
        assert!(parse("Patient", &[("nonsense", "1")], Handling::Strict).is_err());
        // a bad modifier is refused either way
        assert!(parse("Patient", &[("family:below", "x")], Handling::Lenient).is_err());
        assert!(parse("Patient", &[("birthdate", "gt20x")], Handling::Lenient).is_err());
    }

    #[test]
    fn cursor_round_trip() {
        let c = Cursor {
            key: -5,
            id: "a.b-1".into(),
            backward: true,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert!(Cursor::decode("!!").is_none());
    }

    #[test]
    fn escaped_commas() {
        assert_eq!(split_values("a\\,b,c"), vec!["a,b", "c"]);
    }
}
