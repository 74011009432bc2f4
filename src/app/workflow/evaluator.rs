//! One referral's evaluation, without I/O: evidence in, determination and resources out.

use super::rules::{WorkflowRules, REFERRAL_VALUE_SET};
use crate::domain::care_planning::{self, Generated, PlanInput, Prior, ReferralIdentity};
use crate::domain::eligibility::{self, Determination, Evidence, Scope, Terminology};
use crate::domain::guide::default_profiles::is_hbpc_referral;
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone)]
pub struct Evaluator {
    rules: Arc<WorkflowRules>,
    terminology: Arc<dyn Terminology>,
}

/// A referral's determination and what it generates.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub identity: ReferralIdentity,
    pub determination: Determination,
    pub generated: Generated,
}

impl Evaluator {
    pub fn new(rules: Arc<WorkflowRules>, terminology: Arc<dyn Terminology>) -> Self {
        Self { rules, terminology }
    }

    pub fn rules(&self) -> &WorkflowRules {
        &self.rules
    }

    /// An HBPC referral, whatever its status (its status decides the Task when it is not
    /// active): see [`is_hbpc_referral`].
    pub fn is_referral(&self, resource: &Value) -> bool {
        is_hbpc_referral(resource, |s, c| {
            self.terminology.in_value_set(REFERRAL_VALUE_SET, s, c)
        })
    }

    pub fn evaluate(&self, evidence: &Evidence, prior: &Prior, now: &str) -> Evaluation {
        // the referral and its patient, read once for the criteria and the plan
        let scope = Scope::new(evidence);
        let identity = ReferralIdentity::of(scope.referral());
        let determination =
            eligibility::evaluate_in(&scope, &self.rules.eligibility, self.terminology.as_ref());
        let generated = care_planning::generate(&PlanInput {
            evidence: &scope,
            determination: &determination,
            identity: &identity,
            program: &self.rules.program,
            eligibility: &self.rules.eligibility,
            planning: &self.rules.planning,
            terminology: self.terminology.as_ref(),
            prior,
            now,
        });
        Evaluation {
            identity,
            determination,
            generated,
        }
    }
}
