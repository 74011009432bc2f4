//! Core invariants of FHIR R4 on small resources; the official suite lives in
//! tests/fhirpath_conformance.rs.

use super::*;
use serde_json::json;

fn holds(expr: &str, resource: &serde_json::Value) -> bool {
    FhirPathEngine::new()
        .compile(expr)
        .unwrap()
        .holds(resource, resource)
        .unwrap()
}

const ELE_1: &str = "hasValue() or (children().count() > id.count())";
const DOM_2: &str = "contained.contained.empty()";
const DOM_3: &str = "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()";
const DOM_6: &str = "text.`div`.exists()";
const REF_1: &str = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))";

#[test]
fn ele_1_on_elements_and_primitives() {
    let p = json!({"resourceType": "Patient", "name": [{"family": "Chalmers"}], "_birthDate": {"id": "x"}});
    let engine = FhirPathEngine::new();
    let ele1 = engine.compile(ELE_1).unwrap();
    let name = &p["name"][0];
    assert!(ele1.holds(&p, name).unwrap());
    assert!(!ele1.holds(&p, &json!({"id": "only-id"})).unwrap());
    assert!(holds("birthDate.hasValue().not()", &p));
}

#[test]
fn dom_invariants() {
    let ok = json!({
        "resourceType": "Patient",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "contained": [{"resourceType": "Organization", "id": "org"}],
        "managingOrganization": {"reference": "#org"}
    });
    assert!(holds(DOM_2, &ok));
    assert!(holds(DOM_3, &ok));
    assert!(holds(DOM_6, &ok));
    assert!(holds("text.`div`.htmlChecks()", &ok));
    let orphan = json!({
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "org"}]
    });
    assert!(!holds(DOM_3, &orphan));
    assert!(!holds(DOM_6, &orphan));
}

#[test]
fn ref_1_checks_contained_targets() {
    let p = json!({
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "org"}],
        "managingOrganization": {"reference": "#org"},
        "generalPractitioner": [{"reference": "#missing"}]
    });
    let engine = FhirPathEngine::new();
    let ref1 = engine.compile(REF_1).unwrap();
    assert!(ref1.holds(&p, &p["managingOrganization"]).unwrap());
    assert!(!ref1.holds(&p, &p["generalPractitioner"][0]).unwrap());
}

#[test]
fn choice_types_and_dates() {
    let o = json!({"resourceType": "Observation", "valueQuantity": {"value": 185, "unit": "lbs"},
        "effectiveDateTime": "2020-01-02T10:00:00Z"});
    assert!(holds("Observation.value.is(Quantity)", &o));
    assert!(holds("Observation.value.value > 180", &o));
    assert!(holds("effective > @2019", &o));
    assert!(holds("(effective as dateTime) < now()", &o));
}

#[test]
fn errors_are_errors_not_panics() {
    let engine = FhirPathEngine::new();
    assert!(matches!(
        engine.compile("2 + "),
        Err(FhirPathError::Syntax { .. })
    ));
    assert!(matches!(
        engine.compile("foo()"),
        Err(FhirPathError::Semantic(_))
    ));
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(matches!(
        engine.compile(&deep),
        Err(FhirPathError::TooDeep(_))
    ));
    let long_chain = "a".to_string() + &".a".repeat(10_000);
    assert!(matches!(
        engine.compile(&long_chain),
        Err(FhirPathError::TooDeep(_))
    ));
    let negated = "-".repeat(10_000) + "1";
    assert!(matches!(
        engine.compile(&negated),
        Err(FhirPathError::TooDeep(_))
    ));
    let sum = "1".to_string() + &" + 1".repeat(10_000);
    assert!(matches!(
        engine.compile(&sum),
        Err(FhirPathError::TooDeep(_))
    ));
    let p = json!({"resourceType": "Patient", "name": [{"given": ["a", "b"]}]});
    let e = engine.compile("name.given + 'x'").unwrap();
    assert!(matches!(
        e.evaluate(&p, &p),
        Err(FhirPathError::Evaluation(_))
    ));
}

#[test]
fn compiled_path_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledPath>();
    assert_send_sync::<FhirPathEngine>();
}

#[test]
fn ext_1_on_extensions_found_inside_the_resource() {
    let r = json!({"resourceType": "CodeSystem", "extension": [
        {"url": "http://x", "valueCode": "trial-use"},
        {"url": "http://y", "valueInteger": 0}
    ]});
    let ext1 = FhirPathEngine::new()
        .compile("extension.exists() != value.exists()")
        .unwrap();
    assert!(ext1.holds(&r, &r["extension"][0]).unwrap());
    assert!(ext1.holds(&r, &r["extension"][1]).unwrap());
}

#[test]
fn ctm_1_resolves_contained_members() {
    let team = json!({"resourceType": "CareTeam",
    "contained": [{"resourceType": "Practitioner", "id": "pr1"}, {"resourceType": "Patient", "id": "p1"}],
    "participant": [
        {"member": {"reference": "#pr1"}, "onBehalfOf": {"reference": "Organization/f001"}},
        {"member": {"reference": "#p1"}, "onBehalfOf": {"reference": "Organization/f001"}},
        {"member": {"reference": "Practitioner/elsewhere"}, "onBehalfOf": {"reference": "Organization/f001"}}
    ]});
    let ctm1 = FhirPathEngine::new()
        .compile("onBehalfOf.exists() implies (member.resolve().iif(empty(), true, ofType(Practitioner).exists()))")
        .unwrap();
    assert!(ctm1.holds(&team, &team["participant"][0]).unwrap());
    assert!(!ctm1.holds(&team, &team["participant"][1]).unwrap());
    assert!(ctm1.holds(&team, &team["participant"][2]).unwrap());
}

#[test]
fn overflow_is_empty_not_a_panic() {
    let engine = FhirPathEngine::new();
    let r = json!({"resourceType": "Patient"});
    for expr in [
        "-(-9223372036854775807 - 1)",
        "9223372036854775807 + 1",
        "@2020-01-01 + 9223372036854775807 days",
        "@2020-01-01T10:00:00 + 9223372036854775807 seconds",
        "@T10:00 + 9223372036854775807 hours",
        "@2020-01 + 9223372036854775807 months",
    ] {
        let out = engine.compile(expr).unwrap().evaluate(&r, &r);
        assert!(matches!(out, Ok(ref v) if v.is_empty()), "{expr}: {out:?}");
    }
}

#[test]
fn typed_focus_by_element_path_resolves_backbone_choices() {
    let o = json!({"resourceType": "Observation", "component": [
        {"code": {"text": "x"}, "valueQuantity": {"value": 1}}
    ]});
    let has_value = FhirPathEngine::new()
        .compile("value.exists() and value.is(Quantity)")
        .unwrap();
    let c = &o["component"][0];
    assert!(has_value
        .holds_typed(&o, c, "Observation.component")
        .unwrap());
    assert!(has_value.holds(&o, c).unwrap());
}
