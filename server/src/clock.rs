//! Time, injectable: the real clock in production, a settable one in tests, so expiry,
//! throttling and rollups are tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Default)]
pub struct Clock {
    fake: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { fake: None }
    }

    /// A clock that stands still at `unix_secs` until moved.
    pub fn fake(unix_secs: i64) -> Clock {
        Clock {
            fake: Some(Arc::new(AtomicI64::new(unix_secs * 1000))),
        }
    }

    pub fn advance(&self, secs: i64) {
        if let Some(f) = &self.fake {
            f.fetch_add(secs * 1000, Ordering::SeqCst);
        }
    }

    pub fn advance_ms(&self, ms: i64) {
        if let Some(f) = &self.fake {
            f.fetch_add(ms, Ordering::SeqCst);
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.fake {
            Some(f) => f.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }
}

/// Unix seconds as UTC calendar fields: (year, month, day, hour, minute, second), by the
/// civil-from-days algorithm on the proleptic Gregorian calendar.
pub fn utc_fields(t: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Unix seconds as `2026-11-27T14:05:00Z`.
pub fn iso8601(t: i64) -> String {
    let (y, m, d, h, mi, s) = utc_fields(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_moves_only_when_told() {
        let c = Clock::fake(1000);
        assert_eq!(c.now(), 1000);
        c.advance(5);
        assert_eq!(c.now(), 1005);
        assert!(Clock::system().now() > 1_600_000_000);
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_739_962), "2026-11-27T00:39:22Z");
    }
}
