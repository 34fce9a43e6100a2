//! A request body: read to its end within a limit and a deadline, by `Content-Length` or
//! `chunked` (RFC 9112 §7.1), or discarded within a small bound so the connection can carry
//! the next request. The decoder never trusts a number the client sent to size anything.

use std::io;
use std::time::Instant;

use http::StatusCode;

use crate::head::Framing;

/// Why a body could not be read. Every one of them ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// Larger than the route accepts (the limit given).
    TooLarge(usize),
    /// It did not arrive before the body deadline.
    Timeout,
    /// The client hung up before the end.
    Incomplete,
    /// Broken chunked framing.
    Malformed(&'static str),
}

impl BodyError {
    /// Stable and machine-readable, for an answer's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::TooLarge(_) => "body_too_large",
            BodyError::Timeout => "body_timeout",
            BodyError::Incomplete => "body_incomplete",
            BodyError::Malformed(_) => "bad_chunked_body",
        }
    }

    /// The status a handler should answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Timeout => StatusCode::REQUEST_TIMEOUT,
            BodyError::Incomplete | BodyError::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(limit) => {
                if limit % 1024 == 0 {
                    write!(f, "request body larger than {} KiB", limit / 1024)
                } else {
                    write!(f, "request body larger than {limit} bytes")
                }
            }
            BodyError::Timeout => f.write_str("the request body did not arrive in time"),
            BodyError::Incomplete => f.write_str("the request body ended early"),
            BodyError::Malformed(why) => write!(f, "malformed chunked body: {why}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// Where body bytes come from: the connection's buffer, refilled from the socket.
pub(crate) trait Source {
    /// Bytes read but not yet used.
    fn buffered(&self) -> &[u8];
    /// Marks `n` buffered bytes as used.
    fn consume(&mut self, n: usize);
    /// Reads more into the buffer before `deadline`. `Ok(0)`: the client closed.
    /// A passed deadline is `ErrorKind::TimedOut`.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize>;
}

/// The longest chunk-size line (size and extensions) we read.
const MAX_CHUNK_LINE: usize = 1024;
/// The trailer section after the last chunk, read and dropped.
const MAX_TRAILERS: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length {
        left: u64,
    },
    ChunkSize,
    ChunkData {
        left: u64,
    },
    ChunkEnd,
    Trailers {
        seen: usize,
    },
    Done,
    /// A read failed part-way: the framing is lost and the connection must close.
    Broken,
}

/// Progress through one request's body.
#[derive(Debug)]
pub(crate) struct Body {
    state: State,
}

impl Body {
    pub fn new(framing: Framing) -> Body {
        let state = match framing {
            Framing::Empty => State::Done,
            Framing::Length(n) => State::Length { left: n },
            Framing::Chunked => State::ChunkSize,
        };
        Body { state }
    }

    /// Whether the whole body has been read (or there was none).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the body has started and cannot be finished: the connection must close.
    pub fn is_broken(&self) -> bool {
        self.state == State::Broken
    }

    /// Bytes still expected, when the framing says so.
    pub fn known_left(&self) -> Option<u64> {
        match self.state {
            State::Length { left } => Some(left),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Reads the rest of the body, at most `limit` bytes of content and `wire_limit` bytes
    /// from the connection. A declared length over `limit` is refused before reading.
    pub fn read_to_vec(
        &mut self,
        src: &mut dyn Source,
        limit: usize,
        deadline: Instant,
    ) -> Result<Vec<u8>, BodyError> {
        if let State::Length { left } = self.state
            && left > limit as u64
        {
            return Err(BodyError::TooLarge(limit));
        }
        let mut out = Vec::new();
        // Chunk sizes and extensions cost wire bytes too: allow a generous overhead, but not
        // an unbounded one (a body of one-byte chunks, each with a long extension).
        let wire_limit = (limit as u64).saturating_mul(2).saturating_add(16 * 1024);
        self.run(src, deadline, wire_limit, limit, &mut |piece| {
            if out.len() + piece.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            out.extend_from_slice(piece);
            Ok(())
        })?;
        Ok(out)
    }

    /// Reads and drops the rest of the body, if it fits in `max` bytes of the wire.
    pub fn discard(
        &mut self,
        src: &mut dyn Source,
        max: usize,
        deadline: Instant,
    ) -> Result<(), BodyError> {
        if let State::Length { left } = self.state
            && left > max as u64
        {
            return Err(BodyError::TooLarge(max));
        }
        self.run(src, deadline, max as u64, max, &mut |_| Ok(()))
    }

    fn run(
        &mut self,
        src: &mut dyn Source,
        deadline: Instant,
        wire_limit: u64,
        limit: usize,
        take: &mut dyn FnMut(&[u8]) -> Result<(), BodyError>,
    ) -> Result<(), BodyError> {
        let mut wire = 0u64;
        let result = self.step_all(src, deadline, wire_limit, &mut wire, take);
        // Too many bytes on the wire is reported as the limit the caller knows.
        let result = result.map_err(|e| match e {
            BodyError::TooLarge(_) => BodyError::TooLarge(limit),
            e => e,
        });
        if result.is_err() {
            self.state = State::Broken;
        }
        result
    }

    fn step_all(
        &mut self,
        src: &mut dyn Source,
        deadline: Instant,
        wire_limit: u64,
        wire: &mut u64,
        take: &mut dyn FnMut(&[u8]) -> Result<(), BodyError>,
    ) -> Result<(), BodyError> {
        loop {
            if *wire > wire_limit {
                return Err(BodyError::TooLarge(0));
            }
            match self.state {
                State::Done => return Ok(()),
                State::Broken => return Err(BodyError::Malformed("an earlier read failed")),
                State::Length { left } | State::ChunkData { left } => {
                    if src.buffered().is_empty() {
                        fill(src, deadline)?;
                    }
                    let avail = src.buffered();
                    let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    take(&avail[..n])?;
                    src.consume(n);
                    *wire += n as u64;
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Length { .. } if left == 0 => State::Done,
                        State::Length { .. } => State::Length { left },
                        _ if left == 0 => State::ChunkEnd,
                        _ => State::ChunkData { left },
                    };
                }
                State::ChunkSize => {
                    let line = line(src, deadline, MAX_CHUNK_LINE, wire)?;
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers { seen: 0 }
                    } else {
                        State::ChunkData { left: size }
                    };
                }
                State::ChunkEnd => {
                    let line = line(src, deadline, 2, wire)?;
                    if !line.is_empty() {
                        return Err(BodyError::Malformed("chunk data longer than its size"));
                    }
                    self.state = State::ChunkSize;
                }
                State::Trailers { seen } => {
                    let room = MAX_TRAILERS.saturating_sub(seen);
                    if room == 0 {
                        return Err(BodyError::Malformed("trailer section too large"));
                    }
                    let line = line(src, deadline, room, wire)?;
                    if line.is_empty() {
                        self.state = State::Done;
                    } else if !line.contains(&b':') {
                        return Err(BodyError::Malformed("trailer field without a colon"));
                    } else {
                        self.state = State::Trailers {
                            seen: seen + line.len() + 2,
                        };
                    }
                }
            }
        }
    }
}

fn fill(src: &mut dyn Source, deadline: Instant) -> Result<(), BodyError> {
    match src.fill(deadline) {
        Ok(0) => Err(BodyError::Incomplete),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(BodyError::Timeout),
        Err(_) => Err(BodyError::Incomplete),
    }
}

/// One CRLF-ended line of at most `max` bytes before the CRLF, consumed, without the CRLF.
/// A bare CR or a bare LF is malformed: chunked framing is where smuggling hides.
fn line(
    src: &mut dyn Source,
    deadline: Instant,
    max: usize,
    wire: &mut u64,
) -> Result<Vec<u8>, BodyError> {
    loop {
        let buf = src.buffered();
        if let Some(lf) = buf.iter().position(|b| *b == b'\n') {
            if lf == 0 || buf[lf - 1] != b'\r' {
                return Err(BodyError::Malformed("line not ended by CRLF"));
            }
            let content = &buf[..lf - 1];
            if content.len() > max {
                return Err(BodyError::Malformed("line too long"));
            }
            if content.contains(&b'\r') {
                return Err(BodyError::Malformed("bare CR"));
            }
            let out = content.to_vec();
            src.consume(lf + 1);
            *wire += lf as u64 + 1;
            return Ok(out);
        }
        // `max` content, a CR, and room for the LF still to come.
        if buf.len() > max + 1 {
            return Err(BodyError::Malformed("line too long"));
        }
        fill(src, deadline)?;
    }
}

/// `1*HEXDIG [ chunk-ext ]`: the size, checked for overflow; extensions are skipped.
fn chunk_size(line: &[u8]) -> Result<u64, BodyError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(BodyError::Malformed("missing chunk size"));
    }
    if digits > 16 {
        return Err(BodyError::Malformed("chunk size too large"));
    }
    let rest = &line[digits..];
    let ext = rest.trim_ascii_start();
    if !(ext.is_empty() || ext.starts_with(b";")) {
        return Err(BodyError::Malformed("invalid chunk size"));
    }
    if ext.iter().any(|b| b.is_ascii_control() && *b != b'\t') {
        return Err(BodyError::Malformed(
            "control character in a chunk extension",
        ));
    }
    let text = std::str::from_utf8(&line[..digits]).expect("hex digits are ASCII");
    u64::from_str_radix(text, 16).map_err(|_| BodyError::Malformed("chunk size too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Bytes handed out a few at a time, as a slow client sends them.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        buf: Vec<u8>,
        /// When set, the source times out instead of ending.
        stalls: bool,
    }

    impl Trickle {
        fn new(data: &[u8], step: usize) -> Trickle {
            Trickle {
                data: data.to_vec(),
                pos: 0,
                step,
                buf: Vec::new(),
                stalls: false,
            }
        }
    }

    impl Source for Trickle {
        fn buffered(&self) -> &[u8] {
            &self.buf
        }
        fn consume(&mut self, n: usize) {
            self.buf.drain(..n);
        }
        fn fill(&mut self, _deadline: Instant) -> io::Result<usize> {
            if self.pos == self.data.len() {
                if self.stalls {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                return Ok(0);
            }
            let end = (self.pos + self.step).min(self.data.len());
            self.buf.extend_from_slice(&self.data[self.pos..end]);
            let n = end - self.pos;
            self.pos = end;
            Ok(n)
        }
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    /// Decodes `raw` arriving in pieces of 1, 3 and all bytes: each must give the same
    /// answer. Returns it and what was left unread.
    fn chunked(raw: &[u8], limit: usize) -> (Result<Vec<u8>, BodyError>, Vec<u8>) {
        let mut answers = Vec::new();
        for step in [1, 3, raw.len().max(1)] {
            let mut src = Trickle::new(raw, step);
            let mut body = Body::new(Framing::Chunked);
            let r = body.read_to_vec(&mut src, limit, later());
            let mut rest = src.buf.clone();
            rest.extend_from_slice(&src.data[src.pos..]);
            answers.push((r, rest));
        }
        let last = answers.pop().expect("three answers");
        for a in &answers {
            assert_eq!(a.0, last.0, "the answer depends on how the bytes arrive");
            if last.0.is_ok() {
                assert_eq!(a.1, last.1);
            }
        }
        last
    }

    fn malformed(raw: &[u8]) {
        for step in [1, 2, 7, raw.len().max(1)] {
            let mut src = Trickle::new(raw, step);
            let mut body = Body::new(Framing::Chunked);
            let r = body.read_to_vec(&mut src, 1 << 20, later());
            assert!(
                matches!(r, Err(BodyError::Malformed(_) | BodyError::Incomplete)),
                "{:?} (step {step}) gave {r:?}",
                String::from_utf8_lossy(raw)
            );
            assert!(body.is_broken());
        }
    }

    #[test]
    fn malformed_chunked_bodies_are_refused() {
        malformed(b"g\r\nabc\r\n0\r\n\r\n");
        malformed(b"\r\nabc\r\n0\r\n\r\n");
        malformed(b"3\nabc\r\n0\r\n\r\n"); // bare LF after the size
        malformed(b"3\rabc\r\n0\r\n\r\n"); // bare CR
        malformed(b"3\r\nabcd\r\n0\r\n\r\n"); // data longer than its size
        malformed(b"3\r\nabc\n0\r\n\r\n"); // data not ended by CRLF
        malformed(b"3 x\r\nabc\r\n0\r\n\r\n"); // junk after the size
        malformed(b"-3\r\nabc\r\n0\r\n\r\n");
        malformed(b"0x3\r\nabc\r\n0\r\n\r\n");
        malformed(b"10000000000000000\r\n"); // 17 digits: overflow
        malformed(b"3;a\x00b\r\nabc\r\n0\r\n\r\n");
        malformed(b"3\r\nabc\r\n0\r\nno colon\r\n\r\n");
        malformed(b"3\r\nab"); // the client hangs up
    }

    #[test]
    fn long_lines_and_trailers_are_bounded() {
        let mut ext = b"3;".to_vec();
        ext.extend(std::iter::repeat_n(b'a', 2000));
        ext.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
        malformed(&ext);
        // A size line that never ends is refused once it is too long, not read forever.
        let endless = vec![b'1'; 100_000];
        malformed(&endless);
        let mut trailers = b"0\r\n".to_vec();
        for i in 0..1000 {
            trailers.extend_from_slice(format!("X-{i}: aaaaaaaaaaaaaaaa\r\n").as_bytes());
        }
        trailers.extend_from_slice(b"\r\n");
        malformed(&trailers);
    }

    #[test]
    fn chunked_bodies_over_the_limit_are_refused_as_they_arrive() {
        let (r, _) = chunked(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 8);
        assert_eq!(r, Err(BodyError::TooLarge(8)));
        // A huge declared chunk is refused without waiting for (or allocating) it.
        let mut src = Trickle::new(b"ffffffffffffffff\r\nabc", 100);
        let mut body = Body::new(Framing::Chunked);
        assert_eq!(
            body.read_to_vec(&mut src, 1024, later()),
            Err(BodyError::Incomplete)
        );
        let mut src = Trickle::new(b"ffffffffffffffff\r\n", 100);
        src.stalls = true;
        let mut body = Body::new(Framing::Chunked);
        assert_eq!(
            body.read_to_vec(&mut src, 1024, later()),
            Err(BodyError::Timeout)
        );
    }

    /// A chunked body of `n` chunks of `size` bytes, each with an extension `extension` bytes
    /// long (none when 0), and the last chunk.
    fn chunks(n: usize, size: usize, extension: usize) -> Vec<u8> {
        let mut raw = Vec::new();
        for _ in 0..n {
            raw.extend_from_slice(format!("{size:x}").as_bytes());
            if extension > 0 {
                raw.push(b';');
                raw.extend(std::iter::repeat_n(b'e', extension));
            }
            raw.extend_from_slice(b"\r\n");
            raw.extend(std::iter::repeat_n(b'x', size));
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        raw
    }

    #[test]
    fn one_byte_chunks_with_long_extensions_cost_wire_budget() {
        let raw = chunks(200, 1, 900);
        let (r, _) = chunked(&raw, 1024);
        assert_eq!(r, Err(BodyError::TooLarge(1024)));
    }

    #[test]
    fn chunked_bodies_decode_and_leave_the_next_request() {
        let raw =
            b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nGET / HTTP/1.1\r\n";
        let (r, rest) = chunked(raw, 64);
        assert_eq!(r.unwrap(), b"hello world");
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
        let (r, rest) = chunked(b"A\r\n0123456789\r\n0\r\n\r\n", 10);
        assert_eq!(r.unwrap(), b"0123456789");
        assert!(rest.is_empty());
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let mut src = Trickle::new(b"", 1);
        let mut body = Body::new(Framing::Length(u64::MAX));
        assert_eq!(
            body.read_to_vec(&mut src, 64 * 1024, later()),
            Err(BodyError::TooLarge(64 * 1024))
        );
        assert_eq!(src.pos, 0, "nothing was read");
        let mut body = Body::new(Framing::Length(9_000_000_000_000_000_000));
        assert_eq!(
            body.discard(&mut src, 64 * 1024, later()),
            Err(BodyError::TooLarge(64 * 1024))
        );
    }

    #[test]
    fn a_length_body_reads_exactly_its_length() {
        let mut src = Trickle::new(b"abcdefGET", 2);
        let mut body = Body::new(Framing::Length(6));
        assert_eq!(body.read_to_vec(&mut src, 6, later()).unwrap(), b"abcdef");
        assert!(body.is_done());
        let mut rest = src.buf.clone();
        rest.extend_from_slice(&src.data[src.pos..]);
        assert_eq!(rest, b"GET");
    }

    #[test]
    fn short_and_slow_length_bodies_fail_and_break_the_body() {
        let mut src = Trickle::new(b"abc", 1);
        let mut body = Body::new(Framing::Length(6));
        assert_eq!(
            body.read_to_vec(&mut src, 6, later()),
            Err(BodyError::Incomplete)
        );
        assert!(body.is_broken());
        let mut src = Trickle::new(b"abc", 1);
        src.stalls = true;
        let mut body = Body::new(Framing::Length(6));
        assert_eq!(
            body.read_to_vec(&mut src, 6, later()),
            Err(BodyError::Timeout)
        );
    }

    #[test]
    fn discarding_is_bounded_on_the_wire() {
        let raw = chunks(100, 0x400, 0);
        let mut src = Trickle::new(&raw, 4096);
        let mut body = Body::new(Framing::Chunked);
        assert!(body.discard(&mut src, 64 * 1024, later()).is_err());
        assert!(body.is_broken());
        let mut src = Trickle::new(b"3\r\nabc\r\n0\r\n\r\nnext", 2);
        let mut body = Body::new(Framing::Chunked);
        body.discard(&mut src, 64 * 1024, later()).unwrap();
        assert!(body.is_done());
    }
}
