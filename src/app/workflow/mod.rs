//! The referral workflow: every write that creates, changes or completes a referral is
//! extended with the referral's evaluation (Task, CarePlan, CareTeam, Goals, Provenance),
//! stored in the same transaction.

mod bundle_resources;
mod evaluator;
pub mod evidence_loader;
mod rules;
mod staff_actions;
mod triggers;

pub use bundle_resources::bundle_resources;
pub use evaluator::{Evaluation, Evaluator};
pub use rules::{RulesError, WorkflowRules, REFERRAL_VALUE_SET};

use super::AppError;
use crate::domain::care_planning::delivery_output::{self, DeliveryStatus};
use crate::domain::care_planning::reevaluation::{self, Reevaluation};
use crate::domain::care_planning::submitter::{set_submitter, submitter_of};
use crate::domain::care_planning::Prior;
use crate::domain::eligibility::reference_key;
use crate::domain::guide::resource_types::is_referral_type;
use crate::store::{OpFailure, SharedStore, StoreError, WriteOp, WriteOutcome};
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::outcome::{Issue, IssueType};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use triggers::{identifier_token, referrals_named, ReferralRef};

/// How many times a write is retried when a concurrent evaluation of the same referral won
/// (many replicas receiving the same referral at once), with a growing, jittered pause.
const CONFLICT_RETRIES: usize = 10;

#[derive(Clone)]
pub struct Workflow {
    store: SharedStore,
    evaluator: Evaluator,
    /// Set once the program's own resources are known to be stored.
    program_stored: Arc<AtomicBool>,
    /// Upstream delivery (issue #5); `None` when no upstream is configured.
    delivery: Option<crate::app::delivery::Delivery>,
}

impl Workflow {
    pub fn new(store: SharedStore, evaluator: Evaluator) -> Self {
        Self {
            store,
            evaluator,
            program_stored: Arc::new(AtomicBool::new(false)),
            delivery: None,
        }
    }

    /// Every evaluation or staff action that writes the referral's Task, CarePlan or CareTeam
    /// also writes their delivery upstream, in the same transaction.
    pub fn with_delivery(mut self, delivery: crate::app::delivery::Delivery) -> Self {
        self.delivery = Some(delivery).filter(|d| d.enabled());
        self
    }

    /// The outbox write for a referral Task and its generated resources, if delivery is on.
    async fn delivery_op(
        &self,
        requester_of: &Value,
        at_hand: &[Arc<Value>],
        task_id: &str,
        keys: Vec<crate::store::delivery_request::ResourceKey>,
        message_source: Option<&str>,
    ) -> Result<Option<WriteOp>, StoreError> {
        let Some(delivery) = &self.delivery else {
            return Ok(None);
        };
        let mut source = crate::app::delivery::source::from_requester(
            requester_of,
            at_hand,
            self.store.as_ref(),
        )
        .await?;
        source.message_source_endpoint = message_source.map(str::to_string);
        Ok(delivery.enqueue(&source, task_id, keys))
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    /// The program's Organization, role PractitionerRoles and gateway Device, when missing:
    /// written with the first evaluation so that generated references resolve.
    async fn program_writes(&self) -> Result<Vec<WriteOp>, StoreError> {
        if self.program_stored.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        let mut ops = Vec::new();
        for resource in self.evaluator.rules().program.resources() {
            let rt = resource["resourceType"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let id = resource["id"].as_str().unwrap_or_default().to_string();
            let current = self.store.read(&rt, &id).await?;
            if current.is_none_or(|c| c.deleted) {
                ops.push(WriteOp::Update {
                    resource_type: rt,
                    id,
                    resource,
                    if_match: None,
                });
            }
        }
        if ops.is_empty() {
            self.program_stored.store(true, Ordering::Release);
        }
        Ok(ops)
    }

    /// Applies `ops` with the evaluations they trigger, atomically. The outcomes returned are
    /// those of `ops` (the workflow's own writes are not reported).
    /// `message_source`: `MessageHeader.source.endpoint` when the writes came as a FHIR message
    /// (deliveries go back to it). `submitter`: the authenticated client sending the writes,
    /// recorded on the Tasks of the referrals it submits.
    pub async fn apply(
        &self,
        mut ops: Vec<WriteOp>,
        message_source: Option<&str>,
        submitter: Option<&str>,
    ) -> Result<Vec<WriteOutcome>, ApplyError> {
        self.keep_service_owned_parts(&mut ops).await?;
        let base = ops.len();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let extra = self.plan_writes(&ops, message_source, submitter).await?;
            // Only a workflow write conditioned on a version (a re-evaluated referral's Task)
            // can conflict with a concurrent one and be planned again: the request's own
            // writes are copied for that case only.
            let may_retry = attempt < CONFLICT_RETRIES
                && extra.iter().any(|op| {
                    matches!(
                        op,
                        WriteOp::Update {
                            if_match: Some(_),
                            ..
                        }
                    )
                });
            let mut all = if may_retry {
                ops.clone()
            } else {
                std::mem::take(&mut ops)
            };
            all.extend(extra);
            self.mark_delivery_pending(&mut all);
            match self.store.apply(all).await {
                Ok(mut outcomes) => {
                    outcomes.truncate(base);
                    return Ok(outcomes);
                }
                Err(StoreError::Op {
                    index,
                    failure: OpFailure::VersionConflict { .. },
                }) if index >= base && may_retry => {
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
                    let pause = 2 * attempt as u64 + jitter;
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    continue;
                }
                Err(e) => return Err(ApplyError::Store(e)),
            }
        }
    }

    /// A Task written together with its delivery says `pending` (see `delivery_output`).
    fn mark_delivery_pending(&self, all: &mut [WriteOp]) {
        if self.delivery.is_none() {
            return;
        }
        let enqueued: Vec<String> = all
            .iter()
            .filter_map(|op| match op {
                WriteOp::EnqueueDelivery(request) => Some(request.task_id.clone()),
                _ => None,
            })
            .collect();
        for op in all {
            if let WriteOp::Update {
                resource_type,
                id,
                resource,
                ..
            } = op
            {
                if resource_type == "Task" && enqueued.contains(id) {
                    delivery_output::replace(resource, DeliveryStatus::Pending.outputs());
                }
            }
        }
    }

    /// The current, live version of a Task.
    async fn stored_task(&self, id: &str) -> Result<Option<Value>, StoreError> {
        Ok(self
            .store
            .read("Task", id)
            .await?
            .filter(|s| !s.deleted)
            .and_then(|s| s.resource()))
    }

    /// The writes the workflow adds to `ops`: evaluations of the referrals they name, and the
    /// plan's end when staff end a referral Task.
    pub async fn plan_writes(
        &self,
        ops: &[WriteOp],
        message_source: Option<&str>,
        submitter: Option<&str>,
    ) -> Result<Vec<WriteOp>, ApplyError> {
        let mut extra = self.staff_actions(ops).await?;
        let no_matches = HashMap::new();
        if referrals_named(ops, &no_matches, |r| self.evaluator.is_referral(r)).is_empty() {
            return Ok(extra);
        }
        // A conditional create that matches writes nothing: it neither triggers an evaluation
        // nor counts as evidence (the stored resource it matched does, when referenced).
        let redirects = self.conditional_matches(ops).await?;
        let named = referrals_named(ops, &redirects, |r| self.evaluator.is_referral(r));
        let at_hand: Vec<Arc<Value>> = evidence_loader::written_resources(ops)
            .into_iter()
            .filter(|r| !redirects.contains_key(&type_and_id(r)))
            // the referral's types only: a message's receipt is no evidence
            .filter(|r| {
                r.get("resourceType")
                    .and_then(Value::as_str)
                    .is_some_and(is_referral_type)
            })
            .map(|r| Arc::new(redirected(r, &redirects)))
            .collect();
        let now = fhir_instant(now_millis());
        let mut seen = Vec::new();
        for named in named {
            let Some(referral) = self.referral(&named, ops).await? else {
                continue;
            };
            let referral = redirected(referral, &redirects);
            let key = reference_key(&format!(
                "ServiceRequest/{}",
                referral
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ));
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let scope = match named {
                ReferralRef::InOps(_) => evidence_loader::PriorEvidence::SentSeparately,
                _ => evidence_loader::PriorEvidence::All,
            };
            extra.extend(
                self.evaluate_for_write(
                    referral,
                    &at_hand,
                    scope,
                    &now,
                    (message_source, submitter),
                )
                .await?,
            );
        }
        if !extra.is_empty() {
            extra.extend(self.program_writes().await?);
        }
        Ok(extra)
    }

    /// Evaluates every referral among `resources` (ids assigned) without storing anything.
    pub async fn dry_run(&self, resources: &[Value]) -> Result<Vec<Evaluation>, StoreError> {
        evaluate_resources(&self.evaluator, resources, Some(self.store.as_ref())).await
    }

    /// Conditional creates that will find an existing resource: `Type/assigned` → `Type/existing`,
    /// so that the evaluation names resources as the store will.
    async fn conditional_matches(
        &self,
        ops: &[WriteOp],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut redirects = HashMap::new();
        for op in ops {
            if let WriteOp::Create {
                resource_type,
                id,
                if_none_exist: Some(token),
                ..
            } = op
            {
                let found = self.store.find_by_identifier(resource_type, token).await?;
                if let [existing] = found.as_slice() {
                    redirects.insert(
                        format!("{resource_type}/{id}"),
                        format!("{resource_type}/{existing}"),
                    );
                }
            }
        }
        Ok(redirects)
    }

    async fn referral(
        &self,
        named: &ReferralRef,
        ops: &[WriteOp],
    ) -> Result<Option<Value>, StoreError> {
        let stored = |s: Option<crate::store::StoredResource>| {
            s.filter(|s| !s.deleted).and_then(|s| s.resource())
        };
        let referral = match named {
            ReferralRef::InOps(i) => evidence_loader::written_resources(&ops[*i..=*i]).pop(),
            ReferralRef::Stored(key) => {
                let id = key.trim_start_matches("ServiceRequest/");
                stored(self.store.read("ServiceRequest", id).await?)
            }
            ReferralRef::Identifier(system, value) => {
                let ids = self
                    .store
                    .find_by_identifier("ServiceRequest", &identifier_token(system, value))
                    .await?;
                match ids.first() {
                    Some(id) => stored(self.store.read("ServiceRequest", id).await?),
                    None => None,
                }
            }
        };
        Ok(referral.filter(|r| self.evaluator.is_referral(r)))
    }

    async fn evaluate_for_write(
        &self,
        referral: Value,
        at_hand: &[Arc<Value>],
        scope: evidence_loader::PriorEvidence,
        now: &str,
        (message_source, submitter): (Option<&str>, Option<&str>),
    ) -> Result<Vec<WriteOp>, StoreError> {
        let identity = crate::domain::care_planning::ReferralIdentity::of(&referral);
        let prior = read_prior(self.store.as_ref(), &identity).await?;
        if prior.task.as_ref().is_some_and(|t| {
            crate::domain::care_planning::task_state::is_final(staff_actions::status(t))
        }) {
            return Ok(Vec::new());
        }
        let evidence = evidence_loader::gather(
            referral,
            at_hand,
            prior.task.as_ref(),
            scope,
            Some(self.store.as_ref()),
        )
        .await?;
        let mut evaluation = self.evaluator.evaluate(&evidence, &prior, now);
        if let Some(task) = &prior.task {
            match reevaluation::judge(task, &evaluation.determination, now) {
                Reevaluation::Decide => {
                    reevaluation::keep_staff_status(&mut evaluation.generated.task, task)
                }
                Reevaluation::Stands(None) => return Ok(Vec::new()),
                Reevaluation::Stands(Some(kept)) => {
                    return self
                        .standing_decision(kept, task, at_hand, message_source)
                        .await
                }
            }
        }
        if unchanged(&evaluation, &prior) {
            // the same referral with the same evidence: nothing new to record
            return Ok(Vec::new());
        }
        crate::telemetry::metrics::METRICS
            .referral_decisions
            .with_label_values(&[evaluation.determination.decision().code()])
            .inc();
        let g = &evaluation.generated;
        let task_id = g.task["id"].as_str().unwrap_or_default();
        let keys = crate::app::delivery::delivered_keys(g.resources());
        let delivery = self
            .delivery_op(&g.task, at_hand, task_id, keys, message_source)
            .await?;
        let mut ops = writes(evaluation, &prior);
        // The first evaluation records who submitted the referral; later ones keep it.
        let recorded = prior.task.as_ref().and_then(submitter_of).or(submitter);
        for op in &mut ops {
            if let WriteOp::Update {
                resource_type,
                resource,
                ..
            } = op
            {
                if resource_type == "Task" {
                    set_submitter(resource, recorded);
                }
            }
        }
        ops.extend(delivery);
        Ok(ops)
    }

    /// An accepted referral whose re-evaluation lacked evidence: only its Task changes (what
    /// is missing), and the EHR is sent that Task.
    async fn standing_decision(
        &self,
        kept: Value,
        prior_task: &Value,
        at_hand: &[Arc<Value>],
        message_source: Option<&str>,
    ) -> Result<Vec<WriteOp>, StoreError> {
        let version = prior_task
            .pointer("/meta/versionId")
            .and_then(Value::as_str)
            .and_then(|v| v.parse().ok());
        let task_id = kept["id"].as_str().unwrap_or_default().to_string();
        let keys = vec![crate::store::delivery_request::ResourceKey::new(
            "Task", &task_id,
        )];
        let delivery = self
            .delivery_op(&kept, at_hand, &task_id, keys, message_source)
            .await?;
        let mut ops = vec![update(kept, version)];
        ops.extend(delivery);
        Ok(ops)
    }

    /// What the service owns on a Task, clients cannot write: a client's Task write carries
    /// the submitter stored on the Task, never one of its own (staff updates keep the tag, and
    /// no client can claim or hide a referral), and, with delivery on, the stored delivery
    /// state whatever delivery outputs it sent. One read of the stored Task per write.
    async fn keep_service_owned_parts(&self, ops: &mut [WriteOp]) -> Result<(), StoreError> {
        for op in ops {
            match op {
                WriteOp::Create {
                    resource_type,
                    resource,
                    ..
                } if resource_type == "Task" => set_submitter(resource, None),
                WriteOp::Update {
                    resource_type,
                    id,
                    resource,
                    ..
                } if resource_type == "Task" => {
                    let stored = self.stored_task(id).await?;
                    set_submitter(resource, stored.as_ref().and_then(submitter_of));
                    if self.delivery.is_some() {
                        let shown = stored
                            .map(|t| delivery_output::delivery_outputs(&t))
                            .unwrap_or_default();
                        delivery_output::replace(resource, shown);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A referral Task updated by staff: the transition is checked, and ending the Task ends
    /// the plan in the same transaction.
    async fn staff_actions(&self, ops: &[WriteOp]) -> Result<Vec<WriteOp>, ApplyError> {
        let mut extra = Vec::new();
        for op in ops {
            let WriteOp::Update {
                resource_type,
                id,
                resource,
                ..
            } = op
            else {
                continue;
            };
            if resource_type != "Task" {
                continue;
            }
            let Some(stored) = self.stored_task(id).await? else {
                continue;
            };
            if !staff_actions::is_referral_task(&stored) {
                continue;
            }
            staff_actions::check_transition(&stored, resource).map_err(ApplyError::Rejected)?;
            let to = staff_actions::status(resource);
            if to == staff_actions::status(&stored) {
                continue;
            }
            let mut delivered = vec![crate::store::delivery_request::ResourceKey::new("Task", id)];
            let Some((plan_status, activity_status, team_status)) =
                staff_actions::plan_status_after(to)
            else {
                // the EHR still sees the referral's new state
                extra.extend(self.delivery_op(&stored, &[], id, delivered, None).await?);
                continue;
            };
            for output in resource
                .get("output")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(key) = output
                    .get("valueReference")
                    .and_then(|r| r.get("reference"))
                    .and_then(Value::as_str)
                    .and_then(reference_key)
                else {
                    continue;
                };
                let Some((rt, rid)) = key.split_once('/') else {
                    continue;
                };
                let (status, activities) = match rt {
                    "CarePlan" => (plan_status, Some(activity_status)),
                    "CareTeam" => (team_status, None),
                    _ => continue,
                };
                if ops
                    .iter()
                    .any(|op| op.resource_type() == rt && op.id() == rid)
                {
                    // the same request writes it (e.g. a delivery from the referral's
                    // evaluator, plan and Task together): it says what the plan is
                    continue;
                }
                let Some(current) = self.store.read(rt, rid).await?.filter(|s| !s.deleted) else {
                    continue;
                };
                let Some(body) = current.resource() else {
                    continue;
                };
                extra.push(WriteOp::Update {
                    resource_type: rt.to_string(),
                    id: rid.to_string(),
                    resource: staff_actions::with_status(body, status, activities),
                    if_match: Some(current.version_id),
                });
                delivered.push(crate::store::delivery_request::ResourceKey::new(rt, rid));
            }
            extra.extend(self.delivery_op(&stored, &[], id, delivered, None).await?);
        }
        Ok(extra)
    }
}

/// Evaluates every referral among `resources`; the store, when given, is only read.
pub async fn evaluate_resources(
    evaluator: &Evaluator,
    resources: &[Value],
    store: Option<&dyn crate::store::ResourceStore>,
) -> Result<Vec<Evaluation>, StoreError> {
    let now = fhir_instant(now_millis());
    let at_hand: Vec<Arc<Value>> = resources.iter().cloned().map(Arc::new).collect();
    let mut evaluations = Vec::new();
    for referral in resources.iter().filter(|r| evaluator.is_referral(r)) {
        let identity = crate::domain::care_planning::ReferralIdentity::of(referral);
        let prior = match store {
            Some(store) => read_prior(store, &identity).await?,
            None => Prior::default(),
        };
        let evidence = evidence_loader::gather(
            referral.clone(),
            &at_hand,
            prior.task.as_ref(),
            evidence_loader::PriorEvidence::SentSeparately,
            store,
        )
        .await?;
        evaluations.push(evaluator.evaluate(&evidence, &prior, &now));
    }
    Ok(evaluations)
}

/// What earlier evaluations of the referral stored.
async fn read_prior(
    store: &dyn crate::store::ResourceStore,
    identity: &crate::domain::care_planning::ReferralIdentity,
) -> Result<Prior, StoreError> {
    let read = |rt: &'static str, kind: &'static str| {
        let id = identity.id(kind);
        async move {
            Ok::<_, StoreError>(
                store
                    .read(rt, &id)
                    .await?
                    .filter(|s| !s.deleted)
                    .and_then(|s| s.resource()),
            )
        }
    };
    Ok(Prior {
        task: read("Task", "Task").await?,
        care_plan: read("CarePlan", "CarePlan").await?,
        care_team: read("CareTeam", "CareTeam").await?,
    })
}

/// The writes of an evaluation, which it moves into them; the plan is rewritten only when it
/// changed.
pub fn writes(evaluation: Evaluation, prior: &Prior) -> Vec<WriteOp> {
    let g = evaluation.generated;
    let mut ops = Vec::new();
    let task_version = prior
        .task
        .as_ref()
        .and_then(|t| t.pointer("/meta/versionId"))
        .and_then(Value::as_str)
        .and_then(|v| v.parse().ok());
    ops.push(update(g.task, task_version));
    let changed = |new: &Value, old: Option<&Value>| old.is_none_or(|old| !same_content(new, old));
    if let Some(plan) = g.care_plan {
        if changed(&plan, prior.care_plan.as_ref()) {
            ops.push(update(plan, None));
        }
    }
    if let Some(team) = g.care_team {
        if changed(&team, prior.care_team.as_ref()) {
            ops.push(update(team, None));
        }
    }
    for goal in g.goals {
        ops.push(update(goal, None));
    }
    ops.push(update(g.provenance, None));
    ops
}

fn update(resource: Value, if_match: Option<u64>) -> WriteOp {
    let text = |key| {
        fhir_engine::json::member::member_str(&resource, key)
            .unwrap_or_default()
            .to_string()
    };
    WriteOp::Update {
        resource_type: text("resourceType"),
        id: text("id"),
        resource,
        if_match,
    }
}

/// Equal apart from `meta` (version and time stamps).
fn same_content(a: &Value, b: &Value) -> bool {
    same_except(a, b, &["meta"])
}

fn same_except(a: &Value, b: &Value, ignored: &[&str]) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let kept = |m: &'_ serde_json::Map<String, Value>| {
                m.keys().filter(|k| !ignored.contains(&k.as_str())).count()
            };
            kept(a) == kept(b)
                && a.iter()
                    .filter(|(k, _)| !ignored.contains(&k.as_str()))
                    .all(|(k, v)| b.get(k) == Some(v))
        }
        _ => false,
    }
}

/// Whether an evaluation only repeats what is stored (the Task apart from its timestamps).
fn unchanged(evaluation: &Evaluation, prior: &Prior) -> bool {
    let g = &evaluation.generated;
    let Some(task) = &prior.task else {
        return false;
    };
    let same = |new: Option<&Value>, old: Option<&Value>| match (new, old) {
        (Some(n), Some(o)) => same_content(n, o),
        (None, None) => true,
        _ => false,
    };
    // The delivery state is not the evaluation's: comparing it would rewrite every Task.
    same_except(
        &g.task,
        &delivery_output::without(task),
        &["meta", "lastModified"],
    ) && same(g.care_plan.as_ref(), prior.care_plan.as_ref())
        && same(g.care_team.as_ref(), prior.care_team.as_ref())
}

/// `Type/id` of a resource.
fn type_and_id(resource: &Value) -> String {
    let text = |key| {
        resource
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    format!("{}/{}", text("resourceType"), text("id"))
}

/// A resource as the store will hold it once conditional creates found their matches.
fn redirected(mut resource: Value, redirects: &HashMap<String, String>) -> Value {
    if redirects.is_empty() {
        return resource;
    }
    fhir_engine::model::reference::rewrite(&mut resource, redirects);
    let rt = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some((_, existing)) = redirects
        .get(&format!("{rt}/{id}"))
        .and_then(|t| t.split_once('/'))
    {
        resource["id"] = Value::String(existing.to_string());
    }
    resource
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rejected by the workflow")]
    Rejected(AppError),
}

impl ApplyError {
    /// As a client error; store failures are located by `at` like any other write.
    pub fn into_app(self, at: impl Fn(usize) -> Option<String>) -> AppError {
        match self {
            ApplyError::Store(e) => AppError::from_store(e, at),
            ApplyError::Rejected(e) => e,
        }
    }
}

/// An issue for a referral that cannot be evaluated.
pub fn not_a_referral(at: &str) -> Issue {
    Issue::error(
        IssueType::NotFound,
        "no active HBPC referral ServiceRequest (code from hbpc-referral-type) was found",
    )
    .at(at)
}
