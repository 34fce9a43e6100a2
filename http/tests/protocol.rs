//! What well-behaved clients get: keep-alive, pipelining, HEAD, 100-continue, HTTP/1.0,
//! chunked bodies, and the fields every answer carries.

mod util;

use std::io::Read;
use std::time::Duration;

use util::*;

#[test]
fn two_hundred_requests_on_one_kept_alive_connection() {
    let srv = start(limits());
    let mut c = Conn::open(srv.addr);
    for _ in 0..200 {
        let r = c.ask(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        r.assert_keeps(200);
        assert_eq!(r.body, b"ok");
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
        assert_eq!(r.header("content-length").as_deref(), Some("2"));
    }
    assert_eq!(srv.connections(), 1);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = start(limits());
    let mut c = srv.send(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst\
          GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let answers: Vec<(u16, Vec<u8>)> = (0..5)
        .map(|_| {
            let r = c.answer();
            (r.status, r.body)
        })
        .collect();
    assert_eq!(answers[0], (200, b"ok".to_vec()));
    assert_eq!(answers[1], (200, b"first".to_vec()));
    assert_eq!(answers[2].0, 404);
    assert_eq!(answers[3], (200, b"second".to_vec()));
    assert_eq!(answers[4], (200, b"ok".to_vec()));
    assert!(closed_within(&mut c.stream, Duration::from_secs(2)));
}

#[test]
fn head_works_for_every_get_route() {
    let srv = start(limits());
    let mut c =
        srv.send(b"HEAD /big HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = c.answer_to_head();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(BIG.to_string()));
    // The next answer follows at once: no body was sent for the HEAD.
    let next = c.answer();
    assert_eq!(next.body, b"ok");
    assert_eq!(srv.ran("/big"), 1, "the GET handler answered the HEAD");
}

#[test]
fn expect_continue_gets_100_only_when_the_body_is_read() {
    let srv = start(limits());
    // A POST of `length` bytes to `path` that waits for 100 Continue before its body.
    let expect = |path: &str, length: usize| {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: {length}\r\n\r\n"
        );
        srv.send(head.as_bytes())
    };
    let mut c = expect("/echo", 5);
    let cont = c.answer();
    assert_eq!(cont.status, 100);
    let r = c.ask(b"hello");
    r.assert_keeps(200);
    assert_eq!(r.body, b"hello");

    // A route that does not read the body answers without 100 and closes: the client never
    // sent the body, and nothing it sends later is taken for a request.
    expect("/sink", 5).answer().assert_closes(200);
    // And a body over the limit is refused without 100.
    let r = expect("/echo", 5000).answer();
    assert_eq!(r.status, 413);
}

#[test]
fn http_1_0_keeps_the_connection_only_when_asked() {
    let srv = start(limits());
    let mut c = srv.send(b"GET /healthz HTTP/1.0\r\n\r\n");
    let mut out = Vec::new();
    c.stream.read_to_end(&mut out).unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(String::from_utf8_lossy(&out).contains("Connection: close"));

    let mut c = Conn::open(srv.addr);
    for _ in 0..3 {
        let r = c.ask(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(r.header("connection").as_deref(), Some("keep-alive"));
    }
}

#[test]
fn small_unread_bodies_are_skipped_and_the_connection_goes_on() {
    let srv = start(limits());
    let mut c = Conn::open(srv.addr);
    for _ in 0..3 {
        c.ask(b"POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            .assert_keeps(200);
    }
    // Over the discard bound (64 KiB): answered, then closed.
    let r = c.ask(b"POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n");
    assert!(r.closes());
}

#[test]
fn stop_finishes_requests_in_hand_and_closes_idle_ones() {
    let mut srv = start(limits());
    let mut idle = srv.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(idle.answer().status, 200);
    let mut busy = srv.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
    until("the blocking request started", || {
        srv.seen.blocked.load(std::sync::atomic::Ordering::SeqCst) > 0
    });
    let addr = srv.addr;
    let stopper = srv.stop_in_background();
    // Stopping closes the idle connection at once; the busy request, released after that, is
    // answered and told to close.
    assert!(closed_within(&mut idle.stream, Duration::from_secs(3)));
    srv.open_gate();
    let r = busy.answer();
    assert_eq!(r.body, b"unblocked");
    assert!(r.closes());
    stopper.join().unwrap();
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
