//! Compact JSON text of a `Value`, byte for byte what `serde_json::to_string` gives, written
//! straight into a `String`. Stored bodies and responses are mostly strings without anything
//! to escape; serde_json tests every byte against its escape table, this skips eight bytes at a
//! time, and it needs no UTF-8 check of the result.

use serde_json::Value;

/// Appends the compact JSON text of `value`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // With `arbitrary_precision` a number displays as the text it was read from.
        Value::Number(n) => {
            use std::fmt::Write;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_member(out, key, item);
            }
            out.push('}');
        }
    }
}

/// Appends one object member, `"key":value`.
pub fn write_member(out: &mut String, key: &str, value: &Value) {
    write_str(out, key);
    out.push(':');
    write_value(out, value);
}

/// The compact JSON text of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it: `"` and `\`, the short
/// escapes for backspace, form feed, newline, carriage return and tab, `\u00xx` (lower-case
/// hex) for the other control characters, everything else as is.
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    match first_escape(s.as_bytes()) {
        None => out.push_str(s),
        Some(at) => push_escaped(out, s, at),
    }
    out.push('"');
}

/// Where the first byte to escape is, eight bytes at a time: the last word overlaps the one
/// before it rather than being copied short; a string under eight bytes is tested byte by byte.
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().position(|&b| escaped(b));
    };
    let mut at = 0;
    while at < last {
        if needs_escape(word_at(bytes, at)) {
            return Some(found(&bytes[at..at + 8], at));
        }
        at += 8;
    }
    needs_escape(word_at(bytes, last)).then(|| found(&bytes[last..], last))
}

/// The eight bytes from `at` (within `bytes`) as one little-endian word.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(chunk) = bytes.get(at..at + 8) {
        word.copy_from_slice(chunk);
    }
    u64::from_le_bytes(word)
}

/// The offset of the first byte to escape in `bytes`, which start at `at`; 0 (scan it all)
/// should the word test ever flag a word without one.
fn found(bytes: &[u8], at: usize) -> usize {
    bytes.iter().position(|&b| escaped(b)).map_or(0, |p| at + p)
}

fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `s` from its first byte to escape (`from`) on, escaped.
fn push_escaped(out: &mut String, s: &str, from: usize) {
    let bytes = s.as_bytes();
    // An escaped byte is ASCII, so both ends of every run are character boundaries.
    out.push_str(&s[..from]);
    let mut start = from;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        if escaped(b) {
            out.push_str(&s[start..i]);
            push_escape(out, b);
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes is below 0x20, `"` or `\` (exact: bytes of 0x80 and above,
/// UTF-8's multi-byte sequences, never count).
fn needs_escape(word: u64) -> bool {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    (below_space | zero_byte(quote) | zero_byte(backslash)) & HIGHS != 0
}

fn push_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        0x08 => out.push_str("\\b"),
        0x0c => out.push_str("\\f"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        _ => {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn same_as_serde(value: &Value) {
        let ours = to_string(value);
        let theirs = serde_json::to_string(value).expect("serialise");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn every_byte_below_0x80_is_written_as_serde_json_writes_it() {
        // every offset of every length up to 17: a short string, whole words, an overlapping
        // last word
        for b in 0u8..0x80 {
            for len in 1..=17 {
                for at in 0..len {
                    let mut s: String = "é".repeat(len - 1);
                    s.insert(at * 2, char::from(b));
                    same_as_serde(&Value::String(s.clone()));
                    let mut s: String = "a".repeat(len - 1);
                    s.insert(at, char::from(b));
                    same_as_serde(&Value::String(s));
                }
            }
        }
    }

    #[test]
    fn values_of_every_kind_match() {
        same_as_serde(&json!({
            "resourceType": "Patient",
            "active": true, "deceasedBoolean": false, "x": null,
            "multipleBirthInteger": 2, "weight": 72.50, "big": 12345678901234567890123u128,
            "name": [{"family": "Ó Briain \"Bri\" \\ 東京 🙂", "given": []}],
            "extension": [], "meta": {}
        }));
        // numbers keep the text they were read from (arbitrary_precision)
        let read: Value = serde_json::from_str(r#"{"v":[1.0,1e2,-0.000,3.14159265358979323846]}"#)
            .expect("parse");
        same_as_serde(&read);
    }

    proptest! {
        #[test]
        fn any_string_matches(s in any::<String>()) {
            same_as_serde(&Value::String(s));
        }

        #[test]
        fn strings_of_json_specials_match(s in "[\"\\\\\\x00-\\x1f\\x7f a-zé€𝄞]{0,40}") {
            same_as_serde(&json!({ s.clone(): [s] }));
        }
    }
}
