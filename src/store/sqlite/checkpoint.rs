//! When the write-ahead logs are copied back into the database files, and by whom.
//!
//! SQLite's own automatic checkpoint runs inside the COMMIT that fills the log: the writer,
//! and every request queued behind it, waited for it (10 to 40 ms, a dozen times in 8 s at 8
//! clients). Here the writer only notes the log's length at each commit; once it reaches
//! `LOG_BYTES` a thread of its own runs a passive checkpoint on its own connection, which
//! copies what the log holds while the writer goes on committing (docs/performance.md).
//!
//! A long log lets one checkpoint copy once a page that many commits changed (SQLite's default
//! of 1,000 pages copied the same index pages every few commits). Should the checkpoints fall
//! behind a writer that never pauses, so that the log cannot start again, the writer copies it
//! itself, between two of its commits, at four times that length.

use crate::store::StoreError;
use rusqlite::hooks::Wal;
use rusqlite::Connection;
use std::cell::Cell;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};

/// Log length that starts a checkpoint, whatever the store's page size.
pub const LOG_BYTES: u32 = 40 << 20;

/// Log length, in multiples of `LOG_BYTES`, at which the writer checkpoints itself.
const BEHIND: u32 = 4;

thread_local! {
    /// Pages in the longer of the two logs, at the latest commit on this thread since the last
    /// checkpoint was asked for.
    static LOG_PAGES: Cell<u32> = const { Cell::new(0) };
}

pub struct Checkpoints {
    at_pages: u32,
    /// Wakes the checkpoint thread; holds one request at most.
    due: SyncSender<()>,
}

impl Checkpoints {
    /// Replaces SQLite's automatic checkpoint on `conn`, whose commits must then run on the
    /// calling thread (the writer's), and starts the thread that checkpoints `database` and
    /// its audit file.
    pub fn take_over(conn: &Connection, database: &Path) -> Result<Self, StoreError> {
        // the size the store was made with, which it keeps (`PAGE_BYTES` is for new ones)
        let page_bytes: u32 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        tracing::info!(page_bytes, "store page size");
        let own = Connection::open(database)?;
        super::audit_file::attach(&own, database)?;
        let (due, wake) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // ends with the writer, whose end drops `due`
                while wake.recv().is_ok() {
                    if let Err(e) = checkpoint(&own) {
                        tracing::error!(error = %e, "checkpoint failed; the log is copied back next time");
                    }
                }
            })
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot start the checkpoint thread: {e}"))
            })?;
        conn.wal_hook(Some(note_log_pages));
        LOG_PAGES.with(|p| p.set(0));
        Ok(Self {
            at_pages: LOG_BYTES / page_bytes.max(512),
            due,
        })
    }

    /// After a commit, on the writer's thread: asks for a checkpoint once a log is long
    /// enough, or runs one on `conn` if the log has grown far past that.
    pub fn after_commit(&self, conn: &Connection) -> rusqlite::Result<Checkpoint> {
        let pages = LOG_PAGES.with(Cell::get);
        if pages < self.at_pages {
            return Ok(Checkpoint::NotDue);
        }
        LOG_PAGES.with(|p| p.set(0));
        if pages >= self.at_pages.saturating_mul(BEHIND) {
            checkpoint(conn)?;
            return Ok(Checkpoint::Ran);
        }
        let _ = self.due.try_send(()); // full: one is asked for already
        Ok(Checkpoint::Asked)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Checkpoint {
    NotDue,
    Asked,
    Ran,
}

/// A passive checkpoint of every attached file: it waits for no reader or writer.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

fn note_log_pages(_log: &Wal, pages: c_int) -> rusqlite::Result<()> {
    let pages = u32::try_from(pages).unwrap_or(0);
    LOG_PAGES.with(|p| p.set(p.get().max(pages)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> u32 {
        LOG_PAGES.with(Cell::get)
    }

    #[test]
    fn the_log_is_copied_back_by_the_checkpoint_thread_or_by_the_writer_when_far_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.sqlite");
        let conn = super::super::open_writer(&path, 1000).expect("open");
        conn.execute_batch("PRAGMA wal_autocheckpoint = 10; CREATE TABLE t (x BLOB)")
            .expect("table");
        let mut checkpoints = Checkpoints::take_over(&conn, &path).expect("taken over");
        assert_eq!(checkpoints.at_pages, LOG_BYTES / super::super::PAGE_BYTES);
        checkpoints.at_pages = 64;
        let insert = || {
            conn.execute("INSERT INTO t VALUES (zeroblob(3000))", [])
                .expect("insert");
        };
        // SQLite's own checkpoint (here at 10 pages) no longer runs: the log only grows
        let mut grown = 0;
        for _ in 0..40 {
            insert();
            assert!(pages() >= grown, "the log started again at {grown} pages");
            grown = pages();
        }
        assert!(
            (64..4 * 64).contains(&grown),
            "the commits were noted: {grown} pages"
        );
        assert_eq!(
            checkpoints.after_commit(&conn).expect("asked"),
            Checkpoint::Asked
        );
        let started_again = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            insert();
            pages() < 64
        });
        assert!(
            started_again,
            "the thread's checkpoint let the log start again"
        );

        // checkpoints not asked for (as when the thread falls behind): at 4× the writer
        // copies the log itself, which then starts again
        for _ in 0..300 {
            insert();
        }
        assert!(pages() >= 4 * 64, "{} pages", pages());
        assert_eq!(
            checkpoints.after_commit(&conn).expect("ran"),
            Checkpoint::Ran
        );
        insert();
        assert!(pages() < 64, "the log started again: {} pages", pages());
    }
}
