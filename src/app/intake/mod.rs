//! Referral intake: parse, validate and store resources sent one by one or in Bundles.

mod bundle;
mod bundle_entry;
mod dry_run;
mod message;
mod patch;
mod policy;
mod single;
mod unchanged_update;

pub use bundle::{BundleOutcome, EntryOutcome};
pub use dry_run::parameters as evaluation_parameters;
pub use message::MessageOutcome;
pub use patch::PatchFormat;
pub use policy::IntakePolicy;
pub(crate) use single::check_id;
pub use single::{Accepted, Written};

use super::auth::write_audit::WriteAudit;
use super::AppError;
use crate::app::search::Search;
use crate::app::workflow::Workflow;
use crate::config::LimitSettings;
use crate::domain::guide::resource_types::is_referral_type;
use crate::store::{SharedStore, WriteOp, WriteOutcome};
use fhir_engine::json::position;
use fhir_engine::json::{parse_resource, resource_type_of, JsonLimits};
use fhir_engine::outcome::{Issue, IssueType};
use fhir_engine::validation::{IntakeValidator, Outcome};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone)]
pub struct Intake {
    store: SharedStore,
    /// Conditional URLs, conditional references and GET entries of Bundles search.
    search: Search,
    validator: Arc<dyn IntakeValidator>,
    limits: LimitSettings,
    workflow: Option<Workflow>,
    /// The authenticated client sending the writes (recorded on its referrals' Tasks).
    submitter: Option<Arc<str>>,
    /// On the intake of one `$process-message`: the message's receipt, stored with its writes
    /// so that a resend is recognised (see `message.rs`).
    receipt: Option<Arc<WriteOp>>,
    /// The request's audit record, committed with each of its writes (`auth::write_audit`).
    audit: Option<Arc<WriteAudit>>,
}

impl Intake {
    pub fn new(
        store: SharedStore,
        search: Search,
        validator: Arc<dyn IntakeValidator>,
        limits: LimitSettings,
    ) -> Self {
        Self {
            store,
            search,
            validator,
            limits,
            workflow: None,
            submitter: None,
            receipt: None,
            audit: None,
        }
    }

    /// What one JSON request body may hold.
    pub fn json_limits(&self) -> JsonLimits {
        self.limits.json()
    }

    /// This intake, for writes sent by `client` (`None`: auth is off, nothing is recorded).
    pub fn submitted_by(&self, client: Option<&str>) -> Self {
        Self {
            submitter: client.map(Arc::from),
            ..self.clone()
        }
    }

    /// This intake, for writes that commit `audit` with them (`None`: the audit trail is off).
    pub fn audited_as(mut self, audit: Option<Arc<WriteAudit>>) -> Self {
        self.audit = audit;
        self
    }

    /// This intake, for the writes of one message, whose `receipt` it stores with them.
    fn for_message(&self, receipt: WriteOp) -> Self {
        Self {
            receipt: Some(Arc::new(receipt)),
            ..self.clone()
        }
    }

    /// Referral writes also store the referral's evaluation, in the same transaction.
    pub fn with_workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = Some(workflow);
        self
    }

    /// Stores `ops` atomically, with the workflow's writes when there is a workflow.
    async fn apply(
        &self,
        mut ops: Vec<WriteOp>,
        at: impl Fn(usize) -> Option<String>,
        message_source: Option<&str>,
    ) -> Result<Vec<WriteOutcome>, AppError> {
        if let Some(receipt) = &self.receipt {
            ops.push(receipt.as_ref().clone());
        }
        if let Some(audit) = &self.audit {
            ops.push(WriteOp::RecordAudit(Box::new(audit.intent())));
        }
        let mut outcomes = match &self.workflow {
            Some(workflow) => workflow
                .apply(ops, message_source, self.submitter.as_deref())
                .await
                .map_err(|e| e.into_app(at)),
            None => self
                .store
                .apply(ops)
                .await
                .map_err(|e| AppError::from_store(e, at)),
        }?;
        outcomes.retain(|outcome| match outcome {
            WriteOutcome::Audited { written } => {
                if let Some(audit) = &self.audit {
                    audit.committed(written);
                }
                false
            }
            _ => true,
        });
        Ok(outcomes)
    }

    /// Parses the body and checks it is a valid resource of `expected_type`; returns it with
    /// the warnings found, which do not stop intake.
    fn parse_valid(
        &self,
        body: &[u8],
        expected_type: &str,
    ) -> Result<(Value, Vec<Issue>), AppError> {
        let resource = parse_resource(body, self.limits.json())?;
        let actual = resource_type_of(&resource).unwrap_or_default();
        if actual != expected_type {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Invalid,
                    format!("the body is a {actual}, but the URL is for {expected_type}"),
                )
                .at(format!("{actual}.resourceType")),
            ));
        }
        let mut outcome = self.validator.check(&resource);
        locate(body, &resource, &mut outcome);
        let warnings = outcome
            .all()
            .into_iter()
            .filter(|i| !i.is_error())
            .collect();
        rejection(outcome)?;
        Ok((resource, warnings))
    }
}

/// Adds line and column to the issues (a second scan, only when there are issues).
pub(crate) fn locate(body: &[u8], resource: &Value, outcome: &mut Outcome) {
    let root = resource_type_of(resource).unwrap_or("Resource");
    position::annotate_each(body, root, &mut [&mut outcome.base, &mut outcome.profile]);
}

/// Base R4 errors are a bad request (400); profile errors an unprocessable referral (422).
/// Errors lead, warnings follow, so clients see what to fix first.
pub(crate) fn rejection(outcome: Outcome) -> Result<(), AppError> {
    let errors_first = |issues: Vec<Issue>| -> Vec<Issue> {
        let (mut errors, warnings): (Vec<Issue>, Vec<Issue>) =
            issues.into_iter().partition(Issue::is_error);
        errors.extend(warnings);
        errors
    };
    if outcome.base_errors() {
        Err(AppError::Invalid(errors_first(outcome.base)))
    } else if outcome.profile_errors() {
        Err(AppError::Unprocessable(errors_first(outcome.all())))
    } else {
        Ok(())
    }
}

/// Only the referral's resource types are stored.
pub fn check_supported_type(resource_type: &str) -> Result<(), AppError> {
    if is_referral_type(resource_type) {
        Ok(())
    } else {
        Err(AppError::UnsupportedType(Issue::error(
            IssueType::NotSupported,
            format!("resource type '{resource_type}' is not supported by this server"),
        )))
    }
}
