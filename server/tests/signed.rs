//! Signed polls: the server signs with the computer's token, falls back to the bearer token
//! only for an agent that does not offer signing, and never sends the token to one that does.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

#[test]
fn an_agent_that_takes_only_signed_requests_is_polled_and_tested() {
    let agent = RealAgent::start_in(TempDir::new("agent"), &["--signed-only"]);
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let body = serde_json::json!({ "url": agent.url(), "token": agent.token }).to_string();
    let r = c.post_json("/api/test_connection", &body).json();
    assert_eq!(r["ok"], true, "{r}");
    let id = c.add_computer("signed", &agent.url(), &agent.token);
    c.wait_computer(id, "online", |v| v["status"] == "online");
    c.wait_rounds(2);
    let v = c.get(&format!("/api/computers/{id}")).json();
    assert_eq!(v["status"], "online", "{v}");
    assert!(
        !agent
            .proc
            .output()
            .contains("reason=bearer_refused_signed_only"),
        "the server never sent it the bearer token"
    );
}

#[test]
fn an_agent_that_knows_only_bearer_tokens_is_still_polled_and_tested() {
    let fake = FakeAgent::start(Behaviour::Body(original_json("bearer-only", 1, 1)));
    let token = "b1e6a8d2-54c3-4f0e-9d0a-7c2f5e8b9a10";
    fake.only_bearer(token);
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let body = serde_json::json!({ "url": fake.url(), "token": token }).to_string();
    let r = c.post_json("/api/test_connection", &body).json();
    assert_eq!(r["ok"], true, "{r}");
    let id = c.add_computer("bearer-only", &fake.url(), token);
    let v = c.wait_computer(id, "online", |v| v["status"] == "online");
    assert_eq!(v["hostname"], "bearer-only");
    // Remembered: from now on each poll is one bearer request, not a signed one refused first.
    c.wait_rounds(1);
    let before = fake.requests();
    c.wait_rounds(3);
    let asked = fake.requests() - before;
    // One a round (a round still in flight at either end may add or skip one); two a round
    // would be a signed poll refused before each bearer one.
    assert!((1..=4).contains(&asked), "{asked} requests in 3 rounds");
    assert_eq!(*fake.last_auth.lock().unwrap(), format!("Bearer {token}"));
}

/// Reads a request's head from `conn`, up to its blank line.
fn read_head(conn: &std::net::TcpStream) -> String {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    head
}

/// The value of a head's Authorization field.
fn authorization(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("authorization")
                .then(|| v.trim().to_string())
        })
        .expect("an Authorization field")
}

#[test]
fn an_agent_that_offers_signing_never_receives_the_token() {
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = {
        let heads = heads.clone();
        Loopback::start(move |conn, _| {
            heads.lock().unwrap().push(read_head(&conn));
            let mut conn = conn;
            let _ = conn.write_all(
                b"HTTP/1.1 401 Unauthorized\r\n\
                  WWW-Authenticate: Lanstat-HMAC-SHA256 realm=\"lanstat-agent\"\r\n\
                  Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        })
    };
    let url = format!("http://{}", listener.addr);
    let token = made_up_secret("agent-token");
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let body = serde_json::json!({ "url": url, "token": token }).to_string();
    let r = c.post_json("/api/test_connection", &body).json();
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_str()),
        (Some(false), Some("error"))
    );
    let id = c.add_computer("signs", &url, &token);
    let v = c.wait_computer(id, "error", |v| v["status"] == "error");
    assert!(v["status_reason"].as_str().unwrap().contains("401"), "{v}");
    until("several polls refused", || {
        (heads.lock().unwrap().len() >= 4).then_some(())
    });
    for head in heads.lock().unwrap().iter() {
        assert!(!head.contains(&token), "the token was sent");
        assert!(
            authorization(head).starts_with("Lanstat-HMAC-SHA256 ts="),
            "not signed"
        );
    }
}

/// A host that takes over the address of an agent that answered signed polls, and refuses
/// them offering only Bearer, is not sent the token: the poll fails saying why.
#[test]
fn a_host_that_stops_offering_signing_where_an_agent_signed_gets_no_bearer_token() {
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = {
        let heads = heads.clone();
        Loopback::start(move |conn, _| {
            let head = read_head(&conn);
            let first = {
                let mut heads = heads.lock().unwrap();
                heads.push(head);
                heads.len() == 1
            };
            let mut conn = conn;
            let _ = if first {
                let body = original_json("signer", 1000, 2000);
                conn.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
            } else {
                conn.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\
                      Content-Length: 0\r\nConnection: close\r\n\r\n",
                )
            };
        })
    };
    let url = format!("http://{}", listener.addr);
    let token = made_up_secret("agent-token");
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("taken-over", &url, &token);
    let v = c.wait_computer(id, "refused without a bearer token", |v| {
        v["status"] == "error"
    });
    assert!(
        v["status_reason"]
            .as_str()
            .unwrap()
            .contains("not sent as a bearer"),
        "{v}"
    );
    until("more polls refused", || {
        (heads.lock().unwrap().len() >= 3).then_some(())
    });
    for head in heads.lock().unwrap().iter() {
        assert!(!head.contains(&token), "the token was sent");
        assert!(
            authorization(head).starts_with("Lanstat-HMAC-SHA256 ts="),
            "not signed"
        );
    }
}
