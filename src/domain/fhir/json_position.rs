//! Line and column of the elements issues name: a second, cheap scan of the request bytes that
//! runs only when there are issues to place.

use super::operation_outcome::Issue;
use std::collections::{HashMap, HashSet};

enum Frame {
    Object { base: usize, expect_key: bool },
    Array { base: usize, index: usize },
}

/// Adds `line L, column C` to each issue's diagnostics: the position of the element its first
/// expression names, or of its nearest present ancestor (a missing element is reported where
/// its parent is). `root` is the resource type the expressions start with.
pub fn annotate(bytes: &[u8], root: &str, issues: &mut [Issue]) {
    if issues.is_empty() {
        return;
    }
    let mut wanted: HashSet<&str> = HashSet::new();
    for issue in issues.iter() {
        if let Some(e) = issue.expression.first() {
            let mut at = e.as_str();
            loop {
                wanted.insert(at);
                match at.rfind(['.', '[']) {
                    Some(cut) if cut > 0 => at = &at[..cut],
                    _ => break,
                }
            }
        }
    }
    let found = positions(bytes, root, &wanted);
    for issue in issues.iter_mut() {
        let Some(e) = issue.expression.first() else {
            continue;
        };
        let mut at = e.as_str();
        loop {
            if let Some((line, column)) = found.get(at) {
                issue.diagnostics = Some(format!("line {line}, column {column}"));
                break;
            }
            match at.rfind(['.', '[']) {
                Some(cut) if cut > 0 => at = &at[..cut],
                _ => break,
            }
        }
    }
}

/// Where each wanted FHIRPath (`Bundle.entry[2].resource.code`) starts in the JSON text.
fn positions(bytes: &[u8], root: &str, wanted: &HashSet<&str>) -> HashMap<String, (usize, usize)> {
    let mut out = HashMap::new();
    let mut path = String::from(root);
    let mut stack: Vec<Frame> = Vec::new();
    let (mut line, mut line_start) = (1usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b':' => {
                i += 1;
                continue;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                    Some(Frame::Array { index, .. }) => *index += 1,
                    None => {}
                }
                i += 1;
                continue;
            }
            b'}' | b']' => {
                if let Some(Frame::Object { base, .. } | Frame::Array { base, .. }) = stack.pop() {
                    path.truncate(base);
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        // a string that is an object key
        if b == b'"' {
            if let Some(Frame::Object { base, expect_key }) = stack.last_mut() {
                if *expect_key {
                    *expect_key = false;
                    let end = string_end(bytes, i);
                    let key = String::from_utf8_lossy(bytes.get(i + 1..end).unwrap_or_default());
                    path.truncate(*base);
                    path.push('.');
                    path.push_str(key.strip_prefix('_').unwrap_or(&key));
                    // a member is placed at its key, where an editor shows it
                    if wanted.contains(path.as_str()) && !out.contains_key(path.as_str()) {
                        out.insert(path.clone(), (line, i - line_start + 1));
                    }
                    i = end + 1;
                    continue;
                }
            }
        }
        // a value starts here
        if let Some(Frame::Array { base, index }) = stack.last() {
            path.truncate(*base);
            path.push('[');
            path.push_str(&index.to_string());
            path.push(']');
        }
        let member_value = matches!(stack.last(), Some(Frame::Object { .. }));
        if !member_value && wanted.contains(path.as_str()) && !out.contains_key(path.as_str()) {
            out.insert(path.clone(), (line, i - line_start + 1));
        }
        match b {
            b'{' => {
                stack.push(Frame::Object {
                    base: path.len(),
                    expect_key: true,
                });
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array {
                    base: path.len(),
                    index: 0,
                });
                i += 1;
            }
            b'"' => i = string_end(bytes, i) + 1,
            _ => {
                while i < bytes.len()
                    && !matches!(bytes[i], b',' | b'}' | b']' | b'\n' | b' ' | b'\t' | b'\r')
                {
                    i += 1;
                }
            }
        }
    }
    out
}

/// The index of the quote closing the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fhir::operation_outcome::IssueType;

    #[test]
    fn places_elements_and_missing_ones_at_their_parent() {
        let text = "{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [\n    {\"resource\": {\"resourceType\": \"Patient\", \"birthdate\": \"x\"}},\n    {\"resource\": {\"resourceType\": \"Patient\", \"name\": [{\"given\": [\"a\", \"b\\\"\"]}]}}\n  ]\n}";
        let mut issues = vec![
            Issue::error(IssueType::Structure, "x").at("Bundle.entry[0].resource.birthdate"),
            Issue::error(IssueType::Required, "x").at("Bundle.entry[1].resource.name[0].family"),
            Issue::error(IssueType::Value, "x").at("Bundle.entry[1].resource.name[0].given[1]"),
        ];
        annotate(text.as_bytes(), "Bundle", &mut issues);
        assert_eq!(issues[0].diagnostics.as_deref(), Some("line 4, column 46"));
        assert_eq!(issues[1].diagnostics.as_deref(), Some("line 5, column 55"));
        assert_eq!(issues[2].diagnostics.as_deref(), Some("line 5, column 71"));
    }
}
