//! What an alert rule watches and where a channel delivers: the kinds, their units, ranges and
//! names, each said once.

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
        expected(&RuleKind::ALL.map(RuleKind::as_str))
    }
}

/// Where a channel delivers: the service it speaks to.
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

    /// "kind must be webhook, …": every kind named, from the one list.
    pub fn expected() -> String {
        expected(&ChannelKind::ALL.map(ChannelKind::as_str))
    }
}

/// "kind must be a, b or c".
fn expected(names: &[&str]) -> String {
    match names {
        [] => "kind is not known".into(),
        [one] => format!("kind must be {one}"),
        [rest @ .., last] => format!("kind must be {} or {last}", rest.join(", ")),
    }
}
