//! `hbpc-gateway deliveries list|retry`: the delivery outbox from the command line, on the
//! configured database (the same view as `GET /admin/deliveries`).

use crate::app::delivery::admin::{record_json, DeliveryAdmin};
use crate::config::Settings;
use crate::store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        /// pending, retrying, delivered, dead or superseded.
        #[arg(long)]
        state: Option<String>,
        /// Only this Task's deliveries (id or Task/id).
        #[arg(long)]
        task: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Re-queue a dead (or waiting) delivery: due now, with a fresh attempt budget.
    Retry {
        /// The delivery id (see `list`).
        id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveriesCliError {
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Refused(String),
}

/// Runs the command on a runtime of its own, writing to stdout.
pub fn deliveries(settings: &Settings, command: DeliveriesCommand) -> anyhow::Result<()> {
    use anyhow::Context;
    actix_web::rt::System::new()
        .block_on(run(settings, command, &mut std::io::stdout().lock()))
        .context("deliveries failed")
}

async fn run(
    settings: &Settings,
    command: DeliveriesCommand,
    out: &mut dyn std::io::Write,
) -> Result<(), DeliveriesCliError> {
    let store = store::open(&settings.database.url, &settings.database).await?;
    let admin = DeliveryAdmin::new(&store);
    let refused = |e: crate::app::AppError| {
        DeliveriesCliError::Refused(
            e.issues()
                .iter()
                .map(|i| i.text.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    match command {
        DeliveriesCommand::List {
            state,
            task,
            limit,
            json,
        } => {
            let records = admin
                .list(state.as_deref(), task.as_deref(), Some(limit))
                .await
                .map_err(refused)?;
            for r in &records {
                // a broken pipe is not worth a panic
                let _ = if json {
                    writeln!(out, "{}", record_json(r))
                } else {
                    writeln!(
                        out,
                        "{}  {:<10} {:<16} Task/{:<38} attempts={:<3} status={} {}",
                        r.id,
                        r.status(),
                        r.destination,
                        r.task_id,
                        r.attempts,
                        r.last_status.map_or("-".to_string(), |s| s.to_string()),
                        r.last_error.as_deref().unwrap_or("")
                    )
                };
            }
            if !json {
                let _ = writeln!(out, "{} deliveries", records.len());
            }
        }
        DeliveriesCommand::Retry { id } => {
            let r = admin.retry(&id).await.map_err(refused)?;
            let _ = writeln!(out, "re-queued delivery {} (Task/{})", r.id, r.task_id);
        }
    }
    Ok(())
}
