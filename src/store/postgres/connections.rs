//! The replica's database connections: `pool_size` slots, each a pooled connection.
//!
//! Two waits, kept apart. Waiting for a busy slot is load shedding: after
//! `database.queue_wait_ms` the caller gets `PoolTimedOut` (503, Retry-After). Opening a
//! connection is not: PostgreSQL forks a backend for it, which under load takes longer than
//! a short queue wait, and counting it would leave a replica that can never connect.

use crate::config::DatabaseSettings;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long opening one connection may take (sqlx's own default).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Connections {
    pool: PgPool,
    slots: Arc<Semaphore>,
    queue_wait: Duration,
}

/// One connection, held with its slot; both go back when it drops.
pub struct Lease {
    // Declared first so the connection returns to the pool before the slot frees.
    conn: PoolConnection<Postgres>,
    _slot: OwnedSemaphorePermit,
}

impl Connections {
    pub async fn open(url: &str, settings: &DatabaseSettings) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.pool_size)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            slots: Arc::new(Semaphore::new(settings.pool_size as usize)),
            queue_wait: Duration::from_millis(settings.queue_wait_ms),
        })
    }

    /// A connection, once a slot is free within the queue wait.
    pub async fn acquire(&self) -> Result<Lease, sqlx::Error> {
        let slot = tokio::time::timeout(self.queue_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = self.pool.acquire().await?;
        Ok(Lease { conn, _slot: slot })
    }

    /// Connections open, idle, and the most there may be (`GET /metrics`).
    pub fn usage(&self) -> crate::store::PoolUse {
        crate::store::PoolUse {
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }
}

impl Deref for Lease {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}
