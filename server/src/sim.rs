//! Simulated machines for benchmarks, the demo and tests: deterministic, varying figures in
//! the agent's JSON (idle and busy hosts, daily rhythms, counter resets), and a backfill that
//! writes months of history through the server's own storage, rollup and retention code.

use lanstat_agent::snapshot::{
    Disk, DiskIo, Filesystem, Interface, LoadAverage, Memory, NetworkRates, NetworkTotals, Swap,
    SystemInfo, Temperature, round1,
};

use crate::agents;
use crate::model::{PollOutcome, Retention, Sample, Tier};
use crate::store::{self, Durability, Store, tiers};

/// One simulated machine's character, derived from its number.
#[derive(Debug, Clone)]
pub struct Profile {
    pub index: u64,
    pub hostname: String,
    /// Average CPU use, 0–100.
    pub cpu_base: f64,
    pub cpu_swing: f64,
    pub mem_total: u64,
    pub mem_base: f64,
    pub disk_total: u64,
    pub disk_base: f64,
    /// Average bytes per second out and in.
    pub net_out: f64,
    pub net_in: f64,
    pub has_sensor: bool,
    /// Counters restart every this many seconds (a reboot or driver reset), 0 for never.
    pub reset_every: i64,
    pub cores: u32,
}

/// A small deterministic hash (splitmix64), so every run simulates the same fleet.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A number in [0, 1) from `seed` and `salt`.
fn unit(seed: u64, salt: u64) -> f64 {
    (mix(seed.wrapping_mul(31).wrapping_add(salt)) >> 11) as f64 / (1u64 << 53) as f64
}

impl Profile {
    pub fn new(index: u64) -> Profile {
        let u = |salt| unit(index, salt);
        let kind = u(1);
        // A third idle (Pis, NAS at rest), a third moderate, a third busy.
        let (cpu_base, cpu_swing) = if kind < 0.34 {
            (2.0 + 4.0 * u(2), 3.0)
        } else if kind < 0.67 {
            (15.0 + 20.0 * u(2), 15.0)
        } else {
            (45.0 + 30.0 * u(2), 25.0)
        };
        let gib = 1u64 << 30;
        let mem_total = [2, 4, 8, 16, 32, 64][(u(3) * 6.0) as usize % 6] * gib;
        let disk_total = [32, 128, 256, 512, 1024, 4096][(u(4) * 6.0) as usize % 6] * gib;
        let names = ["pi", "nas", "nuc", "vps", "media", "router", "cam", "build"];
        Profile {
            index,
            hostname: format!("{}-{index:03}", names[(u(5) * 8.0) as usize % 8]),
            cpu_base,
            cpu_swing,
            mem_total,
            mem_base: 20.0 + 60.0 * u(6),
            disk_total,
            disk_base: 10.0 + 75.0 * u(7),
            net_out: 2_000.0 * (1.0 + 500.0 * u(8) * u(8)),
            net_in: 5_000.0 * (1.0 + 2_000.0 * u(9) * u(9)),
            has_sensor: u(10) < 0.7,
            reset_every: if u(11) < 0.1 {
                86_400 * (1 + (u(12) * 6.0) as i64)
            } else {
                0
            },
            cores: [1, 2, 4, 4, 8, 16][(u(13) * 6.0) as usize % 6],
        }
    }

    /// A smooth daily rhythm with some noise, in [-1, 1].
    fn wave(&self, t: i64, salt: u64) -> f64 {
        let day = 86_400.0;
        let phase = unit(self.index, salt) * std::f64::consts::TAU;
        let daily = (t as f64 / day * std::f64::consts::TAU + phase).sin();
        let fast = (t as f64 / 600.0 + phase * 3.0).sin() * 0.3;
        let noise = unit(self.index ^ (t as u64 / 30), salt) * 0.6 - 0.3;
        (daily * 0.6 + fast + noise).clamp(-1.0, 1.0)
    }

    /// Seconds since the counters last restarted: a reset every `reset_every` seconds, or
    /// else a reboot every few weeks (when a home-lab machine gets its updates), at a time
    /// of its own.
    fn since_reset(&self, t: i64) -> i64 {
        if self.reset_every > 0 {
            t.rem_euclid(self.reset_every)
        } else {
            let period = 86_400 * (10 + (unit(self.index, 6) * 50.0) as i64);
            (t + (unit(self.index, 7) * period as f64) as i64).rem_euclid(period)
        }
    }

    /// A traffic rate around `base` bytes per second at `t` (a daily rhythm and a faster
    /// swing), and the bytes it added up to since `start`: the exact integral, so rates the
    /// server computes from the counters follow the same curve as the ones the agent reports.
    fn traffic(&self, base: f64, t: i64, start: i64, salt: u64) -> (f64, f64) {
        use std::f64::consts::TAU;
        let phase = unit(self.index, salt) * TAU;
        let daily = TAU / 86_400.0;
        let fast = 1.0 / 600.0;
        let rate = |t: f64| {
            base * (1.0 + 0.5 * (daily * t + phase).sin() + 0.3 * (fast * t + 3.0 * phase).sin())
        };
        let total = |t: f64| {
            base * (t
                - 0.5 / daily * (daily * t + phase).cos()
                - 0.3 / fast * (fast * t + 3.0 * phase).cos())
        };
        let (t, start) = (t as f64, start as f64);
        (rate(t), (total(t) - total(start)).max(0.0))
    }

    /// The machine's figures at unix second `t`.
    pub fn at(&self, t: i64) -> SystemInfo {
        let cpu = (self.cpu_base + self.cpu_swing * self.wave(t, 20)).clamp(0.0, 100.0);
        let mem_pct = (self.mem_base + 8.0 * self.wave(t, 21)).clamp(1.0, 99.0);
        let mem_used = (self.mem_total as f64 * mem_pct / 100.0) as u64;
        // Disks fill slowly over the year.
        let disk_pct = (self.disk_base + 10.0 * ((t % (365 * 86_400)) as f64 / (365.0 * 86_400.0)))
            .clamp(1.0, 99.5);
        let disk_used = (self.disk_total as f64 * disk_pct / 100.0) as u64;
        let up = self.since_reset(t).max(0) as f64;
        let start = t - up as i64;
        let (out_rate, sent) = self.traffic(self.net_out, t, start, 22);
        let (in_rate, recv) = self.traffic(self.net_in, t, start, 23);
        let (sent, recv) = (sent as u64, recv as u64);
        let temperature = self
            .has_sensor
            .then(|| 38.0 + cpu * 0.35 + 3.0 * self.wave(t, 24));
        SystemInfo {
            cpu_percent: round1(cpu),
            memory: Memory {
                total: self.mem_total,
                used: mem_used,
                percent: round1(mem_pct),
                available: Some(self.mem_total - mem_used),
            },
            disk: Disk {
                total: self.disk_total,
                used: disk_used,
                percent: round1(disk_pct),
            },
            network: NetworkTotals {
                bytes_sent: sent,
                bytes_recv: recv,
            },
            network_usage: NetworkRates {
                bytes_sent_per_sec: round1(out_rate),
                bytes_recv_per_sec: round1(in_rate),
            },
            hostname: self.hostname.clone(),
            system: "Linux".into(),
            swap: Some(Swap {
                total: self.mem_total / 2,
                used: 0,
                percent: 0.0,
            }),
            cpu_count: Some(self.cores),
            per_cpu_percent: (0..self.cores)
                .map(|c| round1((cpu + 5.0 * self.wave(t, 30 + c as u64)).clamp(0.0, 100.0)))
                .collect(),
            load_average: Some(LoadAverage {
                one: round1(cpu / 100.0 * self.cores as f64),
                five: round1(cpu / 110.0 * self.cores as f64),
                fifteen: round1(cpu / 120.0 * self.cores as f64),
            }),
            uptime_secs: Some(up as u64),
            boot_time: Some((t as f64 - up) as u64),
            disks: vec![Filesystem {
                mount_point: "/".into(),
                device: "/dev/sda1".into(),
                fs_type: "ext4".into(),
                total: self.disk_total,
                used: disk_used,
                available: self.disk_total - disk_used,
                percent: round1(disk_pct),
            }],
            interfaces: vec![Interface {
                name: "eth0".into(),
                bytes_sent: sent,
                bytes_recv: recv,
                bytes_sent_per_sec: round1(out_rate),
                bytes_recv_per_sec: round1(in_rate),
            }],
            disk_io: Some(DiskIo {
                read_bytes: (up * 20_000.0) as u64,
                write_bytes: (up * 50_000.0) as u64,
                read_bytes_per_sec: 20_000.0,
                write_bytes_per_sec: 50_000.0,
            }),
            temperatures: temperature
                .map(|c| {
                    vec![Temperature {
                        label: "cpu_thermal temp1".into(),
                        celsius: round1(c),
                        critical: Some(85.0),
                    }]
                })
                .unwrap_or_default(),
            os_version: Some("Debian GNU/Linux 12 (bookworm)".into()),
            kernel_version: Some("6.1.0-sim".into()),
            arch: Some(
                if self.index.is_multiple_of(3) {
                    "aarch64"
                } else {
                    "x86_64"
                }
                .into(),
            ),
            agent_version: Some(env!("CARGO_PKG_VERSION").into()),
            timestamp: Some(t as u64 * 1000),
        }
    }

    /// The row the server would store for `info`, polled at `t` after counters `prev`.
    pub fn sample(
        computer_id: i64,
        t: i64,
        info: &SystemInfo,
        prev: Option<agents::Counters>,
    ) -> Sample {
        agents::to_sample(computer_id, t * 1000, info, prev)
    }
}

/// What a backfill wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Backfilled {
    pub raw_rows: u64,
    pub buckets: i64,
    pub deleted: usize,
    /// Seconds spent writing samples, rolling up and trimming.
    pub insert_secs: f64,
    pub rollup_secs: f64,
    pub trim_secs: f64,
}

/// Writes `days` of history ending at `now` for each `(computer_id, profile)`, a day at a time,
/// as if the server had been running: raw samples every `interval` seconds inside the raw
/// retention window and one per 5 minutes before it, each day rolled up and trimmed with the
/// server's own code. The last sample is recorded as a poll round is, so each computer was
/// last seen then (a dead host of the demo reads "Offline since" that time, not "Never
/// answered").
pub fn backfill(
    store: &Store,
    hosts: &[(i64, Profile)],
    days: i64,
    now: i64,
    interval: i64,
    retention: Retention,
) -> Result<Backfilled, store::StoreError> {
    let mut done = Backfilled::default();
    let start = now - days * 86_400;
    let fine_from = now - retention.raw;
    let mut day_start = start;
    while day_start < now {
        let day_end = (day_start + 86_400).min(now);
        let t0 = std::time::Instant::now();
        for (id, p) in hosts {
            let (id, p) = (*id, p.clone());
            let rows = store.write(Durability::Relaxed, move |tx| {
                let mut n = 0u64;
                let mut t = day_start;
                let mut prev: Option<agents::Counters> = None;
                while t < day_end {
                    let step = if t >= fine_from { interval } else { 300 };
                    let info = p.at(t);
                    let sample = Profile::sample(id, t, &info, prev);
                    if day_end == now && t + step >= now {
                        let last = PollOutcome {
                            computer_id: id,
                            at: t,
                            result: Ok(sample),
                        };
                        store::computers::record_round(tx, &[last])?;
                    } else {
                        store::stats::insert(tx, &sample)?;
                    }
                    prev = Some(agents::Counters {
                        at_ms: t * 1000,
                        sampled_ms: info.timestamp,
                        sent: info.network.bytes_sent,
                        recv: info.network.bytes_recv,
                    });
                    n += 1;
                    t += step;
                }
                Ok(n)
            })?;
            done.raw_rows += rows;
        }
        let t1 = std::time::Instant::now();
        for tier in Tier::ROLLUPS {
            loop {
                let n = store.write(Durability::Relaxed, move |tx| {
                    tiers::rollup_step(tx, tier, day_end, 0, 288)
                })?;
                done.buckets += n;
                if n == 0 {
                    break;
                }
            }
        }
        let t2 = std::time::Instant::now();
        for tier in Tier::ALL {
            loop {
                let n = store.write(Durability::Relaxed, move |tx| {
                    tiers::trim_step(tx, tier, day_end, &retention)
                })?;
                done.deleted += n;
                if n == 0 {
                    break;
                }
            }
        }
        done.insert_secs += (t1 - t0).as_secs_f64();
        done.rollup_secs += (t2 - t1).as_secs_f64();
        done.trim_secs += t2.elapsed().as_secs_f64();
        day_start = day_end;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_deterministic_and_varied() {
        let a = Profile::new(7);
        assert_eq!(a.at(1_800_000_000), Profile::new(7).at(1_800_000_000));
        let cpus: Vec<f64> = (0..30)
            .map(|i| Profile::new(i).at(1_800_000_000).cpu_percent)
            .collect();
        assert!(
            cpus.iter().any(|c| *c < 10.0) && cpus.iter().any(|c| *c > 40.0),
            "{cpus:?}"
        );
        assert!((0..30).any(|i| Profile::new(i).reset_every > 0));
    }

    #[test]
    fn counters_add_up_to_the_reported_rates() {
        for i in 0..30 {
            let p = Profile::new(i);
            for t in [1_800_000_000, 1_800_040_000, 1_800_070_000] {
                let (a, b) = (p.at(t), p.at(t + 10));
                if b.network.bytes_recv < a.network.bytes_recv {
                    continue; // a reset between the two
                }
                let from_counters = (b.network.bytes_recv - a.network.bytes_recv) as f64 / 10.0;
                let reported = p.at(t + 5).network_usage.bytes_recv_per_sec;
                assert!(
                    (from_counters - reported).abs() <= 0.02 * reported + 1.0,
                    "host {i} at {t}: {from_counters} from counters, {reported} reported"
                );
            }
            let up = p.at(1_800_000_000).uptime_secs.unwrap();
            assert!(up < 61 * 86_400, "host {i} up {up} s");
        }
    }

    #[test]
    fn a_backfilled_computer_was_last_seen_at_its_last_sample() {
        use crate::model::{NewComputer, Status};
        let db = crate::store::test_support::TestDb::new("sim-backfill");
        let now = 1_800_000_000;
        let input = NewComputer::new("dead", "http://127.0.0.1:9", "0123456789abcdef").unwrap();
        let id = db
            .store
            .write(Durability::Durable, move |tx| {
                store::computers::add(tx, &input, now - 2 * 86_400)
            })
            .unwrap()
            .id;
        backfill(
            &db.store,
            &[(id, Profile::new(1))],
            2,
            now,
            30,
            Retention::default(),
        )
        .unwrap();
        let (c, last) = db
            .store
            .read(|conn| {
                Ok((
                    store::computers::get(conn, id)?,
                    store::stats::latest(conn, id)?,
                ))
            })
            .unwrap();
        let last = last.expect("history written").timestamp;
        assert!(now - 30 <= last && last < now, "{last}");
        assert_eq!(c.last_seen, Some(last));
        assert_eq!(c.status, Status::Online);
    }

    #[test]
    fn figures_pass_the_servers_own_checks() {
        for i in 0..50 {
            for t in [1_800_000_000, 1_800_012_345, 1_800_086_399] {
                let info = Profile::new(i).at(t);
                let json = serde_json::to_vec(&info).unwrap();
                assert!(agents::parse(&json).is_ok(), "host {i} at {t}");
            }
        }
    }
}
