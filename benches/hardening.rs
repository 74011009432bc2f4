//! Issue #18, items 2 and 10, measured (docs/performance.md, "Hostile input"):
//! - `index/…`: the search index rows of a Patient with N names (linear in N since the dedup
//!   uses a hash set; it was quadratic), and `create/…`: the whole create of such a Patient
//!   (parse, validate, index, SQLite commit) through the real intake;
//! - `shed/…`: 32 concurrent writes of a large Patient into a SQLite store whose write queue
//!   holds one and sheds after `database.queue_wait_ms` (10 ms): the time for all 32 to be
//!   answered, stored or shed. `HARDENING_BENCH_SHED=1` skips criterion and prints how many
//!   were shed and the slowest caller's wait. `HARDENING_BENCH_INDEX=N[,distinct]` extracts the
//!   index rows of one such Patient once, for callgrind.

use criterion::{BenchmarkId, Criterion};
use fhir_engine::search::SearchIndexer;
use fhir_engine::validation::structure::{IntakeProfiles, StructureValidator};
use hbpc_gateway::app::intake::Intake;
use hbpc_gateway::config::Settings;
use hbpc_gateway::domain::guide;
use hbpc_gateway::store::{self, SharedStore, StoreError};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The same allocator as the `hbpc-gateway` binary.
#[global_allocator]
static ALLOCATOR: hbpc_gateway::allocator::Allocator = hbpc_gateway::allocator::Allocator;

fn patient(names: usize, distinct: bool) -> Value {
    let names: Vec<Value> = (0..names)
        .map(|i| {
            let family = if distinct {
                format!("Family{i}")
            } else {
                "Smith".into()
            };
            json!({"family": family, "given": ["Ann"]})
        })
        .collect();
    json!({"resourceType": "Patient", "name": names})
}

fn index(c: &mut Criterion) {
    let registry = guide::resource_types::search_registry();
    let mut group = c.benchmark_group("index");
    group.sample_size(10);
    for (n, distinct) in [
        (10_000, false),
        (30_000, false),
        (90_000, false),
        (60_000, true),
    ] {
        let resource = patient(n, distinct);
        let label = if distinct { "distinct" } else { "same" };
        group.bench_with_input(BenchmarkId::new(label, n), &resource, |b, r| {
            b.iter(|| registry.index_rows("Patient", r).len())
        });
    }
    group.finish();
}

fn intake(store: SharedStore) -> Intake {
    let mut settings = Settings::default();
    settings.validation.default_profiles = false;
    // 90,000 names are about 270,000 JSON values: over the default limits.max_elements, which
    // is the point of the cost bound; the bench measures the work itself
    settings.limits.max_elements = 1_000_000;
    let structure = Arc::new(StructureValidator::load(&guide::load_options()).expect("defs"));
    let validator = Arc::new(IntakeProfiles {
        validator: structure,
        default_profiles: false,
    });
    let search = hbpc_gateway::app::search::Search::new(store.clone(), &settings.search);
    Intake::new(store, search, validator, settings.limits.clone())
}

fn create(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/bench.sqlite", dir.path().display());
    let store = rt
        .block_on(store::open(&url, &Settings::default().database))
        .expect("store");
    let intake = intake(store);
    let mut group = c.benchmark_group("create");
    group.sample_size(10);
    for n in [10_000, 30_000, 90_000] {
        let body = patient(n, false).to_string();
        group.bench_with_input(BenchmarkId::new("same_names", n), &body, |b, body| {
            b.iter(|| {
                rt.block_on(intake.create("Patient", body.as_bytes(), None))
                    .expect("created")
            })
        });
    }
    group.finish();
}

/// 32 concurrent large writes into a one-slot queue: (shed, slowest wait).
fn burst(rt: &tokio::runtime::Runtime, intake: &Intake, body: &Arc<String>) -> (usize, Duration) {
    rt.block_on(async {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (intake, body) = (intake.clone(), body.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let result = intake.create("Patient", body.as_bytes(), None).await;
                    let shed = matches!(
                        result,
                        Err(hbpc_gateway::app::AppError::Store(StoreError::Unavailable(
                            _
                        )))
                    );
                    (shed, started.elapsed())
                })
            })
            .collect();
        let mut shed = 0;
        let mut slowest = Duration::ZERO;
        for t in tasks {
            let (s, waited) = t.await.expect("task");
            shed += usize::from(s);
            slowest = slowest.max(waited);
        }
        (shed, slowest)
    })
}

fn shedding_setup() -> (
    tokio::runtime::Runtime,
    tempfile::TempDir,
    Intake,
    Arc<String>,
) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/shed.sqlite", dir.path().display());
    let mut settings = Settings::default().database;
    settings.write_queue = 1;
    // `HARDENING_BENCH_WAIT_MS`: another wait, e.g. 600000 to see the burst without shedding
    settings.queue_wait_ms = std::env::var("HARDENING_BENCH_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let store = rt.block_on(store::open(&url, &settings)).expect("store");
    let intake = intake(store);
    let body = Arc::new(patient(2_000, true).to_string());
    (rt, dir, intake, body)
}

fn shed(c: &mut Criterion) {
    let (rt, _dir, intake, body) = shedding_setup();
    let mut group = c.benchmark_group("shed");
    group.sample_size(10);
    group.bench_function("32_writes_queue_1_wait_10ms", |b| {
        b.iter(|| burst(&rt, &intake, &body))
    });
    group.finish();
}

/// `HARDENING_BENCH_INDEX=N` (`N` names, all the same) or `N,distinct`: one index extraction,
/// for callgrind (`--toggle-collect='*index_rows_where*'`).
fn index_once(spec: &str) {
    let (n, distinct) = match spec.split_once(',') {
        Some((n, _)) => (n, true),
        None => (spec, false),
    };
    let n: usize = n.parse().expect("HARDENING_BENCH_INDEX is N or N,distinct");
    let resource = patient(n, distinct);
    let rows = guide::resource_types::search_registry().index_rows("Patient", &resource);
    println!(
        "{n} names (distinct: {distinct}): {} index rows",
        rows.len()
    );
}

fn main() {
    if let Ok(spec) = std::env::var("HARDENING_BENCH_INDEX") {
        index_once(&spec);
        return;
    }
    if std::env::var_os("HARDENING_BENCH_SHED").is_some() {
        let (rt, _dir, intake, body) = shedding_setup();
        for round in 0..5 {
            let (shed, slowest) = burst(&rt, &intake, &body);
            println!("round {round}: 32 writes, {shed} shed, slowest caller {slowest:?}");
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    index(&mut c);
    create(&mut c);
    shed(&mut c);
    c.final_summary();
}
