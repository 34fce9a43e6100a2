//! The background sampler: one named thread reads the OS every interval, turns counters into
//! rates over the last window, and publishes an immutable [`Snapshot`]. Requests only read
//! the latest snapshot, so any number of readers see the same figures and never wait on the OS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::collect::{Collector, Reading, system_name};
use crate::error::Error;
use crate::history::{Entry, History};
use crate::published::Snapshot;
use crate::snapshot::{
    DiskIo, Interface, Memory, NetworkRates, NetworkTotals, SystemInfo, percent, round1,
};
use crate::worker::{Schedule, Worker};

/// A rate above this (1 TiB/s) is no link's: the counter was swapped or reset.
const MAX_RATE: f64 = (1u64 << 40) as f64;

/// Bytes per second between two readings of a counter. A counter that went backwards (reset,
/// wrap, reboot) or jumped absurdly gives 0 for that window, never a negative or huge rate.
pub fn rate(prev: u64, cur: u64, secs: f64) -> f64 {
    if secs.is_nan() || secs <= 0.0 || cur < prev {
        return 0.0;
    }
    let r = (cur - prev) as f64 / secs;
    if r > MAX_RATE { 0.0 } else { round1(r) }
}

/// Turns the current reading into a snapshot, with rates over the window since `prev`.
pub fn build(prev: Option<&Reading>, cur: Reading) -> Snapshot {
    let secs = match (prev.and_then(|p| p.at), cur.at) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let prev_ifaces: HashMap<&str, (u64, u64)> = prev
        .map(|p| {
            p.interfaces
                .iter()
                .map(|(n, s, r)| (n.as_str(), (*s, *r)))
                .collect()
        })
        .unwrap_or_default();

    let mut interfaces = Vec::with_capacity(cur.interfaces.len());
    let (mut sent, mut recv, mut sent_rate, mut recv_rate) = (0u64, 0u64, 0.0, 0.0);
    for (name, s, r) in &cur.interfaces {
        let (sr, rr) = match prev_ifaces.get(name.as_str()) {
            Some((ps, pr)) => (rate(*ps, *s, secs), rate(*pr, *r, secs)),
            None => (0.0, 0.0),
        };
        if !is_loopback(name) {
            sent = sent.saturating_add(*s);
            recv = recv.saturating_add(*r);
            sent_rate += sr;
            recv_rate += rr;
        }
        interfaces.push(Interface {
            name: name.clone(),
            bytes_sent: *s,
            bytes_recv: *r,
            bytes_sent_per_sec: sr,
            bytes_recv_per_sec: rr,
        });
    }

    let disk_io = cur.disk_io.map(|(read, write)| {
        let (rr, wr) = match prev.and_then(|p| p.disk_io) {
            Some((pr, pw)) => (rate(pr, read, secs), rate(pw, write, secs)),
            None => (0.0, 0.0),
        };
        DiskIo {
            read_bytes: read,
            write_bytes: write,
            read_bytes_per_sec: rr,
            write_bytes_per_sec: wr,
        }
    });

    let used = cur.mem_total.saturating_sub(cur.mem_available);
    let swap = cur.swap();
    let info = SystemInfo {
        cpu_percent: cur.cpu_percent,
        memory: Memory {
            total: cur.mem_total,
            used,
            percent: percent(used, cur.mem_total),
            available: Some(cur.mem_available),
        },
        disk: cur.root,
        network: NetworkTotals {
            bytes_sent: sent,
            bytes_recv: recv,
        },
        network_usage: NetworkRates {
            bytes_sent_per_sec: round1(sent_rate),
            bytes_recv_per_sec: round1(recv_rate),
        },
        hostname: cur.hostname,
        system: system_name().to_string(),
        swap: Some(swap),
        cpu_count: Some(cur.per_cpu_percent.len() as u32),
        per_cpu_percent: cur.per_cpu_percent,
        load_average: cur.load_average,
        uptime_secs: cur.uptime_secs,
        boot_time: cur.boot_time,
        disks: cur.filesystems,
        interfaces,
        disk_io,
        temperatures: cur.temperatures,
        os_version: cur.os_version,
        kernel_version: cur.kernel_version,
        arch: cur.arch,
        agent_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        timestamp: Some(cur.unix_ms),
    };
    Snapshot::new(info, cur.linux)
}

/// Loopback interfaces carry no traffic in or out of the machine.
pub fn is_loopback(name: &str) -> bool {
    name == "lo"
        || (name.starts_with("lo") && name[2..].chars().all(|c| c.is_ascii_digit()))
        || name.to_ascii_lowercase().contains("loopback")
}

/// A cheap, cloneable handle on the latest snapshot.
#[derive(Clone)]
pub struct Latest(Arc<RwLock<Arc<Snapshot>>>);

impl Latest {
    pub fn get(&self) -> Arc<Snapshot> {
        // A poisoned lock still holds a whole Arc: a panicking writer cannot leave it half-set.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, s: Snapshot) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(s);
    }
}

/// The sampling thread. Dropping it stops the thread.
pub struct Sampler {
    latest: Latest,
    /// Stops the sampling thread when the sampler is dropped.
    _thread: Worker,
}

impl Sampler {
    /// Takes a first sample (about a quarter of a second, to give CPU usage a window), then
    /// keeps sampling every `interval` in a background thread.
    pub fn start(interval: Duration) -> Result<Sampler, Error> {
        Sampler::start_with_history(interval, None)
    }

    /// [`Sampler::start`], each sample after the first (which has no window for its rates)
    /// also added to `history`.
    pub fn start_with_history(
        interval: Duration,
        history: Option<Arc<History>>,
    ) -> Result<Sampler, Error> {
        let mut collector = Collector::new()?;
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL + Duration::from_millis(50));
        let mut prev = collector.read();
        let latest = Latest(Arc::new(RwLock::new(Arc::new(build(None, prev.clone())))));
        let publish = latest.clone();
        // Keep a steady cadence, but never try to catch up on missed ticks after a stall.
        let schedule = Schedule::Steady {
            first: interval,
            every: interval,
            min_gap: interval / 2,
        };
        let worker = Worker::start(
            "sampler",
            schedule,
            "event=sample_failed reason=panic_while_reading_the_os action=keep_previous_sample",
            move |_| {
                let cur = collector.read();
                let snapshot = build(Some(&prev), cur.clone());
                if let Some(h) = &history {
                    // A push only copies an entry in: a request reading the buffer waits
                    // for nothing longer.
                    if let Some(entry) = Entry::from_info(&snapshot.info) {
                        h.push(entry);
                    }
                }
                publish.set(snapshot);
                prev = cur;
            },
        )
        .map_err(|e| Error::Collect(format!("cannot start the sampler thread: {e}")))?;
        Ok(Sampler {
            latest,
            _thread: worker,
        })
    }

    pub fn latest(&self) -> Latest {
        self.latest.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn reading(at: Instant, ifaces: &[(&str, u64, u64)], disk_io: Option<(u64, u64)>) -> Reading {
        Reading {
            at: Some(at),
            mem_total: 1000,
            mem_available: 250,
            interfaces: ifaces
                .iter()
                .map(|(n, s, r)| (n.to_string(), *s, *r))
                .collect(),
            disk_io,
            hostname: "h".into(),
            ..Reading::default()
        }
    }

    #[test]
    fn rate_is_delta_over_seconds() {
        assert_eq!(rate(1000, 3000, 2.0), 1000.0);
        assert_eq!(rate(5, 5, 1.0), 0.0);
    }

    #[test]
    fn counter_reset_gives_zero_rate() {
        assert_eq!(rate(1_000_000, 10, 1.0), 0.0);
    }

    #[test]
    fn absurd_jump_gives_zero_rate() {
        assert_eq!(rate(0, u64::MAX, 1.0), 0.0);
    }

    #[test]
    fn zero_or_negative_window_gives_zero_rate() {
        assert_eq!(rate(0, 100, 0.0), 0.0);
        assert_eq!(rate(0, 100, -1.0), 0.0);
        assert_eq!(rate(0, 100, f64::NAN), 0.0);
    }

    #[test]
    fn network_sums_non_loopback_interfaces() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let a = reading(
            t0,
            &[("eth0", 100, 200), ("lo", 0, 0), ("wlan0", 10, 20)],
            Some((0, 0)),
        );
        let b = reading(
            t1,
            &[("eth0", 300, 600), ("lo", 5000, 5000), ("wlan0", 30, 20)],
            Some((1024, 2048)),
        );
        let s = build(Some(&a), b);
        assert_eq!(s.info.network.bytes_sent, 330);
        assert_eq!(s.info.network.bytes_recv, 620);
        assert_eq!(s.info.network_usage.bytes_sent_per_sec, 110.0);
        assert_eq!(s.info.network_usage.bytes_recv_per_sec, 200.0);
        let lo = s.info.interfaces.iter().find(|i| i.name == "lo").unwrap();
        assert_eq!(lo.bytes_sent_per_sec, 2500.0);
        let io = s.info.disk_io.unwrap();
        assert_eq!(io.read_bytes_per_sec, 512.0);
        assert_eq!(io.write_bytes_per_sec, 1024.0);
    }

    #[test]
    fn interface_reset_and_new_interface_give_zero_not_negative() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let a = reading(t0, &[("eth0", 1_000_000, 1_000_000)], None);
        let b = reading(t1, &[("eth0", 10, 20), ("usb0", 500, 500)], None);
        let s = build(Some(&a), b);
        assert_eq!(s.info.network_usage.bytes_sent_per_sec, 0.0);
        assert_eq!(s.info.network_usage.bytes_recv_per_sec, 0.0);
        assert!(
            s.info
                .interfaces
                .iter()
                .all(|i| i.bytes_sent_per_sec == 0.0)
        );
    }

    #[test]
    fn memory_used_is_total_minus_available() {
        let s = build(None, reading(Instant::now(), &[], None));
        assert_eq!(s.info.memory.used, 750);
        assert_eq!(s.info.memory.percent, 75.0);
        assert_eq!(s.info.memory.available, Some(250));
    }

    #[test]
    fn loopback_names() {
        for n in ["lo", "lo0", "Loopback Pseudo-Interface 1"] {
            assert!(is_loopback(n), "{n}");
        }
        for n in ["eth0", "lowpan0", "wlan0", "enp3s0"] {
            assert!(!is_loopback(n), "{n}");
        }
    }

    #[test]
    fn json_has_the_original_shape() {
        let s = build(None, reading(Instant::now(), &[("eth0", 1, 2)], None));
        let v: serde_json::Value = serde_json::from_slice(s.json()).unwrap();
        for key in [
            "cpu_percent",
            "memory",
            "disk",
            "network",
            "network_usage",
            "hostname",
            "system",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        for key in ["total", "used", "percent"] {
            assert!(v["memory"].get(key).is_some());
            assert!(v["disk"].get(key).is_some());
        }
        assert!(v["network"]["bytes_sent"].is_u64());
        assert!(v["network_usage"]["bytes_recv_per_sec"].is_number());
        assert!(v["load_average"].is_null());
        assert_eq!(v["agent_version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn sampler_publishes_and_stops() {
        let sampler = Sampler::start(Duration::from_millis(300)).unwrap();
        let first = sampler.latest().get().info.timestamp.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sampler.latest().get().info.timestamp.unwrap() == first {
            assert!(Instant::now() < deadline, "no second sample");
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(sampler);
    }
}
