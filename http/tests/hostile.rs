//! Clients that hurt, on real loopback sockets: every row of the HTTP-layer table, each with
//! what happened asserted and a normal request served during and after.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use lanstat_http::Limits;
use util::*;

#[test]
fn a_huge_content_length_is_answered_then_closed_and_nothing_is_allocated_for_it() {
    let srv = start(limits());
    for cl in ["9000000000000000000", "18446744073709551615"] {
        for _ in 0..16 {
            let raw = format!("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: {cl}\r\n\r\n");
            let out = exchange_raw(srv.addr, raw.as_bytes());
            // Answered, then closed (read_to_end returned): the body is never drained.
            assert_status(&out, 200);
            assert!(String::from_utf8_lossy(&out).contains("Connection: close"));
        }
        // A route that reads bodies refuses it before reading, with 413.
        let raw = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(
            status_of(&exchange_raw(srv.addr, raw.as_bytes())),
            Some(413)
        );
    }
    srv.assert_serving();
    assert!(srv.settles_to(0, Duration::from_secs(5)));
}

#[test]
fn versions_above_1_1_get_505_and_leak_nothing() {
    let srv = start(limits());
    let before = threads();
    for version in ["HTTP/2.0", "HTTP/1.2", "HTTP/3.0"] {
        for _ in 0..20 {
            let raw = format!("GET / {version}\r\nHost: t\r\n\r\n");
            let out = exchange_raw(srv.addr, raw.as_bytes());
            assert_eq!(status_of(&out), Some(505), "{version}");
        }
    }
    assert!(
        srv.settles_to(0, Duration::from_secs(5)),
        "connections left open"
    );
    // Other tests run in this process too: allow for theirs, not for 60 of ours.
    assert!(
        threads() < before + 20,
        "{} threads, {before} before",
        threads()
    );
    srv.assert_serving();
}

#[test]
fn silent_connections_never_lock_out_a_client() {
    let srv = start(limits());
    let cap = srv.cap;
    let mut silent = Vec::new();
    for i in 0..300 {
        if let Ok(s) = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)) {
            silent.push(s);
        }
        if i % 50 == 0 {
            srv.assert_serving();
        }
        assert!(
            srv.connections() <= cap,
            "{} connections",
            srv.connections()
        );
    }
    srv.assert_serving();
    assert!(srv.connections() <= cap);
    // The head deadline closes what is left.
    assert!(srv.settles_to(0, Duration::from_secs(5)));
    drop(silent);
}

#[test]
fn slow_heads_are_closed_to_make_room_oldest_first() {
    let srv = start(Limits {
        head_timeout: Duration::from_secs(30),
        ..limits()
    });
    // Every slot taken by a client that started a head and stalls.
    let mut stalled: Vec<Conn> = (0..srv.cap)
        .map(|_| {
            let c = srv.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n");
            std::thread::sleep(Duration::from_millis(5));
            c
        })
        .collect();
    assert!(srv.settles_to(srv.cap, Duration::from_secs(1)));
    srv.assert_serving();
    // The oldest was closed for it, the newest kept.
    assert!(closed_within(
        &mut stalled[0].stream,
        Duration::from_secs(2)
    ));
    let r = stalled[srv.cap - 1].ask(b"\r\n");
    assert_eq!(r.status, 200, "the newest was kept");
}

#[test]
fn a_trickled_head_gets_408_at_its_deadline() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    let start = Instant::now();
    let mut answered = Vec::new();
    for b in b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: "
        .iter()
        .cycle()
    {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        s.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 1024];
        if let Ok(n) = s.read(&mut buf) {
            answered.extend_from_slice(&buf[..n]);
            s.set_nonblocking(false).unwrap();
            break;
        }
        s.set_nonblocking(false).unwrap();
        assert!(start.elapsed() < Duration::from_secs(10), "never cut off");
    }
    let _ = s.read_to_end(&mut answered);
    assert_status(&answered, 408);
    srv.assert_serving();
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let srv = start(limits());
    let mut c = Conn::open(srv.addr);
    c.ask(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .assert_keeps(200);
    assert!(closed_within(&mut c.stream, Duration::from_secs(5)));
    assert!(srv.settles_to(0, Duration::from_secs(2)));
}

#[test]
fn bodies_that_never_come_never_lock_out_a_client() {
    let srv = start(Limits {
        body_timeout: Duration::from_secs(3),
        ..limits()
    });
    let cap = srv.cap;
    let send_head = || srv.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    // Fewer than the cap: each holds its own connection until the body deadline, then 408.
    let mut few: Vec<Conn> = (0..cap / 2).map(|_| send_head()).collect();
    srv.assert_serving();
    for c in &mut few {
        assert_status(&c.rest(), 408);
    }
    // Every slot waiting for a body: the longest-waiting is closed to make room each time.
    let held: Vec<Conn> = (0..cap).map(|_| send_head()).collect();
    until("every handler started", || {
        srv.ran("/echo") >= cap / 2 + cap
    });
    for _ in 0..5 {
        srv.assert_serving();
    }
    assert!(srv.connections() <= cap);
    drop(held);
}

#[test]
fn when_every_connection_is_busy_a_new_one_gets_503() {
    let srv = start(limits());
    let cap = srv.cap;
    let mut busy: Vec<Conn> = (0..cap)
        .map(|_| srv.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    until("every blocking request started", || {
        srv.seen.blocked.load(std::sync::atomic::Ordering::SeqCst) >= cap
    });
    let out = exchange_raw(srv.addr, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_status(&out, 503);
    assert!(
        String::from_utf8_lossy(&out)
            .to_ascii_lowercase()
            .contains("retry-after: 1")
    );
    assert!(srv.connections() <= cap);
    srv.open_gate();
    for c in &mut busy {
        assert_eq!(c.answer().body, b"unblocked");
    }
    srv.assert_serving();
}

#[test]
fn a_64_mib_header_line_is_refused_at_16_kib() {
    let srv = start(limits());
    let mut s = connect(srv.addr);
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: ");
            let chunk = vec![b'a'; 1 << 20];
            let mut sent = 0;
            for _ in 0..64 {
                match w.write_all(&chunk) {
                    Ok(()) => sent += chunk.len(),
                    Err(_) => break,
                }
            }
            sent
        })
    };
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert_status(&out, 431);
    let sent = writer.join().unwrap();
    assert!(sent < 64 << 20, "the server read all {sent} bytes");
    srv.assert_serving();
}

#[test]
fn a_hundred_thousand_headers_are_refused() {
    let srv = start(limits());
    let mut raw = b"GET /healthz HTTP/1.1\r\nHost: t\r\n".to_vec();
    for _ in 0..100_000 {
        raw.extend_from_slice(b"X: y\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    let out = exchange_raw(srv.addr, &raw);
    assert_eq!(status_of(&out), Some(431));
    // 101 short ones, in a head well under 16 KiB, are refused for their number.
    let mut raw = b"GET /healthz HTTP/1.1\r\nHost: t\r\n".to_vec();
    for _ in 0..100 {
        raw.extend_from_slice(b"X: y\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    assert_eq!(status_of(&exchange_raw(srv.addr, &raw)), Some(431));
    srv.assert_serving();
}

/// Each framing trick ends with a request for `/smuggled`: it must never run.
#[test]
fn smuggled_requests_never_run() {
    let srv = start(limits());
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    let cases: Vec<(String, u16)> = vec![
        (
            format!(
                "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
            400,
        ),
        (
            format!(
                "POST /sink HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
            501,
        ),
        (
            format!(
                "POST /sink HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n{smuggled}"
            ),
            501,
        ),
        (
            format!(
                "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
            400,
        ),
        (
            format!(
                "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 0x{:x}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
            400,
        ),
        (
            format!(
                "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: +{}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
            400,
        ),
    ];
    for (raw, status) in &cases {
        let out = exchange_raw(srv.addr, raw.as_bytes());
        assert_eq!(status_of(&out), Some(*status), "{raw:?}");
        assert_eq!(
            String::from_utf8_lossy(&out).matches("HTTP/1.1 ").count(),
            1,
            "one answer to {raw:?}"
        );
    }
    // A chunked body on a GET is a body: decoded and dropped, never run as a request.
    let raw = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{smuggled}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        smuggled.len()
    );
    let out = exchange_raw(srv.addr, raw.as_bytes());
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    // An unread Content-Length body is dropped too.
    let raw = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{smuggled}GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        smuggled.len()
    );
    let out = exchange_raw(srv.addr, raw.as_bytes());
    assert_eq!(String::from_utf8_lossy(&out).matches("200 OK").count(), 2);
    assert_eq!(srv.ran("/smuggled"), 0, "a smuggled request ran");
    srv.assert_serving();
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_lives_on() {
    let srv = start(limits());
    for _ in 0..20 {
        let mut c = srv.send(b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\n");
        c.answer().assert_closes(500);
        assert!(closed_within(&mut c.stream, Duration::from_secs(2)));
    }
    srv.assert_serving();
    assert!(srv.failed.lock().unwrap().is_none());
}

#[test]
fn a_client_that_does_not_read_is_dropped_at_the_write_deadline() {
    let srv = start(limits());
    // Ask for 8 MiB, read none of it.
    let c = srv.send(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        srv.settles_to(0, Duration::from_secs(10)),
        "the stuck write kept its connection"
    );
    srv.assert_serving();
    drop(c);
}

#[test]
fn a_body_over_the_route_limit_is_refused_before_it_is_sent() {
    let srv = start(limits());
    // Declared, never sent: the answer must not wait for it.
    let mut c = srv.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n\r\n");
    c.answer().assert_closes(413);
    assert!(closed_within(&mut c.stream, Duration::from_secs(2)));
    // Chunked, over the limit as it arrives.
    let mut c =
        srv.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n");
    c.ask(&[b'x'; 0x800]).assert_closes(413);
    srv.assert_serving();
}

#[test]
fn a_body_that_stops_halfway_gets_408() {
    let srv = start(limits());
    let mut c = srv.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(status_of(&c.rest()), Some(408));
    srv.assert_serving();
}

#[test]
fn garbage_gets_400_and_close() {
    let srv = start(limits());
    for junk in [
        &b"\x00\x01\x02\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX: one\r\n two\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let out = exchange_raw(srv.addr, junk);
        assert_eq!(
            status_of(&out),
            Some(400),
            "{:?}",
            String::from_utf8_lossy(junk)
        );
        assert!(String::from_utf8_lossy(&out).contains(r#""code":"bad_request""#));
    }
    srv.assert_serving();
}

#[test]
fn a_connection_whose_thread_cannot_start_is_closed_and_accepting_goes_on() {
    // A stack no machine can map: every spawn fails.
    let srv = start(Limits {
        stack_size: 1 << 46,
        ..limits()
    });
    for _ in 0..3 {
        let out = exchange_raw(srv.addr, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(
            out.is_empty(),
            "answered: {}",
            String::from_utf8_lossy(&out)
        );
    }
    assert_eq!(srv.connections(), 0, "a failed connection kept its slot");
    assert!(srv.failed.lock().unwrap().is_none(), "the listener gave up");
}
