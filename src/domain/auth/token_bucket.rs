//! A token bucket: `rate` tokens a second, at most `burst` saved up.

#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: i64,
}

/// What the bucket says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Come back in this many whole seconds (at least 1): the `Retry-After` value.
    RetryAfter(u64),
}

impl TokenBucket {
    pub fn full(burst: u32, now_ms: i64) -> Self {
        Self {
            tokens: f64::from(burst),
            last_ms: now_ms,
        }
    }

    pub fn take(&mut self, rate: u32, burst: u32, now_ms: i64) -> Admission {
        let elapsed = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.last_ms = self.last_ms.max(now_ms);
        self.tokens = (self.tokens + elapsed * f64::from(rate)).min(f64::from(burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Admission::Admitted
        } else {
            let wait = (1.0 - self.tokens) / f64::from(rate.max(1));
            Admission::RetryAfter(wait.ceil().max(1.0) as u64)
        }
    }

    /// A bucket that has refilled completely carries no information and may be dropped.
    pub fn is_full(&self, rate: u32, burst: u32, now_ms: i64) -> bool {
        let elapsed = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.tokens + elapsed * f64::from(rate) >= f64::from(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::full(3, 0);
        for _ in 0..3 {
            assert_eq!(b.take(2, 3, 0), Admission::Admitted);
        }
        assert_eq!(b.take(2, 3, 0), Admission::RetryAfter(1));
        // half a second later at 2/s: one more token
        assert_eq!(b.take(2, 3, 500), Admission::Admitted);
        assert_eq!(b.take(2, 3, 500), Admission::RetryAfter(1));
        assert!(!b.is_full(2, 3, 500));
        assert!(b.is_full(2, 3, 10_000));
        // a slow rate asks for a longer wait
        let mut slow = TokenBucket::full(1, 0);
        assert_eq!(slow.take(0, 1, 0), Admission::Admitted);
        let mut slow = TokenBucket::full(0, 0);
        assert!(matches!(slow.take(1, 1, 0), Admission::RetryAfter(1)));
    }
}
