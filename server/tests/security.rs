//! Security through the real server binary: whose forwarded headers count, the device cookie
//! that keeps a known browser from being locked out by someone else's guesses, logging out
//! only by a form's POST, and stored secrets that never follow an address to a new host.

mod util;

use util::*;

/// Posts a JSON login to `s` with `extra` headers (a proxy's, a cookie), as a browser's
/// script does.
fn login_with(s: &Server, user: &str, password: &str, extra: &[(&str, &str)]) -> Resp {
    let origin = format!("http://{}", s.addr());
    let mut headers = vec![
        ("Origin", origin.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    headers.extend_from_slice(extra);
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    request(s.addr(), "POST", "/login", &headers, body.as_bytes())
}

/// The `Set-Cookie` field that sets `name`, if the answer has one.
fn set_cookie<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    r.all_headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with(&prefix))
        .map(|(_, v)| v.as_str())
}

/// The client addresses the server logged for failed logins, in order.
fn failed_login_clients(s: &Server) -> Vec<String> {
    let out = s.proc.output();
    out.lines()
        .filter_map(|l| l.strip_prefix("event=login_failed client="))
        .map(|c| c.trim().to_string())
        .collect()
}

/// Waits until the server has logged `n` failed logins and returns their client addresses.
fn logged_failures(s: &Server, n: usize) -> Vec<String> {
    until(&format!("{n} failed logins logged"), || {
        let clients = failed_login_clients(s);
        (clients.len() >= n).then_some(clients)
    })
}

#[test]
fn forwarded_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored() {
    let pw = made_up_secret("untrusted-peer");
    // Loopback, where the test connects from, is not among the trusted proxies.
    let s = Server::start(
        &[
            "--no-local",
            "--trust-proxy",
            "--trusted-proxies",
            "10.0.0.0/8",
        ],
        &[("ADMIN_PASSWORD", &pw)],
    );
    let r = login_with(
        &s,
        "admin",
        &pw,
        &[
            ("X-Forwarded-For", "203.0.113.50"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = set_cookie(&r, "lanstat_session").expect("a session cookie");
    assert!(!cookie.contains("Secure"), "https said by anyone: {cookie}");
    // Five guesses, each claiming another address: the throttle sees the one real address.
    for i in 1..=5 {
        let forged = format!("203.0.113.{i}");
        let r = login_with(
            &s,
            &format!("ghost{i}"),
            "wrong-wrong",
            &[("X-Forwarded-For", &forged)],
        );
        assert_eq!(r.status, 401, "guess {i}: {}", r.text());
    }
    let r = login_with(
        &s,
        "ghost6",
        "wrong-wrong",
        &[("X-Forwarded-For", "203.0.113.6")],
    );
    assert_eq!(r.status, 429, "the address is throttled: {}", r.text());
    assert_eq!(logged_failures(&s, 5), vec!["127.0.0.1"; 5]);
}

#[test]
fn behind_a_trusted_proxy_the_right_most_address_that_is_no_proxy_is_the_client() {
    let pw = made_up_secret("trusted-proxy");
    // Loopback is trusted by default: the test plays a proxy on this host.
    let s = Server::start(&["--no-local", "--trust-proxy"], &[("ADMIN_PASSWORD", &pw)]);
    // The client 203.0.113.5 writes whatever it likes on the left; the proxies append.
    for i in 1..=5 {
        let chain = format!("198.51.100.{i}, 203.0.113.5, 127.0.0.1");
        let r = login_with(
            &s,
            &format!("ghost{i}"),
            "wrong-wrong",
            &[("X-Forwarded-For", &chain)],
        );
        assert_eq!(r.status, 401, "guess {i}: {}", r.text());
    }
    let r = login_with(
        &s,
        "ghost6",
        "wrong-wrong",
        &[
            ("X-Forwarded-For", "198.51.100.99"),
            ("X-Forwarded-For", "203.0.113.5"),
        ],
    );
    assert_eq!(
        r.status,
        429,
        "another forged entry, the same client: {}",
        r.text()
    );
    let r = login_with(
        &s,
        "ghost7",
        "wrong-wrong",
        &[("X-Forwarded-For", "203.0.113.6, 127.0.0.1")],
    );
    assert_eq!(r.status, 401, "another client is not throttled");
    let mut want = vec!["203.0.113.5"; 5];
    want.push("203.0.113.6");
    assert_eq!(logged_failures(&s, 6), want);
    // The proxy's word on the scheme counts too.
    let r = login_with(
        &s,
        "admin",
        &pw,
        &[
            ("X-Forwarded-For", "203.0.113.8"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = set_cookie(&r, "lanstat_session").expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[test]
fn without_trust_proxy_forwarded_headers_are_ignored() {
    let pw = made_up_secret("no-proxy");
    let s = Server::with_admin_password(&pw);
    let r = login_with(
        &s,
        "nobody",
        "wrong-wrong",
        &[("X-Forwarded-For", "203.0.113.50")],
    );
    assert_eq!(r.status, 401);
    let r = login_with(&s, "admin", &pw, &[("X-Forwarded-Proto", "https")]);
    assert_eq!(r.status, 200);
    let cookie = set_cookie(&r, "lanstat_session").expect("a session cookie");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(logged_failures(&s, 1), vec!["127.0.0.1"]);
}
