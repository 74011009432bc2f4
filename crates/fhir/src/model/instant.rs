//! FHIR `instant` and HTTP-date formatting of store timestamps (milliseconds since the epoch).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn to_system_time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64)
}

/// `2026-11-28T23:29:44.123Z`
pub fn fhir_instant(millis: i64) -> String {
    humantime::format_rfc3339_millis(to_system_time(millis)).to_string()
}

/// `Sat, 28 Nov 2026 23:29:44 GMT`
pub fn http_date(millis: i64) -> String {
    httpdate::fmt_http_date(to_system_time(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fhir_instant(1_000), "1970-01-01T00:00:01.000Z");
        assert_eq!(http_date(1_000), "Thu, 01 Jan 1970 00:00:01 GMT");
    }
}
