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

pub use lanstat_http::UtcTime;

/// Unix seconds as `2026-11-27T14:05:00Z`.
pub fn iso8601(t: i64) -> String {
    let u = UtcTime::from_unix(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u.year, u.month, u.day, u.hour, u.minute, u.second
    )
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
