//! Alerts as admins set them up and as each poll round judges them: rules, delivery channels,
//! a test message, the history, and the round's judging (the rules of the state machine are
//! in `crate::alerts`, pure). An admin's change that ends a firing alert says so in a resolved
//! message ([`end_firing`]).
//!
//! Judging does not need the disk: what a round could not write (the computers' statuses,
//! the alerts' states and events) is kept in memory ([`Unstored`]), judged from there, and
//! written with the next write that works, so a full disk delays the history of alerts but
//! not their messages.

use std::collections::{HashMap, VecDeque};
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
    Channel, ChannelInput, ChannelKind, Computer, Event, Patch, Rule, RuleInput, RuleKind,
    StateRow, Status,
};
use crate::store::{self, Durability, Store};

/// The longest history answer.
pub const MAX_EVENTS: i64 = 1000;
/// Events kept in memory while they cannot be written, at most; beyond it the oldest go.
pub const MAX_UNSTORED_EVENTS: usize = 1000;

/// A computer's status as a poll round found it, for judging when the round could not be
/// written.
#[derive(Debug, Clone)]
pub struct Seen {
    pub computer_id: i64,
    pub status: Status,
    pub reason: Option<String>,
    /// Unix seconds.
    pub at: i64,
    /// The status stored before the round, and since when.
    pub stored: (Status, Option<i64>),
}

/// State rows to write by rule, computer and target (`None` removes).
type States = HashMap<(i64, i64, String), Option<StateRow>>;

/// What judging has not been able to write yet. Each map holds one entry per computer or per
/// rule, computer and target, so only the events need a bound.
#[derive(Default)]
struct Unstored {
    /// Status, reason and since when, of computers whose round could not be written.
    statuses: HashMap<i64, (Status, Option<String>, i64)>,
    states: States,
    /// Events to append, oldest first.
    events: VecDeque<Event>,
}

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
    unstored: Mutex<Unstored>,
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
            unstored: Mutex::default(),
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
        if !same {
            self.forget_states_of(id);
        }
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
        self.forget_states_of(id);
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
        let (rules, mut computers, mut states) = self.store.read(|c| {
            Ok((
                store::alerts::list_rules(c)?,
                store::computers::list(c, local)?,
                store::alerts::list_states(c)?,
            ))
        })?;
        self.overlay(&mut computers, &mut states);
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
        let Outcome { states, mut events } = outcome;
        let (held_states, held_events) = self.hold(states, &events);
        let ids = self.write_held(held_states, held_events);
        let count = events.len();
        for (i, e) in events.iter_mut().enumerate() {
            // Stored or not, the message goes now; an event still in memory has no id yet.
            // This round's events are the last ones written.
            let stored = ids
                .as_ref()
                .and_then(|ids| ids.len().checked_sub(count - i).map(|j| ids[j]));
            e.id = stored.unwrap_or(0);
            println!(
                "event=alert_{} alert_event_id={} rule_id={} computer_id={} stored={}",
                e.kind.as_str(),
                e.id,
                e.rule_id.unwrap_or(0),
                e.computer_id.unwrap_or(0),
                stored.is_some()
            );
            if let Some(rule) = rules.iter().find(|r| Some(r.id) == e.rule_id) {
                self.notifier.send_event(rule, e);
            }
        }
        Ok(())
    }

    /// A round's statuses: written (`written`), or kept for judging until a round's are.
    pub fn round_statuses(&self, seen: &[Seen], written: bool) {
        let mut u = self.unstored.lock().unwrap_or_else(|e| e.into_inner());
        for s in seen {
            if written {
                u.statuses.remove(&s.computer_id);
                continue;
            }
            let (was, since) = match u.statuses.get(&s.computer_id) {
                Some((status, _, since)) => (*status, Some(*since)),
                None => s.stored,
            };
            let since = since.filter(|_| was == s.status).unwrap_or(s.at);
            u.statuses
                .insert(s.computer_id, (s.status, s.reason.clone(), since));
        }
    }

    /// Since when a computer has had `status` by the rounds that could not be written, so the
    /// status written later says when it really began.
    pub fn unstored_since(&self, computer_id: i64, status: Status) -> Option<i64> {
        let u = self.unstored.lock().unwrap_or_else(|e| e.into_inner());
        u.statuses
            .get(&computer_id)
            .filter(|(s, _, _)| *s == status)
            .map(|(_, _, since)| *since)
    }

    /// The stored computers and states, with what is only in memory laid over them.
    fn overlay(&self, computers: &mut [Computer], states: &mut Vec<StateRow>) {
        let u = self.unstored.lock().unwrap_or_else(|e| e.into_inner());
        for c in computers.iter_mut() {
            if let Some((status, reason, since)) = u.statuses.get(&c.id) {
                c.status = *status;
                c.status_reason = reason.clone();
                c.status_changed_at = Some(*since);
            }
        }
        if u.states.is_empty() {
            return;
        }
        states.retain(|s| {
            !u.states
                .contains_key(&(s.rule_id, s.computer_id, s.target_key.clone()))
        });
        states.extend(u.states.values().flatten().cloned());
    }

    /// Adds a round's outcome to what waits to be written and takes it all out to write.
    fn hold(
        &self,
        states: Vec<((i64, i64, String), Option<StateRow>)>,
        events: &[Event],
    ) -> (States, VecDeque<Event>) {
        let mut u = self.unstored.lock().unwrap_or_else(|e| e.into_inner());
        u.states.extend(states);
        u.events.extend(events.iter().cloned());
        let over = u.events.len().saturating_sub(MAX_UNSTORED_EVENTS);
        if over > 0 {
            u.events.drain(..over);
            eprintln!("event=alert_events_dropped count={over} reason=not_written_for_too_long");
        }
        (std::mem::take(&mut u.states), std::mem::take(&mut u.events))
    }

    /// Writes the states and events held in one transaction. Returns the events' ids, oldest
    /// first; on failure puts them all back (before anything newer) for the next round.
    fn write_held(&self, states: States, events: VecDeque<Event>) -> Option<Vec<i64>> {
        if states.is_empty() && events.is_empty() {
            return Some(Vec::new());
        }
        let (rows, list) = (states.clone(), events.clone());
        let written = self.store.write(Durability::Relaxed, move |tx| {
            for ((rule_id, computer_id, key), row) in &rows {
                store::alerts::put_state(tx, (*rule_id, *computer_id, key), row.as_ref())?;
            }
            let mut ids = Vec::with_capacity(list.len());
            for e in &list {
                // A computer removed meanwhile took its history with it.
                let gone = e
                    .computer_id
                    .is_some_and(|id| !store::alerts::computer_exists(tx, id).unwrap_or(true));
                ids.push(if gone {
                    0
                } else {
                    store::alerts::add_event(tx, e)?
                });
            }
            Ok(ids)
        });
        match written {
            Ok(ids) => Some(ids),
            Err(e) => {
                let mut u = self.unstored.lock().unwrap_or_else(|e| e.into_inner());
                for (key, row) in states {
                    u.states.entry(key).or_insert(row);
                }
                let newer = std::mem::take(&mut u.events);
                u.events = events;
                u.events.extend(newer);
                eprintln!(
                    "event=db_write_failed what=alerts held_events={} held_states={} error={:?} action=judge_from_memory",
                    u.events.len(),
                    u.states.len(),
                    e.to_string()
                );
                None
            }
        }
    }

    /// Forgets the unwritten states of a rule whose firing alerts an admin's change ended.
    fn forget_states_of(&self, rule_id: i64) {
        let mut u = self.unstored.lock().unwrap_or_else(|e| e.into_inner());
        u.states.retain(|(r, _, _), _| *r != rule_id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::computers::Computers;
    use crate::domain::health::{Counters, Health, Verdict};
    use crate::model::{EventKind, NewComputer, State};
    use crate::store::StoreError;
    use crate::store::test_support::TestDb;

    const ANSWER: &str = r#"{"cpu_percent": 12.5,
        "memory": {"total": 8000000000, "used": 2000000000, "percent": 25.0},
        "disk": {"total": 64000000000, "used": 16000000000, "percent": 25.0},
        "network": {"bytes_sent": 1000, "bytes_recv": 2000},
        "network_usage": {"bytes_sent_per_sec": 100.0, "bytes_recv_per_sec": 200.0},
        "hostname": "h", "system": "Linux"}"#;

    /// The domain as the server builds it, on a real database file.
    struct Domain {
        db: TestDb,
        clock: Clock,
        notifier: Arc<Notifier>,
        alerts: Arc<Alerts>,
        computers: Computers,
        health: Health,
    }

    impl Domain {
        fn new(tag: &str) -> Domain {
            let db = TestDb::new(tag);
            let store = db.store.clone();
            let clock = Clock::fake(1_800_000_000);
            let config = Config::offline(store.path().to_path_buf());
            let notifier = Arc::new(Notifier::new(store.clone(), clock.clone(), None, vec![]));
            let live = Arc::new(Live::default());
            let alerts = Arc::new(Alerts::new(
                store.clone(),
                notifier.clone(),
                live.clone(),
                clock.clone(),
                &config,
            ));
            let counters = Arc::new(Counters::default());
            let computers = Computers::new(
                store.clone(),
                live,
                alerts.clone(),
                clock.clone(),
                counters.clone(),
                &config,
            );
            let health = Health::new(store, counters);
            Domain {
                db,
                clock,
                notifier,
                alerts,
                computers,
                health,
            }
        }

        fn add_computer(&self, name: &str) -> i64 {
            let c = NewComputer::new(name, "http://192.0.2.1:8000", &"t".repeat(20)).unwrap();
            self.db
                .store
                .durable(move |tx| store::computers::add(tx, &c, 1).map(|c| c.id))
                .unwrap()
        }

        /// A poll round a second after the last: each computer answers or not, then the
        /// rules are judged, as the poller does it.
        fn round(&self, answers: &[(i64, bool)]) {
            self.clock.advance(1);
            let polled = answers
                .iter()
                .map(|&(id, up)| {
                    let c = self
                        .db
                        .store
                        .read(|c| store::computers::get(c, id))
                        .unwrap();
                    let answer = if up {
                        Ok(serde_json::from_str(ANSWER).unwrap())
                    } else {
                        Err(crate::model::PollFailure::offline("connection refused"))
                    };
                    (c, self.clock.now_ms(), answer)
                })
                .collect();
            self.computers.record(polled);
            self.alerts.judge_round();
            self.health.round_done(Duration::ZERO);
        }

        /// SQLite's page limit on the writer's connection: at the file's size it fails the
        /// way a full disk does, and raised it is space come back.
        fn limit_pages(&self, pages: Option<i64>) {
            let store = &self.db.store;
            let pages = match pages {
                Some(p) => p,
                None => store
                    .read(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?))
                    .unwrap(),
            };
            store
                .write(Durability::Relaxed, move |tx| {
                    tx.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
                    Ok(())
                })
                .unwrap();
        }

        /// The messages queued for delivery.
        fn messages(&self) -> Vec<String> {
            let queued = self.notifier.queued();
            queued.iter().map(|(_, m)| m.text.clone()).collect()
        }

        fn stored_events(&self) -> Vec<Event> {
            let events = self.db.store.read(|c| store::alerts::list_events(c, 1000));
            events.unwrap()
        }
    }

    #[test]
    fn with_the_disk_full_alerts_are_judged_and_sent_from_memory_and_stored_when_space_returns() {
        let d = Domain::new("alerts-full");
        let (pi, nas) = (d.add_computer("pi"), d.add_computer("nas"));
        let rule = d
            .alerts
            .add_rule(RuleEdit {
                name: Patch::Set(Name::parse("nas down", "name").unwrap()),
                kind: Patch::Set(RuleKind::Offline),
                computer_id: Patch::Set(Some(nas)),
                duration: Patch::Set(RuleDuration::new(0.0).unwrap()),
                ..RuleEdit::default()
            })
            .unwrap();
        d.alerts
            .add_channel(ChannelEdit {
                name: Patch::Set(Name::parse("hook", "name").unwrap()),
                kind: Patch::Set(ChannelKind::Webhook),
                url: Patch::Set("http://192.0.2.1/hook".into()),
                ..ChannelEdit::default()
            })
            .unwrap();
        d.round(&[(pi, true), (nas, true)]);
        assert_eq!(d.health.verdict(), Verdict::Ok);

        // Fill the file: the events' table with the smallest rows there are, then the
        // samples with rounds, until neither has room for one more.
        d.limit_pages(None);
        let tiny = Event {
            id: 0,
            rule_id: None,
            rule_name: String::new(),
            computer_id: None,
            computer_name: String::new(),
            target: None,
            kind: EventKind::Fired,
            value: None,
            at: 0,
            message: String::new(),
        };
        let full = (0..10_000).find(|_| {
            let e = tiny.clone();
            let r = d.db.store.write(Durability::Relaxed, move |tx| {
                store::alerts::add_event(tx, &e)
            });
            matches!(r, Err(StoreError::Full))
        });
        assert!(full.is_some(), "the events' table filled up");
        let before = d.health.figures().db_write_errors;
        let rounds = (0..10_000).find(|_| {
            d.round(&[(pi, true), (nas, true)]);
            d.health.figures().db_write_errors > before
        });
        assert!(rounds.is_some(), "the samples filled up");
        assert!(d.messages().is_empty());

        // The nas stops answering while nothing can be written.
        d.round(&[(pi, true), (nas, false)]);
        let down_at = d.clock.now();
        d.round(&[(pi, true), (nas, false)]);
        assert_eq!(
            d.health.verdict(),
            Verdict::Degraded(vec![
                "history is not being recorded: the disk is full".into()
            ]),
            "three rounds in a row could not be written"
        );
        assert_eq!(
            d.messages(),
            ["nas is not answering for 0 s: connection refused"],
            "judged from memory and sent once"
        );
        let stored = |d: &Domain| {
            d.stored_events()
                .into_iter()
                .filter(|e| e.rule_id == Some(rule.id))
                .collect::<Vec<_>>()
        };
        assert!(stored(&d).is_empty(), "nothing could be stored");
        let still: store::Result<Vec<StateRow>> = d.db.store.read(store::alerts::list_states);
        assert!(still.unwrap().is_empty());

        // Space comes back: the next round stores the round, the state and the event.
        d.limit_pages(Some(1_000_000));
        d.round(&[(pi, true), (nas, false)]);
        assert_eq!(d.health.verdict(), Verdict::Ok);
        assert_eq!(
            d.messages().len(),
            1,
            "no second message for the same alert"
        );
        let events = stored(&d);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            events[0].message,
            "nas is not answering for 0 s: connection refused"
        );
        let states = d.db.store.read(store::alerts::list_states).unwrap();
        let firing = states.iter().find(|s| s.rule_id == rule.id).unwrap();
        assert_eq!(firing.state, State::Firing);
        let nas_row = d.db.store.read(|c| store::computers::get(c, nas)).unwrap();
        assert_eq!(
            (nas_row.status, nas_row.status_changed_at),
            (Status::Offline, Some(down_at)),
            "stored as down since the round it stopped answering"
        );
    }
}
