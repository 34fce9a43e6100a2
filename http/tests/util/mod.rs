//! A server of the crate on a free loopback port with a handful of test routes, and a raw
//! client that can lie, trickle and pipeline.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lanstat_http::{Limits, Request, Response, Running, Server, StatusCode};

/// Short deadlines and a small cap, so tests see them act.
pub fn limits() -> Limits {
    Limits {
        max_connections: 8,
        head_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(400),
        write_timeout: Duration::from_millis(400),
        linger: Duration::from_millis(200),
        ..Limits::default()
    }
}

/// What the handler saw.
#[derive(Default)]
pub struct Seen {
    /// Paths of the requests handlers ran for, in order.
    pub paths: Mutex<Vec<String>>,
    /// `/block` requests wait until this is true.
    pub open: Mutex<bool>,
    pub opened: Condvar,
    pub blocked: AtomicUsize,
}

pub struct TestServer {
    running: Option<Running>,
    pub addr: SocketAddr,
    /// The most connections it serves at once.
    pub cap: usize,
    pub seen: Arc<Seen>,
    pub failed: Arc<Mutex<Option<String>>>,
}

/// A body of `n` bytes for `/big`.
pub const BIG: usize = 8 * 1024 * 1024;

pub fn start(limits: Limits) -> TestServer {
    let seen = Arc::new(Seen::default());
    let failed = Arc::new(Mutex::new(None));
    let cap = limits.max_connections;
    let server = Server::bind("127.0.0.1:0", limits).expect("bind");
    let addr = server.local_addr();
    let s = seen.clone();
    let f = failed.clone();
    let running = server
        .serve(
            move |req: &mut Request<'_>| handle(&s, req),
            move |why| *f.lock().unwrap() = Some(why),
        )
        .expect("serve");
    TestServer {
        running: Some(running),
        addr,
        cap,
        seen,
        failed,
    }
}

fn handle(seen: &Seen, req: &mut Request<'_>) -> Response {
    seen.paths.lock().unwrap().push(req.path().to_string());
    match req.path() {
        "/healthz" => Response::bytes(StatusCode::OK, "text/plain", &b"ok"[..]),
        "/echo" => match req.body(1024) {
            Ok(b) => Response::bytes(StatusCode::OK, "application/octet-stream", b),
            Err(e) => Response::error(e.status(), e.code(), &e.to_string()),
        },
        "/sink" => Response::bytes(StatusCode::OK, "text/plain", &b"not read"[..]),
        "/panic" => panic!("a handler bug"),
        "/big" => Response::bytes(StatusCode::OK, "text/plain", vec![b'b'; BIG]),
        "/block" => {
            seen.blocked.fetch_add(1, Ordering::SeqCst);
            let mut open = seen.open.lock().unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while !*open && Instant::now() < deadline {
                open = seen
                    .opened
                    .wait_timeout(open, Duration::from_millis(100))
                    .unwrap()
                    .0;
            }
            Response::bytes(StatusCode::OK, "text/plain", &b"unblocked"[..])
        }
        _ => Response::error(StatusCode::NOT_FOUND, "not_found", "not found"),
    }
}

impl TestServer {
    pub fn connections(&self) -> usize {
        self.running.as_ref().map(|r| r.connections()).unwrap_or(0)
    }

    /// Waits until at most `n` connections are open; false if that takes over `within`.
    pub fn settles_to(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.connections() <= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stops the server on another thread, as a signal would.
    pub fn stop_in_background(&mut self) -> std::thread::JoinHandle<()> {
        let running = self.running.take().expect("running");
        std::thread::spawn(move || running.stop_within(Duration::from_secs(5)))
    }

    pub fn ran(&self, path: &str) -> usize {
        self.seen
            .paths
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// A new connection with `raw` sent on it.
    pub fn send(&self, raw: &[u8]) -> Conn {
        let mut c = Conn::open(self.addr);
        c.send(raw);
        c
    }

    pub fn open_gate(&self) {
        *self.seen.open.lock().unwrap() = true;
        self.seen.opened.notify_all();
    }

    /// A normal request on a new connection is answered 200.
    pub fn assert_serving(&self) {
        let r = get(self.addr, "/healthz");
        assert_eq!(r.status, 200, "a normal request was not served");
        assert_eq!(r.body, b"ok");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.open_gate();
        if let Some(r) = self.running.take() {
            r.stop_within(Duration::from_secs(2));
        }
    }
}

/// Waits until `cond` holds, checking every 10 ms, for at most 60 s (generous, so that a busy
/// machine only makes a test slower, never wrong); panics naming `what` if it never does.
pub fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "never happened within 60 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A client's connection: what it reads past one answer is kept for the next, as pipelined
/// and kept-alive answers arrive.
pub struct Conn {
    pub stream: TcpStream,
    pending: Vec<u8>,
    /// Answers read so far.
    answers: usize,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        Conn {
            stream: connect(addr),
            pending: Vec::new(),
            answers: 0,
        }
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).unwrap();
    }

    /// Sends `raw` and reads the answer, which must come.
    pub fn ask(&mut self, raw: &[u8]) -> Resp {
        self.send(raw);
        self.answer()
    }

    /// The next answer, which must come.
    pub fn answer(&mut self) -> Resp {
        self.read(false)
    }

    /// The next answer, to a HEAD: a head without a body.
    pub fn answer_to_head(&mut self) -> Resp {
        self.read(true)
    }

    fn read(&mut self, head_only: bool) -> Resp {
        let n = self.answers + 1;
        let r = read_response(&mut self.stream, &mut self.pending, head_only)
            .unwrap_or_else(|| panic!("answer {n} on the connection never came"));
        self.answers = n;
        r
    }

    /// What the server sends until it closes the connection (or the read times out).
    pub fn rest(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.pending);
        let _ = self.stream.read_to_end(&mut out);
        out
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// Asserts that this answer has `status` and leaves the connection open.
    pub fn assert_keeps(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.head);
        assert!(!self.closes(), "{}", self.head);
    }

    /// Asserts that this answer has `status` and says the connection closes.
    pub fn assert_closes(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.head);
        assert!(self.closes(), "{}", self.head);
    }
}

/// Reads one response from a kept-alive connection (by its Content-Length), or None when
/// the connection closes first. `head_only`: the answer to a HEAD has no body.
pub fn read_response(s: &mut TcpStream, pending: &mut Vec<u8>, head_only: bool) -> Option<Resp> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let mut r = Resp {
                status,
                head,
                body: Vec::new(),
            };
            let len: usize = if head_only || status == 100 {
                0
            } else {
                r.header("content-length")?.parse().ok()?
            };
            while pending.len() < end + 4 + len {
                let mut buf = [0u8; 65536];
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                }
            }
            r.body = pending[end + 4..end + 4 + len].to_vec();
            pending.drain(..end + 4 + len);
            return Some(r);
        }
        let mut buf = [0u8; 65536];
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// Whether the server closes the connection (EOF or reset) within `within`, reading and
/// dropping whatever arrives meanwhile.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
        if Instant::now() > deadline {
            return false;
        }
    }
}

/// Sends raw bytes on a new connection and reads everything until the server closes.
pub fn exchange_raw(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut c = Conn::open(addr);
    let _ = c.stream.write_all(raw);
    c.rest()
}

/// The status of the first response in `raw`.
pub fn status_of(raw: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(raw);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Asserts that the first response in `raw` has the status `want`, showing it if not.
pub fn assert_status(raw: &[u8], want: u16) {
    assert_eq!(
        status_of(raw),
        Some(want),
        "{}",
        String::from_utf8_lossy(raw)
    );
}

/// A GET on a new connection.
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    let mut c = Conn::open(addr);
    c.ask(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
}

/// Threads of this process.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}
