//! The poll loop: every interval, every enabled computer is polled at once by a bounded set
//! of short-lived threads; results that are not back by the round's deadline count as timed
//! out, so one dead or slow agent never delays the others. Each round's samples and statuses
//! are written in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lanstat_agent::worker::{Schedule, Worker};

use crate::App;
use crate::agents::{self, Timeouts};
use crate::domain::computers::{Answer, Backfilled, Polled};
use crate::model::{Computer, Kind, PollFailure};

/// A pause in answers this long means the quick agents are done: their batch is stored.
const LULL: Duration = Duration::from_millis(300);
/// Polls in flight at once.
pub const MAX_CONCURRENT_POLLS: usize = 64;
/// Stack for a poll thread: a 1 MiB answer parses without deep recursion.
const POLL_STACK: usize = 256 * 1024;

/// What one round did.
#[derive(Debug, Clone, Default)]
pub struct RoundReport {
    pub polled: usize,
    pub ok: usize,
    pub failed: usize,
    /// Still in flight from an earlier round, so not polled again.
    pub skipped: usize,
    /// From the start until the first batch (every agent that answered quickly) was stored.
    pub first_stored: Option<Duration>,
    /// From the start until the last answer or timeout was stored.
    pub duration: Duration,
}

/// What polling keeps between rounds: its HTTP client, and the computers whose poll is still
/// running (a slow agent is not asked again while its last poll runs).
pub struct Polling {
    client: ureq::Agent,
    in_flight: Arc<InFlight>,
    backfills: Arc<Backfills>,
}

impl Polling {
    pub fn new(interval: Duration) -> Polling {
        Polling {
            client: agents::client(timeouts(interval)),
            in_flight: Arc::new(InFlight::default()),
            backfills: Arc::default(),
        }
    }
}

/// How long an agent without `/history` is not asked for it again (kept in memory only).
pub const RETRY_HISTORY: Duration = Duration::from_secs(3600);
/// How long after a backfill that stopped on a failure it is tried again.
pub const RETRY_UNFINISHED: Duration = Duration::from_secs(60);
/// Backfills running at once. After an outage of the server every computer has a gap: the
/// rest wait their turn (a later round starts them) instead of a thread and a writer each.
pub const MAX_BACKFILLS: usize = 4;

/// The backfills running, one per computer and [`MAX_BACKFILLS`] at most, on threads of their
/// own so that no round waits for one; the agents that answered 404 to `/history`, with when;
/// and the gaps still to fill (a failed backfill's, or one waiting for its turn), each with
/// the time it is filled before and from when it may start.
#[derive(Default)]
struct Backfills {
    running: Mutex<HashSet<i64>>,
    not_offered: Mutex<HashMap<i64, Instant>>,
    unfinished: Mutex<HashMap<i64, (i64, Instant)>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Backfills {
    /// Claims `id`'s backfill and says the time (unix seconds) to fill its history before: the
    /// gap this answer found (`gap_before`), else one left to fill once its time has come (a
    /// failed backfill's after [`RETRY_UNFINISHED`], a waiting one at once). `None` when there
    /// is nothing to fill, one runs, the agent has no `/history`, or [`MAX_BACKFILLS`] run:
    /// then a new gap waits for a later round.
    fn claim(&self, id: i64, gap_before: Option<i64>) -> Option<i64> {
        {
            let mut not = locked(&self.not_offered);
            not.retain(|_, since| since.elapsed() < RETRY_HISTORY);
            if not.contains_key(&id) {
                return None;
            }
        }
        let before = match gap_before {
            Some(t) => t,
            None => match locked(&self.unfinished).get(&id) {
                Some((t, from)) if Instant::now() >= *from => *t,
                _ => return None,
            },
        };
        {
            let mut running = locked(&self.running);
            if running.contains(&id) {
                return None;
            }
            if running.len() < MAX_BACKFILLS {
                running.insert(id);
                return Some(before);
            }
        }
        // Bounded by the computers polled: one entry each.
        locked(&self.unfinished).insert(id, (before, Instant::now()));
        None
    }

    fn done(&self, id: i64, before: i64, outcome: &Backfilled) {
        match outcome {
            Backfilled::NotOffered => {
                locked(&self.not_offered).insert(id, Instant::now());
                locked(&self.unfinished).remove(&id);
            }
            Backfilled::Failed { .. } => {
                // Bounded by the computers polled: one entry each.
                locked(&self.unfinished).insert(id, (before, Instant::now() + RETRY_UNFINISHED));
            }
            Backfilled::Stored { .. } => {
                locked(&self.unfinished).remove(&id);
            }
        }
        locked(&self.running).remove(&id);
    }
}

/// Starts filling `c`'s history on a thread of its own when the answer at `at_ms` found a gap
/// (or a failed backfill left one), unless one runs already or its agent has no `/history`.
fn start_backfill(app: &Arc<App>, polling: &Polling, c: &Computer, at_ms: i64) {
    let at = at_ms.div_euclid(1000);
    let gap = agents::gap_to_fill(c.last_seen, at, app.config.poll_interval).then_some(at);
    let Some(before) = polling.backfills.claim(c.id, gap) else {
        return;
    };
    let (app, client, backfills, c2) = (
        app.clone(),
        polling.client.clone(),
        polling.backfills.clone(),
        c.clone(),
    );
    let spawned = std::thread::Builder::new()
        .name("backfill".into())
        .stack_size(POLL_STACK)
        .spawn(move || {
            let outcome = app.computers.backfill(&client, &c2, before);
            backfills.done(c2.id, before, &outcome);
        });
    if let Err(e) = spawned {
        eprintln!("event=backfill_not_started error={:?}", e.to_string());
        locked(&polling.backfills.running).remove(&c.id);
    }
}

/// Computers whose poll is running, with the count bounded.
#[derive(Default)]
struct InFlight {
    ids: Mutex<HashSet<i64>>,
    freed: Condvar,
}

impl InFlight {
    /// Claims a slot for `id`, waiting until `deadline` for one to free. `None` when the
    /// computer is still being polled or no slot freed in time.
    fn claim(&self, id: i64, deadline: Instant) -> Option<()> {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.contains(&id) {
            return None;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        let (mut ids, _) = self
            .freed
            .wait_timeout_while(ids, wait, |ids| ids.len() >= MAX_CONCURRENT_POLLS)
            .unwrap_or_else(|e| e.into_inner());
        if ids.len() >= MAX_CONCURRENT_POLLS {
            return None;
        }
        ids.insert(id);
        Some(())
    }

    fn release(&self, id: i64) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.freed.notify_one();
    }
}

/// Runs one round now and waits for it.
/// An answer that finds a gap in the computer's history starts its backfill beside the round.
pub fn round(app: &Arc<App>, polling: &Polling) -> RoundReport {
    let started = Instant::now();
    let interval = app.config.poll_interval;
    let deadline = started + interval.mul_f64(0.9);
    let computers = match app.computers.to_poll() {
        Ok(list) => list,
        Err(e) => {
            eprintln!("event=poll_round_failed error={:?}", e.to_string());
            return RoundReport::default();
        }
    };
    let mut report = RoundReport::default();
    let mut answers: Vec<Polled> = Vec::with_capacity(computers.len());

    let (tx, rx) = mpsc::channel::<(usize, i64, Answer)>();
    let mut waiting: HashMap<usize, Computer> = HashMap::new();
    for (i, c) in computers.into_iter().enumerate() {
        match c.kind {
            Kind::Local => {
                answers.push((c, app.clock.now_ms(), app.computers.local_answer()));
            }
            Kind::Agent => {
                if polling.in_flight.claim(c.id, deadline).is_none() {
                    report.skipped += 1;
                    continue;
                }
                let (tx, client, schemes, in_flight, url, token, id) = (
                    tx.clone(),
                    polling.client.clone(),
                    app.computers.agent_schemes(),
                    polling.in_flight.clone(),
                    c.url.clone(),
                    c.token.clone(),
                    c.id,
                );
                let clock = app.clock.clone();
                let spawned = std::thread::Builder::new()
                    .name("poll".into())
                    .stack_size(POLL_STACK)
                    .spawn(move || {
                        let result = agents::fetch(&client, &schemes, &url, &token);
                        in_flight.release(id);
                        let _ = tx.send((i, clock.now_ms(), result));
                    });
                match spawned {
                    Ok(_) => {
                        waiting.insert(i, c);
                    }
                    Err(e) => {
                        polling.in_flight.release(c.id);
                        answers.push((
                            c,
                            app.clock.now_ms(),
                            Err(PollFailure::error(format!("cannot start a poll: {e}"))),
                        ));
                    }
                }
            }
        }
    }
    drop(tx);
    // Answers are stored in batches: the first once every answer is in or none has come for
    // a moment (the healthy agents are done), the last with the stragglers and timeouts.
    let mut pending = answers;
    while !waiting.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let until = if pending.is_empty() {
            deadline
        } else {
            (now + LULL).min(deadline)
        };
        match rx.recv_timeout(until - now) {
            Ok((i, at, result)) => {
                if let Some(c) = waiting.remove(&i) {
                    if result.is_ok() {
                        start_backfill(app, polling, &c, at);
                    }
                    pending.push((c, at, result));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !pending.is_empty() {
                    store_batch(app, &mut report, std::mem::take(&mut pending));
                    report.first_stored.get_or_insert(started.elapsed());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let now_ms = app.clock.now_ms();
    for (_, c) in waiting.drain() {
        pending.push((c, now_ms, Err(PollFailure::offline("timed out"))));
    }
    store_batch(app, &mut report, pending);
    report.first_stored.get_or_insert(started.elapsed());
    app.alerts.judge_round();
    report.duration = started.elapsed();
    app.health.round_done(report.duration);
    let stored_ms = report.first_stored.map(|d| d.as_millis()).unwrap_or(0);
    if crate::debug_enabled() {
        println!(
            "event=poll_round stored_ms={stored_ms} duration_ms={} computers={} ok={} failed={} skipped={}",
            report.duration.as_millis(),
            report.polled,
            report.ok,
            report.failed,
            report.skipped
        );
    } else if report.duration > interval / 2
        && report.first_stored.is_some_and(|d| d > interval / 4)
    {
        println!(
            "event=slow_poll_round stored_ms={stored_ms} duration_ms={} computers={} ok={} failed={}",
            report.duration.as_millis(),
            report.polled,
            report.ok,
            report.failed
        );
    }
    report
}

/// Stores a batch of answers and counts them in the round's report.
fn store_batch(app: &App, report: &mut RoundReport, answers: Vec<Polled>) {
    if answers.is_empty() {
        return;
    }
    report.polled += answers.len();
    let (ok, failed) = app.computers.record(answers);
    report.ok += ok as usize;
    report.failed += failed as usize;
}

/// The background poll thread.
pub struct Poller {
    worker: Worker,
}

impl Poller {
    pub fn start(app: Arc<App>) -> std::io::Result<Poller> {
        let every = app.config.poll_interval;
        // Rounds start on the interval's beat however long each takes; after a stall the next
        // waits at least a quarter interval instead of catching up.
        let schedule = Schedule::Steady {
            first: Duration::ZERO,
            every,
            min_gap: every / 4,
        };
        let polling = Polling::new(every);
        let worker = Worker::start(
            "poller",
            schedule,
            "event=poll_round_panic action=continue",
            move |_| {
                round(&app, &polling);
            },
        )?;
        Ok(Poller { worker })
    }

    /// Asks the loop to stop after the round in hand and waits for it.
    pub fn stop(self) {
        self.worker.stop();
    }
}

/// The timeouts polls use for `interval`.
fn timeouts(interval: Duration) -> Timeouts {
    Timeouts::for_interval(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Backfilled {
        Backfilled::Failed {
            samples: 3,
            reason: "timed out".into(),
        }
    }

    #[test]
    fn one_backfill_a_computer_and_none_for_an_agent_without_history() {
        let b = Backfills::default();
        assert_eq!(b.claim(1, None), None, "no gap: nothing to fill");
        assert_eq!(b.claim(1, Some(100)), Some(100));
        assert_eq!(b.claim(1, Some(110)), None, "one runs");
        assert_eq!(b.claim(2, Some(110)), Some(110), "another computer's");
        b.done(1, 100, &Backfilled::NotOffered);
        assert_eq!(b.claim(1, Some(120)), None, "404 is remembered");
        b.done(
            2,
            110,
            &Backfilled::Stored {
                samples: 0,
                span: None,
            },
        );
        assert_eq!(b.claim(2, Some(130)), Some(130));
    }

    #[test]
    fn a_failed_backfill_is_tried_again_after_a_while() {
        let b = Backfills::default();
        assert_eq!(b.claim(1, Some(100)), Some(100));
        b.done(1, 100, &failed());
        assert_eq!(b.claim(1, None), None, "not at once");
        locked(&b.unfinished).insert(1, (100, Instant::now()));
        assert_eq!(b.claim(1, None), Some(100), "the gap it left");
        b.done(
            1,
            100,
            &Backfilled::Stored {
                samples: 5,
                span: Some((50, 99)),
            },
        );
        assert_eq!(b.claim(1, None), None, "filled");
    }

    #[test]
    fn backfills_beyond_the_cap_wait_for_a_later_round() {
        let b = Backfills::default();
        for id in 0..MAX_BACKFILLS as i64 {
            assert_eq!(b.claim(id, Some(100)), Some(100));
        }
        let late = MAX_BACKFILLS as i64;
        assert_eq!(b.claim(late, Some(200)), None, "the cap is reached");
        assert_eq!(b.claim(late, None), None, "still full");
        b.done(0, 100, &Backfilled::NotOffered);
        assert_eq!(
            b.claim(late, None),
            Some(200),
            "its gap is filled once a backfill ends, though no new gap is seen"
        );
    }
}
