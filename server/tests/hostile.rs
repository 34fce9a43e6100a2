//! Hostile clients against the real server: the rows of the HTTP-layer table (lengths that
//! lie, versions above 1.1, silent sockets, bodies that never come, huge heads, smuggling,
//! descriptor exhaustion), each with its outcome asserted and the server serving throughout.

mod util;

use std::time::Duration;

use util::raw::*;
use util::*;

/// The server's default connection cap.
const CAP: u64 = 128;

fn start() -> Server {
    Server::start(&["--no-local"], &[])
}

fn healthy(s: &Server) -> bool {
    request(s.addr(), "GET", "/healthz", &[], b"").status == 200
}

#[test]
fn lying_content_lengths_are_answered_and_never_abort_or_deafen_it() {
    let mut s = start();
    let before = peak_rss_kib(s.proc.pid());
    // tiny_http aborted on the first and lost one of its 16 workers to each of the second.
    for cl in ["9000000000000000000", "18446744073709551615"] {
        assert_lying_length_answered(s.addr(), cl);
        // A route that reads its body refuses the length before reading anything.
        let raw = format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {cl}\r\n\r\n"
        );
        assert_status(&exchange(s.addr(), raw.as_bytes()), 413);
    }
    assert!(healthy(&s));
    assert_eq!(s.proc.wait_exit(Duration::from_millis(100)), None);
    assert!(peak_rss_kib(s.proc.pid()) < before + 4096);
}

#[test]
fn versions_above_1_1_get_505_and_leak_no_thread() {
    let s = start();
    assert_versions_above_1_1_refused(s.addr(), s.proc.pid());
    assert!(healthy(&s));
}

#[test]
fn three_hundred_silent_connections_stay_under_the_cap() {
    let s = start();
    let own = threads(s.proc.pid());
    let silent = silent(s.addr(), 300);
    assert!(silent.len() >= 250, "only {} connected", silent.len());
    for _ in 0..5 {
        assert!(healthy(&s));
        // A connection's thread that has just left its slot may still be ending while the
        // next starts: the count gets a moment to settle, and one that stays over fails.
        let pid = s.proc.pid();
        let settled = eventually(Duration::from_secs(5), || threads(pid) <= own + CAP);
        assert!(settled, "{} threads, {own} of its own", threads(pid));
    }
    drop(silent);
    assert!(healthy(&s));
}

#[test]
fn bodies_that_never_come_do_not_stop_http() {
    let s = start();
    // More than the cap: the longest-waiting is closed to make room for a normal request.
    let held = waiting(
        s.addr(),
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        200,
    );
    for _ in 0..5 {
        assert!(healthy(&s));
    }
    drop(held);
}

#[test]
fn a_64_mib_header_line_gets_431_and_costs_no_memory() {
    let s = start();
    assert!(healthy(&s));
    assert_64_mib_header_line_refused(s.addr(), s.proc.pid(), "/healthz");
    assert!(healthy(&s));
}

#[test]
fn a_hundred_thousand_headers_get_431() {
    let s = start();
    assert_a_hundred_thousand_headers_refused(s.addr(), "/healthz");
    assert!(healthy(&s));
}

/// Each framing trick hides a second request: exactly one answer comes back.
#[test]
fn smuggled_requests_are_never_answered() {
    let s = start();
    let hidden = "GET /api/computers HTTP/1.1\r\nHost: x\r\n\r\n";
    let n = hidden.len();
    let login = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json";
    for (raw, status) in [
        (
            format!(
                "{login}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{hidden}"
            ),
            400,
        ),
        (
            format!("{login}\r\nTransfer-Encoding: gzip\r\n\r\n{hidden}"),
            501,
        ),
        (
            format!("{login}\r\nContent-Length: 2\r\nContent-Length: {n}\r\n\r\n{{}}{hidden}"),
            400,
        ),
        (
            format!("{login}\r\nContent-Length: 0x{n:x}\r\n\r\n{hidden}"),
            400,
        ),
    ] {
        assert_answered_once(s.addr(), &raw, status);
    }
    // A chunked body on a GET is a body: read, dropped, never run.
    assert_chunked_body_of_a_get_dropped(s.addr(), hidden);
}

#[test]
fn a_chunked_login_is_read_like_any_other() {
    let pw = made_up_secret("chunked");
    let s = Server::start(&["--no-local"], &[("ADMIN_PASSWORD", &pw)]);
    let body = format!(r#"{{"username":"admin","password":"{pw}"}}"#);
    let (a, b) = body.split_at(10);
    let raw = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let out = exchange(s.addr(), raw.as_bytes());
    assert_status(&out, 200);
    assert!(String::from_utf8_lossy(&out).contains("lanstat_session="));
}

#[test]
fn two_hundred_requests_on_one_kept_alive_connection() {
    let s = start();
    assert_two_hundred_kept_alive(s.addr(), "/healthz", &[]);
}

/// Out of file descriptors, the server pauses its accepts, says so once, and serves again by
/// itself once they free up: it neither exits nor lives on deaf.
#[test]
fn running_out_of_descriptors_pauses_accepts_and_recovers() {
    let dir = TempDir::new("server-nofile");
    let db = dir.join("stats.db").display().to_string();
    let mut proc = start_with_descriptor_limit(
        server_bin(),
        64,
        &[
            "--listen",
            "127.0.0.1:0",
            "--db",
            &db,
            "--no-local",
            // Descriptors, not the connection cap, must be what runs out.
            "--max-connections",
            "512",
        ],
        dir.path(),
    );
    assert_accepts_pause_and_recover(&mut proc, 120, |addr| {
        assert!(eventually(Duration::from_secs(10), || {
            try_request(addr, "GET", "/healthz", &[], b"").is_ok_and(|r| r.status == 200)
        }));
    });
}
