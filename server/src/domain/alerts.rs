//! Alerts as admins set them up and as each poll round judges them: rules, delivery channels,
//! a test message, the history, and the round's judging (the rules of the state machine are
//! in `crate::alerts`, pure). An admin's change that ends a firing alert says so in a resolved
//! message ([`end_firing`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::alerts::notify::{Message, Notifier, Undelivered};
use crate::alerts::{self, Observed, Outcome};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::secrets::stays_with_its_host;
use crate::domain::{Error, Result};
use crate::live::Live;
use crate::model::values::{ChannelToken, ChannelUrl, Name, RuleDuration, RuleTarget, Threshold};
use crate::model::{
    Channel, ChannelInput, ChannelKind, Event, Patch, Rule, RuleInput, RuleKind, Status,
};
use crate::store::{self, Durability, Store};

/// The longest history answer.
pub const MAX_EVENTS: i64 = 1000;

/// An edit of a rule: each field kept or set. On a new rule, a kept field takes its default
/// (every computer, any target, no wait, enabled) or is asked for (name, kind, threshold).
#[derive(Debug, Clone, Default)]
pub struct RuleEdit {
    pub name: Patch<Name>,
    pub kind: Patch<RuleKind>,
    /// `Set(None)`: every computer.
    pub computer_id: Patch<Option<i64>>,
    /// `Set(None)`: any mount point, sensor or interface.
    pub target: Patch<Option<RuleTarget>>,
    /// Checked against the kind once the kind is known; `Set(None)` is "no threshold given".
    pub threshold: Patch<Option<f64>>,
    pub duration: Patch<RuleDuration>,
    pub enabled: Patch<bool>,
}

/// An edit of a channel. The address is checked once the kind is known; a kept address or
/// token keeps the stored secret.
#[derive(Debug, Clone, Default)]
pub struct ChannelEdit {
    pub name: Patch<Name>,
    pub kind: Patch<ChannelKind>,
    pub url: Patch<String>,
    pub token: Patch<ChannelToken>,
    pub enabled: Patch<bool>,
    /// The dashboard's address as the admin reached it, for links in messages.
    pub link_base: Option<String>,
}

/// What a test message did: the receiver's status, or why it did not arrive.
pub struct TestSent {
    pub result: std::result::Result<u16, Undelivered>,
    pub took: Duration,
}

pub struct Alerts {
    store: Arc<Store>,
    notifier: Arc<Notifier>,
    live: Arc<Live>,
    clock: Clock,
    /// Whether the server's own host is monitored, and so judged.
    local: bool,
    /// The last uptime of each computer, to see reboots.
    uptimes: Mutex<HashMap<i64, u64>>,
}

impl Alerts {
    pub fn new(
        store: Arc<Store>,
        notifier: Arc<Notifier>,
        live: Arc<Live>,
        clock: Clock,
        config: &Config,
    ) -> Alerts {
        Alerts {
            store,
            notifier,
            live,
            clock,
            local: config.local,
            uptimes: Mutex::default(),
        }
    }

    pub fn rules(&self) -> Result<Vec<Rule>> {
        Ok(self.store.read(store::alerts::list_rules)?)
    }

    pub fn add_rule(&self, edit: RuleEdit) -> Result<Rule> {
        let input = self.rule_input(edit, None)?;
        let now = self.clock.now();
        let r = self
            .store
            .durable(move |tx| store::alerts::add_rule(tx, &input, now))?;
        let (id, kind) = (r.id, r.kind.as_str());
        println!("event=alert_rule_added rule_id={id} kind={kind}");
        Ok(r)
    }

    /// A change other than the name ends the rule's firing alerts with a message, and the
    /// rule is judged afresh.
    pub fn update_rule(&self, id: i64, edit: RuleEdit) -> Result<Rule> {
        let current = self
            .store
            .read(|c| store::alerts::get_rule(c, id))
            .map_err(Error::not_found("rule", id))?;
        let input = self.rule_input(edit, Some(&current))?;
        let now = self.clock.now();
        let why = if current.enabled && !input.enabled {
            "the rule was turned off"
        } else {
            "the rule was changed"
        };
        let same = current.means_the_same(&input);
        let old = current.clone();
        let (r, ended) = self
            .store
            .durable(move |tx| {
                let ended = if same {
                    Vec::new()
                } else {
                    end_firing(tx, std::slice::from_ref(&old), None, why, now)?
                };
                Ok((store::alerts::update_rule(tx, id, &input, !same)?, ended))
            })
            .map_err(Error::not_found("rule", id))?;
        println!("event=alert_rule_changed rule_id={id}");
        self.notify_ended(&[current], &ended);
        Ok(r)
    }

    /// Its firing alerts end with a message saying so.
    pub fn delete_rule(&self, id: i64) -> Result<()> {
        let now = self.clock.now();
        let (rule, ended) = self
            .store
            .durable(move |tx| {
                let rule = store::alerts::get_rule(tx, id)?;
                let why = "the rule was removed";
                let ended = end_firing(tx, std::slice::from_ref(&rule), None, why, now)?;
                store::alerts::delete_rule(tx, id)?;
                Ok((rule, ended))
            })
            .map_err(Error::not_found("rule", id))?;
        println!("event=alert_rule_removed rule_id={id}");
        self.notify_ended(&[rule], &ended);
        Ok(())
    }

    /// A rule's edit merged with what it was (`None` for a new rule), and checked whole.
    fn rule_input(&self, e: RuleEdit, current: Option<&Rule>) -> Result<RuleInput> {
        let name = e.name.or_parse(current.map(|r| r.name.as_str()), |n| {
            Name::parse(n, "give the rule a name")
        })?;
        let kind = e
            .kind
            .or_current(current.map(|r| r.kind))
            .ok_or_else(|| Error::invalid("kind", "choose what the rule watches"))?;
        let computer_id = e
            .computer_id
            .or_else(|| current.and_then(|r| r.computer_id));
        if let Some(id) = computer_id
            && !self.store.read(|c| store::alerts::computer_exists(c, id))?
        {
            return Err(Error::invalid(
                "computer_id",
                format!("no computer with id {id}"),
            ));
        }
        let target = match (e.target, current) {
            (Patch::Set(t), _) => t,
            (Patch::Keep, Some(r)) => r
                .target
                .as_deref()
                .map(RuleTarget::parse)
                .transpose()?
                .flatten(),
            (Patch::Keep, None) => None,
        };
        if target.is_some() && !kind.has_target() {
            return Err(Error::invalid(
                "target",
                "only disk, temperature and network rules watch one mount point, sensor or interface",
            ));
        }
        let threshold = if kind.has_threshold() {
            let value = match (e.threshold, current) {
                (Patch::Set(Some(t)), _) => t,
                (Patch::Keep, Some(r)) if r.kind.has_threshold() => r.threshold.unwrap_or(0.0),
                _ => return Err(Error::invalid("threshold", "give a threshold")),
            };
            Some(Threshold::new(kind, value)?)
        } else {
            None
        };
        let duration = match (e.duration, current) {
            (Patch::Set(d), _) => d,
            (Patch::Keep, Some(r)) => RuleDuration::new(r.duration_secs as f64)?,
            (Patch::Keep, None) => RuleDuration::default(),
        };
        Ok(RuleInput {
            name,
            kind,
            computer_id,
            target,
            threshold,
            // A reboot fires once, when it is seen: there is nothing to wait for.
            duration: if kind == RuleKind::Reboot {
                RuleDuration::default()
            } else {
                duration
            },
            enabled: e.enabled.or_else(|| current.is_none_or(|r| r.enabled)),
        })
    }

    pub fn channels(&self) -> Result<Vec<Channel>> {
        Ok(self.store.read(store::alerts::list_channels)?)
    }

    pub fn add_channel(&self, edit: ChannelEdit) -> Result<Channel> {
        let input = channel_input(edit, None)?;
        let now = self.clock.now();
        let c = self
            .store
            .durable(move |tx| store::alerts::add_channel(tx, &input, now))?;
        let (id, kind) = (c.id, c.kind.as_str());
        println!("event=alert_channel_added channel_id={id} kind={kind}");
        Ok(c)
    }

    pub fn update_channel(&self, id: i64, edit: ChannelEdit) -> Result<Channel> {
        let current = self.channel(id)?;
        let input = channel_input(edit, Some(&current))?;
        let c = self
            .store
            .durable(move |tx| store::alerts::update_channel(tx, id, &input))
            .map_err(Error::not_found("channel", id))?;
        println!("event=alert_channel_changed channel_id={id}");
        Ok(c)
    }

    pub fn delete_channel(&self, id: i64) -> Result<()> {
        self.store
            .durable(move |tx| store::alerts::delete_channel(tx, id))
            .map_err(Error::not_found("channel", id))?;
        println!("event=alert_channel_removed channel_id={id}");
        Ok(())
    }

    fn channel(&self, id: i64) -> Result<Channel> {
        self.store
            .read(|c| store::alerts::get_channel(c, id))
            .map_err(Error::not_found("channel", id))
    }

    /// Sends a test message now, once, and says what the receiver answered. The outcome is
    /// recorded on the channel like any delivery.
    pub fn test_channel(&self, id: i64) -> Result<TestSent> {
        let channel = self.channel(id)?;
        let started = Instant::now();
        let result = self
            .notifier
            .send_now(&channel, &Message::test(&channel, self.clock.now()));
        println!(
            "event=alert_channel_tested channel_id={id} ok={}",
            result.is_ok()
        );
        Ok(TestSent {
            result,
            took: started.elapsed(),
        })
    }

    /// The newest events first, at most `limit` (1 to [`MAX_EVENTS`]).
    pub fn events(&self, limit: i64) -> Result<Vec<Event>> {
        if !(1..=MAX_EVENTS).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("limit must be a number from 1 to {MAX_EVENTS}"),
            ));
        }
        Ok(self.store.read(|c| store::alerts::list_events(c, limit))?)
    }

    /// Sends the messages of alerts that [`end_firing`] ended, once their transaction has
    /// committed.
    pub fn notify_ended(&self, rules: &[Rule], ended: &[Event]) {
        for e in ended {
            println!(
                "event=alert_ended alert_event_id={} rule_id={} computer_id={}",
                e.id,
                e.rule_id.unwrap_or(0),
                e.computer_id.unwrap_or(0)
            );
            if let Some(rule) = rules.iter().find(|r| Some(r.id) == e.rule_id) {
                self.notifier.send_event(rule, e);
            }
        }
    }

    /// Judges the rules after a poll round, records what changed and queues the messages.
    /// Errors are logged; the next round tries again.
    pub fn judge_round(&self) {
        if let Err(e) = self.judge() {
            eprintln!("event=alerts_failed error={:?}", e.to_string());
        }
    }

    fn judge(&self) -> store::Result<()> {
        let now = self.clock.now();
        let local = self.local;
        let (rules, computers, states) = self.store.read(|c| {
            Ok((
                store::alerts::list_rules(c)?,
                store::computers::list(c, local)?,
                store::alerts::list_states(c)?,
            ))
        })?;
        let live = self.live.snapshot();
        let observed: Vec<Observed> = computers
            .iter()
            .filter(|c| c.enabled)
            .map(|c| {
                let online = c.status == Status::Online;
                let entry = live.get(&c.id).filter(|_| online);
                Observed {
                    id: c.id,
                    name: &c.name,
                    online,
                    down_since: (!online).then_some(c.status_changed_at).flatten(),
                    reason: c.status_reason.as_deref(),
                    info: entry.map(|e| &*e.info),
                    sample: entry.map(|e| &*e.sample),
                }
            })
            .collect();
        let outcome = {
            let mut uptimes = self.uptimes.lock().unwrap_or_else(|e| e.into_inner());
            let outcome = alerts::evaluate(&rules, &observed, &states, &uptimes, now);
            for c in &observed {
                if let Some(up) = c.info.and_then(|i| i.uptime_secs) {
                    uptimes.insert(c.id, up);
                }
            }
            outcome
        };
        if outcome.states.is_empty() && outcome.events.is_empty() {
            return Ok(());
        }
        let Outcome { states, mut events } = outcome;
        let written = events.clone();
        let ids = self.store.write(Durability::Relaxed, move |tx| {
            for ((rule_id, computer_id, key), row) in &states {
                store::alerts::put_state(tx, (*rule_id, *computer_id, key), row.as_ref())?;
            }
            written
                .iter()
                .map(|e| store::alerts::add_event(tx, e))
                .collect::<store::Result<Vec<i64>>>()
        })?;
        for (e, id) in events.iter_mut().zip(ids) {
            e.id = id;
            println!(
                "event=alert_{} alert_event_id={} rule_id={} computer_id={}",
                e.kind.as_str(),
                e.id,
                e.rule_id.unwrap_or(0),
                e.computer_id.unwrap_or(0)
            );
            if let Some(rule) = rules.iter().find(|r| Some(r.id) == e.rule_id) {
                self.notifier.send_event(rule, e);
            }
        }
        Ok(())
    }
}

/// A channel's edit merged with what it was (`None` for a new channel), and checked whole.
fn channel_input(e: ChannelEdit, current: Option<&Channel>) -> Result<ChannelInput> {
    let name = e.name.or_parse(current.map(|c| c.name.as_str()), |n| {
        Name::parse(n, "give the channel a name")
    })?;
    let kind = e
        .kind
        .or_current(current.map(|c| c.kind))
        .ok_or_else(|| Error::invalid("kind", "choose the kind of channel"))?;
    let url = match (e.url, current) {
        (Patch::Set(u), _) => Some(ChannelUrl::parse(&u, kind)?),
        (Patch::Keep, Some(c)) => {
            // The stored address must still suit the kind.
            if c.kind != kind {
                ChannelUrl::parse(&c.url, kind)?;
            }
            None
        }
        (Patch::Keep, None) => Some(ChannelUrl::parse("", kind)?),
    };
    // A new address on another host needs the token again.
    if let (Some(url), Patch::Keep, Some(c)) = (&url, &e.token, current)
        && c.token.is_some()
    {
        stays_with_its_host(&c.url, url, "token")?;
    }
    let has_token = e.token.is_set() || current.is_some_and(|c| c.token.is_some());
    if kind == ChannelKind::Gotify && !has_token {
        return Err(Error::invalid(
            "token",
            "Gotify needs an application token (Apps, then Create application)",
        ));
    }
    Ok(ChannelInput {
        name,
        kind,
        url,
        token: match e.token {
            Patch::Set(t) => Some(t),
            Patch::Keep => None,
        },
        enabled: e.enabled.or_else(|| current.is_none_or(|c| c.enabled)),
        link_base: e.link_base,
    })
}

/// Ends the firing alerts of `rules` (on one computer, or on every one) because an admin
/// changed something rather than because the value cleared: each gets a resolved event that
/// says why. Runs in the caller's transaction; hand the events to [`Alerts::notify_ended`]
/// once it has committed.
pub fn end_firing(
    tx: &store::Conn,
    rules: &[Rule],
    computer_id: Option<i64>,
    why: &str,
    now: i64,
) -> store::Result<Vec<Event>> {
    let only = match rules {
        [one] => Some(one.id),
        _ => None,
    };
    let mut ended = Vec::new();
    for (s, computer) in store::alerts::firing_states(tx, only, computer_id)? {
        let Some(rule) = rules.iter().find(|r| r.id == s.rule_id) else {
            continue;
        };
        let mut e = alerts::ended(rule, &s, &computer, why, now);
        e.id = store::alerts::add_event(tx, &e)?;
        store::alerts::put_state(tx, (s.rule_id, s.computer_id, &s.target_key), None)?;
        ended.push(e);
    }
    Ok(ended)
}
