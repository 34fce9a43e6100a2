//! Computers: the agents to poll and the server's own host. Adding, editing, pausing and
//! removing them (a pause or a removal ends their firing alerts with a message), testing an
//! agent before it is saved, and what their cards show.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use lanstat_agent::{Snapshot, SystemInfo};

use std::sync::atomic::Ordering;

use crate::agents;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::alerts::{Alerts, Seen, end_firing};
use crate::domain::health::Counters;
use crate::domain::secrets::stays_with_its_host;
use crate::domain::{Error, Result};
use crate::live::{Live, LiveEntry};
use crate::model::values::{AgentToken, AgentUrl};
use crate::model::{
    Computer, ComputerEdit, Firing, Kind, NewComputer, Patch, PollFailure, PollOutcome, Sample,
    Status, Tier,
};
use crate::store::{self, Durability, Store};

/// The latest full answer of a computer, as the live map keeps it.
pub type Latest = LiveEntry;

/// Every computer's card: the computers (the local one first), their latest answers and the
/// alerts firing now.
pub struct Cards {
    pub computers: Vec<Computer>,
    pub latest: HashMap<i64, Latest>,
    pub firing: Vec<Firing>,
}

/// One computer's card.
pub struct Card {
    pub computer: Computer,
    pub latest: Option<Latest>,
    pub firing: Vec<Firing>,
}

/// An agent to test: a new address and token, or a saved computer's, either replaced by the
/// one given.
#[derive(Debug, Default)]
pub struct TestTarget {
    pub saved: Option<i64>,
    pub url: Patch<AgentUrl>,
    pub token: Patch<AgentToken>,
}

/// An agent's figures, or why there are none.
pub type Answer = std::result::Result<SystemInfo, PollFailure>;

/// An answer as a poll round got it: the computer polled, and when (unix milliseconds).
pub type Polled = (Computer, i64, Answer);

/// What polling an agent once found.
pub struct Tested {
    pub answer: std::result::Result<SystemInfo, PollFailure>,
    pub took: Duration,
}

pub struct Computers {
    store: Arc<Store>,
    live: Arc<Live>,
    alerts: Arc<Alerts>,
    clock: Clock,
    /// Whether the server monitors its own host; without it, the host's row is hidden.
    local: bool,
    /// The sampler of the server's own host, once it runs.
    local_sampler: OnceLock<lanstat_agent::Latest>,
    client: ureq::Agent,
    /// Which agents know only bearer tokens; the poller shares it.
    schemes: Arc<agents::Schemes>,
    counters: Arc<Counters>,
    /// How long raw samples are kept: a past sample older than that is not stored.
    raw_retention: i64,
}

/// `/history` pages one backfill asks at most: 64 × 500 samples, six hours at 1 s and more.
const MAX_BACKFILL_PAGES: usize = 64;

/// What a backfill did.
#[derive(Debug, PartialEq, Eq)]
pub enum Backfilled {
    /// Samples stored (maybe none), with the times of the first and last.
    Stored {
        samples: usize,
        span: Option<(i64, i64)>,
    },
    /// The agent has no `/history`.
    NotOffered,
    /// It stopped on a failure, after storing `samples`.
    Failed { samples: usize, reason: String },
}

impl Computers {
    /// Tests agents with a client whose timeouts suit the config's poll interval, and counts
    /// each round into `counters`.
    pub fn new(
        store: Arc<Store>,
        live: Arc<Live>,
        alerts: Arc<Alerts>,
        clock: Clock,
        counters: Arc<Counters>,
        config: &Config,
    ) -> Computers {
        Computers {
            store,
            live,
            alerts,
            clock,
            local: config.local,
            local_sampler: OnceLock::new(),
            client: agents::client(agents::Timeouts::for_interval(config.poll_interval)),
            schemes: Arc::default(),
            counters,
            raw_retention: config.retention.raw,
        }
    }

    /// Which agents know only bearer tokens, for the poller to sign as the test does.
    pub fn agent_schemes(&self) -> Arc<agents::Schemes> {
        self.schemes.clone()
    }

    /// Attaches the sampler that reads the server's own host.
    pub fn set_local_sampler(&self, latest: lanstat_agent::Latest) {
        let _ = self.local_sampler.set(latest);
    }

    /// The server's own host's latest full snapshot, when it is sampled.
    pub fn local_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.local_sampler.get().map(|l| l.get())
    }

    /// Moves on with every change to what the cards show (the database's and the live map's
    /// counts): what was built from [`Computers::cards`] while it stays the same is current.
    /// Read it before the cards.
    pub fn generation(&self) -> (u64, u64) {
        (self.store.generation(), self.live.generation())
    }

    pub fn cards(&self) -> Result<Cards> {
        let local = self.local;
        let (computers, firing) = self
            .store
            .read(|c| Ok((store::computers::list(c, local)?, store::alerts::firing(c)?)))?;
        Ok(Cards {
            computers,
            latest: self.live.snapshot(),
            firing,
        })
    }

    pub fn card(&self, id: i64) -> Result<Card> {
        let computer = self.get(id)?;
        let firing = self.store.read(store::alerts::firing)?;
        Ok(Card {
            latest: self.live.get(id),
            computer,
            firing,
        })
    }

    /// The computer with `id`; the server's own host only while it is monitored.
    pub fn get(&self, id: i64) -> Result<Computer> {
        find(&self.store, self.local, id)
    }

    pub fn add(&self, new: NewComputer) -> Result<Computer> {
        let now = self.clock.now();
        let c = self
            .store
            .durable(move |tx| store::computers::add(tx, &new, now))?;
        let (id, name) = (c.id, &c.name);
        println!("event=computer_added computer_id={id} name={name:?}");
        Ok(c)
    }

    /// Applies an edit. Pausing ends the computer's firing alerts with a message; a new
    /// address or token starts its rates afresh. The server's own host has no address to
    /// change: one given is ignored. A new address on another host needs the token again.
    pub fn update(&self, id: i64, mut edit: ComputerEdit) -> Result<Card> {
        let current = self.get(id)?;
        if current.kind == Kind::Local {
            edit.url = Patch::Keep;
        }
        if let (Patch::Set(url), Patch::Keep) = (&edit.url, &edit.token)
            && !current.token.is_empty()
        {
            stays_with_its_host(&current.url, url, "token")?;
        }
        let pausing = current.enabled && edit.enabled.as_set() == Some(&false);
        let now = self.clock.now();
        let (c, rules, ended) = self.store.durable(move |tx| {
            let (rules, ended) = if pausing {
                let rules = store::alerts::list_rules(tx)?;
                let why = "monitoring of the computer was paused";
                let ended = end_firing(tx, &rules, Some(id), why, now)?;
                (rules, ended)
            } else {
                Default::default()
            };
            Ok((store::computers::update(tx, id, &edit)?, rules, ended))
        })?;
        self.alerts.notify_ended(&rules, &ended);
        if c.url != current.url || c.token != current.token {
            self.live.remove(id); // the next rate must not mix two agents' counters
        }
        Ok(Card {
            latest: self.live.get(id),
            computer: c,
            firing: Vec::new(),
        })
    }

    /// Removes the computer and its history; its firing alerts end with a message, and their
    /// events go with the history.
    pub fn delete(&self, id: i64) -> Result<()> {
        self.get(id)?;
        let now = self.clock.now();
        let (rules, ended) = self.store.durable(move |tx| {
            let rules = store::alerts::list_rules(tx)?;
            let why = "the computer was removed";
            let ended = end_firing(tx, &rules, Some(id), why, now)?;
            store::computers::delete(tx, id)?;
            Ok((rules, ended))
        })?;
        self.alerts.notify_ended(&rules, &ended);
        self.live.remove(id);
        println!("event=computer_removed computer_id={id}");
        Ok(())
    }

    /// Polls an agent once and says what came back: the address and token given, or a saved
    /// computer's where none is given. A saved token goes only to its computer's host.
    pub fn test(&self, target: TestTarget) -> Result<Tested> {
        let saved = target.saved.map(|id| self.get(id)).transpose()?;
        if let (Patch::Set(url), Patch::Keep, Some(c)) = (&target.url, &target.token, &saved)
            && !c.token.is_empty()
        {
            stays_with_its_host(&c.url, url, "token")?;
        }
        let url = match (target.url, &saved) {
            (Patch::Set(u), _) => u.into_string(),
            (Patch::Keep, Some(c)) => c.url.clone(),
            (Patch::Keep, None) => AgentUrl::parse("")?.into_string(),
        };
        let token = match (target.token, &saved) {
            (Patch::Set(t), _) => t.into_string(),
            (Patch::Keep, Some(c)) => c.token.clone(),
            (Patch::Keep, None) => AgentToken::parse("")?.into_string(),
        };
        let started = Instant::now();
        let answer = agents::fetch(&self.client, &self.schemes, &url, &token);
        Ok(Tested {
            answer,
            took: started.elapsed(),
        })
    }

    /// The computers a poll round asks: the enabled ones, the server's own host with them
    /// while it is monitored.
    pub fn to_poll(&self) -> Result<Vec<Computer>> {
        let local = self.local;
        let list = self.store.read(|c| store::computers::list(c, local))?;
        Ok(list.into_iter().filter(|c| c.enabled).collect())
    }

    /// The server's own host's figures now, read from its sampler rather than over HTTP.
    pub fn local_answer(&self) -> Answer {
        match self.local_sampler.get() {
            Some(latest) => Ok(latest.get().info.clone()),
            None => Err(PollFailure::offline(
                "this server does not monitor its own host (--no-local)",
            )),
        }
    }

    /// Records a batch of a round's answers: each good one becomes a sample with the server's
    /// own rates (from the counters of the answer before it) and the computer's latest in
    /// the live map; the samples and every status are written in one transaction. A write
    /// that fails is counted and logged; the next round writes again. Returns the answers
    /// that were good and bad.
    pub fn record(&self, answers: Vec<Polled>) -> (u64, u64) {
        let mut outcomes = Vec::with_capacity(answers.len());
        let mut seen = Vec::with_capacity(answers.len());
        for (c, at_ms, answer) in answers {
            let result = answer.map(|info| {
                let sample = agents::to_sample(c.id, at_ms, &info, self.live.counters(c.id));
                self.live
                    .set(c.id, LiveEntry::new(info, at_ms, sample.clone()));
                sample
            });
            log_change(&c, &result);
            let at = at_ms.div_euclid(1000);
            let (status, reason) = match &result {
                Ok(_) => (Status::Online, None),
                Err(f) => (f.status, Some(f.reason.clone())),
            };
            outcomes.push(PollOutcome {
                computer_id: c.id,
                // A failure's time only dates its status: from the rounds not written, if any.
                at: match &result {
                    Ok(_) => at,
                    Err(f) => self.alerts.unstored_since(c.id, f.status).unwrap_or(at),
                },
                result,
            });
            seen.push(Seen {
                computer_id: c.id,
                status,
                reason,
                at,
                stored: (c.status, c.status_changed_at),
            });
        }
        let ok = outcomes.iter().filter(|o| o.result.is_ok()).count() as u64;
        let failed = outcomes.len() as u64 - ok;
        self.counters.polls_ok.fetch_add(ok, Ordering::Relaxed);
        self.counters
            .polls_failed
            .fetch_add(failed, Ordering::Relaxed);
        let written = self.store.write(Durability::Relaxed, move |tx| {
            store::computers::record_round(tx, &outcomes)
        });
        match &written {
            Ok(()) => self.counters.write_ok(),
            Err(e) => {
                self.counters.write_failed(e);
                eprintln!(
                    "event=db_write_failed what=poll_round error={:?} action=retry_next_round",
                    e.to_string()
                );
            }
        }
        self.alerts.round_statuses(&seen, written.is_ok());
        (ok, failed)
    }

    /// Fills the gap in `c`'s history before `before` (unix seconds, the poll that found it)
    /// from the agent's `/history`, page by page, each page's samples written in one
    /// transaction with every bucket they fall in rolled up again. Alerts never see these
    /// samples: they judge live polls only. Logs what it stored, and what it refused.
    pub fn backfill(&self, client: &ureq::Agent, c: &Computer, before: i64) -> Backfilled {
        let id = c.id;
        // Before the poll that found the gap, which may be stored by now.
        let newest = match self
            .store
            .read(move |conn| store::stats::newest_before(conn, id, before))
        {
            Ok(t) => t,
            Err(e) => {
                return Backfilled::Failed {
                    samples: 0,
                    reason: e.to_string(),
                };
            }
        };
        let Some(mut since) = newest.or(c.last_seen) else {
            return Backfilled::Stored {
                samples: 0,
                span: None,
            };
        };
        let (mut samples, mut span, mut refused) = (0, None::<(i64, i64)>, (0, None));
        let mut failure = None;
        for _ in 0..MAX_BACKFILL_PAGES {
            let page = match agents::fetch_history(client, &self.schemes, &c.url, &c.token, since) {
                Ok(page) => page,
                Err(agents::HistoryFailure::NotOffered) if samples == 0 => {
                    return Backfilled::NotOffered;
                }
                Err(agents::HistoryFailure::NotOffered) => {
                    failure = Some("the agent stopped answering /history".to_string());
                    break;
                }
                Err(agents::HistoryFailure::Failed(f)) => {
                    failure = Some(f.reason);
                    break;
                }
            };
            let (now, five) = (self.clock.now(), Tier::FiveMinutes.width());
            let window = agents::Backfill {
                computer_id: id,
                after: since,
                before,
                now,
                // From the first 5-minute bucket wholly kept in the raw tier, so that a
                // bucket rolled up again is never missing rows trimmed before.
                oldest: (now - self.raw_retention).div_euclid(five) * five + five,
            };
            let (rows, bad) = agents::history_samples(&page.samples, window);
            if refused.1.is_none() {
                refused.1 = bad.first().cloned();
            }
            refused.0 += bad.len();
            if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
                let (from, to) = (first.timestamp, last.timestamp);
                let written = self.store.write(Durability::Relaxed, move |tx| {
                    let n = store::stats::insert_new(tx, &rows)?;
                    store::tiers::reroll(tx, id, from, to)?;
                    Ok(n)
                });
                match written {
                    Ok(n) => {
                        samples += n;
                        span = Some((span.map_or(from, |s| s.0), to));
                    }
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
            let last = page.samples.last().map(|h| h.t as i64);
            match last {
                Some(t) if page.more && t > since && t < before => since = t,
                _ => break,
            }
        }
        if let (n, Some((t, why))) = refused {
            println!(
                "event=backfill_refused computer={:?} samples={n} first={t} reason={:?}",
                c.name, why.0
            );
        }
        if samples > 0 {
            let (from, to) = span.unwrap_or_default();
            println!(
                "event=backfilled computer={:?} samples={samples} from={from} to={to}",
                c.name
            );
        }
        match failure {
            Some(reason) => {
                println!(
                    "event=backfill_failed computer={:?} samples={samples} reason={reason:?}",
                    c.name
                );
                Backfilled::Failed { samples, reason }
            }
            None => Backfilled::Stored { samples, span },
        }
    }

    /// Makes sure the server's own host has its row, when it is monitored.
    pub fn ensure_local(&self, hostname: &str) -> Result<Option<i64>> {
        if !self.local {
            return Ok(None);
        }
        let (host, now) = (hostname.to_string(), self.clock.now());
        Ok(Some(self.store.durable(move |tx| {
            store::computers::ensure_local(tx, &host, now)
        })?))
    }
}

/// The computer with `id`; the server's own host only while it is monitored (`local`).
pub fn find(store: &Store, local: bool, id: i64) -> Result<Computer> {
    let c = store
        .read(|conn| store::computers::get(conn, id))
        .map_err(Error::not_found("computer", id))?;
    if c.kind == Kind::Local && !local {
        return Err(Error::NotFound(format!("no computer with id {id}")));
    }
    Ok(c)
}

/// Logs what a poll changed about a computer, if anything (not every failed poll of a
/// computer that stays down for the same reason).
fn log_change(c: &Computer, result: &std::result::Result<Sample, PollFailure>) {
    if let Some(line) = change_line(c, result) {
        println!("{line}");
    }
}

/// The log line for what a poll changed: `status_changed` when the status moved (with the
/// new reason), `reason_changed` when it stayed the same but for another reason, nothing
/// otherwise. The name is Debug-quoted, so no name can forge a log line.
fn change_line(c: &Computer, result: &std::result::Result<Sample, PollFailure>) -> Option<String> {
    let (status, reason) = match result {
        Ok(_) => (Status::Online, None),
        Err(f) => (f.status, Some(f.reason.as_str())),
    };
    if status != c.status {
        Some(format!(
            "event=status_changed computer_id={} name={:?} from={} to={} reason={:?}",
            c.id,
            c.name,
            c.status.as_str(),
            status.as_str(),
            reason.unwrap_or("")
        ))
    } else if reason.is_some() && reason != c.status_reason.as_deref() {
        Some(format!(
            "event=reason_changed computer_id={} name={:?} status={} from={:?} to={:?}",
            c.id,
            c.name,
            status.as_str(),
            c.status_reason.as_deref().unwrap_or(""),
            reason.unwrap_or("")
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn computer(status: Status, reason: Option<&str>) -> Computer {
        Computer {
            id: 7,
            name: "attic \"pi\"\nevent=forged".into(),
            url: "http://pi:8000".into(),
            token: "0123456789abcdef".into(),
            kind: Kind::Agent,
            enabled: true,
            status,
            status_reason: reason.map(str::to_string),
            status_changed_at: Some(1),
            last_seen: None,
            created_at: Some(1),
        }
    }

    #[test]
    fn a_status_change_is_logged_only_when_the_status_changes_and_a_new_reason_apart() {
        let refused = || Err(PollFailure::offline("connection refused"));
        let timed_out = || Err(PollFailure::offline("timed out"));
        let sample = || Ok(Sample::default());
        let offline = computer(Status::Offline, Some("connection refused"));
        // Down for the same reason, or up and still up: nothing.
        assert_eq!(change_line(&offline, &refused()), None);
        assert_eq!(
            change_line(&computer(Status::Online, None), &sample()),
            None
        );
        // Down for another reason: its own event, never from=offline to=offline.
        assert_eq!(
            change_line(&offline, &timed_out()).as_deref(),
            Some(
                r#"event=reason_changed computer_id=7 name="attic \"pi\"\nevent=forged" status=offline from="connection refused" to="timed out""#
            )
        );
        // A new computer's first failure has a reason where it had none.
        let line = change_line(&computer(Status::Offline, None), &refused()).unwrap();
        assert!(line.starts_with("event=reason_changed "), "{line}");
        // The status moves: one status_changed line with the new reason.
        assert_eq!(
            change_line(
                &offline,
                &Err(PollFailure::error("wrong token: the agent answered 401"))
            )
            .as_deref(),
            Some(
                r#"event=status_changed computer_id=7 name="attic \"pi\"\nevent=forged" from=offline to=error reason="wrong token: the agent answered 401""#
            )
        );
        let back = change_line(&offline, &sample()).unwrap();
        assert!(
            back.contains(" from=offline to=online reason=\"\""),
            "{back}"
        );
        assert!(
            change_line(&computer(Status::Online, None), &refused())
                .unwrap()
                .contains("from=online to=offline")
        );
        for (c, r) in [
            (&offline, timed_out()),
            (&offline, refused()),
            (
                &computer(Status::Error, Some("x")),
                Err(PollFailure::error("y")),
            ),
        ] {
            if let Some(line) = change_line(c, &r) {
                assert!(
                    !line.contains("from=offline to=offline")
                        && !line.contains("from=error to=error"),
                    "{line}"
                );
            }
        }
    }
}
