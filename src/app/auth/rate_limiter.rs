//! Per-client token buckets, in memory: each replica limits on its own (documented), which is
//! what a rate limit needs; nothing here must be exact across replicas.

use crate::domain::auth::token_bucket::{Admission, TokenBucket};
use std::collections::HashMap;
use std::sync::Mutex;

/// Past this many tracked clients, buckets that have refilled are dropped.
const PRUNE_AT: usize = 10_000;

pub struct RateLimiter {
    rate: u32,
    burst: u32,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl RateLimiter {
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn admit(&self, key: &str, now_ms: i64) -> Admission {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Admission::Admitted;
        };
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| !b.is_full(rate, burst, now_ms));
        }
        if let Some(bucket) = buckets.get_mut(key) {
            return bucket.take(self.rate, self.burst, now_ms);
        }
        let mut bucket = TokenBucket::full(self.burst, now_ms);
        let admission = bucket.take(self.rate, self.burst, now_ms);
        buckets.insert(key.to_string(), bucket);
        admission
    }
}
