//! Shared helpers: the real server and agent binaries, a logged-in client, fake agents.
#![allow(dead_code)]

pub mod fake_agent;
pub mod receiver;

pub use lanstat_agent::testkit::*;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lanstat-server"))
}

/// The agent binary, built beside the server by `cargo test --workspace`.
pub fn agent_bin() -> PathBuf {
    let p = server_bin().with_file_name(format!("lanstat-agent{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build it first (cargo build -p lanstat-agent, or cargo test --workspace)",
        p.display()
    );
    p
}

/// A server on a free loopback port with its own temporary directory and database.
pub struct Server {
    pub proc: Proc,
    pub dir: TempDir,
    pub password: Option<String>,
}

impl Server {
    pub fn db(&self) -> PathBuf {
        self.dir.join("stats.db")
    }

    /// Starts with a 1 s poll interval and no local host unless `args` say otherwise.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_in(TempDir::new("server"), args, env)
    }

    /// Starts with no local host and the admin's password given in the environment.
    pub fn with_admin_password(password: &str) -> Server {
        Server::start(&["--no-local"], &[("ADMIN_PASSWORD", password)])
    }

    pub fn start_in(dir: TempDir, args: &[&str], env: &[(&str, &str)]) -> Server {
        let db = dir.join("stats.db");
        let db = db.to_str().unwrap().to_string();
        let mut all = vec![
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "1",
            "--db",
            &db,
        ];
        all.extend_from_slice(args);
        let proc = Proc::start(server_bin(), &all, dir.path(), env);
        proc.wait_for(Duration::from_secs(60), |l| l.starts_with("Dashboard:"));
        let password = if proc.output().contains("FIRST START") {
            proc.wait_for(Duration::from_secs(60), |l| l.starts_with("Password:"))
                .map(|l| l.trim_start_matches("Password:").trim().to_string())
        } else {
            None
        };
        Server {
            proc,
            dir,
            password,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.proc.addr
    }

    /// Kills the server at once (no clean stop), keeping its directory and database for a
    /// [`Server::start_in`] on them.
    pub fn kill(self) -> TempDir {
        let Server { proc, dir, .. } = self;
        drop(proc);
        dir
    }

    pub fn client(&self) -> Client {
        Client {
            addr: self.addr(),
            cookie: None,
        }
    }

    /// A client logged in as `admin` with `password`.
    pub fn admin_with(&self, password: &str) -> Client {
        let mut c = self.client();
        let r = c.login("admin", password);
        assert_eq!(r.status, 200, "{}", r.text());
        c
    }

    /// Five logins as `user` with a wrong password, each refused: enough to start the login
    /// throttle.
    pub fn five_wrong_logins(&self, user: &str) {
        for i in 1..=5 {
            let r = self.client().login(user, "wrong-wrong");
            assert_eq!(r.status, 401, "wrong login {i} as {user}");
        }
    }

    /// Runs the binary with `args` in this server's directory, to its end.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_server(args, self.dir.path())
    }

    /// A client logged in as the first admin, with the printed password changed to `new`.
    pub fn admin(&self, new: &str) -> Client {
        let mut c = self.client();
        let first = self
            .password
            .clone()
            .expect("a first-run password was printed");
        assert_eq!(c.login("admin", &first).status, 200);
        let r = c.change_password(&first, new);
        assert_eq!(r.status, 200, "{}", r.text());
        c
    }
}

/// A server started with `args` and a client logged in as its first admin.
pub fn logged_in(args: &[&str]) -> (Server, Client) {
    let s = Server::start(args, &[]);
    let c = s.admin(&made_up_secret("admin"));
    (s, c)
}

/// Runs the server binary with `args` in `dir` to its end: (exit code, stdout, stderr).
pub fn run_server(args: &[&str], dir: &Path) -> (i32, String, String) {
    run(server_bin(), args, dir, &[])
}

/// Runs the server binary with `args` in `dir` and asserts that it fails with exit code 1 and
/// says `why`.
pub fn assert_fails(args: &[&str], dir: &Path, why: &str) {
    let (code, _, err) = run_server(args, dir);
    assert_eq!(code, 1, "{args:?}: {err}");
    assert!(err.contains(why), "{args:?}: {err}");
}

/// How many samples the points of a history answer stand for.
pub fn samples_in(history: &serde_json::Value) -> i64 {
    let points = history["points"].as_array().expect("a history answer");
    points.iter().filter_map(|p| p["samples"].as_i64()).sum()
}

/// A browser-like client: keeps the session cookie and sends a same-origin `Origin`.
pub struct Client {
    pub addr: SocketAddr,
    pub cookie: Option<String>,
}

impl Client {
    fn headers<'a>(
        &'a self,
        origin: &'a str,
        cookie: &'a str,
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut h = vec![("Origin", origin), ("Accept", "application/json")];
        if self.cookie.is_some() {
            h.push(("Cookie", cookie));
        }
        h.extend_from_slice(extra);
        h
    }

    pub fn send(&mut self, method: &str, path: &str, ctype: Option<&str>, body: &[u8]) -> Resp {
        let origin = format!("http://{}", self.addr);
        let cookie = format!(
            "lanstat_session={}",
            self.cookie.clone().unwrap_or_default()
        );
        let mut extra = Vec::new();
        if let Some(c) = ctype {
            extra.push(("Content-Type", c));
        }
        let headers = self.headers(&origin, &cookie, &extra);
        let r = request(self.addr, method, path, &headers, body);
        if let Some(set) = r.header("set-cookie") {
            let value = set
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("lanstat_session=")
                .to_string();
            self.cookie = if value.is_empty() { None } else { Some(value) };
        }
        r
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None, b"")
    }

    pub fn post_json(&mut self, path: &str, json: &str) -> Resp {
        self.send("POST", path, Some("application/json"), json.as_bytes())
    }

    /// A request with a JSON body and any method.
    pub fn send_json(&mut self, method: &str, path: &str, json: &str) -> Resp {
        self.send(method, path, Some("application/json"), json.as_bytes())
    }

    pub fn post_form(&mut self, path: &str, form: &str) -> Resp {
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
        )
    }

    pub fn login(&mut self, user: &str, password: &str) -> Resp {
        let body = serde_json::json!({ "username": user, "password": password }).to_string();
        self.post_json("/login", &body)
    }

    pub fn change_password(&mut self, current: &str, new: &str) -> Resp {
        let body = serde_json::json!({ "current_password": current, "new_password": new });
        self.post_json("/change_password", &body.to_string())
    }

    /// How many entries the JSON list at `path` has.
    pub fn count(&mut self, path: &str) -> usize {
        let v = self.get(path).json();
        v.as_array()
            .unwrap_or_else(|| panic!("{path} is not a list: {v}"))
            .len()
    }

    /// Adds a computer and returns its id.
    pub fn add_computer(&mut self, name: &str, url: &str, token: &str) -> i64 {
        let body = serde_json::json!({ "name": name, "url": url, "token": token }).to_string();
        let r = self.post_json("/api/add_computer", &body);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_i64().unwrap()
    }

    /// Polls `/api/computers/<id>` until `pred` holds (for at most 60 s, as [`until`]).
    pub fn wait_computer(
        &mut self,
        id: i64,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let found = until_or_none(|| {
            last = self.get(&format!("/api/computers/{id}")).json();
            pred(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| panic!("computer {id} never became {what} within 60 s: {last}"))
    }

    /// How many poll rounds the server has finished, from its own `/metrics`.
    pub fn poll_rounds(&mut self) -> u64 {
        let text = metrics_text(&self.get("/metrics"));
        text.lines()
            .find_map(|l| l.strip_prefix("lanstat_server_poll_rounds_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
            .unwrap_or_else(|| panic!("no poll round count in /metrics:\n{text}"))
    }

    /// Waits until the server has finished `n` more poll rounds than it had when called: the
    /// round under way then (if any) has ended, and `n - 1` more have run wholly after it.
    /// Each round stores its answers and judges the alerts before it counts as finished.
    pub fn wait_rounds(&mut self, n: u64) {
        let start = self.poll_rounds();
        until(&format!("{n} more poll rounds after round {start}"), || {
            (self.poll_rounds() >= start + n).then_some(())
        });
    }
}

/// The original Flask server's three tables, exactly as it created them.
pub const ORIGINAL_SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL,
    password_hash TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE computers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL,
    url TEXT NOT NULL, token TEXT NOT NULL, last_seen TIMESTAMP, status TEXT DEFAULT 'offline');
CREATE TABLE stats (id INTEGER PRIMARY KEY AUTOINCREMENT, computer_id INTEGER,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, cpu_percent REAL, memory_total INTEGER,
    memory_used INTEGER, memory_percent REAL, disk_total INTEGER, disk_used INTEGER,
    disk_percent REAL, network_bytes_sent INTEGER, network_bytes_recv INTEGER,
    network_sent_per_sec REAL DEFAULT 0, network_recv_per_sec REAL DEFAULT 0,
    FOREIGN KEY (computer_id) REFERENCES computers (id));
";

/// Waits until `cond` gives a value, checking every 100 ms, for at most 60 s (generous, so
/// that a busy machine only makes a test slower, never wrong); panics naming `what` if it
/// never does. Use this instead of a fixed sleep that assumes something happened in time.
pub fn until<T>(what: &str, cond: impl FnMut() -> Option<T>) -> T {
    until_or_none(cond).unwrap_or_else(|| panic!("never happened within 60 s: {what}"))
}

/// [`until`], giving `None` instead of panicking, for a caller that says more of what it saw.
pub fn until_or_none<T>(mut cond: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A listener on a free loopback port that hands each connection to a handler, on a thread of
/// its own, until it is dropped.
pub struct Loopback {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Loopback {
    /// Starts listening; `handle` gets each connection and a flag set once the listener is
    /// dropped, for a handler that holds its connection open.
    pub fn start(handle: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (handle, stopped) = (handle.clone(), stopped.clone());
                std::thread::spawn(move || handle(conn, &stopped));
            }
        });
        Loopback { addr, stop }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// A real agent binary on a free loopback port.
pub struct RealAgent {
    pub proc: Proc,
    pub dir: TempDir,
    pub token: String,
}

impl RealAgent {
    pub fn start() -> RealAgent {
        RealAgent::start_in(TempDir::new("agent"), &[])
    }

    /// Starts in `dir` with `extra` flags (paths in them are relative to `dir`).
    pub fn start_in(dir: TempDir, extra: &[&str]) -> RealAgent {
        let mut args = vec!["--listen", "127.0.0.1:0", "--sample-interval", "1"];
        args.extend_from_slice(extra);
        let proc = Proc::start(&agent_bin(), &args, dir.path(), &[]);
        let token = std::fs::read_to_string(dir.join("client_token.txt"))
            .unwrap()
            .trim()
            .to_string();
        RealAgent { proc, dir, token }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.proc.addr)
    }
}
