//! Prometheus text exposition (format 0.0.4) of a snapshot. Where node_exporter has the same
//! quantity we use its name and labels, so dashboards made for it show our data; the rest is
//! named `lanstat_*` by Prometheus' rules (base units, `_total` only on counters).

use std::fmt::Write;

use crate::published::Snapshot;

/// The Content-Type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Builds exposition text. Samples are grouped under their family's `# HELP`/`# TYPE`
/// header even when written in several passes (one per host, on the server), because the
/// format allows each family only once.
#[derive(Default)]
pub struct Exposition {
    families: Vec<Family>,
    index: std::collections::HashMap<String, usize>,
    current: usize,
}

struct Family {
    header: String,
    body: String,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Selects the family that following samples belong to, creating it on first use.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        self.current = match self.index.get(name) {
            Some(i) => *i,
            None => {
                let help = help.replace('\\', "\\\\").replace('\n', "\\n");
                let header = format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
                self.families.push(Family {
                    header,
                    body: String::new(),
                });
                self.index.insert(name.to_string(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        self
    }

    pub fn sample<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        name: &str,
        labels: &[(K, V)],
        value: f64,
    ) -> &mut Self {
        let out = &mut self.families[self.current].body;
        out.push_str(name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}=\"{}\"", k.as_ref(), escape_label(v.as_ref()));
            }
            out.push('}');
        }
        out.push(' ');
        write_value(out, value);
        out.push('\n');
        self
    }

    /// A family with one sample.
    pub fn single<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        labels: &[(K, V)],
        value: f64,
    ) -> &mut Self {
        self.family(name, kind, help).sample(name, labels, value)
    }

    pub fn finish(self) -> String {
        let mut out = String::new();
        for f in self.families.into_iter().filter(|f| !f.body.is_empty()) {
            out.push_str(&f.header);
            out.push_str(&f.body);
        }
        out
    }
}

fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

impl Snapshot {
    /// The `/metrics` body, rendered on first use and shared by every reader.
    pub fn metrics(&self) -> &str {
        self.metrics.get_or_init(|| render(self))
    }
}

/// The agent's `/metrics` body.
pub fn render(s: &Snapshot) -> String {
    let mut e = Exposition::new();
    write_host(&mut e, s, &[]);
    e.single::<&str, &str>(
        "lanstat_agent_up",
        "gauge",
        "1 while the agent answers.",
        &[],
        1.0,
    );
    e.finish()
}

/// Writes one host's series, each with `extra` labels first (the server adds instance and
/// name). Families without samples are left out of the output.
pub fn write_host(e: &mut Exposition, s: &Snapshot, extra: &[(&str, &str)]) {
    let info = &s.info;
    let with = |more: &[(&'static str, &str)]| -> Vec<(&str, String)> {
        extra
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .chain(more.iter().map(|(k, v)| (*k, v.to_string())))
            .collect()
    };
    let plain = with(&[]);

    let version = info.agent_version.clone().unwrap_or_default();
    let arch = info.arch.clone().unwrap_or_default();
    let kernel = info.kernel_version.clone().unwrap_or_default();
    let os = info.os_version.clone().unwrap_or_default();
    let l = with(&[("version", &version), ("os", &os), ("arch", &arch)]);
    e.family(
        "lanstat_agent_info",
        "gauge",
        "The agent's version and the host's OS and architecture.",
    );
    e.sample("lanstat_agent_info", &l, 1.0);
    let l = with(&[
        ("domainname", "(none)"),
        ("machine", &arch),
        ("nodename", &info.hostname),
        ("release", &kernel),
        ("sysname", &info.system),
        ("version", &os),
    ]);
    e.family(
        "node_uname_info",
        "gauge",
        "Labeled system information as provided by the uname system call.",
    );
    e.sample("node_uname_info", &l, 1.0);

    e.family(
        "lanstat_cpu_usage_ratio",
        "gauge",
        "Busy share of all CPUs over the last sample window (0-1).",
    );
    e.sample("lanstat_cpu_usage_ratio", &plain, info.cpu_percent / 100.0);
    if !info.per_cpu_percent.is_empty() {
        e.family(
            "lanstat_cpu_core_usage_ratio",
            "gauge",
            "Busy share of each CPU over the last sample window (0-1).",
        );
        for (i, p) in info.per_cpu_percent.iter().enumerate() {
            let cpu = i.to_string();
            e.sample(
                "lanstat_cpu_core_usage_ratio",
                &with(&[("cpu", &cpu)]),
                p / 100.0,
            );
        }
        e.single(
            "lanstat_cpus",
            "gauge",
            "Number of logical CPUs.",
            &plain,
            info.per_cpu_percent.len() as f64,
        );
    }
    #[cfg(target_os = "linux")]
    if !s.linux.cpu_seconds.is_empty() {
        e.family(
            "node_cpu_seconds_total",
            "counter",
            "Seconds the CPUs spent in each mode.",
        );
        for c in &s.linux.cpu_seconds {
            let cpu = c.cpu.to_string();
            for (mode, secs) in &c.modes {
                e.sample(
                    "node_cpu_seconds_total",
                    &with(&[("cpu", &cpu), ("mode", mode)]),
                    *secs,
                );
            }
        }
    }
    if let Some(load) = info.load_average {
        e.single("node_load1", "gauge", "1m load average.", &plain, load.one);
        e.single("node_load5", "gauge", "5m load average.", &plain, load.five);
        e.single(
            "node_load15",
            "gauge",
            "15m load average.",
            &plain,
            load.fifteen,
        );
    }
    if let Some(boot) = info.boot_time {
        e.single(
            "node_boot_time_seconds",
            "gauge",
            "Node boot time, in unixtime.",
            &plain,
            boot as f64,
        );
    }
    if let Some(ms) = info.timestamp {
        e.single(
            "node_time_seconds",
            "gauge",
            "System time in seconds since epoch (1970).",
            &plain,
            ms as f64 / 1000.0,
        );
    }

    // Memory: every /proc/meminfo field on Linux, as node_exporter; the portable four elsewhere.
    #[cfg(target_os = "linux")]
    let meminfo: Vec<(String, f64)> = s
        .linux
        .meminfo
        .iter()
        .map(|(k, v)| (k.clone(), *v as f64))
        .collect();
    #[cfg(not(target_os = "linux"))]
    let meminfo: Vec<(String, f64)> = Vec::new();
    let meminfo = if meminfo.is_empty() {
        portable_meminfo(s)
    } else {
        meminfo
    };
    for (key, value) in &meminfo {
        let name = format!("node_memory_{key}");
        e.single(
            &name,
            "gauge",
            &format!("Memory information field {key}."),
            &plain,
            *value,
        );
    }

    if !info.disks.is_empty() {
        let fs_labels = |f: &crate::snapshot::Filesystem| {
            with(&[
                ("device", &f.device),
                ("fstype", &f.fs_type),
                ("mountpoint", &f.mount_point),
            ])
        };
        e.family(
            "node_filesystem_size_bytes",
            "gauge",
            "Filesystem size in bytes.",
        );
        for f in &info.disks {
            e.sample("node_filesystem_size_bytes", &fs_labels(f), f.total as f64);
        }
        e.family(
            "node_filesystem_free_bytes",
            "gauge",
            "Filesystem free space in bytes.",
        );
        for f in &info.disks {
            e.sample(
                "node_filesystem_free_bytes",
                &fs_labels(f),
                f.total.saturating_sub(f.used) as f64,
            );
        }
        e.family(
            "node_filesystem_avail_bytes",
            "gauge",
            "Filesystem space available to non-root users in bytes.",
        );
        for f in &info.disks {
            e.sample(
                "node_filesystem_avail_bytes",
                &fs_labels(f),
                f.available as f64,
            );
        }
    }

    if !info.interfaces.is_empty() {
        e.family(
            "node_network_receive_bytes_total",
            "counter",
            "Network device statistic receive_bytes.",
        );
        for i in &info.interfaces {
            e.sample(
                "node_network_receive_bytes_total",
                &with(&[("device", &i.name)]),
                i.bytes_recv as f64,
            );
        }
        e.family(
            "node_network_transmit_bytes_total",
            "counter",
            "Network device statistic transmit_bytes.",
        );
        for i in &info.interfaces {
            e.sample(
                "node_network_transmit_bytes_total",
                &with(&[("device", &i.name)]),
                i.bytes_sent as f64,
            );
        }
    }

    #[cfg(target_os = "linux")]
    if !s.linux.disks.is_empty() {
        type Field = fn(&crate::collect::linux::DiskDevice) -> f64;
        let families: [(&str, &str, Field); 5] = [
            (
                "node_disk_read_bytes_total",
                "The total number of bytes read successfully.",
                |d| d.read_bytes as f64,
            ),
            (
                "node_disk_written_bytes_total",
                "The total number of bytes written successfully.",
                |d| d.written_bytes as f64,
            ),
            (
                "node_disk_reads_completed_total",
                "The total number of reads completed successfully.",
                |d| d.reads_completed as f64,
            ),
            (
                "node_disk_writes_completed_total",
                "The total number of writes completed successfully.",
                |d| d.writes_completed as f64,
            ),
            (
                "node_disk_io_time_seconds_total",
                "Total seconds spent doing I/Os.",
                |d| d.io_time_ms as f64 / 1000.0,
            ),
        ];
        for (name, help, field) in families {
            e.family(name, "counter", help);
            for d in &s.linux.disks {
                e.sample(name, &with(&[("device", &d.name)]), field(d));
            }
        }
    }

    if !info.temperatures.is_empty() {
        let parts: Vec<(String, String)> = info
            .temperatures
            .iter()
            .map(|t| chip_and_sensor(&t.label))
            .collect();
        e.family(
            "node_hwmon_temp_celsius",
            "gauge",
            "Hardware monitor for temperature (input).",
        );
        for (t, (chip, sensor)) in info.temperatures.iter().zip(&parts) {
            e.sample(
                "node_hwmon_temp_celsius",
                &with(&[("chip", chip), ("sensor", sensor)]),
                t.celsius,
            );
        }
        if info.temperatures.iter().any(|t| t.critical.is_some()) {
            e.family(
                "node_hwmon_temp_crit_celsius",
                "gauge",
                "Hardware monitor for temperature (crit).",
            );
            for (t, (chip, sensor)) in info.temperatures.iter().zip(&parts) {
                if let Some(c) = t.critical {
                    e.sample(
                        "node_hwmon_temp_crit_celsius",
                        &with(&[("chip", chip), ("sensor", sensor)]),
                        c,
                    );
                }
            }
        }
    }
}

fn portable_meminfo(s: &Snapshot) -> Vec<(String, f64)> {
    let m = &s.info.memory;
    let mut out = vec![
        ("MemTotal_bytes".to_string(), m.total as f64),
        (
            "MemAvailable_bytes".to_string(),
            m.available.unwrap_or(m.total.saturating_sub(m.used)) as f64,
        ),
    ];
    if let Some(sw) = s.info.swap {
        out.push(("SwapTotal_bytes".to_string(), sw.total as f64));
        out.push((
            "SwapFree_bytes".to_string(),
            sw.total.saturating_sub(sw.used) as f64,
        ));
    }
    out
}

/// Splits a sensor label ("coretemp Package id 0", "cpu_thermal temp1") into node_exporter's
/// chip and sensor labels.
fn chip_and_sensor(label: &str) -> (String, String) {
    match label.split_once(' ') {
        Some((chip, sensor)) => (chip.to_string(), sensor.to_string()),
        None => (label.to_string(), "temp1".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::*;

    fn snapshot() -> Snapshot {
        let info: SystemInfo = serde_json::from_str(
            r#"{"cpu_percent": 25.0,
                "memory": {"total": 1000, "used": 600, "percent": 60.0, "available": 400},
                "disk": {"total": 10, "used": 5, "percent": 50.0},
                "network": {"bytes_sent": 1, "bytes_recv": 2},
                "network_usage": {"bytes_sent_per_sec": 0, "bytes_recv_per_sec": 0},
                "hostname": "pi \"one\"", "system": "Linux",
                "per_cpu_percent": [10.0, 40.0],
                "load_average": {"one": 0.5, "five": 0.25, "fifteen": 0.125},
                "disks": [{"mount_point": "/", "device": "/dev/mmcblk0p2", "fs_type": "ext4",
                           "total": 100, "used": 40, "available": 55, "percent": 42.1}],
                "interfaces": [{"name": "eth0", "bytes_sent": 7, "bytes_recv": 9,
                                "bytes_sent_per_sec": 0, "bytes_recv_per_sec": 0}],
                "temperatures": [{"label": "cpu_thermal temp1", "celsius": 48.3, "critical": 110.0}],
                "boot_time": 1700000000, "timestamp": 1700000123456}"#,
        )
        .unwrap();
        Snapshot::new(info, Default::default())
    }

    #[test]
    fn node_exporter_names_and_labels() {
        let text = render(&snapshot());
        assert!(text.contains("node_filesystem_size_bytes{device=\"/dev/mmcblk0p2\",fstype=\"ext4\",mountpoint=\"/\"} 100\n"));
        assert!(text.contains("node_filesystem_free_bytes{device=\"/dev/mmcblk0p2\",fstype=\"ext4\",mountpoint=\"/\"} 60\n"));
        assert!(text.contains("node_network_receive_bytes_total{device=\"eth0\"} 9\n"));
        assert!(text.contains("node_network_transmit_bytes_total{device=\"eth0\"} 7\n"));
        assert!(text.contains("node_load15 0.125\n"));
        assert!(text.contains("node_boot_time_seconds 1700000000\n"));
        assert!(
            text.contains("node_hwmon_temp_celsius{chip=\"cpu_thermal\",sensor=\"temp1\"} 48.3\n")
        );
        assert!(text.contains("lanstat_cpu_core_usage_ratio{cpu=\"1\"} 0.4\n"));
        assert!(text.contains("lanstat_cpu_usage_ratio 0.25\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let text = render(&snapshot());
        assert!(text.contains("nodename=\"pi \\\"one\\\"\""), "{text}");
    }

    #[test]
    fn every_family_has_help_and_type_once() {
        let text = render(&snapshot());
        let mut seen = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).unwrap();
            assert!(seen.insert(name.to_string()), "duplicate family {name}");
            assert!(text.contains(&format!("# HELP {name} ")));
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(seen.contains(name), "sample without family: {line}");
        }
    }

    #[test]
    fn values_are_formatted_for_prometheus() {
        let mut s = String::new();
        write_value(&mut s, f64::NAN);
        s.push(' ');
        write_value(&mut s, f64::INFINITY);
        s.push(' ');
        write_value(&mut s, 3.0);
        s.push(' ');
        write_value(&mut s, 0.5);
        assert_eq!(s, "NaN +Inf 3 0.5");
    }
}
