//! The server's own health: what its poll rounds counted, whether its database answers and
//! records, whether its file is whole, and how big it has grown, for `/healthz`, the
//! dashboard's banner and the server's own `/metrics` series.
//!
//! Two troubles make the server *degraded* (it still serves what it can): poll rounds whose
//! answers could not be written, [`FAILED_ROUNDS`] in a row, until one is written again; and a
//! failed `PRAGMA quick_check`, run at start ([`Health::check_in_background`]) and again on the
//! first error that says the file is damaged ([`Store::on_damage`]). The damage is logged once,
//! with how to restore a backup.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::model::Tier;
use crate::store::{self, Store, StoreError};

/// Row counts scan whole tables: they are taken at most this often.
const ROWS_MAX_AGE: Duration = Duration::from_secs(60);
/// Poll rounds in a row whose answers could not be written before the server says it is
/// degraded: one is a hiccup, three are a disk that stays full.
pub const FAILED_ROUNDS: u32 = 3;
/// Problems a quick check lists at most.
const CHECK_MAX_PROBLEMS: u32 = 10;

/// Counted since the server started, by the poll rounds.
#[derive(Default)]
pub struct Counters {
    pub rounds: AtomicU64,
    pub polls_ok: AtomicU64,
    pub polls_failed: AtomicU64,
    pub last_round_ms: AtomicU64,
    pub db_write_errors: AtomicU64,
    writes: Mutex<Writes>,
}

/// How the rounds' writes have gone lately.
#[derive(Default)]
struct Writes {
    /// Rounds in a row with a write that failed.
    failed_rounds: u32,
    /// A write of the round in hand failed.
    failed_now: bool,
    /// Why the last one failed, in words.
    why: Option<String>,
}

impl Counters {
    /// A round's answers were written: writing works again.
    pub fn write_ok(&self) {
        *self.writes.lock().unwrap_or_else(|e| e.into_inner()) = Writes::default();
    }

    /// A round's answers could not be written, for `e`.
    pub fn write_failed(&self, e: &StoreError) {
        self.db_write_errors.fetch_add(1, Ordering::Relaxed);
        let mut w = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        w.failed_now = true;
        w.why = Some(match e {
            StoreError::Full => "the disk is full".to_string(),
            e => format!("writing fails ({e})"),
        });
    }

    /// Why history is not being recorded, once [`FAILED_ROUNDS`] rounds in a row failed.
    fn not_recording(&self) -> Option<String> {
        let w = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        (w.failed_rounds >= FAILED_ROUNDS)
            .then(|| w.why.clone())
            .flatten()
            .map(|why| format!("history is not being recorded: {why}"))
    }
}

/// What `/healthz` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Ok,
    /// Serving, but something is wrong: each trouble in a sentence.
    Degraded(Vec<String>),
    /// The database does not answer.
    Unavailable,
}

impl Verdict {
    /// Its word in `/healthz`'s `status`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Degraded(_) => "degraded",
            Verdict::Unavailable => "database unavailable",
        }
    }

    /// Why it is not ok.
    pub fn reason(&self) -> Option<String> {
        match self {
            Verdict::Ok => None,
            Verdict::Degraded(why) => Some(why.join("; ")),
            Verdict::Unavailable => Some("the database does not answer".into()),
        }
    }
}

/// What the quick checks have found.
#[derive(Default)]
struct Damage {
    /// A check is running.
    checking: bool,
    /// What the check that failed said.
    found: Option<String>,
}

/// The figures at one moment.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub poll_round_secs: f64,
    pub poll_rounds: u64,
    pub polls_ok: u64,
    pub polls_failed: u64,
    pub db_write_errors: u64,
    /// Whether [`Health::troubles`] has any.
    pub degraded: bool,
    pub db_bytes: u64,
    pub rows: Vec<(Tier, i64)>,
}

/// Rows per tier, and when they were counted.
type RowCount = (Instant, Vec<(Tier, i64)>);

pub struct Health {
    store: Arc<Store>,
    counters: Arc<Counters>,
    rows: Mutex<Option<RowCount>>,
    damage: Arc<Mutex<Damage>>,
}

impl Health {
    /// Also asks the store to have the file checked on its first error that says it is
    /// damaged.
    pub fn new(store: Arc<Store>, counters: Arc<Counters>) -> Health {
        let damage = Arc::new(Mutex::new(Damage::default()));
        let (weak, seen) = (Arc::downgrade(&store), damage.clone());
        store.on_damage(move || {
            if let Some(store) = weak.upgrade() {
                spawn_check(store, seen.clone(), "damage_error");
            }
        });
        Health {
            store,
            counters,
            rows: Mutex::new(None),
            damage,
        }
    }

    /// A poll round ended after `took`.
    pub fn round_done(&self, took: Duration) {
        self.counters
            .last_round_ms
            .store(took.as_millis() as u64, Ordering::Relaxed);
        self.counters.rounds.fetch_add(1, Ordering::Relaxed);
        let mut w = self
            .counters
            .writes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if std::mem::take(&mut w.failed_now) {
            w.failed_rounds = w.failed_rounds.saturating_add(1);
        }
    }

    /// Whether the database answers a query.
    pub fn database_ok(&self) -> bool {
        self.store.read(store::ping).is_ok()
    }

    /// Ok, degraded (and why), or the database not answering.
    pub fn verdict(&self) -> Verdict {
        if !self.database_ok() {
            return Verdict::Unavailable;
        }
        match self.troubles() {
            t if t.is_empty() => Verdict::Ok,
            t => Verdict::Degraded(t),
        }
    }

    /// What makes the server degraded now, each in a sentence; none when it is well. Unlike
    /// [`Health::verdict`], it does not touch the database.
    pub fn troubles(&self) -> Vec<String> {
        let damaged = self
            .damage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .found
            .is_some()
            .then(|| "the database file is damaged: restore a backup (the log says how)".into());
        damaged
            .into_iter()
            .chain(self.counters.not_recording())
            .collect()
    }

    /// Runs `PRAGMA quick_check` on a thread of its own (`db-check`), so a big database does
    /// not hold up the start; a damaged file is logged once and makes the server degraded.
    pub fn check_in_background(&self) {
        spawn_check(self.store.clone(), self.damage.clone(), "start");
    }

    pub fn figures(&self) -> Figures {
        let c = &self.counters;
        Figures {
            poll_round_secs: c.last_round_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            poll_rounds: c.rounds.load(Ordering::Relaxed),
            polls_ok: c.polls_ok.load(Ordering::Relaxed),
            polls_failed: c.polls_failed.load(Ordering::Relaxed),
            db_write_errors: c.db_write_errors.load(Ordering::Relaxed),
            degraded: !self.troubles().is_empty(),
            db_bytes: database_bytes(self.store.path()),
            rows: self.row_counts(),
        }
    }

    /// Rows per tier, counted at most once a [`ROWS_MAX_AGE`]: a count walks a whole index,
    /// which on a Pi with a big history is not free at every scrape.
    fn row_counts(&self) -> Vec<(Tier, i64)> {
        let mut cached = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, rows)) = cached.as_ref()
            && at.elapsed() < ROWS_MAX_AGE
        {
            return rows.clone();
        }
        match self.store.read(store::tiers::row_counts) {
            Ok(rows) => {
                *cached = Some((Instant::now(), rows.clone()));
                rows
            }
            Err(e) => {
                eprintln!("event=db_error what=row_counts error={:?}", e.to_string());
                Vec::new()
            }
        }
    }
}

/// Starts a quick check unless one runs or one has found damage already.
fn spawn_check(store: Arc<Store>, damage: Arc<Mutex<Damage>>, why: &'static str) {
    {
        let mut d = damage.lock().unwrap_or_else(|e| e.into_inner());
        if d.checking || d.found.is_some() {
            return;
        }
        d.checking = true;
    }
    let done = damage.clone();
    let spawned = std::thread::Builder::new()
        .name("db-check".into())
        .spawn(move || {
            let found = check(&store, why);
            let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
            d.checking = false;
            d.found = found;
        });
    if let Err(e) = spawned {
        damage.lock().unwrap_or_else(|e| e.into_inner()).checking = false;
        eprintln!(
            "event=database_check_failed why={why} error={:?}",
            e.to_string()
        );
    }
}

/// Checks the file's structure; logs the outcome and returns what was wrong, if anything.
fn check(store: &Store, why: &str) -> Option<String> {
    let started = Instant::now();
    let result = store.read(|c| store::quick_check(c, CHECK_MAX_PROBLEMS));
    let took = started.elapsed().as_millis();
    let found = match result {
        Ok(lines) if lines.iter().all(|l| l == "ok") => None,
        Ok(lines) => Some(lines.join("; ")),
        Err(e) if e.is_damage() => Some(e.to_string()),
        Err(e) => {
            eprintln!(
                "event=database_check_failed why={why} error={:?}",
                e.to_string()
            );
            return None;
        }
    };
    let path = store.path().display().to_string();
    let bytes = database_bytes(store.path());
    match &found {
        None => println!("event=database_checked why={why} result=ok bytes={bytes} took_ms={took}"),
        Some(problems) => eprintln!(
            "event=database_damaged why={why} db={path:?} problems={problems:?} took_ms={took} action={:?}",
            format!(
                "the database file is damaged; restore a backup: stop lanstat-server, replace {path} \
                 with a copy made earlier by `lanstat-server backup FILE` (removing its -wal and -shm \
                 files if there are any), then start lanstat-server again"
            )
        ),
    }
    found
}

fn database_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::store::test_support::TestDb;
    use crate::store::users;

    fn health(db: &TestDb) -> (Arc<Counters>, Health) {
        let counters = Arc::new(Counters::default());
        (counters.clone(), Health::new(db.store.clone(), counters))
    }

    #[test]
    fn three_rounds_in_a_row_not_written_make_it_degraded_until_one_is() {
        let db = TestDb::new("health-rounds");
        let (counters, h) = health(&db);
        let round = |failed: Option<StoreError>| {
            match failed {
                Some(e) => counters.write_failed(&e),
                None => counters.write_ok(),
            }
            h.round_done(Duration::ZERO);
        };
        round(Some(StoreError::Full));
        round(Some(StoreError::Full));
        assert_eq!(h.verdict(), Verdict::Ok, "two rounds are a hiccup");
        round(None);
        round(Some(StoreError::Full));
        round(Some(StoreError::Full));
        assert_eq!(
            h.verdict(),
            Verdict::Ok,
            "a round written starts the count again"
        );
        round(Some(StoreError::Full));
        let full = Verdict::Degraded(vec![
            "history is not being recorded: the disk is full".into(),
        ]);
        assert_eq!(h.verdict(), full);
        assert_eq!(
            (full.word(), full.reason().as_deref()),
            (
                "degraded",
                Some("history is not being recorded: the disk is full")
            )
        );
        assert_eq!(h.figures().db_write_errors, 5);
        round(Some(StoreError::Closed));
        assert_eq!(
            h.troubles(),
            ["history is not being recorded: writing fails (database writer has stopped)"],
            "another error is said as it is"
        );
        round(None);
        assert_eq!(h.verdict(), Verdict::Ok, "one round written is enough");
    }

    /// A database with a table of a few pages, closed, and the table's first page scrambled.
    fn damaged(tag: &str) -> TestDb {
        let db = TestDb::new(tag);
        db.store
            .durable(|tx| {
                for i in 0..40 {
                    users::create_user(
                        tx,
                        &format!("u{i}"),
                        &"h".repeat(500),
                        Role::Viewer,
                        false,
                        1,
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let root: i64 = db
            .store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT rootpage FROM sqlite_master WHERE name = 'users'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        db.store.close();
        let path = db.store.path().to_path_buf();
        // Everything into the file itself, so the scrambled page is what is read.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        drop(c);
        let mut bytes = std::fs::read(&path).unwrap();
        let page = 4096;
        let at = (root as usize - 1) * page;
        bytes[at..at + page].fill(0xA5);
        std::fs::write(&path, bytes).unwrap();
        db
    }

    fn reopened(db: &TestDb) -> Arc<Store> {
        Store::open(db.store.path()).unwrap()
    }

    /// Waits (at most a minute) until the health has troubles.
    fn troubles_soon(h: &Health) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let t = h.troubles();
            if !t.is_empty() || Instant::now() > deadline {
                return t;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    const DAMAGED: &str = "the database file is damaged: restore a backup (the log says how)";

    #[test]
    fn a_damaged_file_is_found_by_the_check_at_start() {
        let db = damaged("health-start");
        let store = reopened(&db);
        let h = Health::new(store.clone(), Arc::default());
        assert_eq!(
            h.verdict(),
            Verdict::Ok,
            "nothing is known before the check"
        );
        h.check_in_background();
        assert_eq!(troubles_soon(&h), [DAMAGED]);
        assert_eq!(h.verdict().word(), "degraded");
        store.close();
    }

    #[test]
    fn a_damaged_file_is_found_by_a_check_on_the_first_malformed_error() {
        let db = damaged("health-error");
        let store = reopened(&db);
        let h = Health::new(store.clone(), Arc::default());
        let read = store.read(|c| users::get_user(c, 20));
        assert!(matches!(&read, Err(e) if e.is_damage()), "{read:?}");
        assert_eq!(troubles_soon(&h), [DAMAGED]);
        store.close();
    }

    #[test]
    fn a_whole_file_passes_the_check() {
        let db = TestDb::new("health-whole");
        let (_, h) = health(&db);
        let whole = store::quick_check;
        assert_eq!(db.store.read(|c| whole(c, 10)).unwrap(), ["ok"]);
        h.check_in_background();
        let deadline = Instant::now() + Duration::from_secs(60);
        while h.damage.lock().unwrap().checking && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(h.verdict(), Verdict::Ok);
    }
}
