//! Alerts: rules, delivery channels, the state of each rule per computer and target, and
//! the history of what fired and resolved.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::query::{all, one};
use super::{Result, name_taken};
use crate::model::{
    Channel, ChannelInput, ChannelKind, Event, EventKind, Firing, Rule, RuleInput, RuleKind, State,
    StateRow,
};

// ---- rules --------------------------------------------------------------------------------

const RULE_COLUMNS: &str =
    "id, name, kind, computer_id, target, threshold, duration_secs, enabled, created_at";

fn rule_from_row(r: &Row) -> rusqlite::Result<Rule> {
    let kind: String = r.get(2)?;
    Ok(Rule {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: RuleKind::parse(&kind).unwrap_or(RuleKind::Offline),
        computer_id: r.get(3)?,
        target: r.get(4)?,
        threshold: r.get(5)?,
        duration_secs: r.get(6)?,
        enabled: r.get::<_, i64>(7)? != 0,
        created_at: r.get(8)?,
    })
}

pub fn list_rules(conn: &Connection) -> Result<Vec<Rule>> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY name COLLATE NOCASE, id");
    all(conn, &sql, [], rule_from_row)
}

pub fn get_rule(conn: &Connection, id: i64) -> Result<Rule> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = ?1");
    one(conn, &sql, [id], rule_from_row)
}

/// Adds a rule: its row, then every value as an edit sets them (in the caller's transaction).
pub fn add_rule(conn: &Connection, input: &RuleInput, now: i64) -> Result<Rule> {
    conn.execute(
        "INSERT INTO alert_rules (name, kind, created_at) VALUES (?1, ?2, ?3)",
        params![&*input.name, input.kind.as_str(), now],
    )
    .map_err(name_taken("rule", &input.name))?;
    update_rule(conn, conn.last_insert_rowid(), input, false)
}

/// Changes a rule; `fresh_states` drops its states, so it is judged afresh from the next
/// round on (end its firing alerts first).
pub fn update_rule(
    conn: &Connection,
    id: i64,
    input: &RuleInput,
    fresh_states: bool,
) -> Result<Rule> {
    get_rule(conn, id)?;
    conn.execute(
        "UPDATE alert_rules SET name = ?2, kind = ?3, computer_id = ?4, target = ?5, threshold = ?6,
             duration_secs = ?7, enabled = ?8 WHERE id = ?1",
        params![
            id,
            &*input.name,
            input.kind.as_str(),
            input.computer_id,
            input.target.as_deref(),
            input.threshold.map(|t| t.get()),
            input.duration.secs(),
            input.enabled as i64
        ],
    )
    .map_err(name_taken("rule", &input.name))?;
    if fresh_states {
        conn.execute("DELETE FROM alert_state WHERE rule_id = ?1", [id])?;
    }
    get_rule(conn, id)
}

/// Deletes a rule and its states; its history stays, under its name.
pub fn delete_rule(conn: &Connection, id: i64) -> Result<Rule> {
    let rule = get_rule(conn, id)?;
    conn.execute("DELETE FROM alert_state WHERE rule_id = ?1", [id])?;
    conn.execute("DELETE FROM alert_rules WHERE id = ?1", [id])?;
    Ok(rule)
}

// ---- channels -----------------------------------------------------------------------------

const CHANNEL_COLUMNS: &str = "id, name, kind, url, token, enabled, link_base, created_at, last_ok_at, last_error, last_error_at";

fn channel_from_row(r: &Row) -> rusqlite::Result<Channel> {
    let kind: String = r.get(2)?;
    Ok(Channel {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: ChannelKind::parse(&kind).unwrap_or(ChannelKind::Webhook),
        url: r.get(3)?,
        token: r.get(4)?,
        enabled: r.get::<_, i64>(5)? != 0,
        link_base: r.get(6)?,
        created_at: r.get(7)?,
        last_ok_at: r.get(8)?,
        last_error: r.get(9)?,
        last_error_at: r.get(10)?,
    })
}

pub fn list_channels(conn: &Connection) -> Result<Vec<Channel>> {
    let sql =
        format!("SELECT {CHANNEL_COLUMNS} FROM alert_channels ORDER BY name COLLATE NOCASE, id");
    all(conn, &sql, [], channel_from_row)
}

pub fn get_channel(conn: &Connection, id: i64) -> Result<Channel> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE id = ?1");
    one(conn, &sql, [id], channel_from_row)
}

/// Adds a channel: its row, then every value as an edit sets them (in the caller's
/// transaction).
pub fn add_channel(conn: &Connection, input: &ChannelInput, now: i64) -> Result<Channel> {
    conn.execute(
        "INSERT INTO alert_channels (name, kind, url, created_at) VALUES (?1, ?2, '', ?3)",
        params![&*input.name, input.kind.as_str(), now],
    )
    .map_err(name_taken("channel", &input.name))?;
    update_channel(conn, conn.last_insert_rowid(), input)
}

/// Changes a channel; a URL, token or link base the input leaves out stays as it is.
pub fn update_channel(conn: &Connection, id: i64, input: &ChannelInput) -> Result<Channel> {
    let current = get_channel(conn, id)?;
    let url = input.url.as_ref().map_or(current.url, |u| u.to_string());
    let token = input
        .token
        .as_ref()
        .map(|t| t.to_string())
        .or(current.token);
    let link_base = input.link_base.clone().or(current.link_base);
    conn.execute(
        "UPDATE alert_channels SET name = ?2, kind = ?3, url = ?4, token = ?5, enabled = ?6, link_base = ?7
         WHERE id = ?1",
        params![
            id,
            &*input.name,
            input.kind.as_str(),
            url,
            token,
            input.enabled as i64,
            link_base
        ],
    )
    .map_err(name_taken("channel", &input.name))?;
    get_channel(conn, id)
}

pub fn delete_channel(conn: &Connection, id: i64) -> Result<Channel> {
    let c = get_channel(conn, id)?;
    conn.execute("DELETE FROM alert_channels WHERE id = ?1", [id])?;
    Ok(c)
}

/// Records a delivery's outcome: `None` when it was delivered, else why not, as shown to
/// admins (never the URL).
pub fn record_delivery(conn: &Connection, id: i64, failed: Option<&str>, now: i64) -> Result<()> {
    match failed {
        None => conn.execute(
            "UPDATE alert_channels SET last_ok_at = ?2 WHERE id = ?1",
            params![id, now],
        )?,
        Some(why) => conn.execute(
            "UPDATE alert_channels SET last_error = ?2, last_error_at = ?3 WHERE id = ?1",
            params![id, why, now],
        )?,
    };
    Ok(())
}

// ---- state and events ---------------------------------------------------------------------

pub fn list_states(conn: &Connection) -> Result<Vec<StateRow>> {
    let sql = "SELECT rule_id, computer_id, target_key, state, since, value, last_notified_at FROM alert_state";
    all(conn, sql, [], |r| {
        let state: String = r.get(3)?;
        Ok(StateRow {
            rule_id: r.get(0)?,
            computer_id: r.get(1)?,
            target_key: r.get(2)?,
            state: State::parse(&state),
            since: r.get(4)?,
            value: r.get(5)?,
            last_notified_at: r.get(6)?,
        })
    })
}

/// Writes a state row (`Some`) or removes it (`None`: the rule is ok there).
pub fn put_state(conn: &Connection, key: (i64, i64, &str), row: Option<&StateRow>) -> Result<()> {
    match row {
        Some(s) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO alert_state (rule_id, computer_id, target_key, state, since, value, last_notified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                s.rule_id,
                s.computer_id,
                s.target_key,
                s.state.as_str(),
                s.since,
                s.value,
                s.last_notified_at
            ])?;
        }
        None => {
            conn.prepare_cached(
                "DELETE FROM alert_state WHERE rule_id = ?1 AND computer_id = ?2 AND target_key = ?3",
            )?
            .execute(params![key.0, key.1, key.2])?;
        }
    }
    Ok(())
}

/// Firing states of one rule, or of every rule on one computer, with the computer's name.
pub fn firing_states(
    conn: &Connection,
    rule_id: Option<i64>,
    computer_id: Option<i64>,
) -> Result<Vec<(StateRow, String)>> {
    let sql = "SELECT s.rule_id, s.computer_id, s.target_key, s.since, s.value, s.last_notified_at, c.name
         FROM alert_state s JOIN computers c ON c.id = s.computer_id
         WHERE s.state = 'firing' AND (?1 IS NULL OR s.rule_id = ?1)
           AND (?2 IS NULL OR s.computer_id = ?2)
         ORDER BY s.rule_id, s.computer_id, s.target_key";
    all(conn, sql, params![rule_id, computer_id], |r| {
        Ok((
            StateRow {
                rule_id: r.get(0)?,
                computer_id: r.get(1)?,
                target_key: r.get(2)?,
                state: State::Firing,
                since: r.get(3)?,
                value: r.get(4)?,
                last_notified_at: r.get(5)?,
            },
            r.get(6)?,
        ))
    })
}

/// Appends an event and returns its id.
pub fn add_event(conn: &Connection, e: &Event) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO alert_events (rule_id, rule_name, computer_id, computer_name, target, kind, value, at, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.rule_id,
        e.rule_name,
        e.computer_id,
        e.computer_name,
        e.target,
        e.kind.as_str(),
        e.value,
        e.at,
        e.message
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The newest events first, at most `limit`.
pub fn list_events(conn: &Connection, limit: i64) -> Result<Vec<Event>> {
    let sql = "SELECT id, rule_id, rule_name, computer_id, computer_name, target, kind, value, at, message
         FROM alert_events ORDER BY at DESC, id DESC LIMIT ?1";
    all(conn, sql, [limit], |r| {
        let kind: String = r.get(6)?;
        Ok(Event {
            id: r.get(0)?,
            rule_id: r.get(1)?,
            rule_name: r.get(2)?,
            computer_id: r.get(3)?,
            computer_name: r.get(4)?,
            target: r.get(5)?,
            kind: if kind == "resolved" {
                EventKind::Resolved
            } else {
                EventKind::Fired
            },
            value: r.get(7)?,
            at: r.get(8)?,
            message: r.get(9)?,
        })
    })
}

/// Every firing alert, for the dashboard's cards.
pub fn firing(conn: &Connection) -> Result<Vec<Firing>> {
    let sql = "SELECT s.rule_id, r.name, r.kind, s.computer_id, s.target_key, s.since, s.value
         FROM alert_state s JOIN alert_rules r ON r.id = s.rule_id
         WHERE s.state = 'firing' AND r.enabled
         ORDER BY s.since, r.name";
    all(conn, sql, [], |r| {
        let kind: String = r.get(2)?;
        let target: String = r.get(4)?;
        Ok(Firing {
            rule_id: r.get(0)?,
            rule: r.get(1)?,
            kind: RuleKind::parse(&kind).unwrap_or(RuleKind::Offline),
            computer_id: r.get(3)?,
            target: (!target.is_empty()).then_some(target),
            since: r.get(5)?,
            value: r.get(6)?,
        })
    })
}

/// Removes what belongs to a computer being deleted: its rules, states and history.
pub fn delete_for_computer(conn: &Connection, computer_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM alert_state WHERE computer_id = ?1 OR rule_id IN (SELECT id FROM alert_rules WHERE computer_id = ?1)",
        [computer_id],
    )?;
    conn.execute(
        "DELETE FROM alert_rules WHERE computer_id = ?1",
        [computer_id],
    )?;
    conn.execute(
        "DELETE FROM alert_events WHERE computer_id = ?1",
        [computer_id],
    )?;
    Ok(())
}

/// Whether a computer with this id exists.
pub fn computer_exists(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM computers WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewComputer;
    use crate::model::values::{ChannelToken, ChannelUrl, Name, RuleDuration, Threshold};
    use crate::store::StoreError;
    use crate::store::computers;

    use crate::store::test_db as db;

    fn rule(name: &str, computer_id: Option<i64>) -> RuleInput {
        RuleInput {
            name: Name::parse(name, "name").unwrap(),
            kind: RuleKind::Cpu,
            computer_id,
            target: None,
            threshold: Some(Threshold::new(RuleKind::Cpu, 90.0).unwrap()),
            duration: RuleDuration::new(60.0).unwrap(),
            enabled: true,
        }
    }

    #[test]
    fn a_fresh_database_has_the_default_rules() {
        let c = db();
        let rules = list_rules(&c).unwrap();
        let summary: Vec<_> = rules
            .iter()
            .map(|r| {
                (
                    r.kind,
                    r.threshold,
                    r.duration_secs,
                    r.computer_id,
                    r.enabled,
                )
            })
            .collect();
        assert!(summary.contains(&(RuleKind::Offline, None, 300, None, true)));
        assert!(summary.contains(&(RuleKind::Disk, Some(90.0), 0, None, true)));
        assert!(summary.contains(&(RuleKind::Memory, Some(95.0), 600, None, true)));
        assert!(summary.contains(&(RuleKind::Temperature, Some(80.0), 300, None, true)));
    }

    #[test]
    fn rule_names_are_unique_and_edits_that_change_meaning_reset_state() {
        let c = db();
        let r = add_rule(&c, &rule("busy", None), 1).unwrap();
        assert!(matches!(
            add_rule(&c, &rule("busy", None), 1),
            Err(StoreError::Taken(m)) if m.contains("exists already")
        ));
        let s = StateRow {
            rule_id: r.id,
            computer_id: 7,
            target_key: String::new(),
            state: State::Firing,
            since: 5,
            value: Some(99.0),
            last_notified_at: Some(5),
        };
        put_state(&c, (r.id, 7, ""), Some(&s)).unwrap();
        assert_eq!(list_states(&c).unwrap(), vec![s.clone()]);
        // A new name keeps the states; a new threshold starts afresh.
        let renamed = rule("busier", None);
        assert!(r.means_the_same(&renamed));
        update_rule(&c, r.id, &renamed, false).unwrap();
        assert_eq!(list_states(&c).unwrap(), vec![s]);
        let stricter = RuleInput {
            threshold: Some(Threshold::new(RuleKind::Cpu, 95.0).unwrap()),
            ..rule("busier", None)
        };
        assert!(!r.means_the_same(&stricter));
        update_rule(&c, r.id, &stricter, true).unwrap();
        assert!(list_states(&c).unwrap().is_empty());
        assert!(matches!(delete_rule(&c, 999), Err(StoreError::NotFound)));
    }

    #[test]
    fn deleting_a_computer_takes_its_rules_states_and_history() {
        let c = db();
        let pi = computers::add(
            &c,
            &NewComputer::new("pi", "http://pi:8000", &"t".repeat(20)).unwrap(),
            1,
        )
        .unwrap();
        let mine = add_rule(&c, &rule("pi busy", Some(pi.id)), 1).unwrap();
        let all = add_rule(&c, &rule("busy", None), 1).unwrap();
        for rid in [mine.id, all.id] {
            let s = StateRow {
                rule_id: rid,
                computer_id: pi.id,
                target_key: String::new(),
                state: State::Firing,
                since: 5,
                value: None,
                last_notified_at: None,
            };
            put_state(&c, (rid, pi.id, ""), Some(&s)).unwrap();
        }
        add_event(
            &c,
            &Event {
                id: 0,
                rule_id: Some(all.id),
                rule_name: "busy".into(),
                computer_id: Some(pi.id),
                computer_name: "pi".into(),
                target: None,
                kind: EventKind::Fired,
                value: Some(99.0),
                at: 5,
                message: "m".into(),
            },
        )
        .unwrap();
        assert_eq!(firing(&c).unwrap().len(), 2);
        computers::delete(&c, pi.id).unwrap();
        assert!(list_states(&c).unwrap().is_empty());
        assert!(list_events(&c, 10).unwrap().is_empty());
        assert!(get_rule(&c, all.id).is_ok(), "rules for all computers stay");
        assert!(matches!(get_rule(&c, mine.id), Err(StoreError::NotFound)));
    }

    #[test]
    fn an_edited_channel_keeps_its_secret_unless_given_one() {
        let c = db();
        let input = ChannelInput {
            name: Name::parse("hook", "name").unwrap(),
            kind: ChannelKind::Webhook,
            url: Some(
                ChannelUrl::parse("https://example.test/hook/secret", ChannelKind::Webhook)
                    .unwrap(),
            ),
            token: Some(ChannelToken::parse("tok-secret").unwrap()),
            enabled: true,
            link_base: None,
        };
        let ch = add_channel(&c, &input, 1).unwrap();
        let edit = ChannelInput {
            name: Name::parse("hook 2", "name").unwrap(),
            url: None,
            token: None,
            ..input.clone()
        };
        let after = update_channel(&c, ch.id, &edit).unwrap();
        assert_eq!(after.url, "https://example.test/hook/secret");
        assert_eq!(after.token.as_deref(), Some("tok-secret"));
        record_delivery(&c, ch.id, Some("HTTP 500"), 9).unwrap();
        record_delivery(&c, ch.id, None, 10).unwrap();
        let after = get_channel(&c, ch.id).unwrap();
        assert_eq!(
            (
                after.last_error.as_deref(),
                after.last_error_at,
                after.last_ok_at
            ),
            (Some("HTTP 500"), Some(9), Some(10))
        );
        assert!(matches!(
            add_channel(&c, &edit, 1),
            Err(StoreError::Taken(m)) if m.contains("channel")
        ));
    }
}
