//! The server's own health: what its poll rounds counted, whether its database answers, and
//! how big it has grown, for `/healthz` and the server's own `/metrics` series.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::model::Tier;
use crate::store::{self, Store};

/// Row counts scan whole tables: they are taken at most this often.
const ROWS_MAX_AGE: Duration = Duration::from_secs(60);

/// Counted since the server started, by the poll rounds.
#[derive(Default)]
pub struct Counters {
    pub rounds: AtomicU64,
    pub polls_ok: AtomicU64,
    pub polls_failed: AtomicU64,
    pub last_round_ms: AtomicU64,
    pub db_write_errors: AtomicU64,
}

/// The figures at one moment.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub poll_round_secs: f64,
    pub poll_rounds: u64,
    pub polls_ok: u64,
    pub polls_failed: u64,
    pub db_write_errors: u64,
    pub db_bytes: u64,
    pub rows: Vec<(Tier, i64)>,
}

/// Rows per tier, and when they were counted.
type RowCount = (Instant, Vec<(Tier, i64)>);

pub struct Health {
    store: Arc<Store>,
    counters: Arc<Counters>,
    rows: Mutex<Option<RowCount>>,
}

impl Health {
    pub fn new(store: Arc<Store>, counters: Arc<Counters>) -> Health {
        Health {
            store,
            counters,
            rows: Mutex::new(None),
        }
    }

    /// A poll round ended after `took`.
    pub fn round_done(&self, took: Duration) {
        self.counters
            .last_round_ms
            .store(took.as_millis() as u64, Ordering::Relaxed);
        self.counters.rounds.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the database answers a query.
    pub fn database_ok(&self) -> bool {
        self.store.read(store::ping).is_ok()
    }

    pub fn figures(&self) -> Figures {
        let c = &self.counters;
        Figures {
            poll_round_secs: c.last_round_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            poll_rounds: c.rounds.load(Ordering::Relaxed),
            polls_ok: c.polls_ok.load(Ordering::Relaxed),
            polls_failed: c.polls_failed.load(Ordering::Relaxed),
            db_write_errors: c.db_write_errors.load(Ordering::Relaxed),
            db_bytes: database_bytes(self.store.path()),
            rows: self.row_counts(),
        }
    }

    /// Rows per tier, counted at most once a [`ROWS_MAX_AGE`]: a count walks a whole index,
    /// which on a Pi with a big history is not free at every scrape.
    fn row_counts(&self) -> Vec<(Tier, i64)> {
        let mut cached = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, rows)) = cached.as_ref()
            && at.elapsed() < ROWS_MAX_AGE
        {
            return rows.clone();
        }
        match self.store.read(store::tiers::row_counts) {
            Ok(rows) => {
                *cached = Some((Instant::now(), rows.clone()));
                rows
            }
            Err(e) => {
                eprintln!("event=db_error what=row_counts error={:?}", e.to_string());
                Vec::new()
            }
        }
    }
}

fn database_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
        })
        .sum()
}
