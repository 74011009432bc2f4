//! `hbpc-gateway migrate --from --to [--verify]`: copies a single-node SQLite store into
//! PostgreSQL and verifies the copy. Exit 0: an exact copy, safe to switch; 3: verification
//! found differences (listed); 1: the migration failed or was refused.

use super::progress::Reporter;
use crate::config::Settings;
use crate::store::migrate::{self, Options};
use crate::telemetry;
use std::process::ExitCode;

pub struct MigrateArgs {
    pub from: String,
    pub to: String,
    pub verify_only: bool,
    pub quiet: bool,
    pub batch: usize,
}

pub fn migrate(settings: &Settings, args: MigrateArgs) -> ExitCode {
    telemetry::init(&settings.log);
    let mut reporter = Reporter::new(args.quiet);
    let started = std::time::Instant::now();
    let result = actix_web::rt::System::new().block_on(migrate::sqlite_to_postgres(
        &args.from,
        &args.to,
        &settings.database,
        Options {
            batch: args.batch,
            verify_only: args.verify_only,
        },
        &mut |p| reporter.update(&format!("{} {}", p.phase, p.table), p.done, p.total),
    ));
    reporter.finish_line();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("hbpc-gateway: migrate failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    if !args.verify_only {
        println!(
            "copied {} versions of {} resources from {} to {} in {secs:.1}s ({:.0} versions/s)",
            report.versions,
            report.resources,
            args.from,
            args.to,
            report.versions as f64 / secs.max(0.001)
        );
        for (table, rows) in &report.rows {
            println!("  {table}: {rows} rows");
        }
    }
    println!("verified:");
    for (label, rows) in &report.compared {
        println!("  {label}: {rows} rows");
    }
    if report.differences.is_empty() {
        println!("the target is an exact copy of the source: safe to switch");
        ExitCode::SUCCESS
    } else {
        eprintln!("hbpc-gateway: verification failed, NOT safe to switch:");
        for d in &report.differences {
            eprintln!("  {d}");
        }
        ExitCode::from(3)
    }
}
