//! Hosting an HTTP handler on tiny_http, shared by the agent and the server: bind, a fixed
//! pool of worker threads, a panic in a handler answered with a 500 instead of a dead worker,
//! clean shutdown, and a listener failure reported so the process exits instead of living on
//! deaf (tiny_http's accept thread ends for good on an accept error such as EMFILE).

use std::io::{Cursor, Read};
use std::net::{SocketAddr, TcpListener};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use tiny_http::{Header, Request, Response, StatusCode};

use crate::Error;

/// What every response is.
pub type Reply = Response<Cursor<Vec<u8>>>;

/// Why the process should stop.
#[derive(Debug)]
pub enum Event {
    /// A stop signal arrived (SIGTERM, SIGINT, SIGHUP).
    Signal(&'static str),
    /// The listener died; the service manager should restart us.
    ListenerFailed(String),
}

/// Binds `addr` ("0.0.0.0:8000", "127.0.0.1:0", "[::]:8000").
pub fn bind(addr: &str) -> Result<(tiny_http::Server, SocketAddr), Error> {
    let listener = TcpListener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => " (the port is in use: is another instance running?)",
            std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
            std::io::ErrorKind::AddrNotAvailable => " (no interface has that address)",
            _ => "",
        };
        Error::Listen(format!("cannot listen on {addr}: {e}{hint}"))
    })?;
    crate::sys::raise_backlog(&listener, 1024);
    let local = listener
        .local_addr()
        .map_err(|e| Error::Listen(format!("cannot listen on {addr}: {e}")))?;
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| Error::Listen(format!("cannot listen on {addr}: {e}")))?;
    Ok((server, local))
}

/// A running pool of workers. [`Workers::stop`] finishes the requests in hand and returns.
pub struct Workers {
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Serves `handler` on `count` worker threads. A listener failure is sent on `events`.
pub fn start<H>(
    server: tiny_http::Server,
    count: usize,
    handler: H,
    events: Sender<Event>,
) -> Result<Workers, Error>
where
    H: Fn(&mut Request) -> Reply + Send + Sync + 'static,
{
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let handler = Arc::new(handler);
    let mut threads = Vec::with_capacity(count);
    for i in 0..count.max(1) {
        let (server, stopping, handler, events) = (
            server.clone(),
            stopping.clone(),
            handler.clone(),
            events.clone(),
        );
        let t = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || worker(&server, &stopping, &*handler, &events))
            .map_err(|e| Error::Listen(format!("cannot start worker threads: {e}")))?;
        threads.push(t);
    }
    Ok(Workers {
        server,
        stopping,
        threads,
    })
}

impl Workers {
    pub fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn worker(
    server: &tiny_http::Server,
    stopping: &AtomicBool,
    handler: &dyn Fn(&mut Request) -> Reply,
    events: &Sender<Event>,
) {
    loop {
        let mut req = match server.recv() {
            Ok(r) => r,
            Err(e) => {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                // Only an accept error reaches here: the accept thread has ended for good.
                let _ = events.send(Event::ListenerFailed(e.to_string()));
                return;
            }
        };
        if stopping.load(Ordering::SeqCst) {
            let _ = req.respond(error(503, "shutting down"));
            return;
        }
        let reply = match catch_unwind(AssertUnwindSafe(|| handler(&mut req))) {
            Ok(r) => r,
            Err(_) => {
                eprintln!(
                    "event=handler_panic method={} path={}",
                    req.method(),
                    path_for_log(req.url())
                );
                error(500, "internal error")
            }
        };
        let _ = req.respond(reply);
    }
}

/// The path without its query string, cut short, for a log line: queries may carry secrets.
pub fn path_for_log(url: &str) -> String {
    let p = url.split('?').next().unwrap_or("");
    let p: String = p
        .chars()
        .take(120)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    p
}

pub fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values we build are ASCII")
}

/// A response with a body and content type.
pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
    Response::from_data(body)
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", content_type))
}

/// A JSON response.
pub fn json<T: serde::Serialize + ?Sized>(status: u16, value: &T) -> Reply {
    let body = serde_json::to_vec(value)
        .unwrap_or_else(|_| b"{\"error\":\"cannot encode response\"}".to_vec());
    bytes(status, "application/json", body)
}

/// `{"error": "..."}` with a status.
pub fn error(status: u16, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}

/// The request body, at most `limit` bytes. `Err(true)` when it is larger, `Err(false)` when
/// it could not be read.
pub fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    if req.body_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    req.as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|_| BodyError::Unreadable)?;
    if body.len() > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// A request header's value, if present and valid UTF-8.
pub fn header_value<'a>(req: &'a Request, name: &'static str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// The bearer token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &Request) -> Option<&str> {
    let v = header_value(req, "Authorization")?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Waits for a stop signal in a named thread and reports it on `events`.
pub fn forward_signals(events: Sender<Event>) {
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let sig = crate::sys::wait_for_stop_signal();
            let _ = events.send(Event::Signal(sig));
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_paths_drop_queries_and_control_characters() {
        assert_eq!(path_for_log("/a?token=secret"), "/a");
        assert_eq!(path_for_log("/a\nb"), "/a?b");
        assert_eq!(path_for_log(&"x".repeat(500)).len(), 120);
    }

    #[test]
    fn port_in_use_is_a_clear_error() {
        let (_s, addr) = bind("127.0.0.1:0").unwrap();
        let err = bind(&addr.to_string()).err().unwrap().to_string();
        assert!(err.contains("in use"), "{err}");
    }
}
