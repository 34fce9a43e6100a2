//! A connection's socket and what has been read from it but not used yet: reads against a
//! deadline into a buffer never larger than a head may be, and answers written in one go.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use crate::body::Source;

/// The socket and what has been read from it but not used yet (a head, the start of a body,
/// pipelined requests). Never larger than `Limits::max_head`.
pub(crate) struct Wire {
    stream: Arc<TcpStream>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Wire {
    pub fn new(stream: Arc<TcpStream>, size: usize) -> Wire {
        Wire {
            stream,
            buf: vec![0; size.max(1024)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Reads once, before `deadline`, into the free end of the buffer. `Ok(0)` is the client
    /// closing; a passed deadline is `TimedOut`; a full buffer reads nothing and says so.
    pub fn read_more(&mut self, deadline: Instant) -> io::Result<usize> {
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

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        (&*self.stream).write_all(bytes)
    }

    /// Head and body in one vectored write (one segment train with TCP_NODELAY), looping
    /// only when the socket takes part of it.
    pub fn write_two(&mut self, head: &[u8], body: &[u8]) -> io::Result<()> {
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

    /// Half-closes, then reads and drops what the client still sends until it closes too,
    /// `deadline`, or `max` bytes.
    pub fn linger(&mut self, deadline: Instant, max: usize) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let mut dropped = 0;
        while dropped <= max {
            self.start = 0;
            self.end = 0;
            match self.read_more(deadline) {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
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
