//! Samples: one row per successful poll in `stats`, and history read back in buckets so a
//! chart never gets more points than it can draw.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Result;
use crate::model::{HistoryPoint, Sample};

const COLUMNS: &str =
    "computer_id, timestamp, cpu_percent, memory_total, memory_used, memory_percent,
    disk_total, disk_used, disk_percent, network_bytes_sent, network_bytes_recv,
    network_sent_per_sec, network_recv_per_sec, swap_percent, load_1, temperature,
    disk_read_per_sec, disk_write_per_sec, uptime_secs, agent_sent_per_sec, agent_recv_per_sec";

pub fn insert(conn: &Connection, s: &Sample) -> Result<()> {
    let mut st = conn.prepare_cached(&format!(
        "INSERT INTO stats ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    ))?;
    st.execute(params![
        s.computer_id,
        s.timestamp,
        s.cpu_percent,
        s.memory_total,
        s.memory_used,
        s.memory_percent,
        s.disk_total,
        s.disk_used,
        s.disk_percent,
        s.network_bytes_sent,
        s.network_bytes_recv,
        s.network_sent_per_sec,
        s.network_recv_per_sec,
        s.swap_percent,
        s.load_1,
        s.temperature,
        s.disk_read_per_sec,
        s.disk_write_per_sec,
        s.uptime_secs,
        s.agent_sent_per_sec,
        s.agent_recv_per_sec,
    ])?;
    Ok(())
}

/// Inserts past samples of one computer, skipping any at a second it already has a sample
/// for. Returns how many were inserted.
pub fn insert_new(conn: &Connection, samples: &[Sample]) -> Result<usize> {
    let mut has = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM stats WHERE computer_id = ?1 AND timestamp = ?2)",
    )?;
    let mut n = 0;
    for s in samples {
        let stored: bool = has.query_row(params![s.computer_id, s.timestamp], |r| r.get(0))?;
        if !stored {
            insert(conn, s)?;
            n += 1;
        }
    }
    Ok(n)
}

fn from_row(r: &Row) -> rusqlite::Result<Sample> {
    // Rows migrated from the original may hold NULLs where we always write numbers.
    let f = |i: usize| r.get::<_, Option<f64>>(i).map(|v| v.unwrap_or(0.0));
    let n = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v.unwrap_or(0));
    Ok(Sample {
        computer_id: r.get(0)?,
        timestamp: r.get::<_, Option<i64>>(1).ok().flatten().unwrap_or(0),
        cpu_percent: f(2)?,
        memory_total: n(3)?,
        memory_used: n(4)?,
        memory_percent: f(5)?,
        disk_total: n(6)?,
        disk_used: n(7)?,
        disk_percent: f(8)?,
        network_bytes_sent: n(9)?,
        network_bytes_recv: n(10)?,
        network_sent_per_sec: f(11)?,
        network_recv_per_sec: f(12)?,
        swap_percent: r.get(13)?,
        load_1: r.get(14)?,
        temperature: r.get(15)?,
        disk_read_per_sec: r.get(16)?,
        disk_write_per_sec: r.get(17)?,
        uptime_secs: r.get(18)?,
        agent_sent_per_sec: r.get(19)?,
        agent_recv_per_sec: r.get(20)?,
    })
}

/// The newest sample of a computer.
pub fn latest(conn: &Connection, computer_id: i64) -> Result<Option<Sample>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM stats WHERE computer_id = ?1 ORDER BY timestamp DESC, id DESC LIMIT 1"),
            [computer_id],
            from_row,
        )
        .optional()?)
}

/// The time of a computer's newest sample before `t` (unix seconds).
pub fn newest_before(conn: &Connection, computer_id: i64, t: i64) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT max(timestamp) FROM stats WHERE computer_id = ?1 AND timestamp < ?2",
        params![computer_id, t],
        |r| r.get(0),
    )?)
}

pub fn delete_for(conn: &Connection, computer_id: i64) -> Result<()> {
    conn.execute("DELETE FROM stats WHERE computer_id = ?1", [computer_id])?;
    Ok(())
}

/// Merges neighbouring points with the same timestamp (one bucket read from two tiers):
/// averages weighted by sample counts, the lower minimum, the higher maximum.
pub fn merge_split_buckets(points: Vec<HistoryPoint>) -> Vec<HistoryPoint> {
    let mut out: Vec<HistoryPoint> = Vec::with_capacity(points.len());
    for p in points {
        match out.last_mut() {
            Some(last) if last.timestamp == p.timestamp => merge_into(last, &p),
            _ => out.push(p),
        }
    }
    out
}

fn merge_into(a: &mut HistoryPoint, b: &HistoryPoint) {
    let (na, nb) = (a.samples as f64, b.samples as f64);
    let avg = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) if na + nb > 0.0 => Some((x * na + y * nb) / (na + nb)),
        (x, y) => x.or(y),
    };
    let lo = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let hi = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    a.cpu_percent = avg(a.cpu_percent, b.cpu_percent);
    a.cpu_percent_min = lo(a.cpu_percent_min, b.cpu_percent_min);
    a.cpu_percent_max = hi(a.cpu_percent_max, b.cpu_percent_max);
    a.memory_percent = avg(a.memory_percent, b.memory_percent);
    a.memory_percent_min = lo(a.memory_percent_min, b.memory_percent_min);
    a.memory_percent_max = hi(a.memory_percent_max, b.memory_percent_max);
    a.memory_used = avg(a.memory_used, b.memory_used);
    a.memory_total = hi(a.memory_total, b.memory_total);
    a.disk_percent = avg(a.disk_percent, b.disk_percent);
    a.disk_percent_min = lo(a.disk_percent_min, b.disk_percent_min);
    a.disk_percent_max = hi(a.disk_percent_max, b.disk_percent_max);
    a.disk_used = avg(a.disk_used, b.disk_used);
    a.disk_total = hi(a.disk_total, b.disk_total);
    a.network_sent_per_sec = avg(a.network_sent_per_sec, b.network_sent_per_sec);
    a.network_sent_per_sec_max = hi(a.network_sent_per_sec_max, b.network_sent_per_sec_max);
    a.network_recv_per_sec = avg(a.network_recv_per_sec, b.network_recv_per_sec);
    a.network_recv_per_sec_max = hi(a.network_recv_per_sec_max, b.network_recv_per_sec_max);
    a.temperature = avg(a.temperature, b.temperature);
    a.temperature_min = lo(a.temperature_min, b.temperature_min);
    a.temperature_max = hi(a.temperature_max, b.temperature_max);
    a.load_1 = avg(a.load_1, b.load_1);
    a.swap_percent = avg(a.swap_percent, b.swap_percent);
    a.disk_read_per_sec = avg(a.disk_read_per_sec, b.disk_read_per_sec);
    a.disk_write_per_sec = avg(a.disk_write_per_sec, b.disk_write_per_sec);
    a.samples += b.samples;
}

/// Inserts a gap point after every point whose successor is more than `max_gap` seconds
/// later, so a chart breaks its line there.
pub fn mark_gaps(points: Vec<HistoryPoint>, step: i64, max_gap: i64) -> Vec<HistoryPoint> {
    let mut out = Vec::with_capacity(points.len() + 8);
    let mut prev: Option<i64> = None;
    for p in points {
        if let Some(t) = prev
            && p.timestamp - t > max_gap
        {
            out.push(HistoryPoint {
                timestamp: t + step,
                ..HistoryPoint::default()
            });
        }
        prev = Some(p.timestamp);
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tier;
    use crate::store::tiers;

    fn db() -> Connection {
        let c = crate::store::test_db();
        c.execute(
            "INSERT INTO computers (id, name, url, token) VALUES (1, 'pi', 'http://pi:8000', 'x')",
            [],
        )
        .unwrap();
        c
    }

    fn sample(t: i64, cpu: f64) -> Sample {
        Sample {
            computer_id: 1,
            timestamp: t,
            cpu_percent: cpu,
            network_sent_per_sec: cpu * 10.0,
            ..Sample::default()
        }
    }

    /// Computer 1's raw samples in `[from, to)`, as a chart reads them.
    fn raw(c: &Connection, from: i64, to: i64, step: i64) -> Vec<HistoryPoint> {
        let span = tiers::Span {
            computer_id: 1,
            from,
            to,
            step,
        };
        tiers::history(c, Tier::Raw, span).unwrap()
    }

    #[test]
    fn latest_is_the_newest() {
        let c = db();
        for (t, cpu) in [(10, 1.0), (30, 3.0), (20, 2.0)] {
            insert(&c, &sample(t, cpu)).unwrap();
        }
        assert_eq!(latest(&c, 1).unwrap().unwrap().cpu_percent, 3.0);
        assert_eq!(latest(&c, 2).unwrap(), None);
    }

    #[test]
    fn buckets_average_and_keep_extremes() {
        let c = db();
        for (t, cpu) in [(100, 10.0), (110, 30.0), (160, 50.0), (170, 70.0)] {
            insert(&c, &sample(t, cpu)).unwrap();
        }
        let pts = raw(&c, 0, 1000, 60);
        assert_eq!(pts.len(), 2);
        assert_eq!((pts[0].timestamp, pts[0].samples), (60, 2));
        assert_eq!(pts[0].cpu_percent, Some(20.0));
        assert_eq!(pts[1].timestamp, 120);
        assert_eq!(pts[1].cpu_percent, Some(60.0));
        assert_eq!(pts[1].cpu_percent_min, Some(50.0));
        assert_eq!(pts[1].cpu_percent_max, Some(70.0));
        assert_eq!(pts[1].network_sent_per_sec_max, Some(700.0));
    }

    #[test]
    fn range_ends_are_respected() {
        let c = db();
        for t in [99, 100, 199, 200] {
            insert(&c, &sample(t, 1.0)).unwrap();
        }
        let n: i64 = raw(&c, 100, 200, 1).iter().map(|p| p.samples).sum();
        assert_eq!(n, 2);
    }

    #[test]
    fn a_bucket_split_between_tiers_is_merged_by_weight() {
        let p = |t, n, cpu: f64| HistoryPoint {
            timestamp: t,
            samples: n,
            cpu_percent: Some(cpu),
            cpu_percent_min: Some(cpu),
            cpu_percent_max: Some(cpu),
            temperature: (n > 1).then_some(40.0),
            ..HistoryPoint::default()
        };
        let out = merge_split_buckets(vec![
            p(0, 1, 1.0),
            p(60, 3, 10.0),
            p(60, 1, 50.0),
            p(120, 1, 5.0),
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].samples, 4);
        assert_eq!(out[1].cpu_percent, Some(20.0));
        assert_eq!(
            (out[1].cpu_percent_min, out[1].cpu_percent_max),
            (Some(10.0), Some(50.0))
        );
        assert_eq!(
            out[1].temperature,
            Some(40.0),
            "a value one side lacks is not diluted"
        );
    }

    #[test]
    fn gaps_become_null_points() {
        let pts: Vec<HistoryPoint> = [0, 30, 60, 300, 330]
            .iter()
            .map(|t| HistoryPoint {
                timestamp: *t,
                cpu_percent: Some(1.0),
                ..HistoryPoint::default()
            })
            .collect();
        let out = mark_gaps(pts, 30, 90);
        assert_eq!(out.len(), 6);
        assert_eq!(out[3].timestamp, 90);
        assert_eq!(out[3].cpu_percent, None);
        assert_eq!(out[4].timestamp, 300);
    }

    #[test]
    fn past_samples_are_stored_once_a_second_and_the_newest_before_a_time_is_found() {
        let c = db();
        insert(&c, &sample(100, 1.0)).unwrap();
        insert(&c, &sample(200, 2.0)).unwrap();
        let n = insert_new(&c, &[sample(100, 9.0), sample(150, 3.0), sample(150, 4.0)]).unwrap();
        assert_eq!(n, 1, "100 was stored, and 150 only once");
        assert_eq!(newest_before(&c, 1, 200).unwrap(), Some(150));
        assert_eq!(newest_before(&c, 1, 201).unwrap(), Some(200));
        assert_eq!(newest_before(&c, 1, 100).unwrap(), None);
        assert_eq!(newest_before(&c, 2, 1000).unwrap(), None);
    }
}
