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
}
