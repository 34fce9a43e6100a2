//! The schema and its migrations. The version lives in `PRAGMA user_version`; each migration
//! moves it up by one inside a transaction. Migrations are never edited once released:
//! a change is a new migration at the end.
//!
//! Version 0 is an empty file or a database made by the original Flask server, whose three
//! tables migration 1 creates only when they are missing, so both paths meet at version 1.
//! Any other file is refused before a byte of it is written ([`check_file`]): another
//! program's database given to `--db` by mistake is never changed.

use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

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

/// Brings the database up to [`SCHEMA_VERSION`] in one transaction, so a migration that fails
/// leaves the file at the version it had. Refuses a database that is not ours (see [`judge`]).
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    let fresh = judge(conn).map_err(|found| {
        StoreError::Foreign(format!("the database {found}; nothing was changed"))
    })? == Found::Empty;
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    apply(&tx, current, SCHEMA_VERSION)?;
    tx.commit()?;
    if !fresh {
        for version in current + 1..=SCHEMA_VERSION {
            println!("event=schema_migrated version={version}");
        }
    }
    Ok(())
}

/// Runs the migrations after `from` up to `to`, setting the version to `to`.
fn apply(conn: &Connection, from: i64, to: i64) -> Result<()> {
    for sql in &MIGRATIONS[from as usize..to as usize] {
        conn.execute_batch(&sql.replace("__ORIGINAL_DEFAULT__", ORIGINAL_DEFAULT_HASH))?;
    }
    conn.pragma_update(None, "user_version", to)?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// The original design's tables and columns, as its Flask server created them: the only
/// non-empty database at version 0 that is ours to migrate.
const ORIGINAL_TABLES: &[(&str, &[&str])] = &[
    ("users", &["id", "username", "password_hash", "created_at"]),
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
];

/// What a database that [`judge`] lets through is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// No table at all: a new file, or one whose first migration never committed.
    Empty,
    /// The original Flask server's tables, exactly.
    Original,
    /// Ours, at a version this build knows or a newer one (which `migrate` refuses).
    Ours,
}

/// A table's name and its columns' names.
type Table = (String, Vec<String>);

/// The tables (other than SQLite's own) and their columns, by name.
fn tables(conn: &Connection) -> Result<Vec<Table>> {
    let names: Vec<String> = super::query::all(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        [],
        |r| r.get(0),
    )?;
    names
        .into_iter()
        .map(|name| {
            let columns = super::query::all(
                conn,
                "SELECT name FROM pragma_table_info(?1)",
                [&name],
                |r| r.get(0),
            )?;
            Ok((name, columns))
        })
        .collect()
}

/// Whether the database open on `conn` is ours to migrate, read without writing: empty, the
/// original server's exact tables and columns at version 0, or every table and column of
/// ours at its version (a user's own extra tables are left alone). Otherwise what was found,
/// in words that follow "the database" ("holds the tables notes, tags, ...").
fn judge(conn: &Connection) -> std::result::Result<Found, String> {
    let failed = |e: StoreError| format!("cannot be read: {e}");
    let version = user_version(conn).map_err(failed)?;
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| failed(e.into()))?;
    if app != 0 {
        return Err(format!(
            "belongs to another program (its application_id is {app:#x})"
        ));
    }
    if version < 0 {
        return Err(format!(
            "has the schema version {version}, which lanstat never writes"
        ));
    }
    if version > SCHEMA_VERSION {
        // Ours from a newer release, or not ours: either way not to be touched; `migrate`
        // says which release to use.
        return Ok(Found::Ours);
    }
    let found = tables(conn).map_err(failed)?;
    let others: Vec<String> = super::query::all(
        conn,
        "SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY name",
        [],
        |r| r.get(0),
    )
    .map_err(failed)?;
    if version == 0 && found.is_empty() && others.is_empty() {
        return Ok(Found::Empty);
    }
    let want: Vec<Table> = if version == 0 {
        ORIGINAL_TABLES
            .iter()
            .map(|(t, cols)| (t.to_string(), cols.iter().map(|c| c.to_string()).collect()))
            .collect()
    } else {
        let scratch = Connection::open_in_memory().map_err(|e| failed(e.into()))?;
        apply(&scratch, 0, version).map_err(failed)?;
        tables(&scratch).map_err(failed)?
    };
    let names = |list: &[Table]| list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let missing: Vec<&Table> = want
        .iter()
        .filter(|(t, _)| !found.iter().any(|(f, _)| f == t))
        .collect();
    if version == 0 && !missing.is_empty() {
        return Err(format!(
            "holds the tables {}, not lanstat's (nor the original server's {})",
            list(&names(&found)),
            list(&names(&want))
        ));
    }
    if !missing.is_empty() {
        return Err(format!(
            "says it is at schema version {version} but lacks lanstat's tables {} (it holds {})",
            list(&names(&missing.into_iter().cloned().collect::<Vec<_>>())),
            list(&names(&found))
        ));
    }
    let mut wrong = Vec::new();
    for (table, cols) in &want {
        let have = &found
            .iter()
            .find(|(f, _)| f == table)
            .expect("no table is missing")
            .1;
        for c in cols.iter().filter(|c| !have.contains(c)) {
            wrong.push(format!("{table} has no column {c}"));
        }
        if version == 0 {
            for c in have.iter().filter(|c| !cols.contains(c)) {
                wrong.push(format!("{table} has a column {c} the original did not"));
            }
        }
    }
    let extra: Vec<String> = names(&found)
        .into_iter()
        .filter(|f| !want.iter().any(|(t, _)| t == f))
        .collect();
    if version == 0 {
        if !extra.is_empty() {
            wrong.push(format!("it also holds the tables {}", list(&extra)));
        }
        if !others.is_empty() {
            wrong.push(format!("it also holds {}", list(&others)));
        }
    }
    if !wrong.is_empty() {
        let whose = if version == 0 {
            "the original server's".to_string()
        } else {
            format!("lanstat's schema version {version}")
        };
        return Err(format!(
            "looks like {whose} but is not ({})",
            wrong.join("; ")
        ));
    }
    Ok(if version == 0 {
        Found::Original
    } else {
        Found::Ours
    })
}

/// At most eight names, comma-separated, then how many more.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    if names.is_empty() {
        return "none".into();
    }
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

/// Checks, before anything opens it for writing, that the file at `path` is ours to open:
/// missing or empty (a new database), or a database [`judge`] lets through. Anything else is
/// refused with what was found, and left byte for byte as it was, with no `-wal`, `-shm` or
/// `-journal` file beside it: opening it in WAL mode would already rewrite its header, and
/// even a read-only connection to a WAL file leaves those two files behind.
pub fn check_file(path: &Path) -> Result<()> {
    let refuse = |found: String| {
        StoreError::Foreign(format!(
            "{} {found}; nothing was changed. Give --db (or DATABASE_PATH) a lanstat database, or a new file",
            path.display()
        ))
    };
    // A missing file is a new database; one that cannot be opened (a folder, no permission)
    // is refused by the open for writing, in SQLite's words.
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut head = Vec::with_capacity(100);
    (&mut file)
        .take(100)
        .read_to_end(&mut head)
        .map_err(|e| refuse(format!("cannot be read: {e}")))?;
    drop(file);
    if head.is_empty() {
        return Ok(());
    }
    if !head.starts_with(b"SQLite format 3\0") || head.len() < 100 {
        return Err(refuse("is not an SQLite database".into()));
    }
    let conn = open_to_inspect(path, head[18] == 2)
        .map_err(|e| refuse(format!("cannot be read as a database: {e}")))?;
    judge(&conn).map_err(refuse)?;
    let version = user_version(&conn)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// A connection that reads `path` without writing anything. A file with no journal or log
/// beside it is opened `immutable`, which creates no file at all; one with a `-wal` (the
/// other program is running, or stopped without a checkpoint) or a hot `-journal` is opened
/// read-only, so what is read includes them.
fn open_to_inspect(path: &Path, wal_mode: bool) -> rusqlite::Result<Connection> {
    let beside = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
    };
    let pending = if wal_mode {
        beside("-wal")
    } else {
        beside("-journal")
    };
    let mut uri = url_path(path);
    uri.push_str(if pending {
        "?mode=ro"
    } else {
        "?mode=ro&immutable=1"
    });
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// `path` as a `file:` URI: every byte but letters, digits and `/._-` escaped.
fn url_path(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/._-".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
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
        for &(table, cols) in ORIGINAL_TABLES {
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

    /// The original server's three tables, as its Flask code created them.
    const ORIGINAL: &str = "
        CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL,
            password_hash TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
        CREATE TABLE computers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL,
            url TEXT NOT NULL, token TEXT NOT NULL, last_seen TIMESTAMP, status TEXT DEFAULT 'offline');
        CREATE TABLE stats (id INTEGER PRIMARY KEY AUTOINCREMENT, computer_id INTEGER,
            timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, cpu_percent REAL, memory_total INTEGER,
            memory_used INTEGER, memory_percent REAL, disk_total INTEGER, disk_used INTEGER,
            disk_percent REAL, network_bytes_sent INTEGER, network_bytes_recv INTEGER,
            network_sent_per_sec REAL DEFAULT 0, network_recv_per_sec REAL DEFAULT 0,
            FOREIGN KEY (computer_id) REFERENCES computers (id));";

    fn db(sql: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn
    }

    #[test]
    fn only_an_empty_database_ours_or_the_originals_exact_tables_are_migrated() {
        assert_eq!(judge(&db("")), Ok(Found::Empty));
        assert_eq!(judge(&db(ORIGINAL)), Ok(Found::Original));
        let mut ours = db("");
        migrate(&mut ours).unwrap();
        assert_eq!(judge(&ours), Ok(Found::Ours));
        ours.execute_batch("CREATE TABLE my_notes (x)").unwrap();
        assert_eq!(
            judge(&ours),
            Ok(Found::Ours),
            "a user's own table is left alone"
        );
        for (sql, said) in [
            (
                "CREATE TABLE notes (id, body)",
                "holds the tables notes, not lanstat's",
            ),
            (
                &ORIGINAL.replace("network_recv_per_sec REAL DEFAULT 0,", ""),
                "stats has no column network_recv_per_sec",
            ),
            (
                &ORIGINAL.replace("last_seen TIMESTAMP,", "last_seen TIMESTAMP, owner TEXT,"),
                "computers has a column owner the original did not",
            ),
            (
                &format!("{ORIGINAL} CREATE TABLE invoices (id)"),
                "also holds the tables invoices",
            ),
            (
                &format!("{ORIGINAL} CREATE VIEW v AS SELECT 1"),
                "also holds view v",
            ),
            (
                "CREATE TABLE notes (id); PRAGMA user_version = 3",
                "says it is at schema version 3 but lacks lanstat's tables",
            ),
            (
                &format!("{ORIGINAL} PRAGMA application_id = 1234"),
                "belongs to another program",
            ),
            ("PRAGMA user_version = -2", "schema version -2"),
        ] {
            let mut conn = db(sql);
            let found = judge(&conn).unwrap_err();
            assert!(found.contains(said), "{sql}: {found}");
            let refused = migrate(&mut conn).unwrap_err();
            assert!(matches!(refused, StoreError::Foreign(_)), "{refused:?}");
            assert!(
                refused.to_string().contains("nothing was changed"),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_failed_migration_leaves_the_database_at_its_version() {
        // A trigger that makes migration 2 fail after migration 1's tables are there.
        let mut conn = db(&format!(
            "{ORIGINAL}
            INSERT INTO users (username, password_hash) VALUES ('ann', 'x');
            CREATE TEMP TRIGGER no_updates BEFORE UPDATE ON users BEGIN SELECT RAISE(ABORT, 'no'); END;"
        ));
        assert!(migrate(&mut conn).is_err());
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(!columns(&conn, "users").contains(&"role".to_string()));
        assert_eq!(judge(&conn), Ok(Found::Original));
    }

    #[test]
    fn file_uris_escape_what_a_uri_gives_meaning_to() {
        assert_eq!(
            url_path(Path::new("/a b/x?y#z%.db")),
            "file:/a%20b/x%3Fy%23z%25.db"
        );
        assert_eq!(url_path(Path::new("rel/stats.db")), "file:rel/stats.db");
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
