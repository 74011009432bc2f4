//! Property tests (issue #18): the JSON reader and the FHIRPath parser return a value or an
//! error for any input, never a panic; what the reader accepts holds no FHIR-forbidden string.

use fhir_engine::fhirpath::FhirPathEngine;
use fhir_engine::json::{forbidden_control, parse_bounded, parse_resource, JsonLimits};
use proptest::prelude::*;
use serde_json::Value;

const LIMITS: JsonLimits = JsonLimits {
    max_depth: 16,
    max_elements: 2000,
};

/// JSON-ish text: the structural characters, escapes and control characters in any order.
fn json_like() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("\"resourceType\"".to_string()),
        Just("\"Patient\"".to_string()),
        Just("\"a\"".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("\"\\t\\n\"".to_string()),
        Just("1e999".to_string()),
        Just("-0.0".to_string()),
        Just("18446744073709551616".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        "[\\x00-\\x7f]{0,3}",
        "\\PC{0,3}",
    ];
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings_of(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings_of(v, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_json_reader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_bounded(&bytes, LIMITS);
        let _ = parse_resource(&bytes, LIMITS);
    }

    #[test]
    fn the_json_reader_never_panics_and_accepts_only_fhir_strings(text in json_like()) {
        if let Ok(value) = parse_bounded(text.as_bytes(), LIMITS) {
            let mut strings = Vec::new();
            strings_of(&value, &mut strings);
            for s in strings {
                prop_assert!(forbidden_control(&s).is_none(), "{s:?} accepted");
            }
        }
    }

    #[test]
    fn the_fhirpath_parser_never_panics(expression in "\\PC{0,60}") {
        let _ = FhirPathEngine::new().compile(&expression);
    }

    #[test]
    fn the_fhirpath_parser_never_panics_on_fhirpath_like_text(
        parts in prop::collection::vec(prop_oneof![
            Just("Patient"), Just("."), Just("name"), Just("where("), Just(")"), Just("("),
            Just("'"), Just("'a'"), Just("%resource"), Just("$this"), Just("["), Just("]"),
            Just("0"), Just("1.5"), Just("@2026-01-01T"), Just("@T12:"), Just(" and "),
            Just(" | "), Just("ofType("), Just("as "), Just("is "), Just("`"), Just("{}"),
            Just("exists()"), Just(" + "), Just(" div "), Just("-"), Just("'\\u00"),
            Just("1 'mg'"), Just("iif("), Just(","), Just("%"), Just("//"), Just("/*"),
        ], 0..30)
    ) {
        let _ = FhirPathEngine::new().compile(&parts.concat());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow(
        depth in 0usize..3000,
        open in prop_oneof![Just("("), Just("-"), Just("a.where("), Just("["), Just("{\"a\":")],
    ) {
        let _ = FhirPathEngine::new().compile(&open.repeat(depth));
        let _ = parse_bounded(open.repeat(depth).as_bytes(), LIMITS);
    }
}
