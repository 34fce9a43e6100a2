//! SQLite: the only code that writes SQL. One writer thread owns the write connection and
//! runs every change as a `BEGIN IMMEDIATE` transaction; readers use a small pool of
//! read-only connections, which WAL lets run beside the writer.
//!
//! Durability: the database runs in WAL mode with `synchronous=NORMAL` for poll samples
//! (a power cut may lose the last round or two, never corrupt the file) and switches to
//! `synchronous=FULL` for account, session and computer changes, which must survive one.

pub mod alerts;
pub mod computers;
pub mod schema;
pub mod stats;
pub mod tiers;
pub mod tokens;
pub mod users;

mod backup;
mod error;
mod query;

pub(crate) use error::name_taken;
pub use error::{Result, StoreError};
pub use schema::SCHEMA_VERSION;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// How long a connection waits for a lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections kept open.
const READERS: usize = 8;

/// A migrated in-memory database with foreign keys on, for unit tests.
#[cfg(test)]
pub(crate) fn test_db() -> Connection {
    let mut c = Connection::open_in_memory().expect("an in-memory database");
    c.pragma_update(None, "foreign_keys", "ON")
        .expect("foreign keys on");
    schema::migrate(&mut c).expect("migrations apply");
    c
}

/// A connection or transaction, as `read` and `write` hand them to the domain's queries.
pub type Conn = Connection;

/// Whether a write must reach the disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Accounts, sessions, computers: `synchronous=FULL`.
    Durable,
    /// Samples: `synchronous=NORMAL`.
    Relaxed,
}

type Job = Box<dyn FnOnce(&mut Writer) + Send>;

/// The write connection and the `synchronous` level it is set to.
struct Writer {
    conn: Connection,
    sync: Option<Durability>,
}

/// The database: a writer thread and a pool of readers.
pub struct Store {
    path: PathBuf,
    jobs: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    /// Write transactions finished so far; see `generation`.
    writes: Arc<AtomicU64>,
    /// Told once, on the first error that says the file is damaged; see `on_damage`.
    on_damage: OnceLock<Box<dyn Fn() + Send + Sync>>,
    damage_seen: AtomicBool,
}

impl Store {
    /// Opens (creating if needed) and migrates the database, then starts the writer thread.
    pub fn open(path: &Path) -> Result<Arc<Store>> {
        // Before anything writes: another program's database is refused untouched.
        schema::check_file(path)?;
        let mut conn = open_connection(path, false)?;
        schema::migrate(&mut conn)?;
        restrict_permissions(path);
        let (tx, rx) = mpsc::sync_channel::<Job>(1024);
        let writer = std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| {
                StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
            })?;
        Ok(Arc::new(Store {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
            writes: Arc::new(AtomicU64::new(0)),
            on_damage: OnceLock::new(),
            damage_seen: AtomicBool::new(false),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer thread and waits for it.
    pub fn write<T, F>(&self, durability: Durability, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> Result<T> + Send + 'static,
    {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        let writes = Arc::clone(&self.writes);
        let job: Job = Box::new(move |w: &mut Writer| {
            let result = run_write(w, durability, f);
            // Counted once the transaction is over, so whoever reads the count and then the
            // database sees this write's data or a count that has moved on.
            writes.fetch_add(1, Ordering::Release);
            let _ = reply_tx.send(result);
        });
        let sender = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)?;
        let result = reply_rx.recv().map_err(|_| StoreError::Closed)?;
        self.notice(&result);
        result
    }

    /// [`Store::write`] for what must survive a power cut: accounts, sessions, computers,
    /// rules, channels, tokens.
    pub fn durable<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> Result<T> + Send + 'static,
    {
        self.write(Durability::Durable, f)
    }

    /// Moves on with every write transaction this process finishes (committed or not): what
    /// was read from the database while it stayed the same is still current. Read it before
    /// reading what it guards.
    pub fn generation(&self) -> u64 {
        self.writes.load(Ordering::Acquire)
    }

    /// Runs `f` on a read-only connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path, true)?,
        };
        let result = f(&conn);
        self.notice(&result);
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < READERS {
            pool.push(conn);
        }
        result
    }

    /// Runs `f` once, on the thread of the first read or write whose error says the file is
    /// damaged (SQLite's "malformed"), so the damage is looked into when it shows, not only at
    /// start. Set it once; a later call is ignored.
    pub fn on_damage(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_damage.set(Box::new(f));
    }

    fn notice<T>(&self, result: &Result<T>) {
        if let Err(e) = result
            && e.is_damage()
            && !self.damage_seen.swap(true, Ordering::AcqRel)
            && let Some(f) = self.on_damage.get()
        {
            f();
        }
    }

    /// Stops the writer after the jobs already queued, and closes the readers.
    pub fn close(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Copies the database to `dest` while others may be writing (see `backup.rs`); the
    /// copy is consistent and checked before it is reported done.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        self.read(|conn| backup::backup(conn, dest))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn run_write<T>(
    w: &mut Writer,
    durability: Durability,
    f: impl FnOnce(&Transaction) -> Result<T>,
) -> Result<T> {
    if w.sync != Some(durability) {
        let sync = match durability {
            Durability::Durable => "FULL",
            Durability::Relaxed => "NORMAL",
        };
        w.conn.pragma_update(None, "synchronous", sync)?;
        w.sync = Some(durability);
    }
    let tx = w
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

fn writer_loop(conn: Connection, jobs: Receiver<Job>) {
    let mut w = Writer { conn, sync: None };
    for job in jobs {
        // A panicking job must not take the only writer down with it.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut w))).is_err() {
            eprintln!("event=db_job_panic action=continue");
        }
    }
    let _ = w.conn.pragma_update(None, "optimize", "");
}

/// Opens a connection with the pragmas every connection needs.
pub fn open_connection(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        let empty: bool =
            conn.query_row("SELECT count(*) = 0 FROM sqlite_master", [], |r| r.get(0))?;
        if empty {
            // Only a file without tables can choose this: freed pages go back to the OS in
            // steps (see tiers::vacuum_step) instead of the file keeping its largest size.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Statement journals and sorts stay in memory instead of temporary files on the SD card.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// The database holds password hashes and agent tokens: owner only.
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// A query that touches nothing: whether the database answers.
pub fn ping(conn: &Connection) -> Result<()> {
    conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
    Ok(())
}

/// `PRAGMA quick_check`: the file's structure (every page, b-tree and record format, but not
/// index contents), at most `max` problems. `["ok"]` when there is none; a file too damaged
/// to check at all gives the error that said so.
pub fn quick_check(conn: &Connection, max: u32) -> Result<Vec<String>> {
    query::all(conn, &format!("PRAGMA quick_check({max})"), [], |r| {
        r.get(0)
    })
}

/// `PRAGMA integrity_check` of the whole file.
pub fn integrity_check(conn: &Connection) -> Result<String> {
    Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub struct TestDb {
        pub store: Arc<Store>,
        pub dir: PathBuf,
    }

    impl TestDb {
        pub fn new(tag: &str) -> TestDb {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).unwrap();
            let dir =
                std::env::temp_dir().join(format!("lanstat-store-{tag}-{}", u64::from_le_bytes(b)));
            std::fs::create_dir_all(&dir).unwrap();
            let store = Store::open(&dir.join("stats.db")).unwrap();
            TestDb { store, dir }
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            self.store.close();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::TestDb;
    use super::*;
    use crate::model::Role;

    #[test]
    fn writes_go_through_the_writer_and_are_read_back() {
        let db = TestDb::new("rw");
        let id = db
            .store
            .write(Durability::Durable, |tx| {
                users::create_user(tx, "ann", "h", Role::Admin, false, 1).map(|u| u.id)
            })
            .unwrap();
        let user = db.store.read(|c| users::get_user(c, id)).unwrap();
        assert_eq!(user.username, "ann");
    }

    #[test]
    fn the_generation_has_moved_once_a_write_returns() {
        let db = TestDb::new("generation");
        let g0 = db.store.generation();
        db.store
            .write(Durability::Relaxed, |tx| {
                users::create_user(tx, "ann", "h", Role::Admin, false, 1).map(|_| ())
            })
            .unwrap();
        let g1 = db.store.generation();
        assert!(g1 > g0);
        db.store.read(users::count_users).unwrap();
        assert_eq!(db.store.generation(), g1, "reads leave it");
        let failed: Result<()> = db.store.write(Durability::Relaxed, |_| {
            Err(StoreError::Refused("no".into()))
        });
        assert!(failed.is_err());
        assert!(db.store.generation() > g1, "a failed write moves it too");
    }

    #[test]
    fn a_failed_write_rolls_back_entirely() {
        let db = TestDb::new("rollback");
        let r: Result<()> = db.store.write(Durability::Durable, |tx| {
            users::create_user(tx, "ann", "h", Role::Admin, false, 1)?;
            users::create_user(tx, "ann", "h", Role::Admin, false, 1)?;
            Ok(())
        });
        assert!(matches!(r, Err(StoreError::Taken(_))));
        assert_eq!(db.store.read(users::count_users).unwrap(), 0);
    }

    #[test]
    fn backup_is_a_consistent_copy() {
        let db = TestDb::new("backup");
        db.store
            .write(Durability::Durable, |tx| {
                users::create_user(tx, "ann", "h", Role::Admin, false, 1).map(|_| ())
            })
            .unwrap();
        let dest = db.dir.join("copy.db");
        db.store.backup_to(&dest).unwrap();
        let copy = Connection::open(&dest).unwrap();
        assert_eq!(integrity_check(&copy).unwrap(), "ok");
        assert_eq!(users::count_users(&copy).unwrap(), 1);
        assert!(
            matches!(db.store.backup_to(&dest), Err(StoreError::Backup(_))),
            "never overwrites"
        );
    }

    #[test]
    fn a_full_disk_is_a_clear_error_and_writing_resumes_when_space_returns() {
        let db = TestDb::new("full");
        let set_limit = |pages: i64| {
            db.store
                .write(Durability::Relaxed, move |tx| {
                    // SQLite's page limit stands in for a full disk: it fails the same way.
                    tx.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
                    Ok(())
                })
                .unwrap()
        };
        let pages: i64 = db
            .store
            .read(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?))
            .unwrap();
        set_limit(pages + 2);
        let fill = db.store.write(Durability::Relaxed, |tx| {
            for i in 0..10_000 {
                users::create_user(
                    tx,
                    &format!("user{i}"),
                    &"h".repeat(2000),
                    Role::Viewer,
                    false,
                    1,
                )?;
            }
            Ok(())
        });
        assert!(matches!(fill, Err(StoreError::Full)), "{fill:?}");
        assert_eq!(StoreError::Full.to_string(), "database or disk is full");
        assert_eq!(
            db.store.read(users::count_users).unwrap(),
            0,
            "the failed write left nothing half done"
        );
        set_limit(1_000_000);
        db.store
            .write(Durability::Relaxed, |tx| {
                users::create_user(tx, "after", "h", Role::Admin, false, 1).map(|_| ())
            })
            .unwrap();
    }

    #[test]
    fn writes_after_close_fail_cleanly() {
        let db = TestDb::new("closed");
        db.store.close();
        assert!(matches!(
            db.store.write(Durability::Relaxed, |_| Ok(())),
            Err(StoreError::Closed)
        ));
    }
}
