//! Alerts: rules, delivery channels, the state of a rule per computer and target, and the
//! events that state changes make.

use serde::Serialize;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    Offline,
    Cpu,
    Memory,
    Disk,
    Temperature,
    Network,
    Reboot,
}

impl RuleKind {
    pub const ALL: [RuleKind; 7] = [
        RuleKind::Offline,
        RuleKind::Cpu,
        RuleKind::Memory,
        RuleKind::Disk,
        RuleKind::Temperature,
        RuleKind::Network,
        RuleKind::Reboot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Offline => "offline",
            RuleKind::Cpu => "cpu",
            RuleKind::Memory => "memory",
            RuleKind::Disk => "disk",
            RuleKind::Temperature => "temperature",
            RuleKind::Network => "network",
            RuleKind::Reboot => "reboot",
        }
    }

    pub fn parse(s: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the rule compares a figure with a threshold.
    pub fn has_threshold(self) -> bool {
        !matches!(self, RuleKind::Offline | RuleKind::Reboot)
    }

    /// Whether the rule may name one disk, sensor or interface.
    pub fn has_target(self) -> bool {
        matches!(
            self,
            RuleKind::Disk | RuleKind::Temperature | RuleKind::Network
        )
    }

    /// The unit of its threshold and values.
    pub fn unit(self) -> &'static str {
        match self {
            RuleKind::Cpu | RuleKind::Memory | RuleKind::Disk => "%",
            RuleKind::Temperature => "°C",
            RuleKind::Network => "MB/s",
            RuleKind::Offline | RuleKind::Reboot => "s",
        }
    }

    /// The thresholds it accepts, and how to say so.
    pub fn threshold_range(self) -> (f64, f64, &'static str) {
        match self {
            RuleKind::Cpu | RuleKind::Memory | RuleKind::Disk => {
                (0.0, 100.0, "a percentage from 0 to 100")
            }
            RuleKind::Temperature => (-50.0, 200.0, "a temperature from -50 to 200 °C"),
            RuleKind::Network => (0.0, 100_000.0, "a rate from 0 to 100000 MB/s"),
            RuleKind::Offline | RuleKind::Reboot => (0.0, 0.0, ""),
        }
    }

    /// How far below the threshold a firing value must fall to resolve: 2 points for
    /// percents and °C, 5 % of the threshold for rates.
    pub fn margin(self, threshold: f64) -> f64 {
        match self {
            RuleKind::Network => threshold.abs() * 0.05,
            _ => 2.0,
        }
    }

    /// "kind must be offline, cpu, …": every kind named, from the one list.
    pub fn expected() -> String {
        let names: Vec<&str> = RuleKind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "kind must be {} or {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub kind: RuleKind,
    /// `None`: every computer.
    pub computer_id: Option<i64>,
    /// `None`: any mount point, sensor or interface.
    pub target: Option<String>,
    /// Percent, °C or MB/s by kind; `None` for offline and reboot.
    pub threshold: Option<f64>,
    pub duration_secs: i64,
    pub enabled: bool,
    pub created_at: Option<i64>,
}

/// Fields a user sets on a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInput {
    pub name: String,
    pub kind: RuleKind,
    pub computer_id: Option<i64>,
    pub target: Option<String>,
    pub threshold: Option<f64>,
    pub duration_secs: i64,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Webhook,
    Ntfy,
    Discord,
    Slack,
    Gotify,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Webhook,
        ChannelKind::Ntfy,
        ChannelKind::Discord,
        ChannelKind::Slack,
        ChannelKind::Gotify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Discord => "discord",
            ChannelKind::Slack => "slack",
            ChannelKind::Gotify => "gotify",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A delivery channel. `url` and `token` are secrets: the API shows them masked.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub url: String,
    pub token: Option<String>,
    pub enabled: bool,
    /// The dashboard address as the admin who saved the channel reached it.
    pub link_base: Option<String>,
    pub created_at: Option<i64>,
    pub last_ok_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// Fields a user sets on a channel. `url: None` and `token: None` keep the stored ones.
#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub name: String,
    pub kind: ChannelKind,
    pub url: Option<String>,
    /// `Some(None)` clears the token.
    pub token: Option<Option<String>>,
    pub enabled: bool,
    pub link_base: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// At or over the threshold, not yet for the rule's duration.
    Pending,
    Firing,
    /// Fired and then resolved; kept so a new firing waits out the quiet period.
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Firing => "firing",
            State::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "pending" => State::Pending,
            "firing" => State::Firing,
            _ => State::Resolved,
        }
    }
}

/// The state of one rule for one computer and target (`""` when the rule has none).
/// A missing row means "ok".
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    pub rule_id: i64,
    pub computer_id: i64,
    pub target_key: String,
    pub state: State,
    pub since: i64,
    pub value: Option<f64>,
    /// When a message for it was last sent (fired or resolved).
    pub last_notified_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Fired,
    Resolved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fired => "fired",
            EventKind::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: String,
    pub computer_id: Option<i64>,
    pub computer_name: String,
    pub target: Option<String>,
    pub kind: EventKind,
    pub value: Option<f64>,
    pub at: i64,
    pub message: String,
}

/// A firing alert, as a dashboard card shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    pub rule_id: i64,
    pub rule: String,
    pub kind: RuleKind,
    pub computer_id: i64,
    pub target: Option<String>,
    pub since: i64,
    pub value: Option<f64>,
}
