//! `hbpc-gateway validate`: the intake validator, offline, over files.

use crate::config::Settings;
use fhir_engine::json::position;
use fhir_engine::json::{parse_resource, JsonLimits};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};
use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, Request, StructureValidator};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

pub struct ValidateArgs {
    pub files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    pub ig_dirs: Vec<PathBuf>,
    pub default_profiles: bool,
    pub format: ReportFormat,
    pub json_limits: JsonLimits,
    /// Files done, rate and time left on stderr (counts only).
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot load the definitions: {0}")]
    Load(#[from] fhir_engine::validation::structure::definitions::LoadError),
    #[error("profile {0} is not known (load its package with --ig DIR)")]
    UnknownProfile(String),
    #[error(transparent)]
    Files(#[from] super::file_args::FileArgError),
}

/// The command: exit 0 when every file is valid, 1 when any has errors, 2 when it cannot run.
pub fn run(
    settings: &Settings,
    profiles: Vec<String>,
    mut ig_dirs: Vec<PathBuf>,
    format: &str,
    files: Vec<PathBuf>,
    quiet: bool,
) -> ExitCode {
    ig_dirs.extend(settings.validation.ig_dirs.iter().map(PathBuf::from));
    let files = match super::file_args::expand(&files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("hbpc-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    let args = ValidateArgs {
        progress: !quiet && files.len() > 1,
        files,
        profiles,
        ig_dirs,
        default_profiles: settings.validation.default_profiles,
        format: super::report_format(format),
        json_limits: settings.limits.json(),
    };
    match validate(&args, &mut std::io::stdout().lock()) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hbpc-gateway: {e}");
            ExitCode::from(2)
        }
    }
}

/// Validates every file, prints the report, and says whether any file had errors.
pub fn validate(args: &ValidateArgs, out: &mut dyn std::io::Write) -> Result<bool, CliError> {
    let validator = StructureValidator::load(&LoadOptions {
        ig_dirs: args.ig_dirs.clone(),
        invariants: Some(std::sync::Arc::new(FhirPathInvariants::new())),
        ..crate::domain::guide::load_options()
    })?;
    for e in validator.unavailable_profiles() {
        eprintln!(
            "hbpc-gateway: warning: profile {} left out ({}: {})",
            e.url, e.element, e.message
        );
    }
    if let Some(p) = args.profiles.iter().find(|p| !validator.knows_profile(p)) {
        return Err(CliError::UnknownProfile(p.clone()));
    }
    let request = Request {
        profiles: args.profiles.clone(),
        default_profiles: args.default_profiles,
    };
    let mut any_errors = false;
    let mut reporter = super::progress::Reporter::new(!args.progress);
    let total = args.files.len() as u64;
    for (done, file) in args.files.iter().enumerate() {
        reporter.update("validating files", done as u64, total);
        let issues = validate_file(&validator, &request, file, args.json_limits);
        any_errors |= issues.iter().any(Issue::is_error);
        // a broken pipe is not worth a panic
        let _ = match args.format {
            ReportFormat::Json => writeln!(out, "{}", operation_outcome(&issues)),
            ReportFormat::Text => write_text(out, file, &issues),
        };
    }
    reporter.update("validating files", total, total);
    reporter.finish_line();
    if args.format == ReportFormat::Text && !validator.invariant_stats().engine {
        let _ = writeln!(
            out,
            "note: FHIRPath invariants were not evaluated (no engine configured)"
        );
    }
    Ok(any_errors)
}

fn validate_file(
    validator: &StructureValidator,
    request: &Request,
    file: &Path,
    limits: JsonLimits,
) -> Vec<Issue> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            return vec![Issue::error(
                IssueType::Exception,
                format!("cannot read the file: {e}"),
            )]
        }
    };
    let resource = match parse_resource(&bytes, limits) {
        Ok(r) => r,
        Err(e) => return vec![Issue::error(IssueType::Structure, e.to_string())],
    };
    let rt = resource
        .get("resourceType")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if let Some(p) = request
        .profiles
        .iter()
        .find(|p| validator.plan(p).is_some_and(|plan| plan.type_name != rt))
    {
        return vec![Issue::error(
            IssueType::Invalid,
            format!("profile {p} does not apply to a {rt}"),
        )];
    }
    let mut issues = validator.validate(&resource, request).all();
    position::annotate(&bytes, rt, &mut issues);
    issues
}

fn write_text(out: &mut dyn std::io::Write, file: &Path, issues: &[Issue]) -> std::io::Result<()> {
    let errors = issues.iter().filter(|i| i.is_error()).count();
    let verdict = if errors == 0 { "valid" } else { "INVALID" };
    writeln!(
        out,
        "{}: {verdict} ({errors} errors, {} other issues)",
        file.display(),
        issues.len() - errors
    )?;
    for i in issues {
        let at = i.expression.first().map(String::as_str).unwrap_or("-");
        writeln!(
            out,
            "  {:<11} {at}{}: {} [{}]",
            i.severity.code(),
            i.diagnostics
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
            i.text,
            i.code.code()
        )?;
    }
    Ok(())
}
