//! Stored figures: one sample per poll, chart points from the tiers, and how long each tier
//! keeps them.

use serde::Serialize;

/// One poll's figures, as stored. Rates are the server's own (from counters between its
/// polls); the agent's reported rates are kept beside them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    pub computer_id: i64,
    /// Unix seconds.
    pub timestamp: i64,
    pub cpu_percent: f64,
    pub memory_total: i64,
    pub memory_used: i64,
    pub memory_percent: f64,
    pub disk_total: i64,
    pub disk_used: i64,
    pub disk_percent: f64,
    pub network_bytes_sent: i64,
    pub network_bytes_recv: i64,
    pub network_sent_per_sec: f64,
    pub network_recv_per_sec: f64,
    pub swap_percent: Option<f64>,
    pub load_1: Option<f64>,
    /// The hottest sensor, °C.
    pub temperature: Option<f64>,
    pub disk_read_per_sec: Option<f64>,
    pub disk_write_per_sec: Option<f64>,
    pub uptime_secs: Option<i64>,
    pub agent_sent_per_sec: Option<f64>,
    pub agent_recv_per_sec: Option<f64>,
}

/// One chart point: the bucket's average, with its minimum and maximum where they tell
/// something. A point with every value `None` marks a gap (the host was not answering).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HistoryPoint {
    /// Unix seconds at the start of the bucket.
    pub timestamp: i64,
    pub samples: i64,
    pub cpu_percent: Option<f64>,
    pub cpu_percent_min: Option<f64>,
    pub cpu_percent_max: Option<f64>,
    pub memory_percent: Option<f64>,
    pub memory_percent_min: Option<f64>,
    pub memory_percent_max: Option<f64>,
    pub memory_used: Option<f64>,
    pub memory_total: Option<f64>,
    pub disk_percent: Option<f64>,
    pub disk_percent_min: Option<f64>,
    pub disk_percent_max: Option<f64>,
    pub disk_used: Option<f64>,
    pub disk_total: Option<f64>,
    pub network_sent_per_sec: Option<f64>,
    pub network_sent_per_sec_max: Option<f64>,
    pub network_recv_per_sec: Option<f64>,
    pub network_recv_per_sec_max: Option<f64>,
    pub temperature: Option<f64>,
    pub temperature_min: Option<f64>,
    pub temperature_max: Option<f64>,
    pub load_1: Option<f64>,
    pub swap_percent: Option<f64>,
    pub disk_read_per_sec: Option<f64>,
    pub disk_write_per_sec: Option<f64>,
}

/// A storage tier: raw samples or a rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Raw,
    FiveMinutes,
    Hour,
    Day,
}

impl Tier {
    /// Every tier, finest first.
    pub const ALL: [Tier; 4] = [Tier::Raw, Tier::FiveMinutes, Tier::Hour, Tier::Day];
    /// The tiers made by rolling up a finer one, in the order they are rolled up.
    pub const ROLLUPS: [Tier; 3] = [Tier::FiveMinutes, Tier::Hour, Tier::Day];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
            Tier::FiveMinutes => "5m",
            Tier::Hour => "1h",
            Tier::Day => "1d",
        }
    }

    /// Bucket width in seconds (raw: none).
    pub fn width(self) -> i64 {
        match self {
            Tier::Raw => 0,
            Tier::FiveMinutes => 300,
            Tier::Hour => 3600,
            Tier::Day => 86_400,
        }
    }

    /// The finer tier this one is rolled up from.
    pub fn source(self) -> Tier {
        match self {
            Tier::Raw | Tier::FiveMinutes => Tier::Raw,
            Tier::Hour => Tier::FiveMinutes,
            Tier::Day => Tier::Hour,
        }
    }

    /// The coarser tier rolled up from this one.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::Raw => Some(Tier::FiveMinutes),
            Tier::FiveMinutes => Some(Tier::Hour),
            Tier::Hour => Some(Tier::Day),
            Tier::Day => None,
        }
    }
}

/// How long each tier keeps its data, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: i64,
    pub five_minutes: i64,
    pub hour: i64,
    pub day: i64,
}

impl Default for Retention {
    /// Raw for 48 hours (full detail for "what happened last night"), 5-minute buckets for
    /// 30 days, hourly buckets for a year, daily ones for five years.
    fn default() -> Retention {
        Retention {
            raw: 48 * 3600,
            five_minutes: 30 * 86_400,
            hour: 365 * 86_400,
            day: 5 * 365 * 86_400,
        }
    }
}

impl Retention {
    pub fn of(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Raw => self.raw,
            Tier::FiveMinutes => self.five_minutes,
            Tier::Hour => self.hour,
            Tier::Day => self.day,
        }
    }
}
