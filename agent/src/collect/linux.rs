//! Linux figures sysinfo does not give: per-mode CPU seconds (/proc/stat), per-device disk
//! I/O (/proc/diskstats) and every /proc/meminfo field. Parsers are pure functions over the
//! file's text, so tests feed them fixtures; a line they do not understand is skipped.

use std::path::Path;

/// Kernel ticks per second for /proc/stat. USER_HZ is 100 on every Linux architecture.
const USER_HZ: f64 = 100.0;
/// /proc/diskstats counts 512-byte sectors whatever the device's block size.
const SECTOR_BYTES: u64 = 512;

/// Seconds one CPU spent in each mode since boot.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuSeconds {
    pub cpu: u32,
    /// (mode, seconds), in the order node_exporter lists them.
    pub modes: Vec<(&'static str, f64)>,
}

const CPU_MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

pub fn parse_proc_stat(text: &str) -> Vec<CpuSeconds> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(head) = fields.next() else { continue };
        let Some(num) = head.strip_prefix("cpu") else {
            continue;
        };
        let Ok(cpu) = num.parse::<u32>() else {
            continue;
        }; // skips the "cpu" total line
        let values: Vec<u64> = fields
            .take(CPU_MODES.len())
            .map_while(|f| f.parse().ok())
            .collect();
        if values.len() < 4 {
            continue;
        }
        let modes = CPU_MODES
            .iter()
            .zip(values.iter())
            .map(|(mode, ticks)| (*mode, *ticks as f64 / USER_HZ))
            .collect();
        out.push(CpuSeconds { cpu, modes });
    }
    out
}

/// Cumulative I/O of one block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskDevice {
    pub name: String,
    pub reads_completed: u64,
    pub read_bytes: u64,
    pub writes_completed: u64,
    pub written_bytes: u64,
    /// Milliseconds spent doing I/O.
    pub io_time_ms: u64,
}

/// Parses /proc/diskstats, keeping the devices `keep` accepts.
pub fn parse_diskstats(text: &str, keep: impl Fn(&str) -> bool) -> Vec<DiskDevice> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 14 || !keep(f[2]) {
            continue;
        }
        let n = |i: usize| f[i].parse::<u64>().ok();
        let (Some(reads), Some(sectors_read), Some(writes), Some(sectors_written), Some(io_ms)) =
            (n(3), n(5), n(7), n(9), n(12))
        else {
            continue;
        };
        out.push(DiskDevice {
            name: f[2].to_string(),
            reads_completed: reads,
            read_bytes: sectors_read.saturating_mul(SECTOR_BYTES),
            writes_completed: writes,
            written_bytes: sectors_written.saturating_mul(SECTOR_BYTES),
            io_time_ms: io_ms,
        });
    }
    out
}

/// Whether a /proc/diskstats device is a physical whole disk: partitions, loop and RAM
/// devices, and stacked devices (device-mapper, md RAID) are left out so that summing the
/// rest counts every byte once.
pub fn is_physical_disk(name: &str, sys_block: &Path) -> bool {
    const VIRTUAL: [&str; 9] = ["loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd", "zd"];
    if VIRTUAL.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    // Whole disks have an entry in /sys/block; partitions live beneath their disk.
    sys_block.join(name).exists()
}

/// Every /proc/meminfo line as (node_exporter metric suffix, value): values in kB become
/// bytes and get a `_bytes` suffix, counts (HugePages_Total) stay as they are.
pub fn parse_meminfo(text: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut parts = rest.split_ascii_whitespace();
        let Some(Ok(value)) = parts.next().map(str::parse::<u64>) else {
            continue;
        };
        let key: String = key
            .trim()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let key = key.trim_end_matches('_').to_string();
        if key.is_empty() {
            continue;
        }
        match parts.next() {
            Some("kB") => out.push((format!("{key}_bytes"), value.saturating_mul(1024))),
            None => out.push((key, value)),
            Some(_) => continue,
        }
    }
    out
}

/// The PRETTY_NAME of /etc/os-release, e.g. "Debian GNU/Linux 12 (bookworm)".
pub fn parse_os_release(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("PRETTY_NAME=")?;
        let v = v.trim().trim_matches('"').trim_matches('\'');
        (!v.is_empty()).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_gives_per_cpu_seconds_and_skips_the_total() {
        let text = "cpu  200 0 100 1000 5 0 1 0 0 0\n\
                    cpu0 100 0 50 500 2 0 1 0 0 0\n\
                    cpu1 100 0 50 500 3 0 0 7 0 0\n\
                    intr 12345\nctxt 99\n";
        let cpus = parse_proc_stat(text);
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].cpu, 1);
        assert_eq!(cpus[1].modes[0], ("user", 1.0));
        assert_eq!(cpus[1].modes[3], ("idle", 5.0));
        assert_eq!(cpus[1].modes[7], ("steal", 0.07));
    }

    #[test]
    fn proc_stat_garbage_is_skipped() {
        assert!(parse_proc_stat("cpu0 x y z\ncpuX 1 2 3 4\n\u{0}\n").is_empty());
    }

    #[test]
    fn diskstats_converts_sectors_to_bytes() {
        let text = "   8       0 sda 100 0 2048 10 50 0 4096 20 0 30 40 0 0 0 0\n\
                    8       1 sda1 90 0 2000 10 50 0 4000 20 0 30 40 0 0 0 0\n\
                    7       0 loop0 1 0 8 0 0 0 0 0 0 0 0\n\
                    bad line\n";
        let devs = parse_diskstats(text, |n| n == "sda");
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].read_bytes, 2048 * 512);
        assert_eq!(devs[0].written_bytes, 4096 * 512);
        assert_eq!(devs[0].reads_completed, 100);
        assert_eq!(devs[0].io_time_ms, 30);
    }

    #[test]
    fn virtual_block_devices_are_not_physical() {
        let sys = Path::new("/sys/block");
        for name in ["loop0", "ram1", "zram0", "dm-0", "md127", "sr0"] {
            assert!(!is_physical_disk(name, sys), "{name}");
        }
    }

    #[test]
    fn meminfo_keys_are_sanitised_and_scaled() {
        let text = "MemTotal:       16384 kB\nActive(anon):     10 kB\nHugePages_Total:       4\nweird line\n";
        let m = parse_meminfo(text);
        assert_eq!(m[0], ("MemTotal_bytes".to_string(), 16384 * 1024));
        assert_eq!(m[1], ("Active_anon_bytes".to_string(), 10240));
        assert_eq!(m[2], ("HugePages_Total".to_string(), 4));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn os_release_pretty_name() {
        let text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            parse_os_release(text).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(parse_os_release("ID=x\n"), None);
    }
}
