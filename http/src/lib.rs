//! lanstat-http: the bounded HTTP/1.1 server both lanstat programs serve with.
//!
//! Synchronous, one thread per connection, at most [`Limits::max_connections`] of them, and
//! nothing a client sends can make it allocate, wait or keep a thread beyond a limit set
//! here. A handler is a plain function from a [`Request`] to a [`Response`].
//!
//! ```no_run
//! use lanstat_http::{Limits, Response, Server, StatusCode};
//!
//! let server = Server::bind("127.0.0.1:0", Limits::default()).unwrap();
//! println!("listening on {}", server.local_addr());
//! let running = server
//!     .serve(
//!         |req| match req.path() {
//!             "/healthz" => Response::json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
//!             _ => Response::error(StatusCode::NOT_FOUND, "not_found", "not found"),
//!         },
//!         |why| eprintln!("the listener died: {why}"),
//!     )
//!     .unwrap();
//! running.stop();
//! ```
//!
//! What it guarantees (RFC 9112 framing, deadlines, the connection cap, panics answered with
//! 500) is written where it is enforced: `head.rs` (request heads), `body.rs` (bodies),
//! `conn.rs` (one connection) and `server.rs` (accepting and the cap).
#![forbid(unsafe_code)]

mod body;
mod conn;
mod date;
mod head;
mod registry;
mod request;
mod response;
mod server;
mod wire;

use std::time::Duration;

pub use body::BodyError;
pub use head::Refusal;
pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};
pub use request::Request;
pub use response::{InvalidHeader, Response};
pub use server::{Running, Server, describe_bind_error};

/// What one client may cost. The defaults are the server's; the agent lowers
/// `max_connections`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once, each on its own thread. When full, the connection that
    /// has waited longest on its client (for a head, or for a body its handler asked for) is
    /// closed to make room; when every one is busy, a new one gets 503.
    pub max_connections: usize,
    /// The request line, in bytes (414).
    pub max_request_line: usize,
    /// The whole head, in bytes (431).
    pub max_head: usize,
    /// Header fields in a head (431); at most 128.
    pub max_headers: usize,
    /// A head must arrive within this of the connection, or of its first byte on a kept-alive
    /// connection (408).
    pub head_timeout: Duration,
    /// A body must arrive within this of the handler asking for it (408).
    pub body_timeout: Duration,
    /// A kept-alive connection with no new request for this long is closed.
    pub idle_timeout: Duration,
    /// A write that cannot progress for this long ends the connection.
    pub write_timeout: Duration,
    /// A body its handler did not read is read and dropped up to this many bytes, so the
    /// connection can go on; a longer one closes the connection.
    pub max_discard: usize,
    /// How long a closing connection keeps reading (and dropping, up to `max_discard`) what the
    /// client still sends, so the answer reaches it instead of a reset.
    pub linger: Duration,
    /// Stack size of each connection's thread.
    pub stack_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 128,
            max_request_line: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 100,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(30),
            max_discard: 64 * 1024,
            linger: Duration::from_secs(2),
            stack_size: 256 * 1024,
        }
    }
}

/// The path of a request target, without its query (which may carry secrets), cut short and
/// with anything but visible ASCII replaced, for a log line.
pub fn path_for_log(target: &str) -> String {
    target
        .split('?')
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
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
}
