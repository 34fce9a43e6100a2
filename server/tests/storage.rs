//! The database: crash safety, migration from the original schema, live backup.

mod util;

use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// What SQLite's integrity check says of the database at `db`.
fn integrity(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn kill_9_during_polling_loses_nothing_already_stored() {
    let fake = FakeAgent::start(Behaviour::Body(original_json("crashy", 1, 1)));
    let pw = made_up_secret("kill");
    let s = Server::with_admin_password(&pw);
    let mut c = s.admin_with(&pw);
    let id = c.add_computer("crashy", &fake.url(), "0123456789abcdef");
    let seen = until("two samples served", || {
        let n = samples_in(&c.get(&format!("/api/history/{id}?range=1h")).json());
        (n >= 2).then_some(n)
    });
    let Server { mut proc, dir, .. } = s;
    assert_eq!(proc.signal_and_wait("KILL"), None);
    let db = dir.join("stats.db");
    assert_eq!(integrity(&db), "ok");
    let stored = count(
        &db,
        &format!("SELECT count(*) FROM stats WHERE computer_id = {id}"),
    );
    assert!(
        stored >= seen,
        "{stored} rows on disk, {seen} served before the kill"
    );
    let again = Server::start_in(dir, &["--no-local"], &[("ADMIN_PASSWORD", &pw)]);
    let mut c = again.client();
    assert_eq!(c.login("admin", &pw).status, 200, "the account survived");
    c.wait_computer(id, "online again", |v| v["status"] == "online");
}

/// The original Flask server's rows, as it wrote them, below its schema.
const ORIGINAL_ROWS: &str = "
INSERT INTO users (username, password_hash, created_at) VALUES
    ('admin', '240be518fabd2724ddb6f04eeb1da5967448d7e831c08c8fa822809f74c720a9', '2024-05-01 10:00:00');
INSERT INTO computers (name, url, token, last_seen, status) VALUES
    ('old-nas', 'http://127.0.0.1:1', 'a79a6575-3178-44fa-8ed0-48581ae5caec', '2024-05-02 11:00:00', 'online');
";

#[test]
fn a_database_from_the_original_server_is_migrated_without_loss() {
    let dir = TempDir::new("migrate");
    let db = dir.join("stats.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!("{ORIGINAL_SCHEMA}{ORIGINAL_ROWS}"))
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        for i in 0..50 {
            // Text timestamps in SQLite's CURRENT_TIMESTAMP form, within the last hour.
            conn.execute(
                "INSERT INTO stats (computer_id, timestamp, cpu_percent, memory_total, memory_used, memory_percent,
                    disk_total, disk_used, disk_percent, network_bytes_sent, network_bytes_recv,
                    network_sent_per_sec, network_recv_per_sec)
                 VALUES (1, datetime(?1, 'unixepoch'), 10.0, 1000, 500, 50.0, 2000, 1000, 50.0, ?2, ?2, 5.0, 6.0)",
                rusqlite::params![now - 3000 + i * 60, i * 100],
            )
            .unwrap();
        }
    }
    let s = Server::start_in(dir, &["--no-local"], &[]);
    assert_eq!(s.password, None, "users exist: no new admin");
    assert!(
        s.proc.output().contains("event=schema_migrated version=2"),
        "{}",
        s.proc.output()
    );
    let mut c = s.client();
    // The original default password still works once, and must be changed at once.
    let r = c.login("admin", "admin123");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["must_change_password"], true);
    let new = made_up_secret("migrated");
    let r = c.change_password("admin123", &new);
    assert_eq!(r.status, 200);
    let list = c.get("/api/computers").json();
    assert_eq!(list[0]["name"], "old-nas");
    assert_eq!(list[0]["token_hint"], "…caec");
    let h = c.get("/api/history/1?range=1h").json();
    assert_eq!(samples_in(&h), 50, "{h}");
    let db = s.db();
    assert_eq!(
        count(&db, "PRAGMA user_version"),
        lanstat_server::store::SCHEMA_VERSION
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM stats WHERE typeof(timestamp) != 'integer'"
        ),
        0
    );
    // The password hash was upgraded from SHA-256 to argon2id at that login.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE username = 'admin'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[test]
fn a_database_from_a_newer_version_is_refused_clearly() {
    let dir = TempDir::new("newer");
    let db = dir.join("stats.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    assert_fails(
        &["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()],
        dir.path(),
        "newer than this lanstat-server",
    );
}

#[test]
fn backup_while_running_is_consistent() {
    let fake = FakeAgent::start(Behaviour::Body(original_json("busy", 1, 1)));
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("busy", &fake.url(), "0123456789abcdef");
    // Polling goes on, writing, while the backup copies.
    until("two samples stored", || {
        let h = c.get(&format!("/api/history/{id}?range=1h")).json();
        (samples_in(&h) >= 2).then_some(())
    });
    let dest = s.dir.join("backup.db");
    let db = s.db();
    let backup = [
        "backup",
        dest.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    let (code, out, err) = s.run(&backup);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("integrity check ok"));
    assert_eq!(integrity(&dest), "ok");
    assert!(count(&dest, "SELECT count(*) FROM stats") >= 1);
    assert_eq!(count(&dest, "SELECT count(*) FROM computers"), 1);
    // It never overwrites a file.
    assert_fails(&backup, s.dir.path(), "exists already");
}

#[cfg(unix)]
#[test]
fn the_database_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start(&["--no-local"], &[]);
    let mode = std::fs::metadata(s.db()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
