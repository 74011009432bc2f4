//! `hbpc-gateway migrate --from --to`: copies a single-node SQLite store into PostgreSQL.

use crate::config::Settings;
use crate::{store, telemetry};
use anyhow::Context;

pub fn migrate(settings: &Settings, from: &str, to: &str) -> anyhow::Result<()> {
    telemetry::init(&settings.log);
    actix_web::rt::System::new()
        .block_on(store::migrate::sqlite_to_postgres(
            from,
            to,
            &settings.database,
        ))
        .map(|report| {
            println!(
                "copied {} versions of {} resources from {from} to {to}",
                report.versions, report.resources
            )
        })
        .context("migrate failed")
}
