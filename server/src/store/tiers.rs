//! History tiers: raw samples are rolled up into 5-minute, hourly and daily buckets that keep
//! the average, minimum and maximum, and each tier is trimmed to its retention.
//!
//! Every step is small (a bounded number of buckets or rows) so it can run on the writer
//! thread between poll rounds without holding them up. A rollup writes its buckets and moves
//! its watermark in the same transaction, and rewrites buckets with `INSERT OR REPLACE`, so a
//! crash or restart in the middle leaves no bucket missing or doubled.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use super::query::all;
use crate::model::{HistoryPoint, Retention, Tier};

/// The table a tier's rows live in.
fn table(tier: Tier) -> &'static str {
    match tier {
        Tier::Raw => "stats",
        Tier::FiveMinutes => "stats_5m",
        Tier::Hour => "stats_1h",
        Tier::Day => "stats_1d",
    }
}

/// Rollup columns, from raw `stats` (scaled to integers) or from a finer tier.
const FROM_RAW: &str = "count(*),
    round(avg(cpu_percent) * 10), round(min(cpu_percent) * 10), round(max(cpu_percent) * 10),
    round(avg(memory_percent) * 10), round(min(memory_percent) * 10), round(max(memory_percent) * 10),
    round(avg(disk_percent) * 10), round(min(disk_percent) * 10), round(max(disk_percent) * 10),
    round(avg(memory_used)), max(memory_total), round(avg(disk_used)), max(disk_total),
    round(avg(network_sent_per_sec)), round(max(network_sent_per_sec)),
    round(avg(network_recv_per_sec)), round(max(network_recv_per_sec)),
    round(avg(temperature) * 10), round(min(temperature) * 10), round(max(temperature) * 10),
    round(avg(load_1) * 100), round(avg(swap_percent) * 10),
    round(avg(disk_read_per_sec)), round(avg(disk_write_per_sec))";

/// Averages weighted by each bucket's sample count; NULLs (no sensor) stay out of both sums.
const FROM_TIER: &str = "sum(samples),
    round(sum(cpu_avg * samples) * 1.0 / sum(samples)), min(cpu_min), max(cpu_max),
    round(sum(mem_avg * samples) * 1.0 / sum(samples)), min(mem_min), max(mem_max),
    round(sum(disk_avg * samples) * 1.0 / sum(samples)), min(disk_min), max(disk_max),
    round(sum(mem_used * samples) * 1.0 / sum(samples)), max(mem_total),
    round(sum(disk_used * samples) * 1.0 / sum(samples)), max(disk_total),
    round(sum(sent_avg * samples) * 1.0 / sum(samples)), max(sent_max),
    round(sum(recv_avg * samples) * 1.0 / sum(samples)), max(recv_max),
    round(sum(temp_avg * samples) * 1.0 / sum(CASE WHEN temp_avg IS NULL THEN 0 ELSE samples END)), min(temp_min), max(temp_max),
    round(sum(load_avg * samples) * 1.0 / sum(CASE WHEN load_avg IS NULL THEN 0 ELSE samples END)),
    round(sum(swap_avg * samples) * 1.0 / sum(CASE WHEN swap_avg IS NULL THEN 0 ELSE samples END)),
    round(sum(read_avg * samples) * 1.0 / sum(CASE WHEN read_avg IS NULL THEN 0 ELSE samples END)),
    round(sum(write_avg * samples) * 1.0 / sum(CASE WHEN write_avg IS NULL THEN 0 ELSE samples END))";

const TIER_COLUMNS: &str =
    "computer_id, bucket, samples, cpu_avg, cpu_min, cpu_max, mem_avg, mem_min, mem_max,
    disk_avg, disk_min, disk_max, mem_used, mem_total, disk_used, disk_total,
    sent_avg, sent_max, recv_avg, recv_max, temp_avg, temp_min, temp_max,
    load_avg, swap_avg, read_avg, write_avg";

/// Buckets the server rolls up per step: an hour of 5-minute buckets, a short transaction.
pub const BUCKETS_PER_STEP: i64 = 12;
/// Rows deleted per step at most.
const DELETE_PER_STEP: i64 = 5_000;

/// The end of what `tier` has rolled up: every bucket before it is final.
pub fn watermark(conn: &Connection, tier: Tier) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT done_until FROM rollup_state WHERE tier = ?1",
            [tier.name()],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}

fn set_watermark(conn: &Connection, tier: Tier, t: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO rollup_state (tier, done_until) VALUES (?1, ?2)",
        params![tier.name(), t],
    )?;
    Ok(())
}

/// Rolls up at most `max_buckets` buckets of `tier` that are complete by `now` (after `grace`
/// seconds for late samples). Returns how many buckets it covered; 0 when caught up.
pub fn rollup_step(
    conn: &Connection,
    tier: Tier,
    now: i64,
    grace: i64,
    max_buckets: i64,
) -> Result<i64> {
    let w = tier.width();
    assert!(w > 0, "raw samples are not rolled up");
    let src = tier.source();
    // Only what the source tier holds as final may be rolled up.
    let limit = match src {
        Tier::Raw => now - grace,
        _ => match watermark(conn, src)? {
            Some(t) => t,
            None => return Ok(0),
        },
    };
    let end_all = limit.div_euclid(w) * w;
    let start = match watermark(conn, tier)? {
        Some(t) => t,
        None => {
            // First run: start at the oldest data the source holds, or now.
            let oldest: Option<i64> = match src {
                Tier::Raw => {
                    conn.query_row("SELECT min(timestamp) FROM stats", [], |r| r.get(0))?
                }
                _ => conn.query_row(
                    &format!("SELECT min(bucket) FROM {}", table(src)),
                    [],
                    |r| r.get(0),
                )?,
            };
            let t = oldest.unwrap_or(end_all).min(end_all).div_euclid(w) * w;
            set_watermark(conn, tier, t)?;
            t
        }
    };
    if start >= end_all {
        return Ok(0);
    }
    let end = end_all.min(start + max_buckets.max(1) * w);
    let sql = rollup_sql(tier, "computer_id IN (SELECT id FROM computers)");
    conn.execute(&sql, params![start, end])?;
    set_watermark(conn, tier, end)?;
    Ok((end - start) / w)
}

/// The statement that rolls `tier`'s source up into `tier` for the buckets from `?1` to before
/// `?2`, of the computers `which` selects.
fn rollup_sql(tier: Tier, which: &str) -> String {
    let w = tier.width();
    let src = tier.source();
    let (select, time_col) = match src {
        Tier::Raw => (FROM_RAW, "timestamp"),
        _ => (FROM_TIER, "bucket"),
    };
    format!(
        "INSERT OR REPLACE INTO {} ({TIER_COLUMNS})
         SELECT computer_id, ({time_col} / {w}) * {w} AS b, {select}
         FROM {} WHERE {which} AND {time_col} >= ?1 AND {time_col} < ?2
         GROUP BY computer_id, b",
        table(tier),
        table(src)
    )
}

/// Rolls up again, in every tier, the buckets of `computer_id` that hold `from..=to` and were
/// rolled up already, so that samples stored late (a backfill) count in them. Buckets past a
/// tier's watermark are left to the rollup, which will take the new samples in.
pub fn reroll(conn: &Connection, computer_id: i64, from: i64, to: i64) -> Result<()> {
    for tier in Tier::ROLLUPS {
        let Some(done) = watermark(conn, tier)? else {
            continue;
        };
        let w = tier.width();
        let start = from.div_euclid(w) * w;
        let end = ((to.div_euclid(w) + 1) * w).min(done);
        if start >= end {
            continue;
        }
        let sql = rollup_sql(tier, "computer_id = ?3");
        conn.execute(&sql, params![start, end, computer_id])?;
    }
    Ok(())
}

/// Deletes at most a batch of rows of `tier` older than its retention, never rows not yet
/// rolled up into the next tier. Returns the rows deleted.
pub fn trim_step(conn: &Connection, tier: Tier, now: i64, retention: &Retention) -> Result<usize> {
    let mut cutoff = now - retention.of(tier);
    let next = tier.next();
    if let Some(next) = next {
        cutoff = cutoff.min(watermark(conn, next)?.unwrap_or(i64::MIN));
    }
    // Per computer, so each delete is a range of the (computer_id, time) key, not a scan.
    let (table, time_col) = match tier {
        Tier::Raw => ("stats", "timestamp"),
        _ => (table(tier), "bucket"),
    };
    let ids: Vec<i64> = {
        let mut st = conn.prepare_cached("SELECT id FROM computers ORDER BY id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    // At most a batch per computer: the cut moves to the batch's last row when it is nearer.
    let mut del = conn.prepare_cached(&format!(
        "DELETE FROM {table} WHERE computer_id = ?1 AND {time_col} < ?2 AND {time_col} <= coalesce(
            (SELECT {time_col} FROM {table} WHERE computer_id = ?1 AND {time_col} < ?2
             ORDER BY {time_col} LIMIT 1 OFFSET ?3), ?2)"
    ))?;
    let mut n = 0;
    for id in ids {
        n += del.execute(params![id, cutoff, DELETE_PER_STEP - 1])?;
        if n as i64 >= DELETE_PER_STEP {
            break;
        }
    }
    Ok(n)
}

/// Returns free pages to the OS a few at a time once there are many of them.
pub fn vacuum_step(conn: &Connection) -> Result<i64> {
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let total: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if free < 256 || free * 10 < total {
        return Ok(0);
    }
    let n = free.min(1024);
    conn.query_row(&format!("PRAGMA incremental_vacuum({n})"), [], |_| Ok(()))
        .optional()?;
    Ok(n)
}

/// Deletes a computer's rolled-up history.
pub fn delete_for(conn: &Connection, computer_id: i64) -> Result<()> {
    for t in Tier::ROLLUPS {
        conn.execute(
            &format!("DELETE FROM {} WHERE computer_id = ?1", table(t)),
            [computer_id],
        )?;
    }
    Ok(())
}

/// What a chart reads: one computer's points in `[from, to)`, each `step` seconds wide
/// (buckets start at multiples of `step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub computer_id: i64,
    pub from: i64,
    pub to: i64,
    pub step: i64,
}

/// A chart point's columns from raw `stats`, in the order of [`FROM_TIER`], unscaled.
const RAW_POINT: &str = "count(*),
    avg(cpu_percent), min(cpu_percent), max(cpu_percent),
    avg(memory_percent), min(memory_percent), max(memory_percent),
    avg(disk_percent), min(disk_percent), max(disk_percent),
    avg(memory_used), max(memory_total), avg(disk_used), max(disk_total),
    avg(network_sent_per_sec), max(network_sent_per_sec),
    avg(network_recv_per_sec), max(network_recv_per_sec),
    avg(temperature), min(temperature), max(temperature),
    avg(load_1), avg(swap_percent), avg(disk_read_per_sec), avg(disk_write_per_sec)";

/// `tier`'s rows in the span merged into its points. Raw samples are averaged as they are;
/// a rollup's scaled integers are turned back into percents, degrees and loads.
pub fn history(conn: &Connection, tier: Tier, span: Span) -> Result<Vec<HistoryPoint>> {
    let step = span.step.max(tier.width()).max(1);
    let (select, time_col, scale) = match tier {
        Tier::Raw => (RAW_POINT, "timestamp", (1.0, 1.0)),
        _ => (FROM_TIER, "bucket", (10.0, 100.0)),
    };
    let sql = format!(
        "SELECT ({time_col} / ?4) * ?4 AS b, {select}
         FROM {} WHERE computer_id = ?1 AND {time_col} >= ?2 AND {time_col} < ?3
         GROUP BY b ORDER BY b",
        table(tier)
    );
    let (tenths, hundredths) = scale;
    all(
        conn,
        &sql,
        params![span.computer_id, span.from, span.to, step],
        |r| {
            let f = |i: usize| r.get::<_, Option<f64>>(i);
            let tenth = |i: usize| Ok::<_, rusqlite::Error>(f(i)?.map(|x| x / tenths));
            Ok(HistoryPoint {
                timestamp: r.get(0)?,
                samples: r.get(1)?,
                cpu_percent: tenth(2)?,
                cpu_percent_min: tenth(3)?,
                cpu_percent_max: tenth(4)?,
                memory_percent: tenth(5)?,
                memory_percent_min: tenth(6)?,
                memory_percent_max: tenth(7)?,
                disk_percent: tenth(8)?,
                disk_percent_min: tenth(9)?,
                disk_percent_max: tenth(10)?,
                memory_used: f(11)?,
                memory_total: f(12)?,
                disk_used: f(13)?,
                disk_total: f(14)?,
                network_sent_per_sec: f(15)?,
                network_sent_per_sec_max: f(16)?,
                network_recv_per_sec: f(17)?,
                network_recv_per_sec_max: f(18)?,
                temperature: tenth(19)?,
                temperature_min: tenth(20)?,
                temperature_max: tenth(21)?,
                load_1: f(22)?.map(|x| x / hundredths),
                swap_percent: tenth(23)?,
                disk_read_per_sec: f(24)?,
                disk_write_per_sec: f(25)?,
            })
        },
    )
}

/// Points of `[from, to)` read from `tier` as far as it has rolled up, then from each finer
/// tier in turn for what it has not, and raw samples for the last minutes. Each stretch is
/// short, so a chart reads few rows whatever the tier; a bucket split between two tiers is
/// merged back into one point.
pub fn history_across(conn: &Connection, tier: Tier, span: Span) -> Result<Vec<HistoryPoint>> {
    let chain: Vec<Tier> = Tier::ALL
        .into_iter()
        .rev()
        .skip_while(|t| *t != tier)
        .collect();
    let mut points = Vec::new();
    let mut start = span.from;
    for t in chain {
        let end = match t {
            Tier::Raw => span.to,
            _ => watermark(conn, t)?.unwrap_or(start).clamp(start, span.to),
        };
        if end > start {
            let part = Span {
                from: start,
                to: end,
                ..span
            };
            points.extend(history(conn, t, part)?);
        }
        start = start.max(end);
    }
    Ok(super::stats::merge_split_buckets(points))
}

/// Rows per tier, for the server's own metrics.
pub fn row_counts(conn: &Connection) -> Result<Vec<(Tier, i64)>> {
    let count = |t: Tier| -> Result<i64> {
        Ok(
            conn.query_row(&format!("SELECT count(*) FROM {}", table(t)), [], |r| {
                r.get(0)
            })?,
        )
    };
    Tier::ALL.iter().map(|t| Ok((*t, count(*t)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    use crate::store::stats;

    fn db() -> Connection {
        let c = crate::store::test_db();
        c.execute("INSERT INTO computers (id, name, url, token) VALUES (1, 'a', 'http://a', 't'), (2, 'b', 'http://b', 't')", [])
            .unwrap();
        c
    }

    fn sample(id: i64, t: i64, cpu: f64) -> Sample {
        Sample {
            computer_id: id,
            timestamp: t,
            cpu_percent: cpu,
            memory_percent: cpu / 2.0,
            network_sent_per_sec: cpu * 100.0,
            temperature: (id == 1).then_some(40.0 + cpu / 10.0),
            ..Sample::default()
        }
    }

    fn catch_up(c: &Connection, tier: Tier, now: i64) {
        while rollup_step(c, tier, now, 0, BUCKETS_PER_STEP).unwrap() > 0 {}
    }

    fn tier_rows(c: &Connection, table: &str) -> Vec<(i64, i64, i64, i64, i64, i64)> {
        let mut st = c.prepare(&format!("SELECT computer_id, bucket, samples, cpu_avg, cpu_min, cpu_max FROM {table} ORDER BY 1, 2")).unwrap();
        st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    #[test]
    fn five_minute_buckets_keep_avg_min_max_and_respect_edges() {
        let c = db();
        // Bucket [3000, 3300): samples at its first and last second; 3300 opens the next.
        for (t, cpu) in [(3000, 10.0), (3150, 20.0), (3299, 60.0), (3300, 90.0)] {
            stats::insert(&c, &sample(1, t, cpu)).unwrap();
        }
        stats::insert(&c, &sample(2, 3100, 5.0)).unwrap();
        catch_up(&c, Tier::FiveMinutes, 3600);
        let rows = tier_rows(&c, "stats_5m");
        assert_eq!(
            rows,
            vec![
                (1, 3000, 3, 300, 100, 600),
                (1, 3300, 1, 900, 900, 900),
                (2, 3000, 1, 50, 50, 50)
            ]
        );
    }

    /// One rollup step of `tier` at `now` with `grace`; the buckets it wrote.
    fn step(c: &Connection, tier: Tier, now: i64, grace: i64) -> i64 {
        rollup_step(c, tier, now, grace, BUCKETS_PER_STEP).unwrap()
    }

    #[test]
    fn incomplete_buckets_wait() {
        let c = db();
        stats::insert(&c, &sample(1, 3000, 10.0)).unwrap();
        assert_eq!(step(&c, Tier::FiveMinutes, 3299, 0), 0);
        assert!(tier_rows(&c, "stats_5m").is_empty());
        // With a grace period, a just-finished bucket also waits for late samples.
        assert_eq!(step(&c, Tier::FiveMinutes, 3310, 30), 0);
        assert_eq!(step(&c, Tier::FiveMinutes, 3330, 30), 1);
    }

    #[test]
    fn hourly_buckets_weight_by_sample_count() {
        let c = db();
        // 3 samples at 10 % in one 5-minute bucket, 1 at 50 % in another: the hour is 20 %.
        for t in [0, 60, 120] {
            stats::insert(&c, &sample(1, t, 10.0)).unwrap();
        }
        stats::insert(&c, &sample(1, 600, 50.0)).unwrap();
        catch_up(&c, Tier::FiveMinutes, 4000);
        catch_up(&c, Tier::Hour, 4000);
        assert_eq!(tier_rows(&c, "stats_1h"), vec![(1, 0, 4, 200, 100, 500)]);
        let span = |computer_id| Span {
            computer_id,
            from: 0,
            to: 3600,
            step: 3600,
        };
        let h = history(&c, Tier::Hour, span(1)).unwrap();
        assert_eq!(h[0].cpu_percent, Some(20.0));
        assert_eq!(h[0].temperature_max, Some(45.0));
        let other = history(&c, Tier::Hour, span(2)).unwrap();
        assert!(other.is_empty());
    }

    #[test]
    fn days_roll_up_from_hours_weighted_by_samples() {
        let c = db();
        // 10 % for the first hour (one sample), 50 % through the next 23 hours (23 samples).
        stats::insert(&c, &sample(1, 0, 10.0)).unwrap();
        for h in 1..24 {
            stats::insert(&c, &sample(1, h * 3600, 50.0)).unwrap();
        }
        for tier in Tier::ROLLUPS {
            catch_up(&c, tier, 2 * 86_400);
        }
        let rows = tier_rows(&c, "stats_1d");
        assert_eq!(rows, vec![(1, 0, 24, 483, 100, 500)]);
        let day = Span {
            computer_id: 1,
            from: 0,
            to: 86_400,
            step: 86_400,
        };
        let h = history(&c, Tier::Day, day).unwrap();
        assert_eq!(h[0].cpu_percent, Some(48.3));
    }

    #[test]
    fn hours_wait_for_their_five_minute_buckets() {
        let c = db();
        stats::insert(&c, &sample(1, 100, 10.0)).unwrap();
        // The 5-minute tier has not run: the hour tier must not roll up an empty hour.
        assert_eq!(step(&c, Tier::Hour, 100_000, 0), 0);
        catch_up(&c, Tier::FiveMinutes, 100_000);
        catch_up(&c, Tier::Hour, 100_000);
        assert_eq!(tier_rows(&c, "stats_1h").len(), 1);
    }

    #[test]
    fn a_repeated_or_interrupted_rollup_leaves_no_duplicate_or_missing_bucket() {
        let c = db();
        for t in (0..7200).step_by(30) {
            stats::insert(&c, &sample(1, t, (t % 100) as f64)).unwrap();
        }
        // An interrupted step is a rolled-back transaction: the watermark did not move.
        c.execute_batch("BEGIN").unwrap();
        step(&c, Tier::FiveMinutes, 7200, 0);
        c.execute_batch("ROLLBACK").unwrap();
        assert!(tier_rows(&c, "stats_5m").is_empty());
        catch_up(&c, Tier::FiveMinutes, 7200);
        let once = tier_rows(&c, "stats_5m");
        assert_eq!(once.len(), 24);
        assert!(once.iter().all(|r| r.2 == 10));
        // Running a step over already rolled buckets again rewrites them, never doubles them.
        c.execute(
            "UPDATE rollup_state SET done_until = 0 WHERE tier = '5m'",
            [],
        )
        .unwrap();
        catch_up(&c, Tier::FiveMinutes, 7200);
        assert_eq!(tier_rows(&c, "stats_5m"), once);
    }

    #[test]
    fn retention_deletes_exactly_what_is_past_its_age() {
        let c = db();
        let day = 86_400;
        let now = 10 * day;
        for t in (0..now).step_by(600) {
            stats::insert(&c, &sample(1, t, 1.0)).unwrap();
        }
        for tier in Tier::ROLLUPS {
            catch_up(&c, tier, now);
        }
        let r = Retention {
            raw: 2 * day,
            five_minutes: 5 * day,
            hour: 8 * day,
            day: 9 * day,
        };
        for tier in Tier::ALL {
            while trim_step(&c, tier, now, &r).unwrap() > 0 {}
        }
        let min = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(min("SELECT min(timestamp) FROM stats"), now - 2 * day);
        assert_eq!(min("SELECT min(bucket) FROM stats_5m"), now - 5 * day);
        assert_eq!(min("SELECT min(bucket) FROM stats_1h"), now - 8 * day);
        assert_eq!(min("SELECT min(bucket) FROM stats_1d"), now - 9 * day);
        assert_eq!(min("SELECT count(*) FROM stats_1d"), 9);
        assert_eq!(min("SELECT max(timestamp) FROM stats"), now - 600);
    }

    #[test]
    fn raw_rows_not_yet_rolled_up_are_kept() {
        let c = db();
        for t in (0..10_000).step_by(60) {
            stats::insert(&c, &sample(1, t, 1.0)).unwrap();
        }
        let r = Retention {
            raw: 1000,
            five_minutes: 1_000_000,
            hour: 1_000_000,
            day: 1_000_000,
        };
        while trim_step(&c, Tier::Raw, 10_000, &r).unwrap() > 0 {}
        let n: i64 = c
            .query_row("SELECT count(*) FROM stats", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 167, "nothing rolled up yet, so nothing deleted");
    }

    #[test]
    fn vacuum_only_acts_on_many_free_pages() {
        let c = db();
        assert_eq!(vacuum_step(&c).unwrap(), 0);
    }

    #[test]
    fn a_backfill_rerolls_every_bucket_it_touches_in_every_tier() {
        const DAY: i64 = 86_400;
        let now = 3 * DAY;
        let every = |t: &i64| t % 60 == 0;
        let all: Vec<Sample> = (0..now)
            .filter(every)
            .map(|t| sample(1, t, (t % 97) as f64))
            .collect();
        let (gap_from, gap_to) = (DAY - 1800, DAY + 5400);
        let in_gap = |s: &Sample| (gap_from..gap_to).contains(&s.timestamp);
        // Rolled up with the outage missing, then the outage filled in.
        let late = db();
        for s in all.iter().filter(|s| !in_gap(s)) {
            stats::insert(&late, s).unwrap();
        }
        for tier in Tier::ROLLUPS {
            catch_up(&late, tier, now);
        }
        let missing: Vec<Sample> = all.iter().filter(|s| in_gap(s)).cloned().collect();
        // Sent twice, as an interrupted backfill asks again: stored once.
        assert_eq!(stats::insert_new(&late, &missing).unwrap(), missing.len());
        assert_eq!(stats::insert_new(&late, &missing).unwrap(), 0);
        reroll(&late, 1, gap_from, gap_to - 1).unwrap();
        // Every sample there from the start.
        let whole = db();
        for s in &all {
            stats::insert(&whole, s).unwrap();
        }
        for tier in Tier::ROLLUPS {
            catch_up(&whole, tier, now);
        }
        for table in ["stats_5m", "stats_1h", "stats_1d"] {
            assert_eq!(tier_rows(&late, table), tier_rows(&whole, table), "{table}");
        }
        let raw: i64 = late
            .query_row("SELECT count(*) FROM stats", [], |r| r.get(0))
            .unwrap();
        assert_eq!(raw, all.len() as i64, "no duplicate");
    }

    #[test]
    fn a_reroll_leaves_buckets_not_rolled_up_yet_and_other_computers_alone() {
        let c = db();
        for t in (0..3600).step_by(60) {
            stats::insert(&c, &sample(1, t, 10.0)).unwrap();
            stats::insert(&c, &sample(2, t, 20.0)).unwrap();
        }
        catch_up(&c, Tier::FiveMinutes, 1800);
        let before = tier_rows(&c, "stats_5m");
        stats::insert_new(&c, &[sample(1, 1830, 90.0), sample(2, 30, 90.0)]).unwrap();
        reroll(&c, 1, 1830, 1830).unwrap();
        assert_eq!(
            tier_rows(&c, "stats_5m"),
            before,
            "past the watermark, and computer 2"
        );
        assert_eq!(watermark(&c, Tier::FiveMinutes).unwrap(), Some(1800));
    }
}
