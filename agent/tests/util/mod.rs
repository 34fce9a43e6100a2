//! Shared helpers: start the real `lanstat-agent` in a temporary directory.
#![allow(dead_code)]

#[path = "../../src/testkit.rs"]
mod testkit;

pub use testkit::*;

use std::path::Path;
use std::time::{Duration, Instant};

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lanstat-agent"))
}

/// An agent on a free loopback port with its own temporary directory and token file.
pub struct Agent {
    pub proc: Proc,
    pub dir: TempDir,
    pub token: String,
}

impl Agent {
    pub fn start(extra: &[&str]) -> Agent {
        let dir = TempDir::new("agent");
        Agent::start_in(dir, extra)
    }

    pub fn start_in(dir: TempDir, extra: &[&str]) -> Agent {
        let mut args = vec!["--listen", "127.0.0.1:0", "--sample-interval", "1"];
        args.extend_from_slice(extra);
        let proc = Proc::start(bin(), &args, dir.path(), &[]);
        let token = std::fs::read_to_string(dir.join("client_token.txt"))
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        Agent { proc, dir, token }
    }

    pub fn get(&self, path: &str) -> Resp {
        get_as(self.proc.addr, path, &format!("Bearer {}", self.token))
    }
}

/// Waits until `cond` gives a value, checking every 100 ms, for at most 60 s (generous, so
/// that a busy machine only makes a test slower, never wrong); panics naming `what` if it
/// never does. The server's tests have the same helper.
pub fn until<T>(what: &str, mut cond: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "never happened within 60 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET `path` with `authorization` as the Authorization header.
pub fn get_as(addr: std::net::SocketAddr, path: &str, authorization: &str) -> Resp {
    request_as(addr, "GET", path, authorization)
}

/// Runs the agent with `args` in `dir`, asserts that it refuses to start (exit code 1), and
/// returns what it said on stderr.
pub fn refused(dir: &Path, args: &[&str]) -> String {
    let (code, _, err) = run(bin(), args, dir, &[]);
    assert_eq!(code, 1, "{args:?}: {err}");
    err
}
