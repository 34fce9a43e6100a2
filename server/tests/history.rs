//! History through the API on a backfilled year: each range reads the right tier, stays
//! under the point cap, and shows outages as gaps.

mod util;

use lanstat_server::model::NewComputer;
use lanstat_server::model::Retention;
use lanstat_server::sim::{self, Profile};
use lanstat_server::store::{self, Durability, Store};
use util::*;

const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A database with one host and `days` of history, plus outages: two hours this morning and
/// a whole day ten days ago.
fn backfilled(days: i64) -> (TempDir, i64, i64) {
    let dir = TempDir::new("history");
    let store = Store::open(&dir.join("stats.db")).unwrap();
    let mut input = NewComputer::new("sim", "http://127.0.0.1:1", "0123456789abcdef").unwrap();
    input.enabled = false;
    let t = now();
    let id = store
        .write(Durability::Durable, move |tx| {
            store::computers::add(tx, &input, t)
        })
        .unwrap()
        .id;
    sim::backfill(
        &store,
        &[(id, Profile::new(3))],
        days,
        t,
        30,
        Retention::default(),
    )
    .unwrap();
    let (a, b) = (t - 12 * 3600, t - 10 * 3600);
    let (c, d) = (t - 10 * DAY, t - 9 * DAY);
    store
        .write(Durability::Relaxed, move |tx| {
            tx.execute(
                "DELETE FROM stats WHERE timestamp >= ?1 AND timestamp < ?2",
                [a, b],
            )?;
            tx.execute(
                "DELETE FROM stats_5m WHERE bucket >= ?1 AND bucket < ?2",
                [c, d],
            )?;
            tx.execute(
                "DELETE FROM stats_1h WHERE bucket >= ?1 AND bucket < ?2",
                [c, d],
            )?;
            Ok(())
        })
        .unwrap();
    store.close();
    (dir, id, t)
}

#[test]
fn every_range_reads_its_tier_under_the_point_cap_with_gaps() {
    // `b` is when the outages were cut, `t` when the ranges are asked for.
    let (dir, id, b) = backfilled(370);
    let s = Server::start_in(dir, &["--no-local", "--poll-interval", "30"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let t = now();
    for (range, tier, span) in [
        ("1h", "raw", 3600),
        ("24h", "raw", DAY),
        ("7d", "5m", 7 * DAY),
        ("30d", "1h", 30 * DAY),
        ("1y", "1d", 365 * DAY),
    ] {
        let h = c.get(&format!("/api/history/{id}?range={range}")).json();
        assert_eq!(h["tier"], tier, "{range}");
        let pts = h["points"].as_array().unwrap();
        assert!(pts.len() <= 501, "{range}: {} points", pts.len());
        assert!(
            pts.len() >= 100 || range == "1h",
            "{range}: only {} points",
            pts.len()
        );
        let first = pts[0]["timestamp"].as_i64().unwrap();
        assert!(
            first <= t - span + 2 * h["step"].as_i64().unwrap(),
            "{range} starts late: {first}"
        );
        let last = pts.last().unwrap()["timestamp"].as_i64().unwrap();
        let step = h["step"].as_i64().unwrap();
        assert!(
            last >= t - step - 3 * 3600,
            "{range} ends early: {} s ago",
            t - last
        );
        assert!(
            pts.iter().filter(|p| p["cpu_percent"].is_f64()).all(|p| {
                let (lo, avg, hi) = (
                    p["cpu_percent_min"].as_f64().unwrap(),
                    p["cpu_percent"].as_f64().unwrap(),
                    p["cpu_percent_max"].as_f64().unwrap(),
                );
                lo <= avg + 0.05 && avg <= hi + 0.05
            }),
            "{range}: avg outside min..max"
        );
        let g = c
            .get(&format!("/api/network_graph/{id}?range={range}"))
            .json();
        assert_eq!(g["tier"], tier);
        assert!(g["sent"].as_array().unwrap().len() <= 501);
    }
    // The two-hour outage shows as a gap in the 24-hour chart...
    let h = c.get(&format!("/api/history/{id}?range=24h")).json();
    let gaps: Vec<i64> = h["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["cpu_percent"].is_null())
        .map(|p| p["timestamp"].as_i64().unwrap())
        .collect();
    assert!(
        gaps.iter()
            .any(|g| (b - 12 * 3600 - 600..b - 10 * 3600).contains(g)),
        "no gap in the outage: {gaps:?}"
    );
    let inside = |p: &&serde_json::Value| {
        (b - 12 * 3600 + 600..b - 10 * 3600 - 600).contains(&p["timestamp"].as_i64().unwrap())
    };
    assert!(
        !h["points"]
            .as_array()
            .unwrap()
            .iter()
            .filter(inside)
            .any(|p| p["cpu_percent"].is_f64())
    );
    // ...and the lost day ten days ago in the 30-day chart, with no line drawn across it.
    let h = c.get(&format!("/api/history/{id}?range=30d")).json();
    let pts = h["points"].as_array().unwrap();
    // A point averages [timestamp, timestamp + step): only those wholly inside the lost day
    // must be empty.
    let step = h["step"].as_i64().unwrap();
    assert!(pts.iter().any(|p| p["cpu_percent"].is_null()
        && (b - 10 * DAY - 6 * 3600..b - 9 * DAY).contains(&p["timestamp"].as_i64().unwrap())));
    assert!(!pts.iter().any(|p| p["cpu_percent"].is_f64()
        && (b - 10 * DAY + 3600..b - 9 * DAY - step).contains(&p["timestamp"].as_i64().unwrap())));
    // A drag-zoom into an hour three weeks ago gets 5-minute buckets; into last spring, hourly.
    for ((from, to), tier, points) in [
        ((t - 21 * DAY, t - 21 * DAY + 3600), "5m", 12..=13),
        ((t - 200 * DAY, t - 199 * DAY), "1h", 24..=25),
    ] {
        let h = c
            .get(&format!("/api/history/{id}?from={from}&to={to}"))
            .json();
        assert_eq!(h["tier"], tier, "{from}..{to}");
        assert!(
            points.contains(&h["points"].as_array().unwrap().len()),
            "{h}"
        );
    }
}

#[test]
fn retention_keeps_the_database_bounded() {
    let (dir, _, _) = backfilled(400);
    let conn = rusqlite::Connection::open(dir.join("stats.db")).unwrap();
    let t = now();
    let oldest = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert!(oldest("SELECT min(timestamp) FROM stats") >= t - 2 * DAY - 3600);
    assert!(oldest("SELECT min(bucket) FROM stats_5m") >= t - 30 * DAY - 3600);
    assert!(oldest("SELECT min(bucket) FROM stats_1h") >= t - 365 * DAY - 3600);
    let auto_vacuum: i64 = oldest("PRAGMA auto_vacuum");
    assert_eq!(
        auto_vacuum, 2,
        "new databases hand freed pages back incrementally"
    );
}
