//! Line and column of the elements issues name: a second, cheap scan of the request bytes that
//! runs only when there are issues to place.

use crate::outcome::Issue;
use std::collections::HashMap;
use std::fmt::Write;

enum Frame {
    Object { base: usize, expect_key: bool },
    Array { base: usize, index: usize },
}

/// Adds `line L, column C` to each issue's diagnostics: the position of the element its first
/// expression names, or of its nearest present ancestor (a missing element is reported where
/// its parent is). `root` is the resource type the expressions start with.
pub fn annotate(bytes: &[u8], root: &str, issues: &mut [Issue]) {
    annotate_each(bytes, root, &mut [issues]);
}

/// [`annotate`] for several lists of issues, with one scan of the bytes.
pub fn annotate_each(bytes: &[u8], root: &str, lists: &mut [&mut [Issue]]) {
    if lists.iter().all(|issues| issues.is_empty()) {
        return;
    }
    // each wanted path, and whether something wanted lies inside it
    let mut wanted: HashMap<&str, bool> = HashMap::new();
    for issue in lists.iter().flat_map(|issues| issues.iter()) {
        if let Some(e) = issue.expression.first() {
            let mut at = e.as_str();
            let mut inside = false;
            loop {
                let has_inside = wanted.entry(at).or_insert(false);
                *has_inside |= inside;
                inside = true;
                match at.rfind(['.', '[']) {
                    Some(cut) if cut > 0 => at = &at[..cut],
                    _ => break,
                }
            }
        }
    }
    let found = positions(bytes, root, &wanted);
    for issue in lists.iter_mut().flat_map(|issues| issues.iter_mut()) {
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

/// Line counting while scanning.
struct Lines {
    line: usize,
    line_start: usize,
}

impl Lines {
    fn newline_at(&mut self, i: usize) {
        self.line += 1;
        self.line_start = i + 1;
    }

    fn at(&self, i: usize) -> (usize, usize) {
        (self.line, i - self.line_start + 1)
    }
}

/// Where each wanted FHIRPath (`Bundle.entry[2].resource.code`) starts in the JSON text.
/// `wanted` holds every ancestor of what is wanted, with whether something wanted lies inside
/// it: any other value is skipped whole, so the scan follows only the wanted branches.
fn positions(
    bytes: &[u8],
    root: &str,
    wanted: &HashMap<&str, bool>,
) -> HashMap<String, (usize, usize)> {
    let mut out = HashMap::new();
    let mut path = String::from(root);
    let mut stack: Vec<Frame> = Vec::new();
    let mut lines = Lines {
        line: 1,
        line_start: 0,
    };
    // Whether something inside the member whose key was just read is wanted (its value has the
    // same path as the key).
    let mut member_wanted = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                lines.newline_at(i);
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
                    let hit = wanted.get(path.as_str()).copied();
                    // a member is placed at its key, where an editor shows it
                    if hit.is_some() && !out.contains_key(path.as_str()) {
                        out.insert(path.clone(), lines.at(i));
                    }
                    member_wanted = Some(hit == Some(true));
                    i = end + 1;
                    continue;
                }
            }
        }
        // a value starts here
        let hit = match member_wanted.take() {
            Some(hit) => hit,
            None => {
                if let Some(Frame::Array { base, index }) = stack.last() {
                    path.truncate(*base);
                    // writing to a String cannot fail
                    let _ = write!(path, "[{index}]");
                }
                let hit = wanted.get(path.as_str()).copied();
                if hit.is_some() && !out.contains_key(path.as_str()) {
                    out.insert(path.clone(), lines.at(i));
                }
                hit == Some(true)
            }
        };
        // a value with nothing wanted inside it is skipped
        if !hit {
            i = skip_value(bytes, i, &mut lines);
            continue;
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

/// The index just past the value that starts at `start` (or of the delimiter that ends a
/// number or literal), counting the lines it spans.
fn skip_value(bytes: &[u8], start: usize, lines: &mut Lines) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        // indentation, digits and literals: a table test per byte instead of the match
        if !STRUCTURAL[bytes[i] as usize] {
            i += 1;
            continue;
        }
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i) + 1;
                if depth == 0 {
                    return i;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b',' if depth == 0 => return i,
            b'\n' => lines.newline_at(i),
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The bytes `skip_value` acts on.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let acted_on = *b"\"{[}],\n";
    while k < acted_on.len() {
        table[acted_on[k] as usize] = true;
        k += 1;
    }
    table
};

/// The index of the quote closing the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    // strings are most of a resource's bytes: jump between quotes and escapes
    while let Some(found) = bytes
        .get(i..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        i += found;
        if bytes[i] == b'"' {
            return i;
        }
        i += 2;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::IssueType;

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

    /// Every element path of `value`, with what the text at its position starts with: the
    /// quoted key of a member, the first character of an array item.
    fn element_paths(value: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    let p = format!("{path}.{key}");
                    out.push((p.clone(), format!("\"{key}\"")));
                    element_paths(v, &p, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let first = serde_json::to_string(v).unwrap_or_default();
                    out.push((p.clone(), first.chars().take(1).collect()));
                    element_paths(v, &p, out);
                }
            }
            _ => {}
        }
    }

    /// A Bundle of every JSON shape, pretty-printed as clients send it: nested objects and
    /// arrays, escaped and non-ASCII strings, numbers, literals and nulls.
    fn built_document() -> String {
        let entries: Vec<serde_json::Value> = (0..25)
            .map(|i| {
                serde_json::json!({"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{i:012}"),
                    "resource": {"resourceType": "Observation", "id": format!("o{i}"), "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3",
                            "display": "a \"quoted\" \\ value, é"}], "text": "pain"},
                        "subject": {"reference": "Patient/p1"},
                        "valueQuantity": {"value": 1.50, "unit": "mg", "comparator": "<"},
                        "component": [{"code": {"text": "c"}, "valueBoolean": true},
                                      {"code": {"text": "d"}, "valueInteger": -i}],
                        "note": [{"text": "line\nbreak\ttab"}],
                        "performer": [],
                        "extension": [{"url": "http://example.org/x", "valueString": "s"}],
                        "identifier": [{"value": "a"}, {"value": null}]},
                    "request": {"method": "POST", "url": "Observation"}})
            })
            .collect();
        let bundle =
            serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
        serde_json::to_string_pretty(&bundle).expect("serializes")
    }

    #[test]
    fn skipping_unwanted_branches_finds_every_element() {
        let text = built_document();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut paths = Vec::new();
        element_paths(&value, "Bundle", &mut paths);
        assert!(paths.len() > 500, "{} paths", paths.len());
        let lines: Vec<&str> = text.lines().collect();
        let starts_with = |diagnostics: &str, expected: &str| {
            let mut numbers = diagnostics
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<usize>().ok());
            let (line, column) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
            lines
                .get(line.wrapping_sub(1))
                .and_then(|l| l.get(column.wrapping_sub(1)..))
                .is_some_and(|rest| rest.starts_with(expected))
        };
        // every element alone (most of the document skipped), and all together
        let mut together: Vec<Issue> = paths
            .iter()
            .map(|(p, _)| Issue::error(IssueType::Value, "x").at(p.clone()))
            .collect();
        annotate(text.as_bytes(), "Bundle", &mut together);
        for ((path, expected), joint) in paths.iter().zip(&together) {
            let mut alone = vec![Issue::error(IssueType::Value, "x").at(path.clone())];
            annotate(text.as_bytes(), "Bundle", &mut alone);
            let placed = alone[0].diagnostics.clone().unwrap_or_default();
            assert!(starts_with(&placed, expected), "{path}: {placed}");
            assert_eq!(
                joint.diagnostics.as_deref(),
                Some(placed.as_str()),
                "{path}"
            );
        }
    }
}
