//! Background upkeep on the writer thread, in small steps: roll raw samples up into the
//! 5-minute, hourly and daily tiers, trim every tier to its retention, hand free pages back to the
//! OS, and sweep expired sessions. Each step is its own short transaction, so poll rounds
//! queue between them instead of behind one long job.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

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
            now - crate::auth::SESSION_IDLE_SECS,
            now - crate::auth::SESSION_MAX_SECS,
        )
    })?;
    Ok(done)
}

/// The upkeep thread.
pub struct Maintenance {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Maintenance {
    pub fn start(app: Arc<App>) -> std::io::Result<Maintenance> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("maintenance".into())
                .spawn(move || run(&app, &stop))?
        };
        Ok(Maintenance {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(app: &App, stop: &(Mutex<bool>, Condvar)) {
    let (lock, cv) = stop;
    let stopped = || *lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pass(app, &stopped))) {
            Ok(Ok(p)) => {
                if p.deleted > 0 || p.vacuumed_pages > 0 {
                    println!(
                        "event=maintenance buckets={} rows_deleted={} pages_freed={} sessions_ended={}",
                        p.buckets, p.deleted, p.vacuumed_pages, p.sessions_ended
                    );
                }
            }
            Ok(Err(e)) => eprintln!(
                "event=maintenance_failed error={:?} action=retry_later",
                e.to_string()
            ),
            Err(_) => eprintln!("event=maintenance_panic action=retry_later"),
        }
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        if *guard {
            return;
        }
        let guard = cv
            .wait_timeout(guard, EVERY)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if *guard {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::{self, Command};
    use crate::store::{ComputerInput, Sample, stats};

    #[test]
    fn a_pass_rolls_up_and_trims_as_the_clock_moves() {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let dir = std::env::temp_dir().join(format!("lanstat-upkeep-{}", u64::from_le_bytes(b)));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("stats.db").display().to_string();
        let Command::Serve(cfg) = config::from_args(
            ["--db".into(), db, "--keep-raw".into(), "1h".into()],
            |_| None,
        )
        .unwrap() else {
            unreachable!()
        };
        let start = 1_800_000_000;
        let clock = Clock::fake(start);
        let app = App::open(cfg, clock.clone()).unwrap();
        let input = ComputerInput {
            name: "a".into(),
            url: "http://a:8000".into(),
            token: Some("t".into()),
            enabled: true,
        };
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
