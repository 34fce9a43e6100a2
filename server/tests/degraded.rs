//! A server in trouble keeps serving and says so: with its disk full `/healthz` is 503
//! `degraded`, alerts are still judged and sent, and what could not be written is written when
//! space returns; with a damaged database file the check at start says so in `/healthz` and
//! in one log line that tells how to restore a backup.

mod util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::receiver::{Answer, Receiver};
use util::*;

/// The mount a [`SmallDisk`] server runs in: a tmpfs over `$1`, then the command after it.
const MOUNT_THEN_RUN: &str = "mount -t tmpfs -o size=4m tmpfs \"$1\" && shift && exec \"$@\"";

/// A server whose database lives on a 4 MiB tmpfs of its own, mounted in a user and mount
/// namespace (`unshare -rm`), so filling it is a real full disk and touches nothing else.
struct SmallDisk {
    proc: Proc,
    _dir: TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    /// `None`, with the reason printed, where this machine does not let a test mount one.
    fn start(password: &str) -> Option<SmallDisk> {
        let dir = TempDir::new("small-disk");
        let mount = dir.join("disk");
        std::fs::create_dir(&mount).unwrap();
        let probe = Command::new("unshare")
            .args(["-rm", "sh", "-c", MOUNT_THEN_RUN, "sh"])
            .arg(&mount)
            .arg("true")
            .output();
        match probe {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr);
                eprintln!("skipped: cannot mount a tmpfs in a user namespace here: {why}");
                return None;
            }
            Err(e) => {
                eprintln!("skipped: cannot run unshare: {e}");
                return None;
            }
        }
        let db = mount.join("stats.db");
        let (mount_s, db_s) = (mount.to_str().unwrap(), db.to_str().unwrap());
        let server = server_bin().to_str().unwrap();
        let args = [
            "-rm",
            "sh",
            "-c",
            MOUNT_THEN_RUN,
            "sh",
            mount_s,
            server,
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "1",
            "--no-local",
            "--db",
            db_s,
        ];
        let proc = Proc::start(
            Path::new("unshare"),
            &args,
            dir.path(),
            &[("ADMIN_PASSWORD", password)],
        );
        proc.wait_for(Duration::from_secs(60), |l| l.starts_with("Dashboard:"));
        Some(SmallDisk {
            proc,
            _dir: dir,
            mount,
        })
    }

    /// The filler file, as this process reaches the mount: through the server's own root.
    fn filler(&self) -> PathBuf {
        let root = PathBuf::from(format!("/proc/{}/root", self.proc.pid()));
        root.join(self.mount.strip_prefix("/").unwrap())
            .join("filler")
    }

    /// Writes the filler until the tmpfs has no byte left.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).unwrap();
        for chunk in [1 << 20, 4096, 512] {
            let block = vec![0x5a_u8; chunk];
            loop {
                match f.write_all(&block) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => panic!("filling the tmpfs: {e}"),
                }
            }
        }
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }

    fn client(&self) -> Client {
        Client {
            addr: self.proc.addr,
            cookie: None,
        }
    }
}

fn post(c: &mut Client, path: &str, body: Value) -> Value {
    let r = c.post_json(path, &body.to_string());
    assert_eq!(r.status, 201, "{path}: {}", r.text());
    r.json()
}

fn healthz(c: &mut Client) -> (u16, Value) {
    let r = c.get("/healthz");
    (r.status, r.json())
}

#[test]
fn with_the_disk_full_healthz_is_degraded_alerts_still_go_out_and_are_stored_when_space_returns() {
    let password = made_up_secret("admin");
    let Some(disk) = SmallDisk::start(&password) else {
        return;
    };
    let hook = Receiver::start(Answer::Status(204));
    let mut c = disk.client();
    assert_eq!(c.login("admin", &password).status, 200);
    let agent = FakeAgent::start(Behaviour::Body(original_json("nas", 1000, 2000)));
    let id = c.add_computer(
        "nas",
        &format!("http://{}", agent.addr),
        "a79a6575-3178-44fa-8ed0-48581ae5caec",
    );
    let rule = post(
        &mut c,
        "/api/alerts/rules",
        json!({"name": "nas down", "kind": "offline", "computer_id": id, "duration_secs": 0}),
    );
    post(
        &mut c,
        "/api/alerts/channels",
        json!({"name": "hook", "kind": "webhook", "url": hook.url("/h")}),
    );
    c.wait_computer(id, "online", |v| v["status"] == "online");
    assert_eq!(healthz(&mut c).0, 200);

    disk.fill();
    let (_, body) = until("/healthz to say the disk is full", || {
        Some(healthz(&mut c)).filter(|(status, _)| *status == 503)
    });
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(
        body["reason"], "history is not being recorded: the disk is full",
        "{body}"
    );
    assert!(body["version"].is_string(), "the body only gained members");
    let gauge = |c: &mut Client| {
        let text = c.get("/metrics").text();
        let line = text
            .lines()
            .find(|l| l.starts_with("lanstat_server_degraded "));
        line.map(str::to_string)
    };
    assert_eq!(gauge(&mut c).as_deref(), Some("lanstat_server_degraded 1"));
    let me = c.get("/api/me").json();
    assert_eq!(
        me["troubles"],
        json!(["history is not being recorded: the disk is full"]),
        "the dashboard's banner is fed from /api/me"
    );

    // The agent goes away while nothing can be written: its alert still goes out.
    drop(agent);
    let got = hook.wait("the offline alert", |g| {
        g.iter().any(|r| r.json()["event"] == "fired")
    });
    let m = got[0].json();
    assert_eq!(
        (m["kind"].as_str(), m["computer"].as_str()),
        (Some("offline"), Some("nas"))
    );
    assert!(
        disk.filler().exists() && healthz(&mut c).0 == 503,
        "delivered while the disk was still full"
    );

    disk.free();
    until("/healthz to be ok again", || {
        (healthz(&mut c) == (200, json!({"status": "ok", "version": body["version"]})))
            .then_some(())
    });
    let stored = until("the alert's event to be stored", || {
        let events = c.get("/api/alerts/events").json();
        events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["rule_id"] == rule["id"] && e["kind"] == "fired")
            .cloned()
    });
    assert!(stored["id"].as_i64().unwrap() > 0, "{stored}");
    assert_eq!(
        stored["message"], m["message"],
        "the event sent is the one stored"
    );
    let card = c.get(&format!("/api/computers/{id}")).json();
    assert_eq!(card["status"], "offline", "{card}");
    assert_eq!(
        card["alerts"][0]["rule_id"], rule["id"],
        "its state was stored: {card}"
    );
    assert_eq!(c.get("/api/me").json()["troubles"], json!([]));
    assert_eq!(gauge(&mut c).as_deref(), Some("lanstat_server_degraded 0"));
    assert_eq!(
        hook.received()
            .iter()
            .filter(|r| r.json()["event"] == "fired")
            .count(),
        1,
        "sent once"
    );
}

/// Overwrites pages (numbered from 1) of a database file with bytes of no meaning.
fn scramble(path: &Path, pages: &[i64]) {
    let mut bytes = std::fs::read(path).unwrap();
    let size = 4096;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for &p in pages {
        let at = (p as usize - 1) * size;
        for b in &mut bytes[at..at + size] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_database_is_reported_by_healthz_and_one_log_line_and_the_server_still_serves() {
    let s = Server::start(&[], &[]);
    let db = s.db();
    until("a few rounds of the server's own history", || {
        let c = rusqlite::Connection::open(&db).ok()?;
        let n: i64 = c
            .query_row("SELECT count(*) FROM stats", [], |r| r.get(0))
            .ok()?;
        (n >= 3).then_some(())
    });
    let Server { mut proc, dir, .. } = s;
    assert_eq!(proc.signal_and_wait("TERM"), Some(0));
    // Everything into the file itself, and three pages of the history scrambled.
    let pages: Vec<i64> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let root = |name: &str| -> i64 {
            c.query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
        };
        vec![
            root("stats"),
            root("stats_by_computer_time"),
            root("alert_events"),
        ]
    };
    scramble(&db, &pages);

    let s = Server::start_in(dir, &[], &[]);
    let mut c = s.client();
    let (_, body) = until("/healthz to say the file is damaged", || {
        Some(healthz(&mut c)).filter(|(status, _)| *status == 503)
    });
    assert_eq!(body["status"], "degraded", "{body}");
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the database file is damaged: restore a backup"),
        "{body}"
    );
    // Rounds meet the damage too; it is still told once.
    s.proc.wait_for(Duration::from_secs(60), |l| {
        l.contains("event=db_write_failed what=poll_round")
    });
    let out = s.proc.output();
    let told: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("event=database_damaged"))
        .collect();
    assert_eq!(told.len(), 1, "{out}");
    for says in [
        "why=start",
        "restore a backup",
        "stop lanstat-server",
        "lanstat-server backup FILE",
        db.to_str().unwrap(),
        "start lanstat-server again",
    ] {
        assert!(told[0].contains(says), "{says:?} missing from {}", told[0]);
    }
    assert_eq!(c.get("/login").status, 200, "still serving");
}
