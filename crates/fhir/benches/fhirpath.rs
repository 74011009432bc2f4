//! Cost of FHIRPath invariants: compiling, and evaluating compiled `ele-1`, `dom-3`, `dom-6`
//! and `ref-1` on a referral ServiceRequest (about 2 KB).

use criterion::{criterion_group, criterion_main, Criterion};
use fhir_engine::fhirpath::FhirPathEngine;
use serde_json::Value;
use std::hint::black_box;

const ELE_1: &str = "hasValue() or (children().count() > id.count())";
const DOM_3: &str = "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()";
const DOM_6: &str = "text.`div`.exists()";
const REF_1: &str = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))";

/// A referral ServiceRequest of about 2 KB: the shape of the gateway's referral fixture (the
/// same elements, so the same `ele_1_all_N_elements`), with neutral codes and ids.
fn resource() -> Value {
    serde_json::json!({
        "resourceType": "ServiceRequest",
        "identifier": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                 "code": "PLAC", "display": "Placer Identifier"}]},
            "system": "http://hospital.example.org/fhir/sid/referral",
            "value": "REF-2026-000417"
        }],
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005",
                                  "display": "Patient referral"}]}],
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "308447003",
                        "display": "Referral to community-based service"}],
            "text": "Referral to a home care service"
        },
        "orderDetail": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0281",
                                     "code": "HOM", "display": "Home Care"}]}],
        "subject": {"reference": "Patient/example-patient"},
        "authoredOn": "2026-11-20T09:15:00-08:00",
        "requester": {"reference": "PractitionerRole/example-physician-role"},
        "performerType": {"text": "Home care program"},
        "reasonCode": [{"text": "Metastatic breast cancer with uncontrolled bone pain; homebound"}],
        "reasonReference": [
            {"reference": "Condition/example-metastatic-cancer"},
            {"reference": "Condition/example-cancer-pain"}
        ],
        "insurance": [{"reference": "Coverage/example-coverage"}],
        "supportingInfo": [
            {"reference": "Observation/example-homebound-status"},
            {"reference": "Observation/example-home-safety"},
            {"reference": "Consent/example-consent"},
            {"reference": "Observation/example-pain-score"}
        ],
        "note": [{"text": "Physical therapy requested for transfer safety."}]
    })
}

/// Every object element of the resource, as ele-1 is checked on each.
fn elements<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            out.push(v);
            o.values().for_each(|c| elements(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| elements(c, out)),
        _ => {}
    }
}

fn fhirpath(c: &mut Criterion) {
    // The first engine derives the R4 type model from the embedded schema, once per process.
    let started = std::time::Instant::now();
    let engine = FhirPathEngine::new();
    eprintln!("fhirpath: R4 model loaded in {:?}", started.elapsed());
    let sr = resource();
    let mut group = c.benchmark_group("fhirpath");
    group.bench_function("compile_ele_1", |b| {
        b.iter(|| engine.compile(black_box(ELE_1)).expect("compiles"))
    });
    group.bench_function("compile_dom_3", |b| {
        b.iter(|| engine.compile(black_box(DOM_3)).expect("compiles"))
    });
    let ele1 = engine.compile(ELE_1).expect("compiles");
    let dom3 = engine.compile(DOM_3).expect("compiles");
    let dom6 = engine.compile(DOM_6).expect("compiles");
    let ref1 = engine.compile(REF_1).expect("compiles");
    let subject = &sr["subject"];
    group.bench_function("ele_1_one_element", |b| {
        b.iter(|| ele1.holds(&sr, black_box(subject)).expect("evaluates"))
    });
    let mut all = Vec::new();
    elements(&sr, &mut all);
    group.bench_function(format!("ele_1_all_{}_elements", all.len()), |b| {
        b.iter(|| {
            all.iter()
                .all(|e| ele1.holds(&sr, black_box(e)).expect("evaluates"))
        })
    });
    // What a validator does: it knows each element's type, so no search for the focus.
    group.bench_function(format!("ele_1_all_{}_elements_typed", all.len()), |b| {
        b.iter(|| {
            all.iter().all(|e| {
                ele1.holds_typed(&sr, black_box(e), "Element")
                    .expect("evaluates")
            })
        })
    });
    group.bench_function("dom_3_resource", |b| {
        b.iter(|| dom3.holds(&sr, black_box(&sr)).expect("evaluates"))
    });
    group.bench_function("dom_6_resource", |b| {
        b.iter(|| dom6.holds(&sr, black_box(&sr)).expect("evaluates"))
    });
    group.bench_function("ref_1_subject", |b| {
        b.iter(|| ref1.holds(&sr, black_box(subject)).expect("evaluates"))
    });
    group.finish();
}

criterion_group!(benches, fhirpath);
criterion_main!(benches);
