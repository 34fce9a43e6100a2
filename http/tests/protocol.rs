//! What well-behaved clients get: keep-alive, pipelining, HEAD, 100-continue, HTTP/1.0,
//! chunked bodies, and the fields every answer carries.

mod util;

use std::io::{Read, Write};
use std::time::Duration;

use util::*;

#[test]
fn two_hundred_requests_on_one_kept_alive_connection() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    let mut pending = Vec::new();
    for i in 0..200 {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s, &mut pending, false).unwrap_or_else(|| panic!("request {i}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"ok");
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
        assert_eq!(r.header("content-length").as_deref(), Some("2"));
        assert!(!r.closes());
    }
    assert_eq!(srv.connections(), 1);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    s.write_all(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst\
          GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut pending = Vec::new();
    let answers: Vec<(u16, Vec<u8>)> = (0..5)
        .map(|_| {
            let r = read_response(&mut s, &mut pending, false).unwrap();
            (r.status, r.body)
        })
        .collect();
    assert_eq!(answers[0], (200, b"ok".to_vec()));
    assert_eq!(answers[1], (200, b"first".to_vec()));
    assert_eq!(answers[2].0, 404);
    assert_eq!(answers[3], (200, b"second".to_vec()));
    assert_eq!(answers[4], (200, b"ok".to_vec()));
    assert!(closed_within(&mut s, Duration::from_secs(2)));
}

#[test]
fn head_works_for_every_get_route() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    let mut pending = Vec::new();
    s.write_all(b"HEAD /big HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let head = read_response(&mut s, &mut pending, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(BIG.to_string()));
    // The next answer follows at once: no body was sent for the HEAD.
    let next = read_response(&mut s, &mut pending, false).unwrap();
    assert_eq!(next.body, b"ok");
    assert_eq!(srv.ran("/big"), 1, "the GET handler answered the HEAD");
}

#[test]
fn expect_continue_gets_100_only_when_the_body_is_read() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    )
    .unwrap();
    let mut pending = Vec::new();
    let cont = read_response(&mut s, &mut pending, false).unwrap();
    assert_eq!(cont.status, 100);
    s.write_all(b"hello").unwrap();
    let r = read_response(&mut s, &mut pending, false).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    assert!(!r.closes());

    // A route that does not read the body answers without 100 and closes: the client never
    // sent the body, and nothing it sends later is taken for a request.
    let mut s = connect(srv.addr);
    s.write_all(
        b"POST /sink HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    )
    .unwrap();
    let mut pending = Vec::new();
    let r = read_response(&mut s, &mut pending, false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.closes());
    // And a body over the limit is refused without 100.
    let mut s = connect(srv.addr);
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s, &mut Vec::new(), false).unwrap();
    assert_eq!(r.status, 413);
}

#[test]
fn http_1_0_keeps_the_connection_only_when_asked() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(String::from_utf8_lossy(&out).contains("Connection: close"));

    let mut s = connect(srv.addr);
    let mut pending = Vec::new();
    for _ in 0..3 {
        s.write_all(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s, &mut pending, false).unwrap();
        assert_eq!(r.header("connection").as_deref(), Some("keep-alive"));
    }
}

#[test]
fn small_unread_bodies_are_skipped_and_the_connection_goes_on() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    let mut pending = Vec::new();
    for _ in 0..3 {
        s.write_all(b"POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            .unwrap();
        let r = read_response(&mut s, &mut pending, false).unwrap();
        assert_eq!(r.status, 200);
        assert!(!r.closes());
    }
    // Over the discard bound (64 KiB): answered, then closed.
    s.write_all(b"POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, &mut pending, false).unwrap();
    assert!(r.closes());
}

#[test]
fn stop_finishes_requests_in_hand_and_closes_idle_ones() {
    let mut srv = start(limits());
    let mut idle = connect(srv.addr);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut idle, &mut Vec::new(), false)
            .unwrap()
            .status,
        200
    );
    let mut busy = connect(srv.addr);
    busy.write_all(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while srv.seen.blocked.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let addr = srv.addr;
    let stopper = srv.stop_in_background();
    // Stopping closes the idle connection at once; the busy request, released after that, is
    // answered and told to close.
    assert!(closed_within(&mut idle, Duration::from_secs(3)));
    srv.open_gate();
    let r = read_response(&mut busy, &mut Vec::new(), false).unwrap();
    assert_eq!(r.body, b"unblocked");
    assert!(r.closes());
    stopper.join().unwrap();
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
