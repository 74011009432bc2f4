//! The SQLite writer's cost per referral Bundle (issue #2 ingest): the write operations that
//! intake and the workflow produce for `fixtures/referral-transaction.json` (13 entries, plus
//! Task, CarePlan, CareTeam, Goals and Provenance), committed into a store in a temporary
//! directory with the production settings (WAL, `synchronous = FULL`), one Bundle per commit.
//!
//! The operations of every iteration are produced outside the measurement by the real intake
//! (validation, workflow) with fresh placer and MRN identifiers, as `scripts/load/post-referral.lua`
//! sends them; only `ResourceStore::apply` is timed.
//!
//! `STORE_BENCH_BUNDLES=N` skips criterion and commits N Bundles after one warm-up Bundle, for
//! instruction counts: see `scripts/bench/store-callgrind.sh`.

use async_trait::async_trait;
use criterion::{BatchSize, Criterion};
use fhir_engine::model::identifier::IdentifierToken;
use fhir_engine::search::{HistoryQuery, SearchQuery};
use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, StructureValidator};
use hbpc_gateway::app::intake::{Intake, IntakePolicy};
use hbpc_gateway::config::Settings;
use hbpc_gateway::domain::guide;
use hbpc_gateway::store::search::SearchResult;
use hbpc_gateway::store::{
    self, ResourceStore, SharedStore, StoreError, StoreStats, StoredResource, WriteOp, WriteOutcome,
};
use std::sync::{Arc, Mutex};

/// The same allocator as the `hbpc-gateway` binary.
#[global_allocator]
static ALLOCATOR: hbpc_gateway::allocator::Allocator = hbpc_gateway::allocator::Allocator;

/// Reads go to the real store; `apply` keeps the operations instead of writing them.
struct Capture {
    inner: SharedStore,
    ops: Mutex<Option<Vec<WriteOp>>>,
}

#[async_trait]
impl ResourceStore for Capture {
    async fn read(&self, t: &str, id: &str) -> Result<Option<StoredResource>, StoreError> {
        self.inner.read(t, id).await
    }
    async fn vread(&self, t: &str, id: &str, v: u64) -> Result<Option<StoredResource>, StoreError> {
        self.inner.vread(t, id, v).await
    }
    async fn apply(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError> {
        *self.ops.lock().expect("lock") = Some(ops);
        Err(StoreError::Unavailable("captured".into()))
    }
    async fn find_by_identifier(
        &self,
        t: &str,
        token: &IdentifierToken,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.find_by_identifier(t, token).await
    }
    async fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError> {
        self.inner.search(query).await
    }
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredResource>, StoreError> {
        self.inner.history(query).await
    }
    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

struct Referrals {
    capture: Arc<Capture>,
    intake: Intake,
    template: String,
    counter: usize,
}

impl Referrals {
    fn new(store: SharedStore) -> Self {
        let settings = Settings::default();
        let structure = Arc::new(
            StructureValidator::load(&LoadOptions {
                invariants: Some(Arc::new(FhirPathInvariants::new())),
                ..guide::load_options()
            })
            .expect("definitions"),
        );
        let capture = Arc::new(Capture {
            inner: store,
            ops: Mutex::new(None),
        });
        let shared: SharedStore = capture.clone();
        let workflow = hbpc_gateway::http::server::workflow(&settings, &structure, shared.clone())
            .expect("workflow");
        let validator = Arc::new(IntakePolicy::new(
            structure,
            settings.validation.default_profiles,
        ));
        let search = hbpc_gateway::app::search::Search::new(shared.clone(), &settings.search);
        let intake =
            Intake::new(shared, search, validator, settings.limits.clone()).with_workflow(workflow);
        let path = format!(
            "{}/fixtures/referral-transaction.json",
            env!("CARGO_MANIFEST_DIR")
        );
        Self {
            capture,
            intake,
            template: std::fs::read_to_string(path).expect("fixture"),
            counter: 0,
        }
    }

    /// The operations intake would commit for the next referral (its own identifiers).
    async fn next_ops(&mut self) -> Vec<WriteOp> {
        self.counter += 1;
        let tag = format!("{}-{}", std::process::id(), self.counter);
        let body = self
            .template
            .replace("REF-2026-000417", &format!("REF-{tag}"))
            .replace("MRN-448210", &format!("MRN-{tag}"));
        let bundle = self.intake.parse_bundle(body.as_bytes()).expect("parses");
        let _ = self
            .intake
            .process_bundle(body.as_bytes(), bundle, "http://bench.example/fhir")
            .await;
        self.capture
            .ops
            .lock()
            .expect("lock")
            .take()
            .expect("intake reached the store")
    }
}

/// A fresh store with the program's resources and the plan's Organization and Practitioner
/// already stored, as after the first referral.
fn setup(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> (SharedStore, Referrals) {
    let settings = Settings::default();
    let url = format!("sqlite://{}/bench.sqlite", dir.display());
    let store = rt
        .block_on(store::open(&url, &settings.database))
        .expect("store");
    let mut referrals = Referrals::new(store.clone());
    let first = rt.block_on(referrals.next_ops());
    rt.block_on(store.apply(first)).expect("warm-up commit");
    (store, referrals)
}

fn writer(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, mut referrals) = setup(&rt, dir.path());
    let mut group = c.benchmark_group("store");
    group.bench_function("sqlite/referral_bundle_commit", |b| {
        b.iter_batched(
            || rt.block_on(referrals.next_ops()),
            |ops| rt.block_on(store.apply(ops)).expect("commit"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Commits `bundles` referrals after the warm-up, for callgrind (no criterion).
/// `STORE_BENCH_DIR` keeps the database there for inspection.
fn commit_only(bundles: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("STORE_BENCH_DIR").map_or(temp.path().to_path_buf(), Into::into);
    let (store, mut referrals) = setup(&rt, &dir);
    let all: Vec<Vec<WriteOp>> = (0..bundles)
        .map(|_| rt.block_on(referrals.next_ops()))
        .collect();
    for ops in all {
        rt.block_on(store.apply(ops)).expect("commit");
    }
    println!("committed {bundles} referral Bundles");
}

fn main() {
    if let Ok(n) = std::env::var("STORE_BENCH_BUNDLES") {
        commit_only(n.parse().expect("STORE_BENCH_BUNDLES is a number"));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    writer(&mut c);
    c.final_summary();
}
