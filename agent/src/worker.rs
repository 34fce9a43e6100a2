//! The periodic worker behind every background loop (the agent's sampler, the server's poller
//! and maintenance): a named thread that runs a tick on a [`Schedule`] until it is stopped.
//! A stop wakes the thread from its wait at once; a tick that panics is logged and the loop
//! goes on.
//!
//! ```no_run
//! use std::time::Duration;
//! use lanstat_agent::worker::{Schedule, Worker};
//!
//! let every = Duration::from_secs(30);
//! let schedule = Schedule::Steady { first: Duration::ZERO, every, min_gap: every / 4 };
//! let worker = Worker::start("poller", schedule, "event=poll_round_panic action=continue", |_| {
//!     // one round
//! })
//! .unwrap();
//! worker.stop(); // lets the round in hand end, then returns
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When a worker ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The first tick `first` after the start, then each one `every` after the one before
    /// was due, so rounds keep their times however long each takes; but never sooner than
    /// `min_gap` after the one before started, so after a stall (the thread woke late) the
    /// missed ticks are not caught up in a burst.
    Steady {
        first: Duration,
        every: Duration,
        min_gap: Duration,
    },
    /// The first tick at once, then each one `pause` after the one before has ended.
    AfterEach { pause: Duration },
}

impl Schedule {
    fn first(self, start: Instant) -> Instant {
        match self {
            Schedule::Steady { first, .. } => start + first,
            Schedule::AfterEach { .. } => start,
        }
    }

    /// When the tick after one that was due at `due`, started at `started` and ended at
    /// `ended` is due.
    fn next(self, due: Instant, started: Instant, ended: Instant) -> Instant {
        match self {
            Schedule::Steady { every, min_gap, .. } => (due + every).max(started + min_gap),
            Schedule::AfterEach { pause } => ended + pause,
        }
    }
}

/// A worker's stop flag. A long tick checks [`Stop::is_set`] between its steps, so it can end
/// early when the process is stopping.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    pub fn is_set(&self) -> bool {
        // A poisoned lock still holds a whole bool.
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Waits until `until` or the stop, whichever comes first; true for the stop.
    fn wait_until(&self, until: Instant) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        let timeout = until.saturating_duration_since(Instant::now());
        // Spurious wakeups are waited out, with the time left, by wait_timeout_while.
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, timeout, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *stopped
    }
}

/// A running worker thread. [`Worker::stop`] or dropping it stops the thread and waits for it.
pub struct Worker {
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts a thread called `name` that calls `tick` on `schedule` until stopped. When a
    /// tick panics, `panic_line` goes to stderr and the next tick comes as scheduled.
    pub fn start<F>(
        name: &str,
        schedule: Schedule,
        panic_line: &'static str,
        tick: F,
    ) -> std::io::Result<Worker>
    where
        F: FnMut(&Stop) + Send + 'static,
    {
        Worker::spawn(name, schedule, tick, move || eprintln!("{panic_line}"))
    }

    /// [`Worker::start`] with `panicked` called for each tick that panics, so tests can count.
    fn spawn<F, P>(
        name: &str,
        schedule: Schedule,
        mut tick: F,
        panicked: P,
    ) -> std::io::Result<Worker>
    where
        F: FnMut(&Stop) + Send + 'static,
        P: Fn() + Send + 'static,
    {
        let stop = Arc::new(Stop::default());
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || run(&stop, schedule, &mut tick, &panicked))?
        };
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the loop and waits for its thread: a tick in hand runs to its end (or until it
    /// sees [`Stop::is_set`]), a wait ends at once.
    pub fn stop(self) {
        // Drop does it.
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.set();
        if let Some(t) = self.thread.take() {
            // Ticks run under catch_unwind, so the thread itself ends normally.
            let _ = t.join();
        }
    }
}

fn run(stop: &Stop, schedule: Schedule, tick: &mut dyn FnMut(&Stop), panicked: &dyn Fn()) {
    let mut due = schedule.first(Instant::now());
    while !stop.wait_until(due) {
        let started = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| tick(stop))).is_err() {
            panicked();
        }
        due = schedule.next(due, started, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SECOND: Duration = Duration::from_secs(1);

    /// Polls `done` until it holds; the bound is generous, only a hung loop reaches it.
    fn eventually(done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "the worker did not get there");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn counting(schedule: Schedule) -> (Worker, Arc<AtomicUsize>) {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let w = Worker::start("test-worker", schedule, "event=test_panic", move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        (w, ticks)
    }

    /// Stops `w`, which waits an hour for its next tick.
    fn stop_at_once(w: Worker) {
        let asked = Instant::now();
        w.stop();
        // Anything near the hour means the stop did not wake the thread.
        assert!(asked.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn stop_wakes_a_waiting_worker_at_once() {
        let hour = Duration::from_secs(3600);
        let (w, ticks) = counting(Schedule::Steady {
            first: hour,
            every: hour,
            min_gap: hour,
        });
        stop_at_once(w);
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            0,
            "no tick before the first is due"
        );

        let (w, ticks) = counting(Schedule::AfterEach { pause: hour });
        eventually(|| ticks.load(Ordering::SeqCst) == 1);
        stop_at_once(w);
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            1,
            "one tick at once, then the pause"
        );
    }

    #[test]
    fn a_panicking_tick_is_logged_and_the_loop_goes_on() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let logged = Arc::new(AtomicUsize::new(0));
        let (t, l) = (ticks.clone(), logged.clone());
        let w = Worker::spawn(
            "test-worker",
            Schedule::AfterEach {
                pause: Duration::from_millis(1),
            },
            move |_| {
                if t.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                    panic!("a tick that fails");
                }
            },
            move || {
                l.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        eventually(|| ticks.load(Ordering::SeqCst) >= 5);
        w.stop();
        let (ticks, logged) = (ticks.load(Ordering::SeqCst), logged.load(Ordering::SeqCst));
        assert_eq!(
            logged,
            ticks.div_ceil(2),
            "every panicking tick, and only those"
        );
    }

    #[test]
    fn a_tick_runs_on_the_named_thread_and_sees_the_stop() {
        let (tx, rx) = std::sync::mpsc::channel();
        let w = Worker::start(
            "named-worker",
            Schedule::AfterEach { pause: SECOND },
            "event=test_panic",
            move |stop| {
                let _ = tx.send(std::thread::current().name().map(String::from));
                while !stop.is_set() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            },
        )
        .unwrap();
        assert_eq!(rx.recv().unwrap().as_deref(), Some("named-worker"));
        // Returns only if the tick in hand saw the stop and ended.
        w.stop();
    }

    #[test]
    fn steady_ticks_count_from_the_start_of_the_one_before() {
        let s = Schedule::Steady {
            first: 5 * SECOND,
            every: 10 * SECOND,
            min_gap: 2 * SECOND,
        };
        let t0 = Instant::now();
        assert_eq!(s.first(t0), t0 + 5 * SECOND);
        // A tick that takes 7 s of its 10 does not push the next one back.
        assert_eq!(s.next(t0, t0, t0 + 7 * SECOND), t0 + 10 * SECOND);
        // Woken a little late: the round keeps its time.
        assert_eq!(s.next(t0, t0 + SECOND / 2, t0 + SECOND), t0 + 10 * SECOND);
        // Woken 30 s late (a stall): no burst of missed ticks, the next comes `min_gap` later.
        assert_eq!(
            s.next(t0, t0 + 30 * SECOND, t0 + 31 * SECOND),
            t0 + 32 * SECOND
        );
        assert_eq!(
            s.next(t0, t0 + 9 * SECOND, t0 + 10 * SECOND),
            t0 + 11 * SECOND
        );
        // A tick that ran past its successor's time: the successor is due at once.
        assert_eq!(s.next(t0, t0, t0 + 11 * SECOND), t0 + 10 * SECOND);
    }

    #[test]
    fn after_each_pauses_from_the_end_of_the_one_before() {
        let s = Schedule::AfterEach { pause: 60 * SECOND };
        let t0 = Instant::now();
        assert_eq!(s.first(t0), t0);
        assert_eq!(
            s.next(t0, t0, t0 + 45 * SECOND),
            t0 + 105 * SECOND,
            "a long pass is followed by the full pause"
        );
    }

    #[test]
    fn steady_ticks_keep_coming() {
        let ms = Duration::from_millis(2);
        let (w, ticks) = counting(Schedule::Steady {
            first: Duration::ZERO,
            every: ms,
            min_gap: ms / 2,
        });
        eventually(|| ticks.load(Ordering::SeqCst) >= 10);
        w.stop();
    }
}
