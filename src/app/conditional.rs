//! `If-None-Exist` / `entry.request.ifNoneExist`: the search that makes a create conditional.
//! `POST [type]?criteria` is read the same way (R4 defines only the header; clients such as
//! fhirpy's `get_or_create()` send the query).

use fhir_engine::model::identifier::IdentifierToken;
use fhir_engine::outcome::{Issue, IssueType};

/// Parses `identifier=system|value` (the only criterion supported), URL-decoded.
pub fn parse_if_none_exist(query: &str) -> Result<IdentifierToken, Issue> {
    let query = query.trim().trim_start_matches('?');
    let mut token = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name);
        if name != "identifier" {
            return Err(Issue::error(
                IssueType::NotSupported,
                format!(
                    "conditional create supports only the 'identifier' criterion, not '{name}'"
                ),
            ));
        }
        if token.is_some() {
            return Err(Issue::error(
                IssueType::NotSupported,
                "conditional create supports one identifier criterion",
            ));
        }
        let value = percent_decode(value);
        if let Some(c) = fhir_engine::json::forbidden_control(&value) {
            return Err(Issue::error(
                IssueType::Invalid,
                format!(
                    "the identifier criterion holds the control character U+{:04X}",
                    c as u32
                ),
            ));
        }
        if value.contains(',') {
            return Err(Issue::error(
                IssueType::NotSupported,
                "conditional create does not support several identifier values (OR)",
            ));
        }
        token = Some(IdentifierToken::parse(&value).ok_or_else(|| {
            Issue::error(
                IssueType::Invalid,
                "the identifier criterion has an empty value",
            )
        })?);
    }
    token.ok_or_else(|| {
        Issue::error(
            IssueType::Invalid,
            "the conditional create criteria are empty",
        )
    })
}

/// Parameters of a create's query string that are not criteria.
const FORMAT_PARAMS: [&str; 2] = ["_format", "_pretty"];

/// The conditional create criteria of `POST [type]?query` with `If-None-Exist: header`: the
/// query's criteria, the header's, or both when they say the same; 400 when they disagree.
pub fn create_criteria(query: &str, header: Option<&str>) -> Result<Option<String>, Issue> {
    let criteria: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(name, _)| !FORMAT_PARAMS.contains(&name.as_str()))
        .collect();
    let from_query = (!criteria.is_empty()).then(|| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&criteria)
            .finish()
    });
    match (from_query, header) {
        (None, header) => Ok(header.map(str::to_string)),
        (Some(q), None) => Ok(Some(q)),
        (Some(q), Some(h)) => {
            let mut a = criteria;
            let mut b: Vec<(String, String)> =
                form_urlencoded::parse(h.trim().trim_start_matches('?').as_bytes())
                    .into_owned()
                    .collect();
            a.sort();
            b.sort();
            if a == b {
                Ok(Some(q))
            } else {
                Err(Issue::error(
                    IssueType::Invalid,
                    "the query of POST [type]?criteria and the If-None-Exist header name different conditional create criteria",
                ))
            }
        }
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'%' if i + 2 < bytes.len() => hex(bytes[i + 1])
                .zip(hex(bytes[i + 2]))
                .map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhir_engine::model::identifier::SystemMatch;

    #[test]
    fn parses_identifier_criterion() {
        let t = parse_if_none_exist("identifier=http%3A%2F%2Fhosp.example%2Fplac%7CREF-1").unwrap();
        assert_eq!(
            t.system,
            SystemMatch::Exactly("http://hosp.example/plac".into())
        );
        assert_eq!(t.value, "REF-1");
        assert!(parse_if_none_exist("name=smith").is_err());
        assert!(parse_if_none_exist("identifier=a&identifier=b").is_err());
        assert!(parse_if_none_exist("").is_err());
        assert_eq!(parse_if_none_exist("identifier=%zz").unwrap().value, "%zz");
    }

    #[test]
    fn the_query_of_a_create_is_its_criteria_unless_the_header_disagrees() {
        assert_eq!(create_criteria("", None).unwrap(), None);
        assert_eq!(
            create_criteria("_format=json", Some("identifier=a|1"))
                .unwrap()
                .as_deref(),
            Some("identifier=a|1")
        );
        assert_eq!(
            create_criteria("identifier=a%7C1&_pretty=true", None)
                .unwrap()
                .as_deref(),
            Some("identifier=a%7C1")
        );
        // the same criteria, encoded differently
        assert!(create_criteria("identifier=a%7C1", Some("?identifier=a|1"))
            .unwrap()
            .is_some());
        assert!(create_criteria("identifier=a%7C1", Some("identifier=a|2")).is_err());
        assert_eq!(
            parse_if_none_exist(
                &create_criteria("identifier=http%3A%2F%2Fx%7C1", None)
                    .unwrap()
                    .unwrap()
            )
            .unwrap()
            .value,
            "1"
        );
    }
}

/// The version in an `If-Match` / `entry.request.ifMatch` ETag: `W/"3"` or `"3"`.
pub fn parse_etag_version(etag: &str) -> Option<u64> {
    let t = etag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"').parse().ok()
}

#[cfg(test)]
mod etag_tests {
    use super::parse_etag_version;

    #[test]
    fn etags() {
        assert_eq!(parse_etag_version("W/\"3\""), Some(3));
        assert_eq!(parse_etag_version("\"12\""), Some(12));
        assert_eq!(parse_etag_version("W/\"x\""), None);
    }
}
