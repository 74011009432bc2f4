//! `hbpc-gateway audit quarantine`: the audit records the store refused for good, kept apart
//! with their error (see `app::auth::audit_trail`), on the configured database.

use crate::config::Settings;
use crate::store::security;
use crate::store::StoreError;
use clap::Subcommand;
use fhir_engine::model::instant::fhir_instant;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List quarantined audit records, newest first, with the store's error.
    Quarantine {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line (with the whole record) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn audit(settings: &Settings, command: AuditCommand) -> anyhow::Result<()> {
    use anyhow::Context;
    actix_web::rt::System::new()
        .block_on(run(settings, command, &mut std::io::stdout().lock()))
        .context("audit failed")
}

async fn run(
    settings: &Settings,
    command: AuditCommand,
    out: &mut dyn std::io::Write,
) -> Result<(), StoreError> {
    let (_, security) = security::open(&settings.database.url, &settings.database).await?;
    match command {
        AuditCommand::Quarantine { limit, json } => {
            let (total, records) = security.quarantined_audit(limit).await?;
            // a broken pipe is not worth a panic
            for q in &records {
                let _ = if json {
                    let record: serde_json::Value =
                        serde_json::from_slice(&q.record).unwrap_or_default();
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({
                            "id": q.id,
                            "recorded": fhir_instant(q.recorded_ms),
                            "quarantined": fhir_instant(q.quarantined_ms),
                            "error": q.error,
                            "record": record,
                        })
                    )
                } else {
                    writeln!(
                        out,
                        "{}  recorded {}  quarantined {}  {}",
                        q.id,
                        fhir_instant(q.recorded_ms),
                        fhir_instant(q.quarantined_ms),
                        q.error
                    )
                };
            }
            if !json {
                let _ = writeln!(out, "{total} quarantined audit record(s)");
            }
            Ok(())
        }
    }
}
