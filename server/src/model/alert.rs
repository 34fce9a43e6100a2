//! Alerts: rules, delivery channels, the state of a rule per computer and target, and the
//! events that state changes make.

use serde::Serialize;

use super::kind::{ChannelKind, RuleKind};
use super::values::{ChannelToken, ChannelUrl, Name, RuleDuration, RuleTarget, Threshold};

/// An alert rule: what it watches, on which computer, past which threshold and for how long.
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

/// A rule as an admin sets it, every value checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInput {
    pub name: Name,
    pub kind: RuleKind,
    pub computer_id: Option<i64>,
    pub target: Option<RuleTarget>,
    /// For the kinds that have one ([`RuleKind::has_threshold`]).
    pub threshold: Option<Threshold>,
    pub duration: RuleDuration,
    pub enabled: bool,
}

impl Rule {
    /// Whether `input` judges the same things the same way (it may rename the rule): if not,
    /// the rule's states start afresh.
    pub fn means_the_same(&self, input: &RuleInput) -> bool {
        self.kind == input.kind
            && self.computer_id == input.computer_id
            && self.target.as_deref() == input.target.as_deref()
            && self.threshold == input.threshold.map(Threshold::get)
            && self.duration_secs == input.duration.secs()
            && self.enabled == input.enabled
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

impl Channel {
    /// The address as answers show it: never the secret in it.
    pub fn shown_url(&self) -> String {
        mask_url(&self.url)
    }

    /// The token as answers show it.
    pub fn shown_token(&self) -> Option<String> {
        self.token.as_deref().map(mask_token)
    }
}

/// A channel URL as answers show it: scheme and host, then only the last four characters
/// of the rest (which holds the secret: a webhook token, a topic name).
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(split);
    let host = host.rsplit('@').next().unwrap_or(host);
    let n = tail.chars().count();
    let tail = if n == 0 {
        String::new()
    } else if n >= 8 {
        format!("/…{}", tail.chars().skip(n - 4).collect::<String>())
    } else {
        "/…".to_string()
    };
    if scheme.is_empty() {
        format!("{host}{tail}")
    } else {
        format!("{scheme}://{host}{tail}")
    }
}

/// A token as answers show it.
pub fn mask_token(token: &str) -> String {
    let n = token.chars().count();
    if n >= 12 {
        format!("…{}", token.chars().skip(n - 4).collect::<String>())
    } else {
        "…".to_string()
    }
}

/// A channel as an admin sets it, every value checked. `url: None` and `token: None` keep
/// the stored ones.
#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub name: Name,
    pub kind: ChannelKind,
    pub url: Option<ChannelUrl>,
    pub token: Option<ChannelToken>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            mask_url("https://discord.com/api/webhooks/123/abcdefXYZ9"),
            "https://discord.com/…XYZ9"
        );
        assert_eq!(mask_url("http://127.0.0.1:9/h"), "http://127.0.0.1:9/…");
        assert_eq!(mask_url("https://ntfy.sh"), "https://ntfy.sh");
        assert_eq!(
            mask_url("https://u:p@host/x?token=abcdefgh"),
            "https://host/…efgh"
        );
        assert_eq!(mask_token("AbCdEfGhIjKl"), "…IjKl");
        assert_eq!(mask_token("short"), "…");
    }
}
