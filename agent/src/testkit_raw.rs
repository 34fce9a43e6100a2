//! Raw HTTP exchanges for the hostile-client suites of both binaries (bytes sent as given,
//! answers read as they come, the connection read to its end), and what /proc says about the
//! process under test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s
}

/// Sends `raw` on a new connection and reads until the server closes it.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    let _ = s.write_all(raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends `head`, then `chunk` up to `times` times (stopping when the server hangs up), and
/// returns the answer's status and how many bytes of `chunk` went out.
pub fn send_streaming(
    addr: SocketAddr,
    head: &[u8],
    chunk: &[u8],
    times: usize,
) -> (Option<u16>, usize) {
    let mut s = connect(addr);
    let mut sent = 0;
    let _ = s.write_all(head);
    for _ in 0..times {
        if s.write_all(chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (status_of(&out), sent)
}

/// The status of the first answer in `raw`.
pub fn status_of(raw: &[u8]) -> Option<u16> {
    if !raw.starts_with(b"HTTP/1.1 ") {
        return None;
    }
    std::str::from_utf8(raw.get(9..12)?).ok()?.parse().ok()
}

/// Whether the first answer says `Connection: close`.
pub fn closes(raw: &[u8]) -> bool {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end])
        .to_ascii_lowercase()
        .contains("\r\nconnection: close")
}

/// Status lines in a raw exchange: how many answers came back.
pub fn answers(raw: &[u8]) -> usize {
    raw.windows(9).filter(|w| *w == b"HTTP/1.1 ").count()
}

/// A field of /proc/PID/status as a number ("Threads:", "VmHWM:" in KiB, ...).
pub fn proc_status(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

pub fn threads(pid: u32) -> u64 {
    proc_status(pid, "Threads:")
}

/// Peak resident memory so far, KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    proc_status(pid, "VmHWM:")
}

/// Waits up to `within` for `cond`, checking every 50 ms.
pub fn eventually(within: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}
