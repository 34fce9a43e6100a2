//! Latest figures and history for charts: `/api/stats`, `/api/history`, `/api/network_graph`.

use lanstat_http::{Response, StatusCode};
use serde::Serialize;

use super::{ApiError, Call};
use crate::model::{HistoryPoint, Retention, Tier};
use crate::store;
use crate::{App, clock};

/// Points per series a chart gets at most (gap markers aside).
pub const MAX_POINTS: i64 = 500;

/// A time window to chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub name: String,
    pub from: i64,
    pub to: i64,
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

/// Reads `range=24h`, or `from=…&to=…` (unix seconds), or the original's `hours=N`.
pub fn window(call: &Call, now: i64, default: &str) -> Result<Window, ApiError> {
    let q = &call.query;
    let num = |k: &str| -> Result<Option<i64>, ApiError> {
        q.get(k)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::Invalid(k.into(), format!("{k} must be unix seconds")))
            })
            .transpose()
    };
    if q.contains_key("from") || q.contains_key("to") {
        let to = num("to")?.unwrap_or(now);
        let from = num("from")?.ok_or_else(|| {
            ApiError::Invalid(
                "from".into(),
                "give from (and optionally to) in unix seconds".into(),
            )
        })?;
        if from >= to {
            return Err(ApiError::Invalid(
                "from".into(),
                "from must be before to".into(),
            ));
        }
        if to - from > 5 * 366 * 86_400 || from < 0 {
            return Err(ApiError::Invalid(
                "from".into(),
                "the window must lie within five years".into(),
            ));
        }
        return Ok(Window {
            name: "custom".into(),
            from,
            to,
        });
    }
    if let Some(h) = q.get("hours") {
        let hours: i64 = h
            .trim()
            .parse()
            .ok()
            .filter(|h| (1..=24 * 366).contains(h))
            .ok_or_else(|| {
                ApiError::Invalid(
                    "hours".into(),
                    "hours must be a whole number from 1 to 8784".into(),
                )
            })?;
        return Ok(Window {
            name: format!("{hours}h"),
            from: now - hours * 3600,
            to: now + 1,
        });
    }
    let name = q.get("range").map(|s| s.as_str()).unwrap_or(default);
    let secs = RANGES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            let names: Vec<&str> = RANGES.iter().map(|(n, _)| *n).collect();
            ApiError::Invalid(
                "range".into(),
                format!("range must be one of {}", names.join(", ")),
            )
        })?;
    Ok(Window {
        name: name.to_string(),
        from: now - secs,
        to: now + 1,
    })
}

/// Rows a chart query may scan per host in the tier it reads, at most: each costs a few
/// microseconds of aggregation, and a chart must come back in a few milliseconds.
const MAX_SCAN: i64 = 4_000;

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

/// A window's points, from the right tier, with gaps marked.
pub fn points(app: &App, id: i64, w: &Window) -> Result<(Tier, i64, Vec<HistoryPoint>), ApiError> {
    let interval = app.config.poll_interval.as_secs() as i64;
    let tier = tier_for(w, app.clock.now(), interval, &app.config.retention);
    let resolution = if tier == Tier::Raw {
        interval
    } else {
        tier.width()
    };
    let step = step_for(w, resolution);
    let (from, to) = (w.from - w.from.rem_euclid(step), w.to);
    let pts = app
        .store
        .read(|c| store::tiers::history_across(c, tier, id, from, to, step))?;
    // A missed poll or two is noise; longer silences are outages and show as gaps.
    Ok((
        tier,
        step,
        store::stats::mark_gaps(pts, step, 2 * step + resolution),
    ))
}

fn exists(app: &App, id: i64) -> Result<(), ApiError> {
    let c = app
        .store
        .read(|c| store::computers::get(c, id))
        .map_err(|e| match e {
            store::StoreError::NotFound => ApiError::NotFound(format!("no computer with id {id}")),
            e => e.into(),
        })?;
    if c.kind == store::Kind::Local && !app.config.local {
        return Err(ApiError::NotFound(format!("no computer with id {id}")));
    }
    Ok(())
}

/// `GET /api/stats/<id>`: the newest sample (the original's columns and ours) with the
/// agent's full answer under `detail` (every disk, interface and sensor).
pub fn latest(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    exists(app, id)?;
    let live = app.live.get(id);
    let sample = match &live {
        Some(l) => Some((*l.sample).clone()),
        None => app.store.read(|c| store::stats::latest(c, id))?,
    };
    let Some(sample) = sample else {
        return Err(ApiError::NotFound(
            "no figures yet for this computer; wait for the first poll".into(),
        ));
    };
    let mut body = serde_json::to_value(&sample).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["detail"] = match &live {
        Some(l) => serde_json::to_value(&*l.info).unwrap_or(serde_json::Value::Null),
        None => serde_json::Value::Null,
    };
    Ok(Response::json(StatusCode::OK, &body))
}

/// `GET /api/history/<id>?range=24h`: bucketed averages (with min/max) for every chart.
pub fn history(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    chart(app, call, |points| Points { points })
}

#[derive(Serialize)]
struct Points {
    points: Vec<HistoryPoint>,
}

/// `GET /api/network_graph/<id>`: the original 24-hour network chart's data, sent and
/// received per second on one time axis (`range` and `from`/`to` work here too).
pub fn network_graph(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    chart(app, call, |pts| {
        let column = |f: fn(&HistoryPoint) -> Option<f64>| pts.iter().map(f).collect();
        NetworkSeries {
            labels: pts.iter().map(|p| clock::iso8601(p.timestamp)).collect(),
            timestamps: pts.iter().map(|p| p.timestamp).collect(),
            sent: column(|p| p.network_sent_per_sec),
            recv: column(|p| p.network_recv_per_sec),
            sent_max: column(|p| p.network_sent_per_sec_max),
            recv_max: column(|p| p.network_recv_per_sec_max),
        }
    })
}

/// The original's `labels`, `sent` and `recv`, and ours.
#[derive(Serialize)]
struct NetworkSeries {
    labels: Vec<String>,
    timestamps: Vec<i64>,
    sent: Vec<Option<f64>>,
    recv: Vec<Option<f64>>,
    sent_max: Vec<Option<f64>>,
    recv_max: Vec<Option<f64>>,
}

/// A chart's answer: the window and tier it covers, then its data's own fields.
#[derive(Serialize)]
struct Chart<'a, D> {
    computer_id: i64,
    range: &'a str,
    from: i64,
    to: i64,
    step: i64,
    tier: &'static str,
    #[serde(flatten)]
    data: D,
}

/// Answers a chart request with `data` made from the window's points, written straight to
/// JSON: a chart's 500 points go through no intermediate `Value`.
fn chart<D: Serialize>(
    app: &App,
    call: &mut Call,
    data: impl FnOnce(Vec<HistoryPoint>) -> D,
) -> Result<Response, ApiError> {
    let id = call.id();
    exists(app, id)?;
    let w = window(call, app.clock.now(), "24h")?;
    let (tier, step, pts) = points(app, id, &w)?;
    let body = Chart {
        computer_id: id,
        range: &w.name,
        from: w.from,
        to: w.to,
        step,
        tier: tier.name(),
        data: data(pts),
    };
    Ok(Response::json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
