//! The wire types of `GET /systeminfo`: the original JSON fields, then our additive ones.
//!
//! The same types are what the server deserializes, so every field added after the original
//! design is optional on input: an agent that speaks only the original JSON still parses.

use serde::{Deserialize, Serialize};

/// One sample of a machine, as `/systeminfo` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    // The original fields: names, nesting, types and units are a compatibility contract.
    /// Busy share of all CPUs over the last sample window, 0–100.
    pub cpu_percent: f64,
    pub memory: Memory,
    /// The root filesystem (the system drive on Windows).
    pub disk: Disk,
    /// Counters summed over every non-loopback interface.
    pub network: NetworkTotals,
    /// Rates over the last sample window, summed over every non-loopback interface.
    pub network_usage: NetworkRates,
    pub hostname: String,
    /// The OS family as Python's `platform.system()` names it: Linux, Windows, Darwin.
    pub system: String,

    // Additive fields.
    #[serde(default)]
    pub swap: Option<Swap>,
    #[serde(default)]
    pub cpu_count: Option<u32>,
    #[serde(default)]
    pub per_cpu_percent: Vec<f64>,
    #[serde(default)]
    pub load_average: Option<LoadAverage>,
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Unix seconds.
    #[serde(default)]
    pub boot_time: Option<u64>,
    #[serde(default)]
    pub disks: Vec<Filesystem>,
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    #[serde(default)]
    pub disk_io: Option<DiskIo>,
    #[serde(default)]
    pub temperatures: Vec<Temperature>,
    #[serde(default)]
    pub os_version: Option<String>,
    #[serde(default)]
    pub kernel_version: Option<String>,
    #[serde(default)]
    pub arch: Option<String>,
    #[serde(default)]
    pub agent_version: Option<String>,
    /// Unix milliseconds when the sample was taken.
    #[serde(default)]
    pub timestamp: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub total: u64,
    /// `total - available`: what `free` reports as used.
    pub used: u64,
    /// `used / total * 100`.
    pub percent: f64,
    #[serde(default)]
    pub available: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    pub total: u64,
    pub used: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetworkTotals {
    pub bytes_sent: u64,
    pub bytes_recv: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetworkRates {
    pub bytes_sent_per_sec: f64,
    pub bytes_recv_per_sec: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Swap {
    pub total: u64,
    pub used: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filesystem {
    pub mount_point: String,
    pub device: String,
    pub fs_type: String,
    pub total: u64,
    pub used: u64,
    pub available: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub bytes_sent: u64,
    pub bytes_recv: u64,
    pub bytes_sent_per_sec: f64,
    pub bytes_recv_per_sec: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiskIo {
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    pub label: String,
    pub celsius: f64,
    #[serde(default)]
    pub critical: Option<f64>,
}

/// One page of `GET /history`: the agent's recent samples, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The agent's sample interval, in seconds.
    pub interval: u64,
    /// The newest sample the agent holds (unix seconds), or `null` when it holds none.
    pub newest: Option<u64>,
    pub samples: Vec<HistorySample>,
    /// Whether samples newer than the last one of this page remain: ask again with its `t`.
    pub more: bool,
}

/// One past sample: the figures the server keeps of a sample, under the names `/systeminfo`
/// gives them. An object holds only the members kept (`swap` only its `percent`); a figure
/// the machine does not have is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistorySample {
    /// Unix seconds when the sample was taken.
    pub t: u64,
    pub cpu_percent: f64,
    pub memory: Usage,
    pub disk: Usage,
    pub network: NetworkTotals,
    pub network_usage: NetworkRates,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<SwapPercent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<LoadOne>,
    /// The hottest sensor, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_io: Option<DiskRates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
}

/// `memory` or `disk` of a past sample: `/systeminfo`'s members without `available`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub total: u64,
    pub used: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwapPercent {
    pub percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadOne {
    pub one: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiskRates {
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
}

/// `part / whole * 100`, 0 when `whole` is 0, rounded to one decimal as psutil does.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    round1((part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0))
}

/// Rounds to one decimal place.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the original README, field for field.
    const ORIGINAL: &str = r#"{
        "cpu_percent": 15.2,
        "memory": {"total": 16777216, "used": 8388608, "percent": 50.0},
        "disk": {"total": 1000000000, "used": 500000000, "percent": 50.0},
        "network": {"bytes_sent": 1000000, "bytes_recv": 2000000},
        "network_usage": {"bytes_sent_per_sec": 1024, "bytes_recv_per_sec": 2048},
        "hostname": "computer-name",
        "system": "Linux"
    }"#;

    /// Why `ORIGINAL` with `from` replaced by `to` is refused.
    fn refusal(from: &str, to: &str) -> String {
        let bad = ORIGINAL.replace(from, to);
        serde_json::from_str::<SystemInfo>(&bad)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn original_json_parses_with_additive_fields_absent() {
        let info: SystemInfo = serde_json::from_str(ORIGINAL).unwrap();
        assert_eq!(info.memory.total, 16777216);
        assert_eq!(info.network_usage.bytes_recv_per_sec, 2048.0);
        assert_eq!(info.hostname, "computer-name");
        assert!(info.disks.is_empty());
        assert_eq!(info.load_average, None);
        assert_eq!(info.memory.available, None);
    }

    #[test]
    fn a_negative_counter_or_a_missing_original_field_is_refused_by_name() {
        for (from, to, named) in [
            ("\"bytes_sent\": 1000000", "\"bytes_sent\": -5", "-5"),
            ("\"hostname\": \"computer-name\",", "", "hostname"),
        ] {
            let err = refusal(from, to);
            assert!(err.contains(named), "{named}: {err}");
        }
    }

    #[test]
    fn nan_is_refused() {
        let bad = ORIGINAL.replace("15.2", "NaN");
        assert!(serde_json::from_str::<SystemInfo>(&bad).is_err());
    }

    #[test]
    fn percent_handles_zero_and_rounds() {
        assert_eq!(percent(1, 0), 0.0);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(5, 4), 100.0);
    }
}
