//! Hostile clients: idle half-open connections, huge header lines, bodies nobody asked for.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use util::*;

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
    drop(idle);
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
