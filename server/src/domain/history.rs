//! History: a computer's newest figures and its charts, each window read from the finest tier
//! that holds it within a bounded scan, at most [`MAX_POINTS`] points, outages as gaps.

use std::sync::Arc;
use std::time::Duration;

use lanstat_agent::SystemInfo;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::computers::find;
use crate::domain::{Error, Result};
use crate::live::Live;
use crate::model::{HistoryPoint, Retention, Sample, Tier};
use crate::store::{self, Durability, Store, tiers};

/// Points per series a chart gets at most (gap markers aside).
pub const MAX_POINTS: i64 = 500;

/// Rows a chart query may scan per host in the tier it reads, at most: each costs a few
/// microseconds of aggregation, and a chart must come back in a few milliseconds.
const MAX_SCAN: i64 = 4_000;

/// A pause between upkeep steps, so other writes get the writer in between.
const BETWEEN_STEPS: Duration = Duration::from_millis(5);

/// What one upkeep pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Upkeep {
    pub buckets: i64,
    pub deleted: usize,
    pub vacuumed_pages: i64,
}

/// Named ranges and their length in seconds.
pub const RANGES: &[(&str, i64)] = &[
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("24h", 86_400),
    ("7d", 7 * 86_400),
    ("30d", 30 * 86_400),
    ("1y", 365 * 86_400),
];

/// A time window to chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub name: String,
    pub from: i64,
    pub to: i64,
}

/// How a window was asked for: `range=24h`, or `from=…&to=…` (unix seconds), or the
/// original's `hours=N`, as text.
#[derive(Debug, Default)]
pub struct WindowSpec {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub hours: Option<String>,
}

impl Window {
    /// The window `spec` names at `now`; `default` when it names none.
    pub fn from_spec(spec: WindowSpec, now: i64, default: &str) -> Result<Window> {
        let secs = |k: &'static str, v: Option<String>| -> Result<Option<i64>> {
            v.map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| Error::invalid(k, format!("{k} must be unix seconds")))
            })
            .transpose()
        };
        if spec.from.is_some() || spec.to.is_some() {
            let to = secs("to", spec.to)?.unwrap_or(now);
            let from = secs("from", spec.from)?.ok_or_else(|| {
                Error::invalid("from", "give from (and optionally to) in unix seconds")
            })?;
            if from >= to {
                return Err(Error::invalid("from", "from must be before to"));
            }
            if to - from > 5 * 366 * 86_400 || from < 0 {
                return Err(Error::invalid(
                    "from",
                    "the window must lie within five years",
                ));
            }
            return Ok(Window {
                name: "custom".into(),
                from,
                to,
            });
        }
        if let Some(h) = spec.hours {
            let hours: i64 = h
                .trim()
                .parse()
                .ok()
                .filter(|h| (1..=24 * 366).contains(h))
                .ok_or_else(|| {
                    Error::invalid("hours", "hours must be a whole number from 1 to 8784")
                })?;
            return Ok(Window {
                name: format!("{hours}h"),
                from: now - hours * 3600,
                to: now + 1,
            });
        }
        let name = spec.range.unwrap_or_else(|| default.to_string());
        let secs = RANGES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                let names: Vec<&str> = RANGES.iter().map(|(n, _)| *n).collect();
                Error::invalid(
                    "range",
                    format!("range must be one of {}", names.join(", ")),
                )
            })?;
        Ok(Window {
            name,
            from: now - secs,
            to: now + 1,
        })
    }
}

/// The finest tier that still holds the whole window and needs no more than [`MAX_SCAN`]
/// rows for it: raw samples for the last hours, 5-minute buckets for days, hourly ones for
/// weeks, daily ones for years.
pub fn tier_for(w: &Window, now: i64, poll_interval: i64, r: &Retention) -> Tier {
    let span = w.to - w.from;
    Tier::ALL
        .into_iter()
        .find(|t| {
            let resolution = if *t == Tier::Raw {
                poll_interval.max(1)
            } else {
                t.width()
            };
            w.from >= now - r.of(*t) && span / resolution <= MAX_SCAN
        })
        .unwrap_or(Tier::Day)
}

/// Bucket width for a window: at most [`MAX_POINTS`] buckets, never finer than the tier.
pub fn step_for(w: &Window, resolution: i64) -> i64 {
    let span = w.to - w.from;
    ((span + MAX_POINTS - 1) / MAX_POINTS)
        .max(resolution)
        .max(1)
}

/// A chart: the window it covers, the tier it was read from, its bucket width and points.
pub struct Chart {
    pub window: Window,
    pub tier: Tier,
    pub step: i64,
    pub points: Vec<HistoryPoint>,
}

/// A computer's newest figures: the stored row, and the agent's full answer while the
/// server holds it.
pub struct Newest {
    pub sample: Sample,
    pub answer: Option<Arc<SystemInfo>>,
}

pub struct History {
    store: Arc<Store>,
    live: Arc<Live>,
    clock: Clock,
    local: bool,
    poll_interval: i64,
    retention: Retention,
}

impl History {
    /// Reads charts at the config's poll interval and keeps each tier as long as it says.
    pub fn new(store: Arc<Store>, live: Arc<Live>, clock: Clock, config: &Config) -> History {
        History {
            store,
            live,
            clock,
            local: config.local,
            poll_interval: config.poll_interval.as_secs() as i64,
            retention: config.retention,
        }
    }

    /// Rolls raw samples up into the coarser tiers, trims every tier to its retention and
    /// hands free pages back to the OS, until caught up (or `stop` says so), as of now. Each
    /// step is its own short transaction on the writer, so poll rounds queue between them.
    pub fn upkeep(&self, stop: &dyn Fn() -> bool) -> Result<Upkeep> {
        let mut done = Upkeep::default();
        let now = self.clock.now();
        // A sample may still arrive for a bucket this long after the bucket's end.
        let grace = self.poll_interval + 10;
        for tier in Tier::ROLLUPS {
            done.buckets += self.steps(stop, move |tx| {
                tiers::rollup_step(tx, tier, now, grace, tiers::BUCKETS_PER_STEP)
            })?;
        }
        let retention = self.retention;
        for tier in Tier::ALL {
            done.deleted += self.steps(stop, move |tx| {
                tiers::trim_step(tx, tier, now, &retention).map(|n| n as i64)
            })? as usize;
        }
        done.vacuumed_pages = self
            .store
            .write(Durability::Relaxed, |tx| tiers::vacuum_step(tx))?;
        Ok(done)
    }

    /// Runs `step` until it has nothing left to do or `stop` says so; the sum of what it did.
    fn steps(
        &self,
        stop: &dyn Fn() -> bool,
        step: impl Fn(&store::Conn) -> store::Result<i64> + Send + Clone + 'static,
    ) -> Result<i64> {
        let mut total = 0;
        loop {
            let this_step = step.clone();
            let n = self
                .store
                .write(Durability::Relaxed, move |tx| this_step(tx))?;
            total += n;
            if n == 0 || stop() {
                return Ok(total);
            }
            std::thread::sleep(BETWEEN_STEPS);
        }
    }

    /// The newest sample (the live one, else the stored one).
    pub fn newest(&self, id: i64) -> Result<Newest> {
        find(&self.store, self.local, id)?;
        let live = self.live.get(id);
        let sample = match &live {
            Some(l) => Some((*l.sample).clone()),
            None => self.store.read(|c| store::stats::latest(c, id))?,
        };
        let sample = sample.ok_or_else(|| {
            Error::NotFound("no figures yet for this computer; wait for the first poll".into())
        })?;
        Ok(Newest {
            sample,
            answer: live.map(|l| l.info.clone()),
        })
    }

    /// The points of the window `spec` names (24 hours when it names none), from the right
    /// tier, with gaps marked.
    pub fn chart(&self, id: i64, spec: WindowSpec) -> Result<Chart> {
        find(&self.store, self.local, id)?;
        let window = Window::from_spec(spec, self.clock.now(), "24h")?;
        let interval = self.poll_interval;
        let tier = tier_for(&window, self.clock.now(), interval, &self.retention);
        let resolution = if tier == Tier::Raw {
            interval
        } else {
            tier.width()
        };
        let step = step_for(&window, resolution);
        let span = store::tiers::Span {
            computer_id: id,
            from: window.from - window.from.rem_euclid(step),
            to: window.to,
            step,
        };
        let pts = self
            .store
            .read(|c| store::tiers::history_across(c, tier, span))?;
        // A missed poll or two is noise; longer silences are outages and show as gaps.
        Ok(Chart {
            window,
            tier,
            step,
            points: store::stats::mark_gaps(pts, step, 2 * step + resolution),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewComputer;
    use crate::store::test_support::TestDb;

    #[test]
    fn upkeep_rolls_up_and_trims_as_the_clock_moves() {
        let db = TestDb::new("upkeep");
        let start = 1_800_000_000;
        let clock = Clock::fake(start);
        // As `--keep-raw 1h`, polled every 30 s.
        let retention = Retention {
            raw: 3600,
            ..Retention::default()
        };
        let config = Config {
            poll_interval: std::time::Duration::from_secs(30),
            retention,
            ..Config::offline(db.store.path().to_path_buf())
        };
        let history = History::new(
            db.store.clone(),
            Arc::new(Live::default()),
            clock.clone(),
            &config,
        );
        let input = NewComputer::new("a", "http://a:8000", "t").unwrap();
        let id = db
            .store
            .durable(move |tx| store::computers::add(tx, &input, start))
            .unwrap()
            .id;
        db.store
            .write(Durability::Relaxed, move |tx| {
                for t in (start..start + 3 * 3600).step_by(30) {
                    store::stats::insert(
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
        let p = history.upkeep(&|| false).unwrap();
        assert_eq!(p.buckets, 36 + 3, "36 five-minute buckets and 3 hours");
        let raw: i64 = db
            .store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM stats", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(
            raw, 116,
            "only samples of the last hour (from now - 3600 s) are kept"
        );
        assert_eq!(
            history.upkeep(&|| false).unwrap(),
            Upkeep::default(),
            "caught up: nothing more to do"
        );
    }

    #[test]
    fn each_range_reads_the_right_tier() {
        let now = 2_000_000_000;
        let r = Retention::default();
        let tier = |secs: i64, poll| {
            let w = Window {
                name: "x".into(),
                from: now - secs,
                to: now + 1,
            };
            tier_for(&w, now, poll, &r)
        };
        assert_eq!(
            tier(3600, 1),
            Tier::Raw,
            "an hour of 1 s polls is 3 600 rows"
        );
        assert_eq!(tier(3600, 30), Tier::Raw);
        assert_eq!(tier(86_400, 30), Tier::Raw);
        assert_eq!(tier(86_400, 10), Tier::FiveMinutes);
        assert_eq!(tier(7 * 86_400, 30), Tier::FiveMinutes, "raw is kept 48 h");
        assert_eq!(tier(30 * 86_400, 30), Tier::Hour);
        assert_eq!(tier(365 * 86_400, 30), Tier::Day);
        assert_eq!(tier(40 * 365 * 86_400, 30), Tier::Day, "beyond every tier");
    }

    #[test]
    fn steps_cap_points_and_respect_polls() {
        let w = |secs| Window {
            name: "x".into(),
            from: 0,
            to: secs,
        };
        assert_eq!(step_for(&w(3600), 30), 30);
        assert_eq!(step_for(&w(86_400), 30), 173);
        assert_eq!(step_for(&w(365 * 86_400), 30), 63_072);
        assert!(365 * 86_400 / step_for(&w(365 * 86_400), 1) <= MAX_POINTS);
    }

    #[test]
    fn windows_are_read_from_their_spec() {
        let now = 1_000_000;
        let w = |spec| Window::from_spec(spec, now, "24h");
        assert_eq!(w(WindowSpec::default()).unwrap().from, now - 86_400);
        let custom = w(WindowSpec {
            from: Some("100".into()),
            to: Some("200".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (custom.name.as_str(), custom.from, custom.to),
            ("custom", 100, 200)
        );
        for bad in [
            WindowSpec {
                range: Some("2d".into()),
                ..Default::default()
            },
            WindowSpec {
                hours: Some("0".into()),
                ..Default::default()
            },
            WindowSpec {
                from: Some("200".into()),
                to: Some("100".into()),
                ..Default::default()
            },
            WindowSpec {
                to: Some("100".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(w(bad), Err(Error::Invalid { .. })));
        }
    }
}
