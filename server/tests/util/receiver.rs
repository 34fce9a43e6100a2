//! A webhook receiver on loopback: records every request (method, path, headers, body) and
//! answers as told: 200, another status, or never.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Loopback;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// Reads the request and never answers.
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

type Log = Arc<(Mutex<Vec<Received>>, Condvar)>;

pub struct Receiver {
    pub addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    log: Log,
    _listening: Loopback,
}

impl Receiver {
    pub fn start(answer: Answer) -> Receiver {
        let answer = Arc::new(Mutex::new(answer));
        let log: Log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let listening = {
            let (answer, log) = (answer.clone(), log.clone());
            Loopback::start(move |conn, stop| {
                let answer = *answer.lock().unwrap();
                serve(conn, answer, &log, stop);
            })
        };
        Receiver {
            addr: listening.addr,
            answer,
            log,
            _listening: listening,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, a: Answer) {
        *self.answer.lock().unwrap() = a;
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.0.lock().unwrap().clone()
    }

    /// Waits (up to 60 s, as `until`) until the requests received satisfy `pred`, and returns
    /// them.
    pub fn wait(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let (lock, cv) = &*self.log;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut got = lock.lock().unwrap();
        loop {
            if pred(&got) {
                return got.clone();
            }
            let now = Instant::now();
            assert!(now < deadline, "the receiver never saw {what}: {got:#?}");
            got = cv.wait_timeout(got, deadline - now).unwrap().0;
        }
    }
}

fn serve(mut conn: TcpStream, answer: Answer, log: &Log, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    {
        let (lock, cv) = &**log;
        lock.lock().unwrap().push(Received {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        cv.notify_all();
    }
    match answer {
        Answer::Status(s) => {
            let _ = conn.write_all(
                format!("HTTP/1.1 {s} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
                    .as_bytes(),
            );
        }
        Answer::Hang => {
            // Hold the connection open until the client gives up or the test ends.
            let mut sink = [0u8; 64];
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
                match conn.read(&mut sink) {
                    Ok(0) => return,
                    Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }
}
