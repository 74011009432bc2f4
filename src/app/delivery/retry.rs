//! What a failed attempt means: retry later (exponential backoff with jitter, or the upstream's
//! `Retry-After` when longer) or give up (a dead letter keeping the last response).

use crate::config::UpstreamSettings;
use crate::store::outbox::{DeliveryRecord, Settlement};
use std::time::SystemTime;

/// Why an attempt did not deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 408, 429, 5xx, timeouts, connection errors, our store not answering.
    Retryable {
        status: Option<u16>,
        retry_after_ms: Option<u64>,
        error: String,
    },
    /// Any other 4xx, or a resource that cannot be sent idempotently.
    Permanent { status: Option<u16>, error: String },
}

pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

/// The delay before retry number `attempts` (1 = after the first failure), before jitter.
pub fn backoff_ms(policy: &UpstreamSettings, attempts: u32) -> u64 {
    let exp = policy
        .retry_multiplier
        .powi(attempts.saturating_sub(1).min(64) as i32);
    let delay = policy.retry_initial_ms as f64 * exp;
    delay.min(policy.retry_max_ms as f64) as u64
}

/// A random number in [0, 1): uuid v4 is our only randomness source and is plenty for jitter.
fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// The settlement of a failed attempt of `record` (whose `attempts` includes this one).
pub fn settle_failure(
    record: &DeliveryRecord,
    policy: &UpstreamSettings,
    failure: Failure,
    now_ms: i64,
) -> Settlement {
    match failure {
        Failure::Permanent { status, error } => Settlement::Dead { status, error },
        Failure::Retryable {
            status,
            retry_after_ms,
            error,
        } => {
            if record.attempts >= policy.max_attempts {
                return Settlement::Dead {
                    status,
                    error: format!("gave up after {} attempts: {error}", record.attempts),
                };
            }
            let base = backoff_ms(policy, record.attempts);
            let jittered = base - (base as f64 * policy.retry_jitter * random_unit()) as u64;
            let delay = jittered.max(retry_after_ms.unwrap_or(0));
            let next_attempt_ms = now_ms.saturating_add(delay as i64);
            let max_age_ms = (policy.max_age_secs as i64).saturating_mul(1000);
            if next_attempt_ms - record.age_from_ms > max_age_ms {
                return Settlement::Dead {
                    status,
                    error: format!(
                        "gave up: older than {} s after {} attempts: {error}",
                        policy.max_age_secs, record.attempts
                    ),
                };
            }
            Settlement::Retry {
                next_attempt_ms,
                status,
                error,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::DeliveryState;
    use std::time::Duration;

    fn record(attempts: u32, age_from_ms: i64) -> DeliveryRecord {
        DeliveryRecord {
            id: "d".into(),
            task_id: "t".into(),
            destination: "ehr".into(),
            resources: vec![],
            state: DeliveryState::Pending,
            attempts,
            created_ms: 0,
            age_from_ms,
            next_attempt_ms: 0,
            lease_until_ms: None,
            last_status: None,
            last_error: None,
            delivered_ms: None,
            upstream: None,
        }
    }

    fn retryable(retry_after_ms: Option<u64>) -> Failure {
        Failure::Retryable {
            status: Some(503),
            retry_after_ms,
            error: "busy".into(),
        }
    }

    #[test]
    fn classification() {
        for s in [408, 429, 500, 502, 503, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = UpstreamSettings {
            retry_initial_ms: 100,
            retry_max_ms: 1000,
            ..UpstreamSettings::default()
        };
        let delays: Vec<u64> = (1..=6).map(|a| backoff_ms(&p, a)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_only_shortens_and_retry_after_wins_when_longer() {
        let p = UpstreamSettings {
            retry_initial_ms: 1000,
            retry_jitter: 0.5,
            ..UpstreamSettings::default()
        };
        for _ in 0..50 {
            match settle_failure(&record(1, 0), &p, retryable(None), 10_000) {
                Settlement::Retry {
                    next_attempt_ms, ..
                } => {
                    assert!(
                        (10_500..=11_000).contains(&next_attempt_ms),
                        "{next_attempt_ms}"
                    )
                }
                other => panic!("{other:?}"),
            }
        }
        match settle_failure(&record(1, 0), &p, retryable(Some(60_000)), 10_000) {
            Settlement::Retry {
                next_attempt_ms, ..
            } => assert_eq!(next_attempt_ms, 70_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dead_after_attempts_age_or_permanent_error() {
        let p = UpstreamSettings {
            max_attempts: 3,
            max_age_secs: 60,
            ..UpstreamSettings::default()
        };
        assert!(matches!(
            settle_failure(&record(3, 0), &p, retryable(None), 0),
            Settlement::Dead { .. }
        ));
        assert!(matches!(
            settle_failure(&record(1, 0), &p, retryable(Some(120_000)), 0),
            Settlement::Dead { .. }
        ));
        let permanent = Failure::Permanent {
            status: Some(400),
            error: "bad".into(),
        };
        assert!(matches!(
            settle_failure(&record(1, 0), &p, permanent, 0),
            Settlement::Dead {
                status: Some(400),
                ..
            }
        ));
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after(" 3 ", now), Some(3000));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&later, now), Some(5000));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
