//! The `hbpc-gateway` command line: every subcommand, one file per group. `main` parses the
//! arguments into [`Cli`] and hands them to [`run`].
//!
//! - `serve`: the FHIR REST service;
//! - `clients`, `keys`, `assertion` (auth.rs): SMART Backend Services operator tools;
//! - `deliveries`: the upstream delivery outbox;
//! - `audit`: the audit trail's quarantine;
//! - `migrate`: SQLite into PostgreSQL;
//! - `check-config`: the effective settings;
//! - `validate` and `evaluate`: offline, on files, with the same engines as the server.

mod audit;
mod auth;
mod check_config;
mod deliveries;
mod evaluate;
mod file_args;
mod migrate;
mod progress;
mod serve;
mod validate;

use crate::config;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// FHIR R4 gateway for Home Based Palliative Care referrals.
///
/// Settings come from built-in defaults, then the --config TOML file, then HBPC_* environment
/// variables (HBPC_<SECTION>_<KEY>, e.g. HBPC_SERVER_LISTEN=0.0.0.0:8080).
#[derive(Parser)]
#[command(name = "hbpc-gateway", version, about, long_about)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, short, global = true, env = "HBPC_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the FHIR REST service until SIGTERM or Ctrl-C.
    Serve {
        /// Serve without authorization on a non-loopback address (never with real data).
        #[arg(long)]
        insecure: bool,
    },
    /// Manage the registered SMART Backend Services clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print a signed client assertion (private_key_jwt) for testing the token endpoint.
    Assertion {
        #[arg(long)]
        client_id: String,
        /// The client's private key (PKCS#8 PEM, EC P-384 → ES384 or RSA → RS384).
        #[arg(long)]
        key: PathBuf,
        /// The token URL, e.g. https://gw.example.org/auth/token
        #[arg(long)]
        aud: String,
        /// The key id, when the client's JWKS has several keys.
        #[arg(long)]
        kid: Option<String>,
        #[arg(long, default_value_t = 240)]
        lifetime_secs: i64,
    },
    /// Validate the configuration and print the effective settings as TOML.
    CheckConfig,
    /// Copy a single-node SQLite store (resources with their history, claims, the delivery
    /// outbox, the audit trail) into PostgreSQL, then verify the copy. Safe to rerun after an
    /// interruption. Exit 0: exact copy, safe to switch; 3: verification found differences.
    Migrate {
        /// Source, e.g. sqlite://./data/hbpc.sqlite (its audit file hbpc-audit.sqlite beside it)
        #[arg(long)]
        from: String,
        /// Target, e.g. postgres://hbpc@db:5432/hbpc
        #[arg(long)]
        to: String,
        /// Only compare source and target (counts and content checksums); write nothing.
        #[arg(long)]
        verify: bool,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Rows per page; each page is one transaction on the target.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Inspect the audit trail's quarantine: records the store refused, with the error.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Inspect and re-queue upstream deliveries (the outbox) on the configured database.
    Deliveries {
        #[command(subcommand)]
        command: deliveries::DeliveriesCommand,
    },
    /// Evaluate a referral Bundle's eligibility offline: the criterion-by-criterion report and
    /// the plan of care it would generate (exit 0 eligible, 1 not eligible, 3 pending evidence).
    Evaluate {
        /// An extra implementation guide (US Core, your own profiles): a folder of JSON
        /// conformance resources, a FHIR package (.tgz or unpacked) or a package cache; repeatable.
        #[arg(long = "ig")]
        ig_paths: Vec<PathBuf>,
        /// `text` (the report) or `json` (Parameters with the Task, CarePlan and CareTeam).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        file: PathBuf,
    },
    /// Validate FHIR JSON files offline with the intake validator (R4 base, then the declared,
    /// requested or default HBPC profiles). Exits 1 when any file has errors.
    Validate {
        /// Also validate against this profile (canonical URL, `url|version` for one version);
        /// repeatable.
        #[arg(long = "profile")]
        profiles: Vec<String>,
        /// Extra conformance resources (StructureDefinitions, ValueSets, CodeSystems): a folder
        /// of JSON files, a FHIR package (.tgz or unpacked) or a package cache
        /// (~/.fhir/packages), whose packages' dependencies are loaded from it; repeatable.
        #[arg(long = "ig")]
        ig_paths: Vec<PathBuf>,
        /// Apply no HBPC default profile: an HBPC referral ServiceRequest that declares no
        /// meta.profile is checked against R4 only (plus its declared and --profile profiles),
        /// like any other resource.
        #[arg(long)]
        no_default_profiles: bool,
        /// `text` (a readable report) or `json` (one OperationOutcome per file, one per line).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// The files to validate: files, folders (their *.json files, recursively) or globs
        /// such as 'referrals/*.json'.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// No progress on stderr (shown when there is more than one file).
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client (in auth.clients_file, or else in the --config file).
    Add {
        #[arg(long)]
        client_id: String,
        /// Allowed scopes, space-separated or repeated, e.g. "system/ServiceRequest.c system/Task.rs".
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// The client's public keys as a JWKS file ...
        #[arg(long, conflicts_with = "jwks", required_unless_present = "jwks")]
        jwks_file: Option<String>,
        /// ... or inline JWKS JSON.
        #[arg(long)]
        jwks: Option<String>,
        /// Show this client only the Tasks of referrals it submitted (an EHR's own Tasks).
        #[arg(long)]
        own_referrals_only: bool,
    },
    /// List the registered clients.
    List,
    /// Remove a client.
    Remove {
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new EC P-384 private key (PKCS#8 PEM, mode 0600) and print its public JWKS.
    /// Use it as auth.signing_key, or as a client's key.
    Generate {
        #[arg(long)]
        out: PathBuf,
    },
}

/// Loads the settings and runs the command.
pub fn run(cli: Cli) -> ExitCode {
    let settings = match config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hbpc-gateway: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    // Before anything indexes or searches: the store checks its rows against this set.
    if let Err(e) =
        crate::domain::guide::indexed_parameters::install(&settings.search.indexed_parameters)
    {
        eprintln!("hbpc-gateway: invalid configuration: search.indexed_parameters: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::CheckConfig => check_config::check_config(&settings),
        Command::Migrate {
            from,
            to,
            verify,
            quiet,
            batch,
        } => {
            return migrate::migrate(
                &settings,
                migrate::MigrateArgs {
                    from,
                    to,
                    verify_only: verify,
                    quiet,
                    batch,
                },
            )
        }
        Command::Audit { command } => audit::audit(&settings, command),
        Command::Deliveries { command } => deliveries::deliveries(&settings, command),
        Command::Validate {
            profiles,
            ig_paths,
            no_default_profiles,
            format,
            files,
            quiet,
        } => {
            return validate::run(
                &settings,
                profiles,
                ig_paths,
                no_default_profiles,
                &format,
                files,
                quiet,
            )
        }
        Command::Evaluate {
            ig_paths,
            format,
            file,
        } => return evaluate::run(&settings, ig_paths, &format, file),
        Command::Serve { insecure } => serve::serve(settings, insecure),
        Command::Clients(command) => {
            let out = &mut std::io::stdout();
            match command {
                ClientsCommand::Add {
                    client_id,
                    scopes,
                    jwks_file,
                    jwks,
                    own_referrals_only,
                } => auth::clients_add(
                    &settings,
                    cli.config.as_deref(),
                    auth::AddClient {
                        client_id,
                        scopes,
                        jwks_file,
                        jwks,
                        own_referrals_only,
                    },
                    out,
                ),
                ClientsCommand::List => auth::clients_list(&settings, out),
                ClientsCommand::Remove { client_id } => {
                    auth::clients_remove(&settings, cli.config.as_deref(), &client_id, out)
                }
            }
            .context("clients")
        }
        Command::Keys(KeysCommand::Generate { out }) => {
            auth::keys_generate(&out, &mut std::io::stdout()).context("keys generate")
        }
        Command::Assertion {
            client_id,
            key,
            aud,
            kid,
            lifetime_secs,
        } => auth::assertion(&auth::AssertionArgs {
            client_id,
            key_file: key,
            aud,
            kid,
            lifetime_secs,
        })
        .map(|jwt| println!("{jwt}"))
        .context("assertion"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hbpc-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--format text|json`.
fn report_format(format: &str) -> validate::ReportFormat {
    if format == "json" {
        validate::ReportFormat::Json
    } else {
        validate::ReportFormat::Text
    }
}
