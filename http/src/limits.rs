//! What one client may cost: the bounds every connection is held to.

use std::time::Duration;

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
