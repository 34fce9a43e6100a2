//! What a handler sees: the request head, the client's address, and the body on demand.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::header::AsHeaderName;
use http::{HeaderMap, Method, Uri, Version};

use crate::body::{Body, BodyError};
use crate::head::Head;
use crate::registry::{Shared, Slot};
use crate::wire::Wire;

/// One request. The body stays on the connection until [`Request::body`] asks for it, with
/// the route's limit: a body over the limit is refused before a byte of it is read.
/// A `HEAD` request reaches the handler as `GET`; the connection drops the body it answers.
pub struct Request<'c> {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    peer: SocketAddr,
    pub(crate) incoming: Incoming<'c>,
}

/// The body's side of the connection, handed back to it after the handler.
pub(crate) struct Incoming<'c> {
    pub wire: &'c mut Wire,
    /// While the body is awaited the connection waits on its client, and may be closed to
    /// make room like one awaiting a head.
    pub shared: &'c Shared,
    pub slot: &'c Slot,
    pub body: Body,
    pub expect_continue: bool,
    pub continue_sent: bool,
    /// The handler refused the body for its size: the connection closes.
    pub refused: bool,
    pub body_timeout: Duration,
}

impl<'c> Request<'c> {
    pub(crate) fn new(head: Head, peer: SocketAddr, incoming: Incoming<'c>) -> Request<'c> {
        let method = if head.method == Method::HEAD {
            Method::GET
        } else {
            head.method
        };
        Request {
            method,
            uri: head.uri,
            version: head.version,
            headers: head.headers,
            peer,
            incoming,
        }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The path of the target, `/` at least.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query of the target, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of a header field, if it is there and visible ASCII.
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token of an `Authorization: Bearer <token>` field.
    pub fn bearer(&self) -> Option<&str> {
        let v = self.header(http::header::AUTHORIZATION)?.trim();
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The client's address (the TCP peer: a proxy's, when there is one).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the request declares a body.
    pub fn has_body(&self) -> bool {
        !self.incoming.body.is_done()
    }

    /// Reads the whole body, at most `limit` bytes, within the body deadline. A declared
    /// length over `limit` is refused before anything is read (and before `100 Continue`).
    /// After an error the connection closes once the answer is sent.
    pub fn body(&mut self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let inc = &mut self.incoming;
        if inc.body.is_done() {
            return Ok(Vec::new());
        }
        if inc.body.known_left().is_some_and(|n| n > limit as u64) {
            inc.refused = true;
            return Err(BodyError::TooLarge(limit));
        }
        if inc.expect_continue && !inc.continue_sent {
            inc.continue_sent = true;
            inc.wire
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .map_err(|_| BodyError::Incomplete)?;
        }
        let now = Instant::now();
        inc.shared.set_waiting(inc.slot, now);
        let body = inc
            .body
            .read_to_vec(inc.wire, limit, now + inc.body_timeout);
        if !inc.shared.set_busy(inc.slot) {
            return Err(BodyError::Incomplete);
        }
        body
    }
}
