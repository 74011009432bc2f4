//! An external issuer's JWKS fetched from a URL. The keys are cached for the response's
//! `Cache-Control: max-age` (kept within configured bounds) and refreshed by a background
//! task; a token naming an unknown `kid` refetches early, at most once per cool-down, so a
//! flood of bad tokens cannot hammer the issuer. A failed fetch keeps the last good keys.
//! Token checks only read the cache; no request ever waits on the network, except the one
//! that triggers an unknown-`kid` refetch (awaited, never blocking a worker thread).

use crate::domain::auth::jwks::{parse_jwks, JwksError, PublicKey};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RemoteJwksSettings {
    pub url: String,
    pub min_refresh: Duration,
    pub max_refresh: Duration,
    pub unknown_kid_cooldown: Duration,
    pub timeout: Duration,
    pub max_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Transport(String),
    #[error("the issuer answered HTTP {0}")]
    Status(u16),
    #[error("the JWKS is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the JWKS is not UTF-8 JSON")]
    NotText,
    #[error(transparent)]
    Jwks(#[from] JwksError),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct SetupError(String);

struct Cached {
    keys: Arc<[PublicKey]>,
    /// SHA-256 of the last good document: a refetch of the same keys changes nothing.
    digest: [u8; 32],
    next_refresh: Instant,
}

pub struct RemoteJwks {
    settings: RemoteJwksSettings,
    http: reqwest::Client,
    cached: RwLock<Cached>,
    /// Bumped whenever the key set changes, so tokens verified with older keys are checked
    /// again (a key the issuer withdrew stops working).
    generation: AtomicU64,
    last_kid_refetch: Mutex<Option<Instant>>,
    /// Wakes the background refresher when a fetch moved the next refresh.
    rescheduled: Arc<tokio::sync::Notify>,
}

/// How long a fetched JWKS is used: `max-age` within [min, max]; `no-store`/`no-cache` mean
/// the minimum; without a max-age, the maximum.
pub fn cache_lifetime(cache_control: Option<&str>, min: Duration, max: Duration) -> Duration {
    let mut age = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return min;
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.map_or(max, |s| Duration::from_secs(s).clamp(min, max))
}

impl RemoteJwks {
    /// No keys yet: `refresh` fetches them.
    pub fn new(settings: RemoteJwksSettings) -> Result<Self, SetupError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            // A redirect could lead to plain http elsewhere; the URL must be the real one.
            .redirect(reqwest::redirect::Policy::none())
            // Fetches are rare and may come from any worker's runtime: no pooled connections.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("hbpc-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SetupError(e.to_string()))?;
        Ok(Self {
            settings,
            http,
            cached: RwLock::new(Cached {
                keys: Arc::from(Vec::new()),
                digest: [0; 32],
                next_refresh: Instant::now(),
            }),
            generation: AtomicU64::new(0),
            last_kid_refetch: Mutex::new(None),
            rescheduled: Arc::new(tokio::sync::Notify::new()),
        })
    }

    pub fn url(&self) -> &str {
        &self.settings.url
    }

    /// The cached keys (possibly none, before the first successful fetch).
    pub fn keys(&self) -> Arc<[PublicKey]> {
        self.cached
            .read()
            .map(|c| Arc::clone(&c.keys))
            .unwrap_or_else(|_| Arc::from(Vec::new()))
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a token's key may be missing from the cache: no keys at all, or a `kid` that no
    /// cached key has.
    pub fn lacks(&self, kid: Option<&str>) -> bool {
        let keys = self.keys();
        keys.is_empty()
            || kid.is_some_and(|want| !keys.iter().any(|k| k.kid.as_deref() == Some(want)))
    }

    fn until_refresh(&self) -> Duration {
        self.cached
            .read()
            .map(|c| c.next_refresh.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    async fn fetch(&self) -> Result<(Vec<PublicKey>, [u8; 32], Duration), FetchError> {
        let transport = |e: reqwest::Error| {
            FetchError::Transport(crate::app::delivery::client::transport_error(&e))
        };
        let mut res = self
            .http
            .get(&self.settings.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        let max = self.settings.max_bytes;
        if res.content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let lifetime = cache_lifetime(
            res.headers()
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            self.settings.min_refresh,
            self.settings.max_refresh,
        );
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body).map_err(|_| FetchError::NotText)?;
        let keys = parse_jwks(text)?;
        let d = ring::digest::digest(&ring::digest::SHA256, &body);
        let mut digest = [0u8; 32];
        digest.copy_from_slice(d.as_ref());
        Ok((keys, digest, lifetime))
    }

    /// Fetches the JWKS now. On failure the cached keys stay, a warning is logged and the
    /// next attempt is scheduled soon (the shorter of the minimum refresh and the cool-down).
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let fetched = self.fetch().await;
        let outcome = self.record(fetched);
        // after the new time is recorded, or the refresher would read the old one
        self.rescheduled.notify_one();
        outcome
    }

    fn record(
        &self,
        fetched: Result<(Vec<PublicKey>, [u8; 32], Duration), FetchError>,
    ) -> Result<(), FetchError> {
        let Ok(mut cached) = self.cached.write() else {
            return Ok(());
        };
        match fetched {
            Ok((keys, digest, lifetime)) => {
                cached.next_refresh = Instant::now() + lifetime;
                if cached.digest != digest {
                    tracing::info!(
                        url = %self.settings.url,
                        keys = keys.len(),
                        refresh_in_secs = lifetime.as_secs(),
                        "external issuer JWKS loaded"
                    );
                    cached.keys = Arc::from(keys);
                    cached.digest = digest;
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                Ok(())
            }
            Err(e) => {
                let retry = self
                    .settings
                    .min_refresh
                    .min(self.settings.unknown_kid_cooldown);
                cached.next_refresh = Instant::now() + retry;
                tracing::warn!(
                    url = %self.settings.url,
                    error = %e,
                    cached_keys = cached.keys.len(),
                    retry_in_secs = retry.as_secs(),
                    "cannot fetch the external issuer's JWKS; keeping the last good keys"
                );
                Err(e)
            }
        }
    }

    /// A token named a key we do not have: refetch, unless a refetch for that reason happened
    /// within the cool-down. Returns whether a refetch was made and succeeded.
    pub async fn refetch_for_unknown_kid(&self) -> bool {
        {
            let Ok(mut last) = self.last_kid_refetch.lock() else {
                return false;
            };
            if last.is_some_and(|t| t.elapsed() < self.settings.unknown_kid_cooldown) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.refresh().await.is_ok()
    }

    /// Refreshes the keys when they are due, for as long as the key source lives.
    pub fn spawn_refresher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let rescheduled = Arc::clone(&self.rescheduled);
        tokio::spawn(async move {
            loop {
                let Some(wait) = weak.upgrade().map(|s| s.until_refresh()) else {
                    return;
                };
                // at least a second between attempts; an earlier fetch may move the time
                tokio::select! {
                    _ = tokio::time::sleep(wait.max(Duration::from_secs(1))) => {}
                    _ = rescheduled.notified() => continue,
                }
                let Some(source) = weak.upgrade() else {
                    return;
                };
                if source.until_refresh().is_zero() {
                    let _ = source.refresh().await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_kept_within_bounds() {
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(900));
        let life = |h: Option<&str>| cache_lifetime(h, min, max).as_secs();
        assert_eq!(life(Some("public, max-age=300")), 300);
        assert_eq!(life(Some("max-age=5")), 60);
        assert_eq!(life(Some("max-age=86400, must-revalidate")), 900);
        assert_eq!(life(Some("no-cache")), 60);
        assert_eq!(life(Some("max-age=oops")), 900);
        assert_eq!(life(None), 900);
    }
}
