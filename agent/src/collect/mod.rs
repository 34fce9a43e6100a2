//! Reading the operating system: sysinfo for what is portable, /proc and /sys on Linux for
//! the rest. A [`Reading`] holds counters and gauges at one instant; rates are the sampler's.

#[cfg(target_os = "linux")]
pub mod linux;

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sysinfo::{
    Components, CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind,
    System,
};

use crate::error::Error;
use crate::snapshot::{Disk, Filesystem, LoadAverage, Swap, Temperature, percent, round1};

/// Counters and gauges read at one instant.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub at: Option<Instant>,
    pub unix_ms: u64,
    pub cpu_percent: f64,
    pub per_cpu_percent: Vec<f64>,
    pub mem_total: u64,
    pub mem_available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub load_average: Option<LoadAverage>,
    pub uptime_secs: Option<u64>,
    pub boot_time: Option<u64>,
    pub root: Disk,
    pub filesystems: Vec<Filesystem>,
    /// (name, bytes sent, bytes received), counters since the interface appeared.
    pub interfaces: Vec<(String, u64, u64)>,
    /// Physical disks' cumulative (read, written) bytes, where the OS exposes them.
    pub disk_io: Option<(u64, u64)>,
    pub temperatures: Vec<Temperature>,
    pub hostname: String,
    pub os_version: Option<String>,
    pub kernel_version: Option<String>,
    pub arch: Option<String>,
    pub linux: LinuxExtra,
}

/// Linux-only series for `/metrics`; empty elsewhere.
#[derive(Debug, Clone, Default)]
pub struct LinuxExtra {
    #[cfg(target_os = "linux")]
    pub cpu_seconds: Vec<linux::CpuSeconds>,
    #[cfg(target_os = "linux")]
    pub disks: Vec<linux::DiskDevice>,
    #[cfg(target_os = "linux")]
    pub meminfo: Vec<(String, u64)>,
}

/// Long-lived handles on the OS, refreshed in place so each reading costs little.
pub struct Collector {
    system: System,
    networks: Networks,
    disks: Disks,
    components: Components,
    os_version: Option<String>,
}

impl Collector {
    pub fn new() -> Result<Collector, Error> {
        let system = System::new_with_specifics(RefreshKind::nothing())
            .map_err(|e| Error::Collect(format!("cannot read system figures: {e}")))?;
        let networks = Networks::new_with_refreshed_list()
            .map_err(|e| Error::Collect(format!("cannot read network interfaces: {e}")))?;
        let disks = Disks::new_with_refreshed_list_specifics(disk_refresh_kind())
            .map_err(|e| Error::Collect(format!("cannot read filesystems: {e}")))?;
        // Temperatures are optional: a machine without sensors still has every other figure.
        let components = Components::new_with_refreshed_list().or_else(|_| Components::new());
        let components =
            components.map_err(|e| Error::Collect(format!("cannot read sensors: {e}")))?;
        let mut c = Collector {
            system,
            networks,
            disks,
            components,
            os_version: os_version(),
        };
        // The first CPU refresh only sets a baseline; usage needs two refreshes some time apart.
        c.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        Ok(c)
    }

    /// Reads every figure now.
    pub fn read(&mut self) -> Reading {
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::everything());
        self.networks.refresh(true);
        self.disks.refresh_specifics(true, disk_refresh_kind());
        self.components.refresh(true);

        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let cpus = self.system.cpus();
        let per_cpu_percent = cpus
            .iter()
            .map(|c| round1(finite(c.usage() as f64)))
            .collect();
        let filesystems = filesystems(&self.disks);
        let root = root_disk(&filesystems);

        let mut interfaces: Vec<(String, u64, u64)> = self
            .networks
            .iter()
            .map(|(name, data)| {
                (
                    name.to_string_lossy().into_owned(),
                    data.total_transmitted(),
                    data.total_received(),
                )
            })
            .collect();
        interfaces.sort_by(|a, b| a.0.cmp(&b.0));

        let mut temperatures: Vec<Temperature> = self
            .components
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let celsius = c.temperature().map(f64::from).filter(|t| t.is_finite())?;
                let label = c.label().trim();
                Some(Temperature {
                    label: if label.is_empty() {
                        format!("temp{}", i + 1)
                    } else {
                        label.to_string()
                    },
                    celsius: round1(celsius),
                    critical: c
                        .critical()
                        .map(f64::from)
                        .filter(|t| t.is_finite() && *t > 0.0),
                })
            })
            .collect();
        temperatures.sort_by(|a, b| a.label.cmp(&b.label));

        #[cfg(target_os = "linux")]
        let linux = read_linux_extra();
        #[cfg(not(target_os = "linux"))]
        let linux = LinuxExtra::default();

        #[cfg(target_os = "linux")]
        let disk_io = Some(linux.disks.iter().fold((0u64, 0u64), |(r, w), d| {
            (
                r.saturating_add(d.read_bytes),
                w.saturating_add(d.written_bytes),
            )
        }));
        #[cfg(not(target_os = "linux"))]
        let disk_io = sysinfo_disk_io(&self.disks);

        Reading {
            at: Some(Instant::now()),
            unix_ms,
            cpu_percent: round1(finite(self.system.global_cpu_usage() as f64).clamp(0.0, 100.0)),
            per_cpu_percent,
            mem_total: self.system.total_memory(),
            mem_available: self
                .system
                .available_memory()
                .min(self.system.total_memory()),
            swap_total: self.system.total_swap(),
            swap_used: self.system.used_swap().min(self.system.total_swap()),
            load_average: System::load_average().ok().map(|l| LoadAverage {
                one: finite(l.one),
                five: finite(l.five),
                fifteen: finite(l.fifteen),
            }),
            uptime_secs: System::uptime().ok(),
            boot_time: System::boot_time().ok(),
            root,
            filesystems,
            interfaces,
            disk_io,
            temperatures,
            hostname: System::host_name().unwrap_or_else(|_| "unknown".to_string()),
            os_version: self.os_version.clone(),
            kernel_version: System::kernel_version().ok(),
            arch: Some(System::cpu_arch()).filter(|a| !a.is_empty()),
            linux,
        }
    }
}

impl Reading {
    pub fn swap(&self) -> Swap {
        Swap {
            total: self.swap_total,
            used: self.swap_used,
            percent: percent(self.swap_used, self.swap_total),
        }
    }
}

fn disk_refresh_kind() -> DiskRefreshKind {
    // On Unix the sizes come from our own statvfs (to match df); elsewhere from sysinfo.
    let kind = DiskRefreshKind::nothing();
    if cfg!(unix) {
        kind
    } else {
        kind.with_storage().with_io_usage()
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// The OS family as Python's `platform.system()` names it, which the original JSON carried.
pub fn system_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        "netbsd" => "NetBSD",
        "openbsd" => "OpenBSD",
        "android" => "Linux",
        other => other,
    }
}

fn os_version() -> Option<String> {
    #[cfg(target_os = "linux")]
    if let Some(v) = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| linux::parse_os_release(&t))
    {
        return Some(v);
    }
    System::long_os_version().ok().filter(|v| !v.is_empty())
}

/// Filesystem types that hold no user data of their own.
const PSEUDO_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "nfsd",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "fuse.snapfuse",
    "aufs",
    "iso9660",
];

/// Whether a mount is a real filesystem worth reporting: no pseudo or in-memory filesystem,
/// no container overlay, no snap's loop-mounted squashfs.
pub fn is_real_filesystem(fs_type: &str, device: &str, mount_point: &str) -> bool {
    if PSEUDO_FS.contains(&fs_type) {
        return false;
    }
    if device.starts_with("/dev/loop") || mount_point.starts_with("/snap/") {
        return false;
    }
    let pseudo_dir = ["/proc", "/sys", "/dev"]
        .iter()
        .any(|d| mount_point == *d || mount_point.starts_with(&format!("{d}/")));
    let run = mount_point.starts_with("/run") && !mount_point.starts_with("/run/media");
    !(pseudo_dir || run)
}

fn filesystems(disks: &Disks) -> Vec<Filesystem> {
    let mut out: Vec<Filesystem> = Vec::new();
    for d in disks.iter() {
        let mount_point = d.mount_point().to_string_lossy().into_owned();
        let device = d.name().to_string_lossy().into_owned();
        let fs_type = d.file_system().to_string_lossy().into_owned();
        if !is_real_filesystem(&fs_type, &device, &mount_point) {
            continue;
        }
        if out.iter().any(|f| f.mount_point == mount_point) {
            continue; // a mount stacked over another shows the top one only
        }
        let Some(space) = space_of(d) else { continue };
        if space.total == 0 {
            continue;
        }
        out.push(filesystem(mount_point, device, fs_type, space));
    }
    drop_bind_mounts(out)
}

/// A bind mount (systemd's StateDirectory or PrivateTmp, a container volume) shows the same
/// filesystem again under another path. Entries with the same device and the same sizes are
/// one filesystem: the shortest path stands for it. Sorted by mount point.
pub fn drop_bind_mounts(mut all: Vec<Filesystem>) -> Vec<Filesystem> {
    all.sort_by(|a, b| {
        a.mount_point
            .len()
            .cmp(&b.mount_point.len())
            .then(a.mount_point.cmp(&b.mount_point))
    });
    let mut out: Vec<Filesystem> = Vec::with_capacity(all.len());
    for f in all {
        let same = |o: &Filesystem| {
            o.device == f.device
                && o.total == f.total
                && o.used == f.used
                && o.available == f.available
        };
        if !out.iter().any(same) {
            out.push(f);
        }
    }
    out.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    out
}

fn filesystem(
    mount_point: String,
    device: String,
    fs_type: String,
    s: crate::sys::FsSpace,
) -> Filesystem {
    let used = s.total.saturating_sub(s.free);
    Filesystem {
        mount_point,
        device,
        fs_type,
        total: s.total,
        used,
        available: s.available,
        // As df and psutil: the share of the space an unprivileged user could fill.
        percent: percent(used, used.saturating_add(s.available)),
    }
}

#[cfg(unix)]
fn space_of(d: &sysinfo::Disk) -> Option<crate::sys::FsSpace> {
    crate::sys::statvfs(d.mount_point())
}

#[cfg(not(unix))]
fn space_of(d: &sysinfo::Disk) -> Option<crate::sys::FsSpace> {
    Some(crate::sys::FsSpace {
        total: d.total_space(),
        free: d.available_space(),
        available: d.available_space(),
    })
}

/// The original `disk`: the root filesystem, or the system drive on Windows.
fn root_disk(filesystems: &[Filesystem]) -> Disk {
    let as_disk = |f: &Filesystem| Disk {
        total: f.total,
        used: f.used,
        percent: f.percent,
    };
    if cfg!(unix) {
        // "/" may be an overlay (a container) that the list leaves out: ask statvfs directly.
        if let Some(s) = crate::sys::statvfs(Path::new("/")) {
            return as_disk(&filesystem(String::new(), String::new(), String::new(), s));
        }
    }
    let system_drive = std::env::var("SystemDrive").unwrap_or_else(|_| "C:".to_string());
    filesystems
        .iter()
        .find(|f| {
            f.mount_point == "/"
                || f.mount_point
                    .trim_end_matches('\\')
                    .eq_ignore_ascii_case(&system_drive)
        })
        .or_else(|| filesystems.first())
        .map(as_disk)
        .unwrap_or(Disk {
            total: 0,
            used: 0,
            percent: 0.0,
        })
}

#[cfg(not(target_os = "linux"))]
fn sysinfo_disk_io(disks: &Disks) -> Option<(u64, u64)> {
    let mut seen: Vec<&std::ffi::OsStr> = Vec::new();
    let mut total = (0u64, 0u64);
    for d in disks.iter() {
        if seen.contains(&d.name()) {
            continue;
        }
        seen.push(d.name());
        let u = d.usage();
        total.0 = total.0.saturating_add(u.total_read_bytes);
        total.1 = total.1.saturating_add(u.total_written_bytes);
    }
    (!seen.is_empty()).then_some(total)
}

#[cfg(target_os = "linux")]
fn read_linux_extra() -> LinuxExtra {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let sys_block = Path::new("/sys/block");
    LinuxExtra {
        cpu_seconds: linux::parse_proc_stat(&read("/proc/stat")),
        disks: linux::parse_diskstats(&read("/proc/diskstats"), |n| {
            linux::is_physical_disk(n, sys_block)
        }),
        meminfo: linux::parse_meminfo(&read("/proc/meminfo")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_and_snap_filesystems_are_not_real() {
        assert!(!is_real_filesystem("tmpfs", "tmpfs", "/dev/shm"));
        assert!(!is_real_filesystem("overlay", "overlay", "/"));
        assert!(!is_real_filesystem(
            "squashfs",
            "/dev/loop3",
            "/snap/core/1"
        ));
        assert!(!is_real_filesystem("ext4", "/dev/loop3", "/mnt/img"));
        assert!(!is_real_filesystem("proc", "proc", "/proc"));
        assert!(!is_real_filesystem("ext4", "/dev/sda1", "/run/foo"));
        assert!(is_real_filesystem("ext4", "/dev/sda1", "/"));
        assert!(is_real_filesystem(
            "vfat",
            "/dev/mmcblk0p1",
            "/boot/firmware"
        ));
        assert!(is_real_filesystem("ext4", "/dev/sdb1", "/run/media/usb"));
        assert!(is_real_filesystem("zfs", "tank/data", "/tank/data"));
    }

    #[test]
    fn bind_mounts_of_one_filesystem_are_listed_once() {
        let fs = |m: &str, dev: &str, total: u64| Filesystem {
            mount_point: m.into(),
            device: dev.into(),
            fs_type: "ext4".into(),
            total,
            used: total / 2,
            available: total / 3,
            percent: 60.0,
        };
        let list = drop_bind_mounts(vec![
            fs("/var/lib/private/lanstat-agent", "/dev/sda1", 100),
            fs("/var/tmp", "/dev/sda1", 100),
            fs("/", "/dev/sda1", 100),
            fs("/boot", "/dev/sda2", 10),
            fs("/srv", "/dev/sdb1", 100),
        ]);
        let mounts: Vec<&str> = list.iter().map(|f| f.mount_point.as_str()).collect();
        assert_eq!(mounts, ["/", "/boot", "/srv"]);
    }

    #[test]
    fn df_style_used_and_percent() {
        let s = crate::sys::FsSpace {
            total: 1000,
            free: 300,
            available: 250,
        };
        let f = filesystem("/".into(), "d".into(), "ext4".into(), s);
        assert_eq!(f.used, 700);
        assert_eq!(f.available, 250);
        // 700 / (700 + 250)
        assert_eq!(f.percent, 73.7);
    }

    #[test]
    fn collector_reads_this_machine() {
        let mut c = Collector::new().unwrap();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let r = c.read();
        assert!(r.mem_total > 0);
        assert!(r.mem_available <= r.mem_total);
        assert!(!r.per_cpu_percent.is_empty());
        assert!(r.root.total > 0);
        assert!(!r.hostname.is_empty());
        assert!(r.unix_ms > 1_600_000_000_000);
    }
}
