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
mod limits;
mod registry;
mod request;
mod response;
mod server;
mod wire;

pub use body::BodyError;
pub use date::UtcTime;
pub use head::Refusal;
pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};
pub use limits::Limits;
pub use request::Request;
pub use response::{InvalidHeader, Response};
pub use server::{Running, Server, describe_bind_error};
