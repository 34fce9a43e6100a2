//! Agents written in the test: each answers every request the same chosen way, from a
//! well-formed original JSON to garbage, oversize bodies, or silence.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Loopback;

#[derive(Clone)]
pub enum Behaviour {
    /// 200 with this body.
    Body(String),
    /// 200 with `n` bytes of JSON-ish padding.
    Huge(usize),
    /// This status with a small body.
    Status(u16),
    /// Headers, then one byte of body every `every`, forever.
    Trickle(Duration),
    /// Accepts and never answers.
    Silent,
}

/// The original Python client's JSON, with a chosen hostname and counters.
pub fn original_json(hostname: &str, sent: u64, recv: u64) -> String {
    format!(
        r#"{{"cpu_percent": 12.5, "memory": {{"total": 8000000000, "used": 2000000000, "percent": 25.0}},
        "disk": {{"total": 64000000000, "used": 16000000000, "percent": 25.0}},
        "network": {{"bytes_sent": {sent}, "bytes_recv": {recv}}},
        "network_usage": {{"bytes_sent_per_sec": 100.0, "bytes_recv_per_sec": 200.0}},
        "hostname": {hostname:?}, "system": "Linux"}}"#
    )
}

pub struct FakeAgent {
    pub addr: SocketAddr,
    pub behaviour: Arc<Mutex<Behaviour>>,
    pub requests: Arc<AtomicU64>,
    /// The last Authorization header seen.
    pub last_auth: Arc<Mutex<String>>,
    /// Set: anything but `Bearer <this>` gets a 401 that offers only Bearer, as an agent
    /// that knows nothing of signing (the original Python client) answers.
    pub bearer_only: Arc<Mutex<Option<String>>>,
    /// Requests for `/history`, answered 404 as the original Python client does (and not
    /// counted in `requests`).
    pub history_asked: Arc<AtomicU64>,
    _listening: Loopback,
}

impl FakeAgent {
    pub fn start(b: Behaviour) -> FakeAgent {
        let behaviour = Arc::new(Mutex::new(b));
        let requests = Arc::new(AtomicU64::new(0));
        let last_auth = Arc::new(Mutex::new(String::new()));
        let bearer_only = Arc::new(Mutex::new(None::<String>));
        let history_asked = Arc::new(AtomicU64::new(0));
        let listening = {
            let (behaviour, requests, last_auth, only, history) = (
                behaviour.clone(),
                requests.clone(),
                last_auth.clone(),
                bearer_only.clone(),
                history_asked.clone(),
            );
            Loopback::start(move |conn, _| {
                let b = behaviour.lock().unwrap().clone();
                let only = only.lock().unwrap().clone();
                let counters = Counters {
                    requests: &requests,
                    history: &history,
                };
                answer(conn, b, counters, &last_auth, only.as_deref());
            })
        };
        FakeAgent {
            addr: listening.addr,
            behaviour,
            requests,
            last_auth,
            bearer_only,
            history_asked,
            _listening: listening,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }

    /// Answers only `Bearer token` from now on (see [`FakeAgent::bearer_only`]).
    pub fn only_bearer(&self, token: &str) {
        *self.bearer_only.lock().unwrap() = Some(token.to_string());
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// How many times `/history` was asked for.
    pub fn history_asked(&self) -> u64 {
        self.history_asked.load(Ordering::SeqCst)
    }
}

struct Counters<'a> {
    requests: &'a AtomicU64,
    history: &'a AtomicU64,
}

fn answer(
    mut conn: TcpStream,
    b: Behaviour,
    counters: Counters,
    last_auth: &Mutex<String>,
    bearer_only: Option<&str>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    let mut auth = String::new();
    let mut history = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line.starts_with("GET /history") {
            history = true;
        }
        if let Some(v) = line
            .strip_prefix("Authorization:")
            .or_else(|| line.strip_prefix("authorization:"))
        {
            auth = v.trim().to_string();
            *last_auth.lock().unwrap() = auth.clone();
        }
        if line == "\r\n" {
            break;
        }
    }
    if history {
        counters.history.fetch_add(1, Ordering::SeqCst);
        let _ = conn.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let head = |status: u16, len: Option<usize>| {
        let len = len
            .map(|n| format!("Content-Length: {n}\r\n"))
            .unwrap_or_default();
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{len}Connection: close\r\n\r\n"
        )
    };
    if let Some(token) = bearer_only
        && auth != format!("Bearer {token}")
    {
        let _ = conn.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\
              Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        );
        return;
    }
    let _ = match b {
        Behaviour::Body(body) => {
            conn.write_all(format!("{}{body}", head(200, Some(body.len()))).as_bytes())
        }
        Behaviour::Huge(n) => {
            let _ = conn.write_all(head(200, Some(n)).as_bytes());
            let chunk = vec![b' '; 64 * 1024];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                if conn.write_all(&chunk[..k]).is_err() {
                    break;
                }
                left -= k;
            }
            Ok(())
        }
        Behaviour::Status(s) => conn.write_all(format!("{}{{}}", head(s, Some(2))).as_bytes()),
        Behaviour::Trickle(every) => {
            let _ = conn.write_all(head(200, Some(1_000_000)).as_bytes());
            for _ in 0..100_000 {
                std::thread::sleep(every);
                if conn.write_all(b" ").is_err() {
                    break;
                }
            }
            Ok(())
        }
        Behaviour::Silent => {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        }
    };
}
