//! Background upkeep: the history's rollups, trims and freed pages
//! ([`crate::domain::history::History::upkeep`]) and the sweep of expired sessions, every
//! minute when there is nothing left to do.

use std::sync::Arc;
use std::time::Duration;

use lanstat_agent::worker::{Schedule, Worker};

use crate::App;

/// How often upkeep runs when there is nothing left to do.
const EVERY: Duration = Duration::from_secs(60);

/// The upkeep thread.
pub struct Maintenance {
    worker: Worker,
}

impl Maintenance {
    pub fn start(app: Arc<App>) -> std::io::Result<Maintenance> {
        let worker = Worker::start(
            "maintenance",
            Schedule::AfterEach { pause: EVERY },
            "event=maintenance_panic action=retry_later",
            move |stop| {
                let done = app
                    .history
                    .upkeep(&|| stop.is_set())
                    .and_then(|p| Ok((p, app.accounts.sweep_sessions()?)));
                match done {
                    Ok((p, sessions_ended)) => {
                        if p.deleted > 0 || p.vacuumed_pages > 0 {
                            println!(
                                "event=maintenance buckets={} rows_deleted={} pages_freed={} sessions_ended={sessions_ended}",
                                p.buckets, p.deleted, p.vacuumed_pages
                            );
                        }
                    }
                    Err(e) => eprintln!(
                        "event=maintenance_failed error={:?} action=retry_later",
                        e.to_string()
                    ),
                }
            },
        )?;
        Ok(Maintenance { worker })
    }

    /// Asks the pass in hand to end after its current step and waits for it.
    pub fn stop(self) {
        self.worker.stop();
    }
}
