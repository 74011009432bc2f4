//! A small pool of read-only SQLite connections; WAL lets them read while the writer commits.

use crate::store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Address space, not memory: the OS pages the file in on demand.
const MMAP_BYTES: i64 = 4 << 30;

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl ReadPool {
    pub fn new(path: PathBuf, max_idle: usize) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(64);
        super::stable_plans(&conn)?;
        // Every commit (an audit batch too) empties each reader's page cache; pages mapped from
        // the file are found again without a read system call and a copy.
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        super::audit_file::attach(&conn, &self.path)?;
        Ok(conn)
    }

    /// Runs `f` on a pooled connection on the blocking thread pool.
    pub async fn read<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .map_err(StoreError::from)
    }

    /// Runs `f` on the calling thread, for a lookup by primary key of a few pages: handing it
    /// to the blocking pool and back cost more than the lookup (reads by id +13–17 %,
    /// docs/performance.md). Anything that may scan, such as a search, goes through `read`.
    pub fn read_by_key<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> Result<R, StoreError> {
        self.with(f).map_err(StoreError::from)
    }

    /// Runs `f` on an idle connection (opening one if none is idle), then returns it to the pool.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> rusqlite::Result<R> {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
        result
    }
}
