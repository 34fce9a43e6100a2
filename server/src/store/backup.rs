//! Copies of the database while the server runs (`lanstat-server backup FILE`).
//!
//! The copy is SQLite's online backup done in one step: every page is read inside one read
//! transaction, so it is a consistent snapshot that writers can neither restart nor wait for
//! (WAL lets them write beside it). Done in small steps instead, the backup starts over from
//! page 1 whenever another connection writes, which a server polling every second does
//! before a large file is through: it measured 128 s for 140 MB, and on an SD card may never
//! end.
//!
//! The copy goes to `FILE.partial`, made with mode 0600 before its first byte (the database
//! holds password hashes and agent tokens), is checked, and only then takes the name `FILE`,
//! which never replaces a file that is there: neither `FILE` nor a `FILE.partial` left by
//! another backup is ever overwritten or removed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::error::{Result, StoreError};

/// How long a backup waits, in all, when SQLite says the database is busy.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// Copies the database `source` reads to `dest`, checked before it is reported done.
pub fn backup(source: &Connection, dest: &Path) -> Result<()> {
    backup_with(source, dest, |_| {})
}

/// [`backup`], calling `created` with the partial file's path as soon as it exists, before
/// anything is written to it: the tests look at it there.
pub(crate) fn backup_with(
    source: &Connection,
    dest: &Path,
    created: impl FnOnce(&Path),
) -> Result<()> {
    if fs::symlink_metadata(dest).is_ok() {
        return Err(fail(format!(
            "{} exists already; choose a new file",
            dest.display()
        )));
    }
    let partial = partial_path(dest);
    create_private(&partial).map_err(|e| {
        fail(if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{} exists: another backup is being made, or one was interrupted; remove it and try again",
                partial.display()
            )
        } else {
            format!("cannot create {}: {e}", partial.display())
        })
    })?;
    created(&partial);
    let done = copy(source, &partial)
        .and_then(|()| check(source, &partial))
        .and_then(|()| publish(&partial, dest));
    if done.is_err() {
        let _ = fs::remove_file(&partial);
    }
    done
}

/// `dest` with `.partial` added (never replacing its extension, which could name a file of
/// the user's).
fn partial_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Creates `path`, empty, readable and writable by its owner only from the start (the umask
/// can only take bits away), failing if anything is there already.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop)
}

/// Every page of `source` into the empty file at `partial`, in one step.
fn copy(source: &Connection, partial: &Path) -> Result<()> {
    let mut out = Connection::open_with_flags(
        partial,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The partial file is thrown away if anything fails, so it needs no journal; it is
    // synced once, whole, below.
    out.pragma_update(None, "journal_mode", "OFF")?;
    out.pragma_update(None, "synchronous", "OFF")?;
    {
        let b = Backup::new(source, &mut out)?;
        let started = std::time::Instant::now();
        loop {
            // -1: all pages in one step, within one read transaction of the source.
            match b.step(-1)? {
                StepResult::Done => break,
                StepResult::More => continue,
                StepResult::Busy | StepResult::Locked if started.elapsed() < BUSY_WAIT => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                StepResult::Busy | StepResult::Locked => {
                    return Err(fail(
                        "the database stayed busy for 10 s; try again".to_string(),
                    ));
                }
                other => {
                    return Err(fail(format!("the copy stopped: {other:?}")));
                }
            }
        }
    }
    // The copy took the database's WAL mode with its first page: back to a rollback journal,
    // so that reading it (the check below, or a restore from read-only media) leaves no
    // -wal and -shm files beside it.
    out.pragma_update(None, "journal_mode", "DELETE")?;
    drop(out);
    fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail(format!("cannot write {}: {e}", partial.display())))
}

/// The copy passes SQLite's integrity check and has the source's schema version.
fn check(source: &Connection, partial: &Path) -> Result<()> {
    let copy = Connection::open_with_flags(
        partial,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let verdict = super::integrity_check(&copy)?;
    if verdict != "ok" {
        return Err(fail(format!(
            "the copy failed its integrity check: {verdict}"
        )));
    }
    let version = |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
    let (theirs, ours) = (version(source)?, version(&copy)?);
    if theirs != ours {
        return Err(fail(format!(
            "the copy has schema version {ours}, the database {theirs}"
        )));
    }
    Ok(())
}

/// Gives the checked copy its name: a hard link, which fails if `dest` appeared meanwhile,
/// then the partial name removed. A file system without hard links (FAT on a USB stick) gets
/// a rename after a last look that `dest` is still free.
fn publish(partial: &Path, dest: &Path) -> Result<()> {
    let cannot = |e: std::io::Error| fail(format!("cannot write {}: {e}", dest.display()));
    match fs::hard_link(partial, dest) {
        Ok(()) => fs::remove_file(partial).map_err(cannot)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(fail(format!(
                "{} appeared while the copy was made; it was left as it is",
                dest.display()
            )));
        }
        Err(_) => {
            if fs::symlink_metadata(dest).is_ok() {
                return Err(fail(format!(
                    "{} appeared while the copy was made; it was left as it is",
                    dest.display()
                )));
            }
            fs::rename(partial, dest).map_err(cannot)?;
        }
    }
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

fn fail(message: String) -> StoreError {
    StoreError::Backup(message)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;
    use crate::store::test_support::TestDb;
    use crate::store::{Durability, integrity_check};

    /// A file's permission bits, in octal as `ls` shows them.
    #[cfg(unix)]
    fn mode(p: &Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        format!(
            "{:o}",
            fs::metadata(p).unwrap().permissions().mode() & 0o777
        )
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn the_copy_is_private_from_its_first_byte() {
        let db = TestDb::new("backup-mode");
        let dest = db.dir.join("copy.db");
        let mut seen = None;
        db.store
            .read(|conn| {
                backup_with(conn, &dest, |partial| {
                    seen = Some((mode(partial), fs::metadata(partial).unwrap().len()))
                })
            })
            .unwrap();
        assert_eq!(
            seen,
            Some(("600".to_string(), 0)),
            "the partial copy, when it appeared"
        );
        assert_eq!(mode(&dest), "600");
        let mut left: Vec<String> = fs::read_dir(&db.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("stats.db"))
            .collect();
        left.sort();
        assert_eq!(left, ["copy.db"], "nothing else beside the copy");
        let header = fs::read(&dest).unwrap();
        assert_eq!(header[18..20], [1, 1], "a rollback-journal file");
    }

    #[test]
    fn an_existing_file_or_partial_copy_is_never_replaced() {
        let db = TestDb::new("backup-exists");
        let dest = db.dir.join("copy.db");
        fs::write(&dest, "mine").unwrap();
        let err = db.store.backup_to(&dest).unwrap_err().to_string();
        assert!(err.contains("exists already"), "{err}");
        assert_eq!(fs::read_to_string(&dest).unwrap(), "mine");
        assert!(!partial_path(&dest).exists());

        let dest = db.dir.join("other.db");
        fs::write(partial_path(&dest), "another backup's").unwrap();
        let err = db.store.backup_to(&dest).unwrap_err().to_string();
        assert!(err.contains("other.db.partial exists"), "{err}");
        assert_eq!(
            fs::read_to_string(partial_path(&dest)).unwrap(),
            "another backup's"
        );
        assert!(!dest.exists());
        // Its extension is the user's: "copy.partial" is not the partial copy of "copy.db".
        let dest = db.dir.join("third.db");
        fs::write(db.dir.join("third.partial"), "keep").unwrap();
        db.store.backup_to(&dest).unwrap();
        assert_eq!(
            fs::read_to_string(db.dir.join("third.partial")).unwrap(),
            "keep"
        );
    }

    /// A writer that never pauses restarted the stepped backup at every step, so it never
    /// ended; a one-step copy ends and is a snapshot of one moment.
    #[test]
    fn a_copy_made_while_writers_write_ends_and_is_consistent() {
        let db = TestDb::new("backup-busy");
        db.store
            .write(Durability::Relaxed, |tx| {
                tx.execute_batch(
                    "CREATE TABLE a (n INTEGER PRIMARY KEY, pad BLOB);
                     CREATE TABLE b (n INTEGER PRIMARY KEY, pad BLOB);
                     WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 2000)
                     INSERT INTO a SELECT n, randomblob(4000) FROM i;
                     INSERT INTO b SELECT n, randomblob(4000) FROM a;",
                )?;
                Ok(())
            })
            .unwrap();
        let (stop, writes) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let writer = {
            let (store, stop, writes) = (db.store.clone(), stop.clone(), writes.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    // Every transaction keeps a and b the same size.
                    store
                        .write(Durability::Relaxed, |tx| {
                            tx.execute_batch(
                                "INSERT INTO a (pad) VALUES (randomblob(4000));
                                 INSERT INTO b (pad) VALUES (randomblob(4000));",
                            )?;
                            Ok(())
                        })
                        .unwrap();
                    writes.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while writes.load(Ordering::SeqCst) < 10 {
            std::thread::yield_now();
        }
        let dest = db.dir.join("copy.db");
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        {
            let (store, dest) = (db.store.clone(), dest.clone());
            std::thread::spawn(move || done_tx.send(store.backup_to(&dest)));
        }
        let done = done_rx.recv_timeout(Duration::from_secs(60));
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        done.expect("the backup ended while the writer wrote")
            .unwrap();
        let copy = Connection::open(&dest).unwrap();
        assert_eq!(integrity_check(&copy).unwrap(), "ok");
        assert!(count(&copy, "a") >= 2010);
        assert_eq!(count(&copy, "a"), count(&copy, "b"));
    }
}
