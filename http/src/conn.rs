//! One connection on its own thread: heads read within their deadline, one handler call per
//! request, bodies read or discarded within bounds, answers written in one piece and in
//! order, and a closing connection that lingers briefly so its last answer is not lost.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};

use crate::body::{Body, Source};
use crate::date;
use crate::head::{self, Head, Refusal};
use crate::limits::Limits;
use crate::registry::{Shared, Slot};
use crate::request::{Incoming, Request};
use crate::response::Response;
use crate::wire::Wire;

/// A request handler.
pub(crate) type Handler = dyn Fn(&mut Request<'_>) -> Response + Send + Sync;

enum HeadRead {
    Head(Box<Head>),
    /// The client left, stayed silent, or was evicted: close without an answer.
    Gone,
    Refused(Refusal),
}

/// Serves requests on one accepted connection until it closes.
pub(crate) fn serve(
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    shared: &Shared,
    slot: &Slot,
    handler: &Handler,
) {
    let limits = &shared.limits;
    let accepted = Instant::now();
    let _ = stream.set_write_timeout(Some(limits.write_timeout));
    let mut wire = Wire::new(stream, limits.max_head);
    let mut since = accepted;
    let mut first = true;
    loop {
        shared.set_waiting(slot, since);
        let head = match read_head(&mut wire, limits, first, since) {
            HeadRead::Head(h) => *h,
            HeadRead::Gone => return,
            HeadRead::Refused(r) => {
                if shared.set_busy(slot) {
                    let answer = Response::error(r.status, r.code, r.reason);
                    let _ = write(&mut wire, &answer, http::Version::HTTP_11, false, false);
                    linger(&mut wire, limits, shared, slot);
                }
                return;
            }
        };
        if !shared.set_busy(slot) {
            return;
        }
        let keep = exchange(&mut wire, head, peer, shared, slot, handler);
        if !keep {
            linger(&mut wire, limits, shared, slot);
            return;
        }
        since = Instant::now();
        first = false;
    }
}

/// Reads until a head is complete. A new connection must send it within `head_timeout`; a
/// kept-alive one may stay silent up to `idle_timeout`, then has `head_timeout` from its
/// first byte (or from the previous answer, for a pipelined request already buffered).
fn read_head(wire: &mut Wire, limits: &Limits, first: bool, since: Instant) -> HeadRead {
    let mut head_deadline =
        (first || !wire.buffered().is_empty()).then(|| since + limits.head_timeout);
    let idle_deadline = since + limits.idle_timeout;
    let mut scan = head::Scan::default();
    loop {
        match scan.feed(wire.buffered(), limits) {
            Ok(Some((h, n))) => {
                wire.consume(n);
                return HeadRead::Head(Box::new(h));
            }
            Ok(None) => {}
            Err(r) => return HeadRead::Refused(r),
        }
        let deadline = head_deadline.unwrap_or(idle_deadline);
        match wire.read_more(deadline) {
            Ok(0) => return HeadRead::Gone,
            Ok(_) => {
                head_deadline.get_or_insert_with(|| Instant::now() + limits.head_timeout);
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return if wire.buffered().is_empty() {
                    HeadRead::Gone
                } else {
                    HeadRead::Refused(head::TIMED_OUT)
                };
            }
            Err(_) => return HeadRead::Gone,
        }
    }
}

/// One request and its answer. Returns whether the connection may carry another.
fn exchange(
    wire: &mut Wire,
    head: Head,
    peer: SocketAddr,
    shared: &Shared,
    slot: &Slot,
    handler: &Handler,
) -> bool {
    let limits = &shared.limits;
    let head_only = head.method == Method::HEAD;
    let version = head.version;
    let mut keep = head.keep_alive;
    let incoming = Incoming {
        body: Body::new(head.framing),
        expect_continue: head.expect_continue,
        continue_sent: false,
        refused: false,
        body_timeout: limits.body_timeout,
        wire,
        shared,
        slot,
    };
    let mut req = Request::new(head, peer, incoming);
    let answer = match catch_unwind(AssertUnwindSafe(|| handler(&mut req))) {
        Ok(r) => r,
        Err(_) => {
            eprintln!(
                "event=handler_panic method={} path={}",
                req.method(),
                path_for_log(req.path())
            );
            keep = false;
            Response::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    };
    let Incoming {
        wire,
        mut body,
        expect_continue,
        continue_sent,
        refused,
        ..
    } = req.incoming;
    if shared.is_stopping() || answer.asks_to_close() {
        keep = false;
    }
    if !body.is_done() {
        // A body nobody read must not be parsed as the next request: drop it if it is small
        // and arriving, else close. A client still waiting for `100 Continue` will not send it.
        let waits_for_continue = expect_continue && !continue_sent;
        let skippable = !(refused || body.is_broken() || waits_for_continue);
        if keep && skippable {
            let now = Instant::now();
            shared.set_waiting(slot, now);
            keep = body
                .discard(wire, limits.max_discard, now + limits.body_timeout)
                .is_ok()
                && shared.set_busy(slot);
        } else {
            keep = false;
        }
    }
    write(wire, &answer, version, keep, head_only).is_ok() && keep
}

fn write(
    wire: &mut Wire,
    answer: &Response,
    version: http::Version,
    keep: bool,
    head_only: bool,
) -> io::Result<()> {
    let (head, body) = answer.encode(version, keep, head_only, &date::now());
    wire.write_two(&head, body)
}

/// Closes after a moment of reading and dropping what the client still sends (at most
/// `max_discard` bytes), so that closing with unread data does not reset the connection
/// before the client has read the answer. Meanwhile it may be closed to make room.
fn linger(wire: &mut Wire, limits: &Limits, shared: &Shared, slot: &Slot) {
    shared.set_waiting(slot, Instant::now());
    wire.linger(Instant::now() + limits.linger, limits.max_discard);
}

/// The path of a request target, without its query (which may carry secrets), cut short and
/// with anything but visible ASCII replaced, for a log line.
fn path_for_log(target: &str) -> String {
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
