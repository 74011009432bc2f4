//! When an access token may be used: not before it was issued, not after it expires, and never
//! longer than the lifetime we are configured to grant, whatever the issuer wrote in `exp`.

use super::client_assertion::CLOCK_SKEW_SECS;

/// The time claims of a verified access token, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTimes {
    pub exp: i64,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("the access token has expired")]
    Expired,
    #[error("{0} is in the future: the token is not valid yet")]
    NotYetValid(&'static str),
}

/// The moment the token stops being accepted: its `exp`, capped at `lifetime_secs` after it was
/// issued (or after `now` when it does not say).
pub fn accepted_until(t: TokenTimes, now: i64, lifetime_secs: u64) -> Result<i64, WindowError> {
    let future = |v: Option<i64>| v.is_some_and(|v| v > now.saturating_add(CLOCK_SKEW_SECS));
    if future(t.iat) {
        return Err(WindowError::NotYetValid("iat"));
    }
    if future(t.nbf) {
        return Err(WindowError::NotYetValid("nbf"));
    }
    let lifetime = i64::try_from(lifetime_secs).unwrap_or(i64::MAX);
    let cap = t.iat.unwrap_or(now).saturating_add(lifetime);
    let until = t.exp.min(cap);
    if until <= now {
        return Err(WindowError::Expired);
    }
    Ok(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn times(exp: i64, iat: Option<i64>, nbf: Option<i64>) -> TokenTimes {
        TokenTimes { exp, iat, nbf }
    }

    #[test]
    fn a_current_token_is_accepted_until_its_exp() {
        assert_eq!(
            accepted_until(times(NOW + 100, Some(NOW - 10), None), NOW, 300),
            Ok(NOW + 100)
        );
    }

    #[test]
    fn an_exp_beyond_the_lifetime_is_capped() {
        assert_eq!(
            accepted_until(times(NOW + 86_400, Some(NOW - 10), None), NOW, 300),
            Ok(NOW + 290)
        );
        // issued too long ago: expired by the cap, whatever exp says
        assert_eq!(
            accepted_until(times(NOW + 86_400, Some(NOW - 301), None), NOW, 300),
            Err(WindowError::Expired)
        );
        // no iat: capped from now
        assert_eq!(
            accepted_until(times(NOW + 86_400, None, None), NOW, 300),
            Ok(NOW + 300)
        );
    }

    #[test]
    fn iat_or_nbf_in_the_future_is_refused_beyond_the_skew() {
        let skew = CLOCK_SKEW_SECS;
        assert!(accepted_until(times(NOW + 100, Some(NOW + skew), None), NOW, 300).is_ok());
        assert_eq!(
            accepted_until(times(NOW + 100, Some(NOW + skew + 1), None), NOW, 300),
            Err(WindowError::NotYetValid("iat"))
        );
        assert_eq!(
            accepted_until(times(NOW + 100, Some(NOW), Some(NOW + 60)), NOW, 300),
            Err(WindowError::NotYetValid("nbf"))
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        assert_eq!(
            accepted_until(times(NOW, Some(NOW - 10), None), NOW, 300),
            Err(WindowError::Expired)
        );
    }
}
