//! Computers: the agents to poll (and the server's own host), their status, and each poll
//! round's outcome written in one transaction.

use rusqlite::{Connection, Row, params};

use super::query::{all, maybe, one};
use super::stats;
use super::{Result, name_taken};
use crate::model::{Computer, ComputerEdit, Kind, NewComputer, PollFailure, PollOutcome, Status};

const COLUMNS: &str = "id, name, url, token, kind, enabled, status, status_reason, status_changed_at, last_seen, created_at";

fn from_row(r: &Row) -> rusqlite::Result<Computer> {
    let kind: String = r.get(4)?;
    let status: Option<String> = r.get(6)?;
    Ok(Computer {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        token: r.get(3)?,
        kind: if kind == "local" {
            Kind::Local
        } else {
            Kind::Agent
        },
        enabled: r.get::<_, i64>(5)? != 0,
        status: Status::parse(status.as_deref().unwrap_or("offline")),
        status_reason: r.get(7)?,
        status_changed_at: r.get(8)?,
        // An original database may hold a time string SQLite could not convert.
        last_seen: r.get::<_, Option<i64>>(9).ok().flatten(),
        created_at: r.get::<_, Option<i64>>(10).ok().flatten(),
    })
}

/// Every computer, the local one first; `include_local: false` leaves it out.
pub fn list(conn: &Connection, include_local: bool) -> Result<Vec<Computer>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM computers WHERE ?1 OR kind != 'local' ORDER BY kind = 'agent', name COLLATE NOCASE"
    );
    all(conn, &sql, [include_local], from_row)
}

pub fn get(conn: &Connection, id: i64) -> Result<Computer> {
    let sql = format!("SELECT {COLUMNS} FROM computers WHERE id = ?1");
    one(conn, &sql, [id], from_row)
}

pub fn add(conn: &Connection, c: &NewComputer, now: i64) -> Result<Computer> {
    conn.execute(
        "INSERT INTO computers (name, url, token, status, enabled, kind, created_at) VALUES (?1, ?2, ?3, 'offline', ?4, 'agent', ?5)",
        params![&*c.name, &*c.url, &*c.token, c.enabled as i64, now],
    )
    .map_err(name_taken("computer", &c.name))?;
    get(conn, conn.last_insert_rowid())
}

/// Applies an edit: a kept field stays as stored.
pub fn update(conn: &Connection, id: i64, e: &ComputerEdit) -> Result<Computer> {
    get(conn, id)?;
    let name = e.name.as_set().map(|n| n.to_string());
    conn.execute(
        "UPDATE computers SET name = coalesce(?2, name), url = coalesce(?3, url),
             token = coalesce(?4, token), enabled = coalesce(?5, enabled) WHERE id = ?1",
        params![
            id,
            name,
            e.url.as_set().map(|u| u.to_string()),
            e.token.as_set().map(|t| t.to_string()),
            e.enabled.as_set().map(|b| *b as i64)
        ],
    )
    .map_err(name_taken("computer", name.as_deref().unwrap_or("")))?;
    get(conn, id)
}

/// Deletes a computer and its history.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    get(conn, id)?;
    stats::delete_for(conn, id)?;
    super::tiers::delete_for(conn, id)?;
    super::alerts::delete_for_computer(conn, id)?;
    conn.execute("DELETE FROM computers WHERE id = ?1", [id])?;
    Ok(())
}

/// The id of the server's own host, creating its row (named after the host) on first start.
pub fn ensure_local(conn: &Connection, hostname: &str, now: i64) -> Result<i64> {
    let sql = "SELECT id FROM computers WHERE kind = 'local' ORDER BY id LIMIT 1";
    if let Some(id) = maybe(conn, sql, [], |r| r.get(0))? {
        return Ok(id);
    }
    let mut name = hostname.to_string();
    for n in 1.. {
        let taken: bool = conn.query_row(
            "SELECT count(*) > 0 FROM computers WHERE name = ?1",
            [&name],
            |r| r.get(0),
        )?;
        if !taken {
            break;
        }
        name = if n == 1 {
            format!("{hostname} (server)")
        } else {
            format!("{hostname} (server {n})")
        };
    }
    conn.execute(
        "INSERT INTO computers (name, url, token, status, enabled, kind, created_at) VALUES (?1, 'local', '', 'offline', 1, 'local', ?2)",
        params![name, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Writes one poll round: a sample row per success, and every computer's status.
pub fn record_round(conn: &Connection, outcomes: &[PollOutcome]) -> Result<()> {
    let mut online = conn.prepare_cached(
        "UPDATE computers SET last_seen = ?2, status = 'online', status_reason = NULL,
             status_changed_at = CASE WHEN status IS 'online' THEN status_changed_at ELSE ?2 END
         WHERE id = ?1",
    )?;
    let mut failed = conn.prepare_cached(
        "UPDATE computers SET status = ?2, status_reason = ?3,
             status_changed_at = CASE WHEN status IS ?2 AND status_changed_at IS NOT NULL THEN status_changed_at ELSE ?4 END
         WHERE id = ?1",
    )?;
    for o in outcomes {
        match &o.result {
            Ok(sample) => {
                stats::insert(conn, sample)?;
                online.execute(params![o.computer_id, o.at])?;
            }
            Err(PollFailure { status, reason }) => {
                failed.execute(params![o.computer_id, status.as_str(), reason, o.at])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::values::Name;
    use crate::model::{Patch, Sample};
    use crate::store::test_db as db;

    fn input(name: &str) -> NewComputer {
        NewComputer::new(name, "http://pi:8000", &"t".repeat(20)).unwrap()
    }

    fn renamed(name: &str) -> ComputerEdit {
        ComputerEdit {
            name: Patch::Set(Name::parse(name, "name").unwrap()),
            ..ComputerEdit::default()
        }
    }

    #[test]
    fn duplicate_names_conflict_on_add_and_rename() {
        let c = db();
        add(&c, &input("pi"), 1).unwrap();
        let nas = add(&c, &input("nas"), 1).unwrap();
        assert!(matches!(
            add(&c, &input("pi"), 1),
            Err(crate::store::StoreError::Taken(_))
        ));
        assert!(matches!(
            update(&c, nas.id, &renamed("pi")),
            Err(crate::store::StoreError::Taken(_))
        ));
    }

    #[test]
    fn update_without_token_keeps_it() {
        let c = db();
        let pi = add(&c, &input("pi"), 1).unwrap();
        let after = update(&c, pi.id, &renamed("pi2")).unwrap();
        assert_eq!(after.token, pi.token);
        assert_eq!(after.name, "pi2");
        assert_eq!(
            (after.url, after.enabled),
            (pi.url, pi.enabled),
            "kept as stored"
        );
    }

    #[test]
    fn status_changes_are_timed_and_reasons_kept() {
        let c = db();
        let pi = add(&c, &input("pi"), 1).unwrap();
        let fail = |at| PollOutcome {
            computer_id: pi.id,
            at,
            result: Err(PollFailure::offline("connection refused")),
        };
        record_round(&c, &[fail(100)]).unwrap();
        let after = get(&c, pi.id).unwrap();
        assert_eq!(after.status, Status::Offline);
        assert_eq!(after.status_reason.as_deref(), Some("connection refused"));
        // Offline from the start: the first round counts as the change.
        assert_eq!(after.status_changed_at, Some(100));
        record_round(&c, &[fail(200)]).unwrap();
        assert_eq!(get(&c, pi.id).unwrap().status_changed_at, Some(100));
        let ok = PollOutcome {
            computer_id: pi.id,
            at: 300,
            result: Ok(Sample {
                computer_id: pi.id,
                timestamp: 300,
                ..Sample::default()
            }),
        };
        record_round(&c, &[ok]).unwrap();
        let after = get(&c, pi.id).unwrap();
        assert_eq!(
            (after.status, after.status_changed_at, after.last_seen),
            (Status::Online, Some(300), Some(300))
        );
        assert_eq!(after.status_reason, None);
    }

    #[test]
    fn local_host_row_is_made_once_with_a_free_name() {
        let c = db();
        add(&c, &input("box"), 1).unwrap();
        let id = ensure_local(&c, "box", 1).unwrap();
        assert_eq!(ensure_local(&c, "box", 2).unwrap(), id);
        let local = get(&c, id).unwrap();
        assert_eq!(local.name, "box (server)");
        assert_eq!(local.kind, Kind::Local);
        assert_eq!(list(&c, false).unwrap().len(), 1);
        assert_eq!(list(&c, true).unwrap()[0].kind, Kind::Local);
    }

    #[test]
    fn delete_removes_history_too() {
        let c = db();
        let pi = add(&c, &input("pi"), 1).unwrap();
        stats::insert(
            &c,
            &Sample {
                computer_id: pi.id,
                timestamp: 5,
                ..Sample::default()
            },
        )
        .unwrap();
        delete(&c, pi.id).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM stats", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert!(matches!(
            delete(&c, pi.id),
            Err(crate::store::StoreError::NotFound)
        ));
    }
}
