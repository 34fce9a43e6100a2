//! Hostile clients against the real agent: every row of the HTTP-layer table (lengths that
//! lie, versions above 1.1, silent sockets, bodies that never come, huge heads, smuggling,
//! descriptor exhaustion), each with its outcome asserted and the agent serving throughout.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use util::raw::*;
use util::*;

/// Connections the agent serves at once by default, and the threads it has besides them
/// (main, sampler, signals, accept).
const CAP: u64 = 16;
const OWN_THREADS: u64 = 4;

fn assert_threads_within_cap(agent: &Agent) {
    let n = threads(agent.proc.pid());
    assert!(n <= CAP + OWN_THREADS, "{n} threads");
}

#[test]
fn idle_half_open_connections_do_not_block_a_normal_request() {
    let agent = Agent::start(&[]);
    let mut idle = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(agent.proc.addr).unwrap();
        // A request line and one header, then silence: the connection waits for the rest.
        s.write_all(b"GET /systeminfo HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        idle.push(s);
    }
    let r = agent.get("/systeminfo");
    assert_eq!(r.status, 200);
    assert!(r.json()["memory"]["total"].as_u64().unwrap() > 0);
    assert_threads_within_cap(&agent);
    drop(idle);
    assert_eq!(agent.get("/healthz").status, 200);
}

#[test]
fn three_hundred_silent_connections_stay_under_the_cap() {
    let agent = Agent::start(&[]);
    let silent: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(agent.proc.addr).ok())
        .collect();
    assert!(silent.len() >= 250, "only {} connected", silent.len());
    for _ in 0..5 {
        assert_eq!(agent.get("/systeminfo").status, 200);
        assert_threads_within_cap(&agent);
    }
    drop(silent);
    assert_eq!(agent.get("/healthz").status, 200);
}

#[test]
fn one_mib_header_line_does_not_crash_it() {
    let mut agent = Agent::start(&[]);
    let mut s = TcpStream::connect(agent.proc.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = b"GET /systeminfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Long: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    req.extend_from_slice(b"\r\n\r\n");
    // The server may answer or hang up; either way it must live on.
    let _ = s.write_all(&req);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    if !buf.is_empty() {
        assert!(
            buf.starts_with(b"HTTP/1.1 "),
            "{}",
            String::from_utf8_lossy(&buf[..buf.len().min(200)])
        );
        // Nothing from the request is echoed into the response headers.
        assert!(!buf.windows(64).any(|w| w.iter().all(|b| *b == b'a')));
    }
    assert_eq!(agent.get("/systeminfo").status, 200);
    assert_eq!(
        agent.proc.wait_exit(Duration::from_millis(100)),
        None,
        "the agent exited"
    );
}

#[test]
fn a_64_mib_header_line_gets_431_and_costs_no_memory() {
    let agent = Agent::start(&[]);
    assert_eq!(agent.get("/systeminfo").status, 200);
    let before = peak_rss_kib(agent.proc.pid());
    let (status, sent) = send_streaming(
        agent.proc.addr,
        b"GET /systeminfo HTTP/1.1\r\nHost: x\r\nX-Long: ",
        &[b'a'; 64 * 1024],
        1024,
    );
    assert_eq!(status, Some(431));
    assert!(sent < 64 << 20, "the agent read all {sent} bytes");
    let after = peak_rss_kib(agent.proc.pid());
    assert!(after < before + 2048, "peak RSS {before} -> {after} KiB");
    assert_eq!(agent.get("/systeminfo").status, 200);
}

#[test]
fn a_hundred_thousand_headers_get_431() {
    let agent = Agent::start(&[]);
    let (status, _) = send_streaming(
        agent.proc.addr,
        b"GET /systeminfo HTTP/1.1\r\nHost: x\r\n",
        b"X: y\r\n",
        100_000,
    );
    assert_eq!(status, Some(431));
    assert_eq!(agent.get("/systeminfo").status, 200);
}

#[test]
fn lying_content_lengths_are_answered_and_never_abort_or_deafen_it() {
    let mut agent = Agent::start(&[]);
    let before = peak_rss_kib(agent.proc.pid());
    // tiny_http aborted on the first and lost a worker to each of the second.
    for cl in ["9000000000000000000", "18446744073709551615"] {
        for _ in 0..20 {
            let raw = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\n");
            let out = exchange(agent.proc.addr, raw.as_bytes());
            assert_eq!(
                status_of(&out),
                Some(200),
                "{}",
                String::from_utf8_lossy(&out)
            );
            assert!(closes(&out), "the unread body must close the connection");
        }
    }
    assert_eq!(agent.get("/systeminfo").status, 200);
    assert_eq!(agent.proc.wait_exit(Duration::from_millis(100)), None);
    assert!(peak_rss_kib(agent.proc.pid()) < before + 2048);
}

#[test]
fn versions_above_1_1_get_505_and_leak_no_thread() {
    let agent = Agent::start(&[]);
    let before = threads(agent.proc.pid());
    for _ in 0..60 {
        let out = exchange(agent.proc.addr, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&out), Some(505));
    }
    assert!(
        eventually(Duration::from_secs(10), || threads(agent.proc.pid())
            <= before),
        "{} threads, {before} before",
        threads(agent.proc.pid())
    );
    assert_eq!(agent.get("/systeminfo").status, 200);
}

#[test]
fn bodies_that_never_come_do_not_stop_http() {
    let agent = Agent::start(&[]);
    // More than the cap: the longest-waiting is closed to make room for a normal request.
    let held: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = TcpStream::connect(agent.proc.addr).unwrap();
            s.write_all(b"POST /systeminfo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    for _ in 0..5 {
        assert_eq!(agent.get("/systeminfo").status, 200);
    }
    drop(held);
}

/// Each framing trick hides a second request (`GET /systeminfo` without a token, which would
/// be answered 401): exactly one answer must come back.
#[test]
fn smuggled_requests_are_never_answered() {
    let agent = Agent::start(&[]);
    let hidden = "GET /systeminfo HTTP/1.1\r\nHost: x\r\n\r\n";
    let n = hidden.len();
    for (raw, status) in [
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{hidden}"
            ),
            400,
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n{hidden}"
            ),
            501,
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: {n}\r\n\r\n{hidden}"
            ),
            400,
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0x{n:x}\r\n\r\n{hidden}"),
            400,
        ),
    ] {
        let out = exchange(agent.proc.addr, raw.as_bytes());
        assert_eq!(status_of(&out), Some(status), "{raw:?}");
        assert_eq!(
            answers(&out),
            1,
            "{raw:?}: {}",
            String::from_utf8_lossy(&out)
        );
    }
    // A chunked body on a GET is read as a body and dropped: the request after it is the
    // only other answer.
    let raw = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{n:x}\r\n{hidden}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let out = exchange(agent.proc.addr, raw.as_bytes());
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert_eq!(answers(&out), 2, "{text}");
}

#[test]
fn a_large_unwanted_body_is_refused_and_the_agent_lives_on() {
    let agent = Agent::start(&[]);
    let body = vec![b'x'; 4 * 1024 * 1024];
    let r = request(agent.proc.addr, "POST", "/systeminfo", &[], &body);
    assert_eq!(r.status, 405);
    assert_eq!(agent.get("/healthz").status, 200);
}

#[test]
fn garbage_request_lines_do_not_crash_it() {
    let agent = Agent::start(&[]);
    for junk in [
        &b"\x00\x01\x02\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"\r\n\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(agent.proc.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(junk);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
    }
    assert_eq!(agent.get("/systeminfo").status, 200);
}

#[test]
fn two_hundred_requests_on_one_kept_alive_connection() {
    let agent = Agent::start(&[]);
    let mut conn = KeepAlive::connect(agent.proc.addr).unwrap();
    let auth = format!("Bearer {}", agent.token);
    for i in 0..200 {
        let r = conn
            .get("/systeminfo", &[("Authorization", &auth)])
            .unwrap_or_else(|e| panic!("answer {i}: {e}"));
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with(b"{"));
    }
    assert!(!conn.is_closed());
}

/// Out of file descriptors, the agent pauses its accepts, says so once, and serves again by
/// itself once they free up: it neither exits nor lives on deaf.
#[test]
fn running_out_of_descriptors_pauses_accepts_and_recovers() {
    let dir = TempDir::new("agent-nofile");
    let bin = bin().display().to_string();
    let mut proc = Proc::start(
        std::path::Path::new("/bin/sh"),
        &[
            "-c",
            "ulimit -n 24 && exec \"$0\" \"$@\"",
            &bin,
            "--listen",
            "127.0.0.1:0",
            "--sample-interval",
            "1",
            // Descriptors, not the connection cap, must be what runs out.
            "--max-connections",
            "64",
        ],
        dir.path(),
        &[],
    );
    let token = std::fs::read_to_string(dir.join("client_token.txt")).unwrap();
    let auth = format!("Bearer {}", token.trim());
    // Each connection costs the agent a descriptor: far more than 24 are asked for.
    let held: Vec<TcpStream> = (0..40)
        .filter_map(|_| TcpStream::connect(proc.addr).ok())
        .collect();
    assert!(
        proc.wait_for(Duration::from_secs(10), |l| l
            .contains("event=accept_failed"))
            .is_some(),
        "no accept failure was logged:\n{}",
        proc.output()
    );
    drop(held);
    let r = get_as(proc.addr, "/systeminfo", &auth);
    assert_eq!(r.status, 200);
    assert!(
        proc.wait_for(Duration::from_secs(10), |l| l
            .contains("event=accept_recovered"))
            .is_some()
    );
    let failures = proc.output().matches("event=accept_failed").count();
    assert!(failures <= 3, "the burst was logged {failures} times");
    assert_eq!(
        proc.wait_exit(Duration::from_millis(100)),
        None,
        "it exited"
    );
}
