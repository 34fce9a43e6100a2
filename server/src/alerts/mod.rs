//! Alerts: rules judged after every poll round against the figures just stored, a state per
//! rule, computer and target (ok, pending, firing, resolved), and the events that state
//! changes make, judged by pure functions ([`evaluate`], [`step`]) tested round by round;
//! `domain::alerts` reads their inputs, writes the outcome and queues the messages on the
//! [`notify`] thread, never waiting for a delivery.
//!
//! The rules of the state machine:
//! - a value at or above the threshold makes the state *pending*; one reading below it
//!   ends that, and it becomes *firing* once it has stayed at or above for the rule's
//!   duration (at once for a duration of 0);
//! - a firing alert resolves only when the value falls below the threshold by a margin
//!   ([`RuleKind::margin`]: 2 points for percents and °C, 5 % of the threshold for rates);
//! - after a message, the same rule, computer and target fire again no sooner than
//!   [`QUIET_SECS`] later: a flapping value makes one fired and one resolved message per
//!   quiet period at most;
//! - offline counts from when the computer stopped answering (its status change), so a
//!   server restart does not restart the count; reboot fires once per reboot and has no
//!   resolved message.
//! - an admin's change (a rule turned off, changed or removed; its computer paused or
//!   removed) ends a firing alert with a resolved message that says so ([`ended`]).

pub mod notify;

use std::collections::{HashMap, HashSet};

use lanstat_agent::SystemInfo;

use crate::model::{Event, EventKind, Rule, RuleKind, Sample, State, StateRow};

/// After a message, the same alert fires again no sooner than this.
pub const QUIET_SECS: i64 = 600;
/// An uptime this much lower than the last one is a reboot (not a clock's jitter).
const REBOOT_SLACK_SECS: u64 = 2;

/// A computer as a round left it.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub id: i64,
    pub name: &'a str,
    /// It answered in this round; `info` and `sample` are that answer.
    pub online: bool,
    /// When it stopped answering, if it is not online.
    pub down_since: Option<i64>,
    pub reason: Option<&'a str>,
    pub info: Option<&'a SystemInfo>,
    pub sample: Option<&'a Sample>,
}

/// What changed in a round: state rows to write (`None` removes) and events to record.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub states: Vec<((i64, i64, String), Option<StateRow>)>,
    pub events: Vec<Event>,
}

fn is_loopback(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "lo"
        || lower.contains("loopback")
        || (lower.starts_with("lo") && lower[2..].chars().all(|c| c.is_ascii_digit()))
}

/// The readings a rule has for a computer this round, one per target: `None` when there
/// is nothing to judge (the computer did not answer, so its figures are unknown).
pub fn readings(rule: &Rule, c: &Observed) -> Option<Vec<(String, f64)>> {
    if rule.kind == RuleKind::Offline {
        return Some(match (c.online, c.down_since) {
            (false, Some(since)) => vec![(String::new(), since as f64)],
            _ => vec![],
        });
    }
    if !c.online {
        return None;
    }
    let info = c.info?;
    let whole = |value: f64| Some(vec![(String::new(), value)]);
    let mbit = |sent: f64, recv: f64| sent.max(recv) / 1e6;
    // Every target the computer reports, named; the rule's target picks among them.
    let targets: Vec<(&str, f64)> = match rule.kind {
        RuleKind::Cpu => return whole(info.cpu_percent),
        RuleKind::Memory => return whole(info.memory.percent),
        RuleKind::Offline | RuleKind::Reboot => return Some(vec![]),
        // The original agent reports its root filesystem only.
        RuleKind::Disk if info.disks.is_empty() => vec![("/", info.disk.percent)],
        RuleKind::Disk => info
            .disks
            .iter()
            .map(|d| (d.mount_point.as_str(), d.percent))
            .collect(),
        RuleKind::Temperature => info
            .temperatures
            .iter()
            .map(|t| (t.label.as_str(), t.celsius))
            .collect(),
        // The original agent reports only totals, which a rule without a target watches.
        RuleKind::Network if info.interfaces.is_empty() => {
            return Some(match (rule.target.as_deref(), c.sample) {
                (None, Some(s)) => vec![(
                    "total".to_string(),
                    mbit(s.network_sent_per_sec, s.network_recv_per_sec),
                )],
                _ => vec![],
            });
        }
        RuleKind::Network => info
            .interfaces
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    mbit(n.bytes_sent_per_sec, n.bytes_recv_per_sec),
                )
            })
            .collect(),
    };
    let wanted = |key: &str| match rule.target.as_deref() {
        Some(t) => t == key,
        // Without a target every one counts, but a loopback interface.
        None => rule.kind != RuleKind::Network || !is_loopback(key),
    };
    Some(
        targets
            .into_iter()
            .filter(|(key, _)| wanted(key))
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

/// One step of the state machine for one rule, computer and target. `reading` is the value
/// this round (`None`: no longer reported, which counts as below); for offline rules it is
/// when the computer went down. Returns the new state row (`None`: ok) and the event, if any.
pub fn step(
    rule: &Rule,
    prev: Option<&StateRow>,
    key: (i64, &str),
    reading: Option<f64>,
    now: i64,
) -> (Option<StateRow>, Option<EventKind>) {
    let (computer_id, target_key) = key;
    let threshold = rule.threshold.unwrap_or(0.0);
    // For offline, the value is how long it has been down; the pending clock starts when
    // it went down, not when we first looked.
    let (value, started) = match (rule.kind, reading) {
        (RuleKind::Offline, Some(since)) => {
            (Some((now as f64 - since).max(0.0)), Some(since as i64))
        }
        (_, r) => (r, None),
    };
    let above = match rule.kind {
        RuleKind::Offline => value.is_some(),
        _ => value.is_some_and(|v| v >= threshold),
    };
    let clear = match rule.kind {
        RuleKind::Offline => value.is_none(),
        _ => value.is_none_or(|v| v < threshold - rule.kind.margin(threshold)),
    };
    let row = |state: State, since: i64, last_notified_at: Option<i64>| StateRow {
        rule_id: rule.id,
        computer_id,
        target_key: target_key.to_string(),
        state,
        since,
        value,
        last_notified_at,
    };
    let last = prev.and_then(|p| p.last_notified_at);
    let quiet_over = last.is_none_or(|t| now - t >= QUIET_SECS);
    match prev.map(|p| p.state) {
        Some(State::Firing) => {
            let p = prev.expect("matched Some");
            if clear {
                (
                    Some(row(State::Resolved, now, Some(now))),
                    Some(EventKind::Resolved),
                )
            } else {
                (Some(p.clone()), None)
            }
        }
        Some(State::Pending) if above => {
            let p = prev.expect("matched Some");
            if now - p.since >= rule.duration_secs && quiet_over {
                (
                    Some(row(State::Firing, now, Some(now))),
                    Some(EventKind::Fired),
                )
            } else {
                (Some(p.clone()), None)
            }
        }
        Some(State::Pending) => {
            // One reading below the threshold ends the wait.
            let base = last.map(|t| row(State::Resolved, t, Some(t)));
            (base, None)
        }
        None | Some(State::Resolved) if above => {
            let since = started.unwrap_or(now);
            if now - since >= rule.duration_secs && quiet_over {
                (
                    Some(row(State::Firing, now, Some(now))),
                    Some(EventKind::Fired),
                )
            } else {
                (Some(row(State::Pending, since, last)), None)
            }
        }
        None | Some(State::Resolved) => (prev.cloned(), None),
    }
}

fn what(rule: &Rule, target: &str) -> String {
    let base = match rule.kind {
        RuleKind::Cpu => "CPU",
        RuleKind::Memory => "memory",
        RuleKind::Disk => "disk",
        RuleKind::Temperature => "temperature",
        RuleKind::Network => "network",
        RuleKind::Offline | RuleKind::Reboot => "",
    };
    if target.is_empty() {
        base.to_string()
    } else {
        format!("{base} {target}")
    }
}

/// A value with its unit, as messages show it.
pub fn shown(kind: RuleKind, v: f64) -> String {
    match kind {
        RuleKind::Network => format!("{v:.2} MB/s"),
        RuleKind::Temperature => format!("{v:.1} °C"),
        RuleKind::Offline | RuleKind::Reboot => minutes(v as i64),
        _ => format!("{v:.1} %"),
    }
}

/// "45 s", "5 min", "2 h 5 min".
pub fn minutes(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// The one-line text of an event.
pub fn message(
    rule: &Rule,
    c: &Observed,
    target: &str,
    kind: EventKind,
    value: Option<f64>,
) -> String {
    let name = c.name;
    match (rule.kind, kind) {
        (RuleKind::Offline, EventKind::Fired) => {
            let down = value
                .map(|v| format!(" for {}", minutes(v as i64)))
                .unwrap_or_default();
            match c.reason {
                Some(r) if !r.is_empty() => format!("{name} is not answering{down}: {r}"),
                _ => format!("{name} is not answering{down}"),
            }
        }
        (RuleKind::Offline, EventKind::Resolved) => format!("{name} is answering again"),
        (RuleKind::Reboot, _) => match value {
            Some(up) => format!("{name} rebooted (up {})", minutes(up as i64)),
            None => format!("{name} rebooted"),
        },
        (k, EventKind::Fired) => {
            let threshold = shown(k, rule.threshold.unwrap_or(0.0));
            let held = if rule.duration_secs > 0 {
                format!(" for {}", minutes(rule.duration_secs))
            } else {
                String::new()
            };
            let v = value.map(|v| shown(k, v)).unwrap_or_else(|| "?".into());
            format!(
                "{name}: {} at {v} (at or above {threshold}{held})",
                what(rule, target)
            )
        }
        (k, EventKind::Resolved) => match value {
            Some(v) => format!("{name}: {} back to {}", what(rule, target), shown(k, v)),
            None => format!("{name}: {} no longer reported", what(rule, target)),
        },
    }
}

/// Judges every enabled rule against every computer it covers. `states` are the rows as the
/// last round left them; `uptimes` the last uptime of each computer (for reboots).
pub fn evaluate(
    rules: &[Rule],
    computers: &[Observed],
    states: &[StateRow],
    uptimes: &HashMap<i64, u64>,
    now: i64,
) -> Outcome {
    let mut out = Outcome::default();
    let by_key: HashMap<(i64, i64, &str), &StateRow> = states
        .iter()
        .map(|s| ((s.rule_id, s.computer_id, s.target_key.as_str()), s))
        .collect();
    let mut judged: HashSet<(i64, i64)> = HashSet::new();
    for rule in rules.iter().filter(|r| r.enabled) {
        for c in computers
            .iter()
            .filter(|c| rule.computer_id.is_none_or(|id| id == c.id))
        {
            judged.insert((rule.id, c.id));
            if rule.kind == RuleKind::Reboot {
                let now_up = c.info.filter(|_| c.online).and_then(|i| i.uptime_secs);
                if let (Some(up), Some(before)) = (now_up, uptimes.get(&c.id))
                    && up + REBOOT_SLACK_SECS < *before
                {
                    out.events
                        .push(event(rule, c, "", EventKind::Fired, Some(up as f64), now));
                }
                continue;
            }
            let Some(readings) = readings(rule, c) else {
                continue; // no fresh figures: every state stays as it is
            };
            let mut keys: Vec<(String, Option<f64>)> =
                readings.into_iter().map(|(k, v)| (k, Some(v))).collect();
            // Targets with a state but no reading now (a disk unmounted, the computer back
            // online) are judged as below.
            for s in states
                .iter()
                .filter(|s| s.rule_id == rule.id && s.computer_id == c.id)
            {
                if !keys.iter().any(|(k, _)| *k == s.target_key) {
                    keys.push((s.target_key.clone(), None));
                }
            }
            for (key, reading) in keys {
                let prev = by_key.get(&(rule.id, c.id, key.as_str())).copied();
                let (next, ev) = step(rule, prev, (c.id, &key), reading, now);
                if next.as_ref() != prev {
                    out.states
                        .push(((rule.id, c.id, key.clone()), next.clone()));
                }
                if let Some(kind) = ev {
                    let value = next.as_ref().and_then(|n| n.value);
                    out.events.push(event(rule, c, &key, kind, value, now));
                }
            }
        }
    }
    // States of rules that no longer cover a computer end here without a message: the edit
    // that caused it (a rule turned off, a computer paused) has already ended any firing
    // one with a message (`end_firing`).
    for s in states {
        if !judged.contains(&(s.rule_id, s.computer_id)) {
            out.states
                .push(((s.rule_id, s.computer_id, s.target_key.clone()), None));
        }
    }
    out
}

fn event(
    rule: &Rule,
    c: &Observed,
    key: &str,
    kind: EventKind,
    value: Option<f64>,
    now: i64,
) -> Event {
    Event {
        message: message(rule, c, key, kind, value),
        ..unsaid_event(rule, (c.id, c.name), key, kind, value, now)
    }
}

/// An event of `rule` on a computer (id, name), before its message is written.
fn unsaid_event(
    rule: &Rule,
    (computer_id, computer_name): (i64, &str),
    key: &str,
    kind: EventKind,
    value: Option<f64>,
    now: i64,
) -> Event {
    Event {
        id: 0,
        rule_id: Some(rule.id),
        rule_name: rule.name.clone(),
        computer_id: Some(computer_id),
        computer_name: computer_name.to_string(),
        target: (!key.is_empty()).then(|| key.to_string()),
        kind,
        value,
        at: now,
        message: String::new(),
    }
}

/// The resolved event of a firing alert that an admin's change ended (a rule turned off,
/// changed or removed; its computer paused or removed) rather than its value clearing: its
/// message says why, so a channel that was told of the alert is told it is over.
pub fn ended(rule: &Rule, state: &StateRow, computer_name: &str, why: &str, now: i64) -> Event {
    let on = if state.target_key.is_empty() {
        String::new()
    } else {
        format!(" ({})", what(rule, &state.target_key))
    };
    Event {
        message: format!("{computer_name}: alert \"{}\"{on} ended: {why}", rule.name),
        ..unsaid_event(
            rule,
            (state.computer_id, computer_name),
            &state.target_key,
            EventKind::Resolved,
            state.value,
            now,
        )
    }
}

#[cfg(test)]
mod tests;
