//! The database file: only an empty file, ours or the original server's is opened for writing;
//! anything else is refused and left byte for byte as it was. Backups are private from their
//! first byte and never replace a file.

mod util;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

/// The original Flask server's tables, exactly as it created them, and one user.
fn original_tables() -> String {
    format!("{ORIGINAL_SCHEMA}INSERT INTO users (username, password_hash) VALUES ('ann', 'x');\n")
}

/// Another program's database: a notes app's tables and rows.
const NOTES_APP: &str = "
CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT);
CREATE TABLE tags (note_id INTEGER REFERENCES notes (id), tag TEXT);
INSERT INTO notes (title, body) VALUES ('shopping', 'milk'), ('ideas', 'a monitor');
INSERT INTO tags VALUES (1, 'home');
";

/// SHA-256 of the file at `p`.
fn hash(p: &Path) -> String {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files SQLite keeps beside a database (`-wal`, `-shm`, `-journal`) that exist now.
fn beside(db: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .filter(|p| p.exists())
        .collect()
}

/// Makes the database `sql` describes at `db`, closed, in rollback-journal mode unless the SQL
/// says otherwise.
fn make(db: &Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

/// Asserts that serving and every offline command refuse the file at `db` with exit code 1,
/// saying `why` and that nothing was changed, and that the file is then byte for byte what it
/// was, with nothing new beside it.
fn refused_untouched(dir: &Path, db: &Path, why: &str) {
    let (before, around) = (hash(db), beside(db));
    let db_arg = db.to_str().unwrap();
    for args in [
        &["--listen", "127.0.0.1:0", "--no-local", "--db", db_arg][..],
        &["backup", "copy.db", "--db", db_arg],
        &["reset-password", "admin", "--db", db_arg],
        &["token", "list", "--db", db_arg],
    ] {
        let (code, out, err) = run_server(args, dir);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(err.contains("nothing was changed"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert_eq!(hash(db), before, "{args:?} changed the file");
        assert_eq!(beside(db), around, "{args:?} left files beside it");
    }
    assert!(!dir.join("copy.db").exists());
}

#[test]
fn another_programs_database_is_refused_and_left_byte_for_byte() {
    let dir = TempDir::new("foreign");
    let db = dir.join("notes.db");
    make(&db, NOTES_APP);
    refused_untouched(
        dir.path(),
        &db,
        "holds the tables notes, tags, not lanstat's (nor the original server's users, computers, stats)",
    );
}

#[test]
fn a_foreign_database_in_wal_mode_is_refused_untouched_open_or_closed() {
    let dir = TempDir::new("foreign-wal");
    let db = dir.join("app.db");
    make(&db, &format!("PRAGMA journal_mode = WAL; {NOTES_APP}"));
    assert!(beside(&db).is_empty(), "closed cleanly, checkpointed");
    refused_untouched(dir.path(), &db, "holds the tables notes, tags");

    // The other program still running, its last writes only in its -wal.
    let app = rusqlite::Connection::open(&db).unwrap();
    app.execute_batch(
        "PRAGMA wal_autocheckpoint = 0; INSERT INTO notes (title) VALUES ('unsaved');
         CREATE TABLE drafts (id)",
    )
    .unwrap();
    let wal = beside(&db).remove(0);
    let wal_before = hash(&wal);
    refused_untouched(dir.path(), &db, "holds the tables drafts, notes, tags");
    assert_eq!(hash(&wal), wal_before, "its -wal is as it was");
    let n: i64 = app
        .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn the_original_tables_with_a_column_more_or_less_are_refused_untouched() {
    let dir = TempDir::new("original-ish");
    let more = dir.join("more.db");
    make(
        &more,
        &original_tables().replace("last_seen TIMESTAMP,", "last_seen TIMESTAMP, owner TEXT,"),
    );
    refused_untouched(
        dir.path(),
        &more,
        "looks like the original server's but is not (computers has a column owner the original did not)",
    );
    let less = dir.join("less.db");
    make(
        &less,
        &original_tables().replace("network_recv_per_sec REAL DEFAULT 0,", ""),
    );
    refused_untouched(
        dir.path(),
        &less,
        "stats has no column network_recv_per_sec",
    );
}

#[test]
fn a_file_that_is_not_a_database_or_is_from_a_newer_release_is_left_as_it_was() {
    let dir = TempDir::new("not-sqlite");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "milk\neggs\n".repeat(20)).unwrap();
    refused_untouched(dir.path(), &text, "is not an SQLite database");

    let newer = dir.join("newer.db");
    make(&newer, "PRAGMA user_version = 999");
    let before = hash(&newer);
    assert_fails(
        &["--listen", "127.0.0.1:0", "--db", newer.to_str().unwrap()],
        dir.path(),
        "newer than this lanstat-server",
    );
    assert_eq!(hash(&newer), before);
    assert!(beside(&newer).is_empty());
}

#[test]
fn the_original_servers_exact_tables_and_an_empty_file_are_opened() {
    let dir = TempDir::new("original");
    let db = dir.join("stats.db");
    make(&db, &original_tables());
    let before = hash(&db);
    let s = Server::start_in(dir, &["--no-local"], &[]);
    assert!(
        s.proc.output().contains("event=schema_migrated version=2"),
        "{}",
        s.proc.output()
    );
    assert_ne!(hash(&s.db()), before);
    let version: i64 = rusqlite::Connection::open(s.db())
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, lanstat_server::store::SCHEMA_VERSION);

    let dir = TempDir::new("empty");
    std::fs::write(dir.join("stats.db"), "").unwrap();
    let s = Server::start_in(dir, &["--no-local"], &[]);
    assert!(s.password.is_some(), "a new database, a first admin");
}

#[cfg(unix)]
#[test]
fn a_backup_is_private_even_under_umask_0_and_never_replaces_a_file() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeAgent::start(Behaviour::Body(original_json("busy", 1, 1)));
    let (s, mut c) = logged_in(&["--no-local"]);
    let id = c.add_computer("busy", &fake.url(), "0123456789abcdef");
    c.wait_computer(id, "online", |v| v["status"] == "online");
    let (db, dest) = (s.db(), s.dir.join("backup.db"));
    let backup = |dest: &Path| {
        let script = "umask 000; exec \"$0\" \"$@\"";
        let bin = server_bin().to_str().unwrap();
        let args = [
            "-c",
            script,
            bin,
            "backup",
            dest.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ];
        run(Path::new("/bin/sh"), &args, s.dir.path(), &[])
    };
    let (code, out, err) = backup(&dest);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("integrity check ok"), "{out}");
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(format!("{mode:o}"), "600");
    let beside_copy: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("backup.db"))
        .collect();
    assert_eq!(beside_copy, ["backup.db"], "nothing left beside the copy");
    let copy = rusqlite::Connection::open(&dest).unwrap();
    let computers: i64 = copy
        .query_row("SELECT count(*) FROM computers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(computers, 1);

    let before = hash(&dest);
    let (code, _, err) = backup(&dest);
    assert_eq!(code, 1);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(hash(&dest), before);

    let other = s.dir.join("other.db");
    let partial = s.dir.join("other.db.partial");
    std::fs::write(&partial, "an interrupted backup").unwrap();
    let (code, _, err) = backup(&other);
    assert_eq!(code, 1);
    assert!(err.contains("other.db.partial exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&partial).unwrap(),
        "an interrupted backup"
    );
    assert!(!other.exists());
}
