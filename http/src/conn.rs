//! One connection on its own thread: heads read within their deadline, one handler call per
//! request, bodies read or discarded within bounds, answers written in one piece and in
//! order, and a closing connection that lingers briefly so its last answer is not lost.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};

use crate::body::{Body, Source};
use crate::head::{self, Head, Refusal};
use crate::request::{Incoming, Request};
use crate::response::Response;
use crate::server::{Handler, Shared, Slot};
use crate::{Limits, date, path_for_log};

/// The socket and what has been read from it but not used yet (a head, the start of a body,
/// pipelined requests). Never larger than `Limits::max_head`.
pub(crate) struct Wire {
    stream: Arc<TcpStream>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Wire {
    fn new(stream: Arc<TcpStream>, size: usize) -> Wire {
        Wire {
            stream,
            buf: vec![0; size.max(1024)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Reads once, before `deadline`, into the free end of the buffer. `Ok(0)` is the client
    /// closing; a passed deadline is `TimedOut`; a full buffer reads nothing and says so.
    fn read_more(&mut self, deadline: Instant) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Err(io::Error::other("buffer full"));
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.stream.set_read_timeout(Some(deadline - now))?;
            match (&*self.stream).read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        (&*self.stream).write_all(bytes)
    }

    /// Head and body in one vectored write (one segment train with TCP_NODELAY), looping
    /// only when the socket takes part of it.
    fn write_two(&mut self, head: &[u8], body: &[u8]) -> io::Result<()> {
        let mut bufs = [IoSlice::new(head), IoSlice::new(body)];
        let mut bufs = &mut bufs[..];
        while !bufs.is_empty() {
            match (&*self.stream).write_vectored(bufs) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Source for Wire {
    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        self.read_more(deadline)
    }
}

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
                    let answer = Response::error(r.status, r.reason);
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
                    HeadRead::Refused(Refusal {
                        status: StatusCode::REQUEST_TIMEOUT,
                        reason: "the request head did not arrive in time",
                    })
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
            Response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
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

/// Half-closes, then reads and drops what the client still sends for a moment (at most
/// `max_discard` bytes), so that closing with unread data does not reset the connection
/// before the client has read the answer.
fn linger(wire: &mut Wire, limits: &Limits, shared: &Shared, slot: &Slot) {
    shared.set_waiting(slot, Instant::now());
    let _ = wire.stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + limits.linger;
    let mut dropped = 0;
    while dropped <= limits.max_discard {
        wire.start = 0;
        wire.end = 0;
        match wire.read_more(deadline) {
            Ok(0) | Err(_) => break,
            Ok(n) => dropped += n,
        }
    }
}
