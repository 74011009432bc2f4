//! What the outbox stores about one delivery.

use crate::store::delivery_request::ResourceKey;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its first attempt or for a retry.
    Pending,
    Delivered,
    /// Gave up (permanent error, too many attempts or too old); kept with the last response.
    Dead,
    /// A newer record for the same task and destination took over its resources.
    Superseded,
}

impl DeliveryState {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Superseded => "superseded",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "dead" => DeliveryState::Dead,
            "superseded" => DeliveryState::Superseded,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub task_id: String,
    pub destination: String,
    #[serde(serialize_with = "references")]
    pub resources: Vec<ResourceKey>,
    pub state: DeliveryState,
    /// Attempts started (a claim counts, so a worker that died mid-attempt used one).
    pub attempts: u32,
    pub created_ms: i64,
    /// Start of the retry age budget: creation, or the last re-queue.
    pub age_from_ms: i64,
    pub next_attempt_ms: i64,
    pub lease_until_ms: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_ms: Option<i64>,
    /// What the upstream answered for each resource (location, etag), when delivered.
    pub upstream: Option<Value>,
}

fn references<S: serde::Serializer>(keys: &[ResourceKey], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(keys.iter().map(ResourceKey::reference))
}

impl DeliveryRecord {
    /// The state an operator sees: a pending record that already failed is `retrying`.
    pub fn status(&self) -> &'static str {
        match self.state {
            DeliveryState::Pending if self.last_error.is_some() => "retrying",
            other => other.code(),
        }
    }
}

/// The end of one claimed attempt.
#[derive(Debug, Clone)]
pub enum Settlement {
    Delivered {
        status: u16,
        upstream: Value,
    },
    Retry {
        next_attempt_ms: i64,
        status: Option<u16>,
        error: String,
    },
    Dead {
        status: Option<u16>,
        error: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub task_id: Option<String>,
    pub limit: usize,
}
