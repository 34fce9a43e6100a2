//! Background upkeep on the writer thread, in small steps: roll raw samples up into the
//! 5-minute, hourly and daily tiers, trim every tier to its retention, hand free pages back to the
//! OS, and sweep expired sessions. Each step is its own short transaction, so poll rounds
//! queue between them instead of behind one long job.

use std::sync::Arc;
use std::time::Duration;

use lanstat_agent::worker::{Schedule, Worker};

use crate::App;
use crate::store::{self, Durability, Tier, tiers};

/// How often upkeep runs when there is nothing left to do.
const EVERY: Duration = Duration::from_secs(60);
/// A pause between steps, so other writes get the writer in between.
const BETWEEN_STEPS: Duration = Duration::from_millis(5);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub buckets: i64,
    pub deleted: usize,
    pub vacuumed_pages: i64,
    pub sessions_ended: usize,
}

/// Runs upkeep until caught up (or `stop` says so), as of the app's clock.
pub fn pass(app: &App, stop: &dyn Fn() -> bool) -> Result<Pass, store::StoreError> {
    let mut done = Pass::default();
    let now = app.clock.now();
    let grace = app.config.poll_interval.as_secs() as i64 + 10;
    for tier in Tier::ROLLUPS {
        loop {
            let n = app.store.write(Durability::Relaxed, move |tx| {
                tiers::rollup_step(tx, tier, now, grace, tiers::BUCKETS_PER_STEP)
            })?;
            done.buckets += n;
            if n == 0 || stop() {
                break;
            }
            std::thread::sleep(BETWEEN_STEPS);
        }
    }
    let retention = app.config.retention;
    for tier in Tier::ALL {
        loop {
            let n = app.store.write(Durability::Relaxed, move |tx| {
                tiers::trim_step(tx, tier, now, &retention)
            })?;
            done.deleted += n;
            if n == 0 || stop() {
                break;
            }
            std::thread::sleep(BETWEEN_STEPS);
        }
    }
    done.vacuumed_pages = app
        .store
        .write(Durability::Relaxed, |tx| tiers::vacuum_step(tx))?;
    done.sessions_ended = app.store.write(Durability::Relaxed, move |tx| {
        store::users::delete_expired_sessions(
            tx,
            now - crate::domain::accounts::SESSION_IDLE_SECS,
            now - crate::domain::accounts::SESSION_MAX_SECS,
        )
    })?;
    Ok(done)
}

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
            move |stop| match pass(&app, &|| stop.is_set()) {
                Ok(p) => {
                    if p.deleted > 0 || p.vacuumed_pages > 0 {
                        println!(
                            "event=maintenance buckets={} rows_deleted={} pages_freed={} sessions_ended={}",
                            p.buckets, p.deleted, p.vacuumed_pages, p.sessions_ended
                        );
                    }
                }
                Err(e) => eprintln!(
                    "event=maintenance_failed error={:?} action=retry_later",
                    e.to_string()
                ),
            },
        )?;
        Ok(Maintenance { worker })
    }

    /// Asks the pass in hand to end after its current step and waits for it.
    pub fn stop(self) {
        self.worker.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::Config;
    use crate::model::NewComputer;
    use crate::store::{Retention, Sample, stats};

    #[test]
    fn a_pass_rolls_up_and_trims_as_the_clock_moves() {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let dir = std::env::temp_dir().join(format!("lanstat-upkeep-{}", u64::from_le_bytes(b)));
        std::fs::create_dir_all(&dir).unwrap();
        // As `--db DIR/stats.db --keep-raw 1h`.
        let cfg = Config {
            retention: Retention {
                raw: 3600,
                ..Retention::default()
            },
            ..Config::offline(dir.join("stats.db"))
        };
        let start = 1_800_000_000;
        let clock = Clock::fake(start);
        let app = App::open(cfg, clock.clone()).unwrap();
        let input = NewComputer::new("a", "http://a:8000", "t").unwrap();
        let id = app
            .store
            .write(Durability::Durable, move |tx| {
                store::computers::add(tx, &input, start)
            })
            .unwrap()
            .id;
        app.store
            .write(Durability::Relaxed, move |tx| {
                for t in (start..start + 3 * 3600).step_by(30) {
                    stats::insert(
                        tx,
                        &Sample {
                            computer_id: id,
                            timestamp: t,
                            cpu_percent: 5.0,
                            ..Sample::default()
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        clock.advance(3 * 3600 + 120);
        let p = pass(&app, &|| false).unwrap();
        assert_eq!(p.buckets, 36 + 3, "36 five-minute buckets and 3 hours");
        let raw: i64 = app
            .store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM stats", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(
            raw, 116,
            "only samples of the last hour (from now - 3600 s) are kept"
        );
        assert_eq!(
            pass(&app, &|| false).unwrap(),
            Pass::default(),
            "caught up: nothing more to do"
        );
        app.store.close();
        let _ = std::fs::remove_dir_all(dir);
    }
}
