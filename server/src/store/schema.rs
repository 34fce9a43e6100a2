//! The schema and its migrations. The version lives in `PRAGMA user_version`; each migration
//! moves it up by one inside a transaction. Migrations are never edited once released:
//! a change is a new migration at the end.
//!
//! Version 0 is an empty file or a database made by the original Flask server, whose three
//! tables migration 1 creates only when they are missing, so both paths meet at version 1.

use rusqlite::Connection;

use super::error::{Result, StoreError};

/// SHA-256 of the original's fixed default password; an account still holding it must pick
/// a new password at its next login.
const ORIGINAL_DEFAULT_HASH: &str =
    "240be518fabd2724ddb6f04eeb1da5967448d7e831c08c8fa822809f74c720a9";

/// A rollup tier's table: one row per computer and bucket, with the bucket's sample count and
/// each figure's average, minimum or maximum as a scaled integer.
macro_rules! rollup_table {
    ($name:literal) => {
        concat!(
            "
    CREATE TABLE ",
            $name,
            " (
        computer_id INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        cpu_avg INTEGER, cpu_min INTEGER, cpu_max INTEGER,
        mem_avg INTEGER, mem_min INTEGER, mem_max INTEGER,
        disk_avg INTEGER, disk_min INTEGER, disk_max INTEGER,
        mem_used INTEGER, mem_total INTEGER, disk_used INTEGER, disk_total INTEGER,
        sent_avg INTEGER, sent_max INTEGER, recv_avg INTEGER, recv_max INTEGER,
        temp_avg INTEGER, temp_min INTEGER, temp_max INTEGER,
        load_avg INTEGER, swap_avg INTEGER, read_avg INTEGER, write_avg INTEGER,
        PRIMARY KEY (computer_id, bucket)
    ) WITHOUT ROWID;"
        )
    };
}

const MIGRATIONS: &[&str] = &[
    // 1: the original design's tables, exactly as it created them.
    "CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT UNIQUE NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    );
    CREATE TABLE IF NOT EXISTS computers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT UNIQUE NOT NULL,
        url TEXT NOT NULL,
        token TEXT NOT NULL,
        last_seen TIMESTAMP,
        status TEXT DEFAULT 'offline'
    );
    CREATE TABLE IF NOT EXISTS stats (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        computer_id INTEGER,
        timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        cpu_percent REAL,
        memory_total INTEGER,
        memory_used INTEGER,
        memory_percent REAL,
        disk_total INTEGER,
        disk_used INTEGER,
        disk_percent REAL,
        network_bytes_sent INTEGER,
        network_bytes_recv INTEGER,
        network_sent_per_sec REAL DEFAULT 0,
        network_recv_per_sec REAL DEFAULT 0,
        FOREIGN KEY (computer_id) REFERENCES computers (id)
    );",
    // 2: roles, sessions, status reasons, more figures per sample; times become unix seconds.
    "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'viewer'));
    ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
    UPDATE users SET must_change_password = 1 WHERE password_hash = '__ORIGINAL_DEFAULT__';
    UPDATE users SET created_at = CAST(strftime('%s', created_at) AS INTEGER) WHERE typeof(created_at) = 'text';

    CREATE TABLE sessions (
        id_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions (user_id);

    ALTER TABLE computers ADD COLUMN status_reason TEXT;
    ALTER TABLE computers ADD COLUMN status_changed_at INTEGER;
    ALTER TABLE computers ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE computers ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent' CHECK (kind IN ('agent', 'local'));
    ALTER TABLE computers ADD COLUMN created_at INTEGER;
    UPDATE computers SET last_seen = CAST(strftime('%s', last_seen) AS INTEGER) WHERE typeof(last_seen) = 'text';
    UPDATE computers SET status = 'offline' WHERE status IS NULL OR status NOT IN ('online', 'offline', 'error');

    ALTER TABLE stats ADD COLUMN swap_percent REAL;
    ALTER TABLE stats ADD COLUMN load_1 REAL;
    ALTER TABLE stats ADD COLUMN temperature REAL;
    ALTER TABLE stats ADD COLUMN disk_read_per_sec REAL;
    ALTER TABLE stats ADD COLUMN disk_write_per_sec REAL;
    ALTER TABLE stats ADD COLUMN uptime_secs INTEGER;
    ALTER TABLE stats ADD COLUMN agent_sent_per_sec REAL;
    ALTER TABLE stats ADD COLUMN agent_recv_per_sec REAL;
    UPDATE stats SET timestamp = CAST(strftime('%s', timestamp) AS INTEGER) WHERE typeof(timestamp) = 'text';
    DELETE FROM stats WHERE computer_id IS NULL OR computer_id NOT IN (SELECT id FROM computers);
    CREATE INDEX stats_by_computer_time ON stats (computer_id, timestamp);",
    // 3: rollup tiers. Values are scaled integers, which SQLite stores in 1–4 bytes instead of
    // 8: percents and degrees in tenths, load in hundredths, bytes and rates whole.
    concat!(
        rollup_table!("stats_5m"),
        rollup_table!("stats_1h"),
        "
    -- How far each tier has been rolled up: every bucket before done_until is final.
    CREATE TABLE rollup_state (tier TEXT PRIMARY KEY, done_until INTEGER) WITHOUT ROWID;
    INSERT INTO rollup_state (tier, done_until) VALUES ('5m', NULL), ('1h', NULL);"
    ),
    // 4: read-only API tokens. Only the SHA-256 of a token is kept, with a short prefix to
    // tell tokens apart in lists; revoking one deletes its row.
    "CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        hash BLOB NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
        last_used_at INTEGER
    );",
    // 5: alerts. Rules (a NULL computer means every computer, a NULL target any disk, sensor
    // or interface), delivery channels with their secret URL and token, the state of each
    // rule per computer and target, and the history of what fired and resolved. Events keep
    // the rule's and computer's names so history reads well after either is gone. A fresh
    // install starts with four rules an admin can change or turn off.
    "CREATE TABLE alert_rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('offline', 'cpu', 'memory', 'disk', 'temperature', 'network', 'reboot')),
        computer_id INTEGER,
        target TEXT,
        threshold REAL,
        duration_secs INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER
    );
    CREATE TABLE alert_channels (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('webhook', 'ntfy', 'discord', 'slack', 'gotify')),
        url TEXT NOT NULL,
        token TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        link_base TEXT,
        created_at INTEGER,
        last_ok_at INTEGER,
        last_error TEXT,
        last_error_at INTEGER
    );
    CREATE TABLE alert_state (
        rule_id INTEGER NOT NULL,
        computer_id INTEGER NOT NULL,
        target_key TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
        since INTEGER NOT NULL,
        value REAL,
        last_notified_at INTEGER,
        PRIMARY KEY (rule_id, computer_id, target_key)
    ) WITHOUT ROWID;
    CREATE TABLE alert_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule_id INTEGER,
        rule_name TEXT NOT NULL,
        computer_id INTEGER,
        computer_name TEXT NOT NULL,
        target TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('fired', 'resolved')),
        value REAL,
        at INTEGER NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX alert_events_by_computer ON alert_events (computer_id, at);
    INSERT INTO alert_rules (name, kind, threshold, duration_secs, created_at) VALUES
        ('Offline', 'offline', NULL, 300, CAST(strftime('%s', 'now') AS INTEGER)),
        ('Disk almost full', 'disk', 90, 0, CAST(strftime('%s', 'now') AS INTEGER)),
        ('Memory high', 'memory', 95, 600, CAST(strftime('%s', 'now') AS INTEGER)),
        ('Hot', 'temperature', 80, 300, CAST(strftime('%s', 'now') AS INTEGER));",
    // 6: daily buckets, so charts of a year or more read a few hundred rows, not thousands.
    concat!(
        rollup_table!("stats_1d"),
        "
    INSERT INTO rollup_state (tier, done_until) VALUES ('1d', NULL);"
    ),
];

/// The version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let fresh: bool = conn.query_row("SELECT count(*) = 0 FROM sqlite_master", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(&sql.replace("__ORIGINAL_DEFAULT__", ORIGINAL_DEFAULT_HASH))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        if !fresh {
            println!("event=schema_migrated version={version}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut st = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        st.query_map([], |r| r.get::<_, String>(1))
            .unwrap()
            .map(|c| c.unwrap())
            .collect()
    }

    #[test]
    fn fresh_database_gets_every_original_column() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        for (table, cols) in [
            (
                "users",
                &["id", "username", "password_hash", "created_at"][..],
            ),
            (
                "computers",
                &["id", "name", "url", "token", "last_seen", "status"],
            ),
            (
                "stats",
                &[
                    "id",
                    "computer_id",
                    "timestamp",
                    "cpu_percent",
                    "memory_total",
                    "memory_used",
                    "memory_percent",
                    "disk_total",
                    "disk_used",
                    "disk_percent",
                    "network_bytes_sent",
                    "network_bytes_recv",
                    "network_sent_per_sec",
                    "network_recv_per_sec",
                ],
            ),
        ] {
            let have = columns(&conn, table);
            for c in cols {
                assert!(have.iter().any(|h| h == c), "{table}.{c}");
            }
        }
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
