//! Helpers for integration tests that run the real binaries: a temporary directory, a child
//! process that prints `listening on ADDR` and is killed when dropped, and a raw HTTP/1.1
//! client over loopback. The agent's tests include this file with `#[path]`; the server's tests
//! reach it through the agent's `testkit` feature.
#![allow(dead_code)]

/// Raw exchanges for hostile-client tests, and what /proc says about a process.
#[path = "testkit_raw.rs"]
pub mod raw;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "lanstat-test-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A made-up secret for one test, so no two tests share a password.
pub fn made_up_secret(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{:x}-{:x}", std::process::id(), nanos)
}

type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

/// A running binary. Killed (SIGKILL) when dropped unless it already exited.
pub struct Proc {
    child: Option<Child>,
    lines: Lines,
    pub addr: SocketAddr,
}

impl Proc {
    /// Starts `bin` with `args` in `dir` and waits for its `listening on ADDR` line.
    pub fn start(bin: &Path, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Proc {
        match Proc::try_start(bin, args, dir, env) {
            Ok(p) => p,
            Err(output) => panic!(
                "{} did not start listening; its output:\n{output}",
                bin.display()
            ),
        }
    }

    /// Like [`Proc::start`], but returns the output when the process exits or never listens.
    pub fn try_start(
        bin: &Path,
        args: &[&str],
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<Proc, String> {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        for stream in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let (lock, cv) = &*lines;
                    lock.lock().unwrap().push(line);
                    cv.notify_all();
                }
                let (lock, cv) = &*lines;
                lock.lock().unwrap().push("\u{0}eof".into());
                cv.notify_all();
            });
        }
        let mut p = Proc {
            child: Some(child),
            lines,
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let found = p.wait_for(Duration::from_secs(60), |l| {
            l.starts_with("listening on ") || p_exited(l)
        });
        match found.and_then(|l| {
            l.strip_prefix("listening on ")
                .and_then(|a| a.trim().parse().ok())
        }) {
            Some(addr) => {
                p.addr = addr;
                Ok(p)
            }
            None => {
                let _ = p.child.as_mut().map(|c| c.kill());
                let _ = p.child.as_mut().map(|c| c.wait());
                Err(p.output())
            }
        }
    }

    /// Everything the process printed so far, stdout and stderr interleaved by arrival.
    pub fn output(&self) -> String {
        let lines = self.lines.0.lock().unwrap();
        lines
            .iter()
            .filter(|l| !p_exited(l))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until a printed line satisfies `pred` and returns it.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let (lock, cv) = &*self.lines;
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        let mut lines = lock.lock().unwrap();
        loop {
            while seen < lines.len() {
                if pred(&lines[seen]) {
                    return Some(lines[seen].clone());
                }
                seen += 1;
            }
            let eofs = lines.iter().filter(|l| p_exited(l)).count();
            let now = Instant::now();
            if eofs == 2 || now >= deadline {
                return None;
            }
            lines = cv.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends a signal by name ("TERM", "KILL", "INT") and waits for the exit status code.
    pub fn signal_and_wait(&mut self, sig: &str) -> Option<i32> {
        let pid = self.pid().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status();
        let mut child = self.child.take()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit by itself and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn p_exited(l: &str) -> bool {
    l == "\u{0}eof"
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a binary to completion and returns (exit code, stdout, stderr).
pub fn run(bin: &Path, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin);
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An HTTP response as the raw client read it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// Header names in lower case; a repeated header keeps its last value.
    pub headers: HashMap<String, String>,
    pub all_headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(|s| s.as_str())
    }
}

/// Sends one request on a new connection (`Connection: close`) and reads the whole answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // A server may answer (413, 405) and close before the whole body is sent, as HTTP lets it;
    // the answer is still there to read.
    if let Err(e) = s.write_all(body)
        && !matches!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        )
    {
        return Err(e);
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head_only: bool) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut headers = HashMap::new();
    let mut all_headers = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            all_headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if head_only {
        body.clear();
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Resp {
        status,
        headers,
        all_headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&b[..nl])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        b = &b[nl + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Runs `promtool check metrics` on `text`: Ok when it passes, or when its only complaints
/// are the camelCase names that node_exporter's own memory metrics draw.
pub fn promtool_accepts(text: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run promtool ({e}); install Debian's `prometheus` package, as .ci/run does"
            )
        })?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Ok(()),
        Some(3) => {
            let other: Vec<&str> = complaints
                .lines()
                .filter(|l| !l.trim().is_empty())
                .filter(|l| {
                    !(l.starts_with("node_")
                        && l.contains("should be written in 'snake_case' not 'camelCase'"))
                })
                .collect();
            if other.is_empty() {
                Ok(())
            } else {
                Err(other.join("\n"))
            }
        }
        code => Err(format!("promtool exit {code:?}: {complaints}")),
    }
}
