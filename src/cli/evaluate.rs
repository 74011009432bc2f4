//! `hbpc-gateway evaluate FILE`: the eligibility determination and plan for a referral Bundle,
//! criterion by criterion, without a server or database.

use super::validate::{CliError, ReportFormat};
use crate::app::intake::evaluation_parameters;
use crate::app::workflow::{
    bundle_resources, evaluate_resources, Evaluation, Evaluator, WorkflowRules,
};
use crate::config::Settings;
use crate::domain::care_planning::Service;
use crate::domain::eligibility::{Decision, Verdict};
use fhir_engine::json::parse_resource;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub struct EvaluateArgs {
    pub file: PathBuf,
    pub ig_paths: Vec<PathBuf>,
    pub format: ReportFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Load(#[from] CliError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Rules(#[from] crate::app::workflow::RulesError),
}

/// The command: exit 0 eligible, 1 not eligible, 3 pending evidence, 2 when it cannot run.
pub fn run(
    settings: &Settings,
    mut ig_paths: Vec<PathBuf>,
    format: &str,
    file: PathBuf,
) -> ExitCode {
    ig_paths.extend(settings.validation.ig_dirs.iter().map(PathBuf::from));
    let args = EvaluateArgs {
        file,
        ig_paths,
        format: super::report_format(format),
    };
    match evaluate(&args, settings, &mut std::io::stdout().lock()) {
        Ok(decisions) if decisions.contains(&Decision::Ineligible) => ExitCode::from(1),
        Ok(decisions) if decisions.contains(&Decision::Pending) => ExitCode::from(3),
        Ok(decisions) if decisions.contains(&Decision::NotEvaluated) => ExitCode::from(4),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hbpc-gateway: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prints the report; returns the decisions (one per referral in the file).
pub fn evaluate(
    args: &EvaluateArgs,
    settings: &Settings,
    out: &mut dyn std::io::Write,
) -> Result<Vec<Decision>, EvaluateError> {
    let validator = Arc::new(super::validate::load_validator(&args.ig_paths)?);
    let terminology = Arc::new(crate::domain::eligibility::ClinicalTerminology::new(
        validator,
    ));
    let rules = WorkflowRules::from_settings(
        &settings.program,
        &settings.eligibility,
        &settings.care_plan,
        |url| terminology.knows(url),
    )?;
    let evaluator = Evaluator::new(Arc::new(rules), terminology);
    let bytes = std::fs::read(&args.file)
        .map_err(|e| EvaluateError::Input(format!("cannot read {}: {e}", args.file.display())))?;
    let bundle = parse_resource(&bytes, settings.limits.json())
        .map_err(|e| EvaluateError::Input(format!("{}: {e}", args.file.display())))?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(EvaluateError::Input(format!(
            "{}: evaluate takes a referral Bundle (transaction, message or collection)",
            args.file.display()
        )));
    }
    let resources = bundle_resources(&bundle);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| EvaluateError::Input(e.to_string()))?;
    let evaluations = runtime
        .block_on(evaluate_resources(&evaluator, &resources, None))
        .map_err(|e| EvaluateError::Input(e.to_string()))?;
    if evaluations.is_empty() {
        return Err(EvaluateError::Input(format!(
            "{}: no HBPC referral ServiceRequest in the Bundle",
            args.file.display()
        )));
    }
    // a broken pipe is not worth a panic
    let _ = match args.format {
        ReportFormat::Json => writeln!(out, "{}", evaluation_parameters(&evaluations)),
        ReportFormat::Text => evaluations.iter().try_for_each(|e| report(out, e)),
    };
    Ok(evaluations
        .iter()
        .map(|e| e.determination.decision())
        .collect())
}

fn report(out: &mut dyn std::io::Write, evaluation: &Evaluation) -> std::io::Result<()> {
    let task = &evaluation.generated.task;
    let decision = match evaluation.determination.decision() {
        Decision::Eligible => "ELIGIBLE",
        Decision::Ineligible => "NOT ELIGIBLE",
        Decision::Pending => "PENDING (evidence missing)",
        Decision::NotEvaluated => "NOT EVALUATED (the referral is not an active order)",
    };
    writeln!(
        out,
        "Referral {}: {decision} -> Task {} ({})",
        task.pointer("/focus/reference")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        task["status"].as_str().unwrap_or("?"),
        task.pointer("/businessStatus/text")
            .and_then(Value::as_str)
            .unwrap_or(""),
    )?;
    if let Some(precondition) = &evaluation.determination.precondition {
        writeln!(out, "  {}", precondition.reason())?;
    }
    for f in &evaluation.determination.findings {
        let mark = match f.verdict {
            Verdict::Met => "met    ",
            Verdict::NotMet => "NOT MET",
            Verdict::Unknown => "unknown",
        };
        writeln!(out, "  [{mark}] {:<48} {}", f.criterion.display(), f.reason)?;
        if f.verdict == Verdict::Unknown {
            writeln!(out, "            needs: {}", f.criterion.evidence_needed())?;
        }
    }
    let services = &evaluation.generated.services;
    if evaluation.generated.care_plan.is_some() {
        writeln!(out, "  Plan of care:")?;
        for planned in services {
            let symptom = planned
                .symptom
                .as_ref()
                .map(|s| format!(": {}", crate::domain::care_planning::symptom_label(&s.code)))
                .unwrap_or_default();
            writeln!(
                out,
                "    - {}{symptom} ({})",
                planned.service.display(),
                role_of(planned.service)
            )?;
        }
    } else {
        writeln!(out, "  No plan of care is generated.")?;
    }
    Ok(())
}

fn role_of(service: Service) -> &'static str {
    service.role().display()
}
