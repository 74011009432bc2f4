//! What the referral workflow adds to intake, in process: evaluating the ten eligibility
//! criteria and generating the Task, CarePlan, CareTeam, Goals and Provenance for one referral
//! whose evidence is at hand (as in a transaction Bundle). Store writes are measured by
//! scripts/load/.

use criterion::{criterion_group, criterion_main, Criterion};
use fhir_engine::validation::structure::StructureValidator;
use hbpc_gateway::app::workflow::{bundle_resources, Evaluator, WorkflowRules};
use hbpc_gateway::config::Settings;
use hbpc_gateway::domain::care_planning::Prior;
use hbpc_gateway::domain::eligibility::Evidence;
use hbpc_gateway::domain::guide;
use serde_json::Value;
use std::hint::black_box;
use std::sync::Arc;

/// The same allocator as the `hbpc-gateway` binary.
#[global_allocator]
static ALLOCATOR: hbpc_gateway::allocator::Allocator = hbpc_gateway::allocator::Allocator;

fn evidence(file: &str, evaluator: &Evaluator) -> Evidence {
    let text = std::fs::read_to_string(format!("{}/fixtures/{file}", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture");
    let bundle: Value = serde_json::from_str(&text).expect("json");
    let resources = bundle_resources(&bundle);
    let referral = resources
        .iter()
        .find(|r| evaluator.is_referral(r))
        .cloned()
        .expect("a referral");
    let mut evidence = Evidence::new(referral);
    for r in resources {
        evidence.add(r);
    }
    evidence
}

fn eligibility(c: &mut Criterion) {
    let validator = Arc::new(StructureValidator::load(&guide::load_options()).expect("load"));
    let settings = Settings::default();
    let terminology = Arc::new(hbpc_gateway::domain::eligibility::ClinicalTerminology::new(
        validator,
    ));
    let rules = WorkflowRules::from_settings(
        &settings.program,
        &settings.eligibility,
        &settings.care_plan,
        |url| terminology.knows(url),
    )
    .expect("rules");
    let evaluator = Evaluator::new(Arc::new(rules), terminology);
    let prior = Prior::default();
    let mut group = c.benchmark_group("workflow");
    for (name, file) in [
        ("eligible_cancer", "referrals/eligible-cancer.json"),
        (
            "eligible_als_therapy",
            "referrals/eligible-als-therapy-ordered.json",
        ),
        ("fails_service_area", "referrals/fails-service-area.json"),
    ] {
        let evidence = evidence(file, &evaluator);
        group.bench_function(format!("{name}/evaluate_and_plan"), |b| {
            b.iter(|| evaluator.evaluate(black_box(&evidence), &prior, "2026-11-29T00:00:00Z"))
        });
    }
    group.finish();
}

criterion_group!(benches, eligibility);
criterion_main!(benches);
