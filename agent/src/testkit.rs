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

/// Writes `content` to `path` with the permission bits `mode` (on Unix; elsewhere as it comes).
pub fn write_with_mode(path: &Path, content: impl AsRef<[u8]>, mode: u32) {
    std::fs::write(path, content).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
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

/// Starts `bin` with `args` in `dir` as [`Proc::start`] does, with at most `limit` open file
/// descriptors (`ulimit -n`).
pub fn start_with_descriptor_limit(bin: &Path, limit: u32, args: &[&str], dir: &Path) -> Proc {
    let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
    let bin = bin.display().to_string();
    let mut all = vec!["-c", &script, &bin];
    all.extend_from_slice(args);
    Proc::start(Path::new("/bin/sh"), &all, dir, &[])
}

/// Opens `connections` connections to `proc`, more than its descriptors allow, until it logs a
/// failed accept; lets them go and has `serve` check that it answers again; then checks that
/// it logged its recovery, logged the burst of failures at most three times, and lives on.
pub fn assert_accepts_pause_and_recover(
    proc: &mut Proc,
    connections: usize,
    serve: impl FnOnce(SocketAddr),
) {
    let held = raw::silent(proc.addr, connections);
    assert!(
        proc.wait_for(Duration::from_secs(10), |l| l
            .contains("event=accept_failed"))
            .is_some(),
        "no accept failure was logged:\n{}",
        proc.output()
    );
    drop(held);
    serve(proc.addr);
    assert!(
        proc.wait_for(Duration::from_secs(10), |l| l
            .contains("event=accept_recovered"))
            .is_some()
    );
    let failures = proc.output().matches("event=accept_failed").count();
    assert!(failures <= 3, "the burst was logged {failures} times");
    assert_eq!(
        proc.wait_exit(Duration::from_millis(100)),
        None,
        "it exited"
    );
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
    s.write_all(request_head(addr, method, path, headers, body, true).as_bytes())?;
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

/// A body-less request on a new connection with `authorization` as its Authorization header.
pub fn request_as(addr: SocketAddr, method: &str, path: &str, authorization: &str) -> Resp {
    request(addr, method, path, &[("Authorization", authorization)], b"")
}

/// The head of a request to `addr` that sends `body`, asking to close the connection after
/// it when `close`.
fn request_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if close {
        head.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head
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

/// The text of `r`, asserted to be a 200 in Prometheus' text format.
pub fn metrics_text(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    let ctype = r.header("content-type").unwrap_or_default();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    r.text()
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

// ---------------------------------------------------------------------------------------
// Clients that keep their connections, as Prometheus scrapes and browsers fetch. `request()`
// opens a new connection each time, which hides what a kept-alive connection suffers (Nagle's
// algorithm meeting a delayed ACK costs tens of milliseconds per answer).

/// An HTTP/1.1 client on one kept-alive connection: TCP_NODELAY on, each request written in one
/// piece, each answer read by its `Content-Length`, the connection reused for the next. It
/// returns errors instead of panicking and can reconnect, so a load can go on when a server
/// closes connections to make room.
pub struct KeepAlive {
    addr: SocketAddr,
    stream: TcpStream,
    /// Read from the socket but not yet part of an answer.
    buf: Vec<u8>,
    /// The server closed the connection or said it would: the next request needs
    /// [`KeepAlive::reconnect`].
    closed: bool,
}

impl KeepAlive {
    pub fn connect(addr: SocketAddr) -> std::io::Result<KeepAlive> {
        Ok(KeepAlive {
            addr,
            stream: keep_alive_stream(addr)?,
            buf: Vec::new(),
            closed: false,
        })
    }

    /// Whether the server has closed the connection, or said in its last answer that it will.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Replaces the connection with a new one.
    pub fn reconnect(&mut self) -> std::io::Result<()> {
        self.stream = keep_alive_stream(self.addr)?;
        self.buf.clear();
        self.closed = false;
        Ok(())
    }

    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Resp> {
        self.request("GET", path, headers, b"")
    }

    /// Sends one request on the connection and reads its answer. After an error the connection
    /// counts as closed: what is left on it cannot be trusted to start an answer.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Resp> {
        if self.closed {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "the server closed the connection",
            ));
        }
        let mut message = request_head(self.addr, method, path, headers, body, false).into_bytes();
        message.extend_from_slice(body);
        let answer = self.exchange(&message, method == "HEAD");
        self.closed = match &answer {
            Ok(resp) => resp
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close")),
            Err(_) => true,
        };
        answer
    }

    /// Writes `message` in one piece and reads the answer to it; `head_only`: the answer to a
    /// HEAD, which has no body.
    fn exchange(&mut self, message: &[u8], head_only: bool) -> std::io::Result<Resp> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        self.stream.write_all(message)?;

        let head_end = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            self.fill()?;
        };
        let head = parse_response(&self.buf[..head_end], true)?;
        let bodiless = head_only || head.status == 204 || head.status == 304;
        let length = if bodiless {
            0
        } else if head.header("transfer-encoding").is_some() {
            return Err(bad(
                "a chunked answer; this client reads Content-Length only",
            ));
        } else {
            head.header("content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| bad("an answer without a Content-Length"))?
        };
        while self.buf.len() < head_end + length {
            self.fill()?;
        }
        let rest = self.buf.split_off(head_end + length);
        let raw = std::mem::replace(&mut self.buf, rest);
        parse_response(&raw, bodiless)
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn keep_alive_stream(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(s)
}

/// GETs `path` 200 times on one kept-alive connection: each is answered 200 with a JSON
/// object, and the connection is still open after the last.
pub fn assert_two_hundred_kept_alive(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) {
    let mut conn = KeepAlive::connect(addr).unwrap();
    for i in 0..200 {
        let r = conn
            .get(path, headers)
            .unwrap_or_else(|e| panic!("answer {i}: {e}"));
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with(b"{"));
    }
    assert!(!conn.is_closed());
}

/// What [`keep_alive_load`] counted.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub connections: usize,
    pub elapsed: Duration,
    /// Answers with status 200.
    pub ok: u64,
    /// Answers with another status: 503 from a server with every connection busy.
    pub refused: u64,
    /// Requests whose connection the server closed under them; the client opened a new one.
    pub broken: u64,
    /// Connections opened, the first of each client's included.
    pub connects: u64,
    /// Connects that failed.
    pub connect_failures: u64,
}

impl Throughput {
    /// Answered requests (200) per second.
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// GET `path` from `connections` clients at once for `duration`, each on its own kept-alive
/// connection, one request after the other. A client whose connection the server closes (to
/// make room, or after a 503) opens a new one and goes on, as a scraper would next time.
pub fn keep_alive_load(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    path: &str,
    headers: &[(&str, &str)],
) -> Throughput {
    let start = std::sync::Barrier::new(connections + 1);
    let mut total = Throughput {
        connections,
        ..Throughput::default()
    };
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..connections)
            .map(|_| {
                let start = &start;
                s.spawn(move || {
                    let mut t = Throughput::default();
                    let mut client = KeepAlive::connect(addr);
                    t.connects += 1;
                    t.connect_failures += u64::from(client.is_err());
                    start.wait();
                    let deadline = Instant::now() + duration;
                    while Instant::now() < deadline {
                        let c = match &mut client {
                            Ok(c) if !c.is_closed() => c,
                            _ => {
                                client = KeepAlive::connect(addr);
                                t.connects += 1;
                                if client.is_err() {
                                    t.connect_failures += 1;
                                    // Out of ports or refused: no point in hammering at once.
                                    std::thread::sleep(Duration::from_millis(10));
                                }
                                continue;
                            }
                        };
                        match c.get(path, headers) {
                            Ok(r) if r.status == 200 => t.ok += 1,
                            Ok(_) => t.refused += 1,
                            Err(_) => t.broken += 1,
                        }
                    }
                    t
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        for c in clients {
            let t = c.join().expect("a load client does not panic");
            total.ok += t.ok;
            total.refused += t.refused;
            total.broken += t.broken;
            total.connects += t.connects;
            total.connect_failures += t.connect_failures;
        }
        total.elapsed = started.elapsed();
    });
    total
}

/// Opens `n` connections to `addr` that send nothing, as a slow or hostile client holds them.
pub fn idle_connections(addr: SocketAddr, n: usize) -> std::io::Result<Vec<TcpStream>> {
    (0..n)
        .map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(10)))
        .collect()
}

/// How many of `conns` the server has closed (their read side is at its end).
pub fn closed_by_server(conns: &[TcpStream]) -> usize {
    conns
        .iter()
        .filter(|c| {
            if c.set_nonblocking(true).is_err() {
                return false;
            }
            let mut byte = [0u8; 1];
            let closed = match c.peek(&mut byte) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            };
            let _ = c.set_nonblocking(false);
            closed
        })
        .count()
}

/// A positive whole number from the environment (a benchmark's knob), or `default` when unset.
pub fn env_number(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} must be a positive whole number, not {v:?}")),
    }
}

/// Connections the benchmarks open and leave silent, as a slow or hostile client holds them.
pub const IDLE_CONNECTIONS: usize = 300;
/// Clients at once for the benchmarks' busy throughput figures.
pub const CONCURRENT: usize = 32;
/// The last commit on tiny_http, whose stripped binaries the benchmarks compare with.
pub const BEFORE_COMMIT: &str = "ca8f899";

/// `bytes` where the benchmarks' recorded figures were measured (x86_64 Linux, glibc), else
/// None: an old binary's size only means something for the target it was built for.
pub fn on_the_measured_target(bytes: u64) -> Option<u64> {
    cfg!(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu"
    ))
    .then_some(bytes)
}
