//! Raw HTTP exchanges for the hostile-client suites of both binaries (bytes sent as given,
//! answers read as they come, the connection read to its end), the checks those suites share,
//! and what /proc says about the process under test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s
}

/// What the server sends on `s` until it closes the connection.
fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends `raw` on a new connection and reads until the server closes it.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    let _ = s.write_all(raw);
    read_all(&mut s)
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
    (status_of(&read_all(&mut s)), sent)
}

/// Opens `n` connections and writes `raw` on each: requests that wait for the rest.
pub fn waiting(addr: SocketAddr, raw: &[u8], n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(raw).expect("write the start of a request");
            s
        })
        .collect()
}

/// Opens up to `n` connections that send nothing; those that could not connect are left out.
pub fn silent(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect()
}

/// A GET of `path` with one header line of 1 MiB of `fill`, asking to close.
pub fn one_mib_header_line(path: &str, fill: u8) -> Vec<u8> {
    let mut req =
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Long: ").into_bytes();
    req.extend(std::iter::repeat_n(fill, 1024 * 1024));
    req.extend_from_slice(b"\r\n\r\n");
    req
}

/// The status of the first answer in `raw`.
pub fn status_of(raw: &[u8]) -> Option<u16> {
    if !raw.starts_with(b"HTTP/1.1 ") {
        return None;
    }
    std::str::from_utf8(raw.get(9..12)?).ok()?.parse().ok()
}

/// Asserts that the first answer in `raw` has the status `want`, showing the answer if not.
pub fn assert_status(raw: &[u8], want: u16) {
    let text = String::from_utf8_lossy(raw);
    assert_eq!(status_of(raw), Some(want), "{text}");
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

// ---------------------------------------------------------------------------------------
// Checks both hostile-client suites make. Each asserts what the HTTP layer promises; whether
// the process still serves afterwards is the suite's to check, on its own routes.

/// GETs `/healthz` 20 times with a `Content-Length` of `length` and no body: each is answered
/// 200 and the connection closed, the body never waited for.
pub fn assert_lying_length_answered(addr: SocketAddr, length: &str) {
    for _ in 0..20 {
        let raw = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
        let out = exchange(addr, raw.as_bytes());
        assert_status(&out, 200);
        assert!(closes(&out), "an unread body must close the connection");
    }
}

/// Sends 60 requests for HTTP/2.0: each gets 505, and the threads of `pid` fall back to what
/// they were before.
pub fn assert_versions_above_1_1_refused(addr: SocketAddr, pid: u32) {
    let before = threads(pid);
    for _ in 0..60 {
        let out = exchange(addr, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&out), Some(505));
    }
    assert!(
        eventually(Duration::from_secs(10), || threads(pid) <= before),
        "{} threads, {before} before",
        threads(pid)
    );
}

/// Streams a 64 MiB header line at `path`: answered 431 before it is all read, and the peak
/// memory of `pid` grows by under 2 MiB.
pub fn assert_64_mib_header_line_refused(addr: SocketAddr, pid: u32, path: &str) {
    let before = peak_rss_kib(pid);
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Long: ");
    let (status, sent) = send_streaming(addr, head.as_bytes(), &[b'a'; 64 * 1024], 1024);
    assert_eq!(status, Some(431));
    assert!(sent < 64 << 20, "all {sent} bytes were read");
    let after = peak_rss_kib(pid);
    assert!(after < before + 2048, "peak RSS {before} -> {after} KiB");
}

/// Streams a head of 100 000 short header lines at `path`: answered 431.
pub fn assert_a_hundred_thousand_headers_refused(addr: SocketAddr, path: &str) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\n");
    let (status, _) = send_streaming(addr, head.as_bytes(), b"X: y\r\n", 100_000);
    assert_eq!(status, Some(431));
}

/// Sends `raw`, a request with a second one hidden behind a framing trick: it is answered
/// `status`, and only once.
pub fn assert_answered_once(addr: SocketAddr, raw: &str, status: u16) {
    let out = exchange(addr, raw.as_bytes());
    assert_eq!(status_of(&out), Some(status), "{raw:?}");
    assert_eq!(
        answers(&out),
        1,
        "{raw:?}: {}",
        String::from_utf8_lossy(&out)
    );
}

/// Sends a GET of `/healthz` with `hidden` as its chunked body, then a second GET: the body is
/// read and dropped, and only the two GETs are answered.
pub fn assert_chunked_body_of_a_get_dropped(addr: SocketAddr, hidden: &str) {
    let raw = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{hidden}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        hidden.len()
    );
    let out = exchange(addr, raw.as_bytes());
    let text = String::from_utf8_lossy(&out);
    assert_eq!(answers(&out), 2, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
}

// ---------------------------------------------------------------------------------------
// The process under test, as /proc shows it.

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
