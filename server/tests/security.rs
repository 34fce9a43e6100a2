//! Security through the real server binary: whose forwarded headers count, the device cookie
//! that keeps a known browser from being locked out by someone else's guesses, logging out
//! only by a form's POST, and stored secrets that never follow an address to a new host.

mod util;

use serde_json::{Value, json};
use util::receiver::{Answer, Receiver};
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

/// The value a `Set-Cookie` field sets.
fn cookie_value(set_cookie: &str) -> &str {
    let pair = set_cookie.split(';').next().unwrap_or("");
    pair.split_once('=').map_or("", |(_, v)| v)
}

/// Logs in as `user` from `client` (behind the test's proxy on loopback) with the device
/// cookie `device`, if any.
fn login_from(s: &Server, user: &str, password: &str, client: &str, device: Option<&str>) -> Resp {
    let cookie = device.map(|d| format!("lanstat_device={d}"));
    let mut extra = vec![("X-Forwarded-For", client)];
    if let Some(c) = &cookie {
        extra.push(("Cookie", c.as_str()));
    }
    login_with(s, user, password, &extra)
}

/// A server behind a proxy on loopback, with `admin`'s password set.
fn behind_a_proxy(pw: &str) -> Server {
    Server::start(&["--no-local", "--trust-proxy"], &[("ADMIN_PASSWORD", pw)])
}

#[test]
fn a_browser_that_logged_in_before_is_not_locked_out_by_others_guesses() {
    let pw = made_up_secret("device");
    let s = behind_a_proxy(&pw);
    let https = [
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-Proto", "https"),
    ];
    let r = login_with(&s, "admin", &pw, &https);
    assert_eq!(r.status, 200, "{}", r.text());
    let set = set_cookie(&r, "lanstat_device").expect("a device cookie");
    for part in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/login",
        "Max-Age=31536000",
        "Secure",
    ] {
        assert!(set.contains(part), "{set}");
    }
    let laptop = cookie_value(set).to_string();
    // Someone else's guesses, from five addresses, lock the name for every browser without
    // the cookie, even with the right password.
    for i in 1..=5 {
        let r = login_from(&s, "admin", "wrong-wrong", &format!("198.51.100.{i}"), None);
        assert_eq!(r.status, 401, "guess {i}");
    }
    let r = login_from(&s, "admin", &pw, "198.51.100.6", None);
    assert_eq!(r.status, 429, "{}", r.text());
    // A changed cookie, or one that names another user, is no cookie.
    let mut changed = laptop.clone();
    let last = changed.pop().unwrap();
    changed.push(if last == '0' { '1' } else { '0' });
    let other_user = format!("9{laptop}");
    for (what, forged) in [
        ("changed", changed.as_str()),
        ("another user's", other_user.as_str()),
        ("malformed", "1.2.3"),
    ] {
        let r = login_from(&s, "admin", &pw, "198.51.100.7", Some(forged));
        assert_eq!(r.status, 429, "a {what} cookie: {}", r.text());
    }
    // The browser that has the cookie still logs in, from wherever it is now.
    let r = login_from(&s, "admin", &pw, "192.0.2.44", Some(&laptop));
    assert_eq!(r.status, 200, "{}", r.text());
    let set = set_cookie(&r, "lanstat_device").expect("a new one");
    assert!(!set.contains("Secure"), "plain http: {set}");
    let laptop = cookie_value(set).to_string();
    // Its own five failures lock that browser out, and only it.
    for i in 1..=5 {
        let r = login_from(
            &s,
            "admin",
            "wrong-wrong",
            &format!("192.0.2.{i}"),
            Some(&laptop),
        );
        assert_eq!(r.status, 401, "the laptop's guess {i}");
    }
    let r = login_from(&s, "admin", &pw, "192.0.2.44", Some(&laptop));
    assert_eq!(r.status, 429, "{}", r.text());
}

/// How many of 16 wrong logins sent at once, each from its own address, were checked (401)
/// rather than refused to wait (429). The throttle admits five failures at once, then one
/// after a second, one after two more, …: the most it can have admitted in the time the burst
/// took is the bound asserted, five when it took under a second.
fn parallel_guesses(s: &Server, tag: u8, device: Option<&str>) -> usize {
    let start = std::sync::Barrier::new(16);
    let began = std::time::Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|t| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let start = &start;
                t.spawn(move || {
                    start.wait();
                    let client = format!("198.51.{tag}.{i}");
                    login_from(s, "admin", "wrong-wrong", &client, device).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let took = began.elapsed().as_secs_f64();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let bound = 5 + (took + 1.0).log2().floor() as usize;
    assert_eq!(
        checked + statuses.iter().filter(|s| **s == 429).count(),
        16,
        "{statuses:?}"
    );
    assert!(
        (5..=bound).contains(&checked),
        "{checked} checked in {took:.2} s, at most {bound} allowed: {statuses:?}"
    );
    checked
}

#[test]
fn parallel_guesses_get_no_more_checks_than_the_throttle_allows() {
    let pw = made_up_secret("race");
    let s = behind_a_proxy(&pw);
    let r = login_from(&s, "admin", &pw, "203.0.113.7", None);
    let laptop =
        cookie_value(set_cookie(&r, "lanstat_device").expect("a device cookie")).to_string();
    // Without a cookie they share the name's count; with one, the device's.
    eprintln!(
        "checked without a cookie: {}",
        parallel_guesses(&s, 100, None)
    );
    eprintln!(
        "checked with the cookie: {}",
        parallel_guesses(&s, 101, Some(&laptop))
    );
}

#[test]
fn a_get_of_logout_only_shows_the_button_and_its_post_logs_out() {
    let pw = made_up_secret("logout");
    let s = Server::with_admin_password(&pw);
    let mut c = s.admin_with(&pw);
    let cookie = format!("lanstat_session={}", c.cookie.clone().unwrap());
    // A GET, as a link or an image on any page of the site sends it, ends nothing.
    let r = request(s.addr(), "GET", "/logout", &[("Cookie", &cookie)], b"");
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(
        page.contains(r#"<form id="logout" method="post" action="/logout""#),
        "{page}"
    );
    assert!(page.contains(r#"<button class="button" type="submit">Log out</button>"#));
    assert!(page.contains("<strong>admin</strong>"), "{page}");
    assert_eq!(set_cookie(&r, "lanstat_session"), None);
    assert_eq!(c.get("/api/me").status, 200, "still logged in");
    // The password page logs out by the same form, not by a link.
    let page = request(
        s.addr(),
        "GET",
        "/change_password",
        &[("Cookie", &cookie)],
        b"",
    )
    .text();
    assert!(page.contains(r#"type="submit" form="logout">Log out</button>"#));
    assert!(page.contains(r#"<form id="logout" method="post" action="/logout"></form>"#));
    assert!(!page.contains(r#"href="/logout""#), "{page}");
    // A POST from another site is refused.
    let r = request(
        s.addr(),
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("Sec-Fetch-Site", "cross-site")],
        b"",
    );
    assert_eq!(r.status, 403);
    assert_eq!(c.get("/api/me").status, 200, "still logged in");
    // Without a session the page sends to the login.
    let r = request(s.addr(), "GET", "/logout", &[], b"");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    // The button's POST logs out.
    let origin = format!("http://{}", s.addr());
    let form = [
        ("Cookie", cookie.as_str()),
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let r = request(s.addr(), "POST", "/logout", &form, b"");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let cleared = set_cookie(&r, "lanstat_session").expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(c.get("/api/me").status, 401, "the session has ended");
}

/// Whether any request `rx` received carries `secret`, in a header or the body.
fn carries(rx: &Receiver, secret: &str) -> bool {
    rx.received().iter().any(|r| {
        r.body.contains(secret)
            || r.headers.iter().any(|(_, v)| v.contains(secret))
            || signed_with(r, secret)
    })
}

/// Whether `r` carries the token `key` as a bearer token or as the key of its signature.
fn authorized_by(r: &util::receiver::Received, key: &str) -> bool {
    r.header("authorization") == Some(format!("Bearer {key}").as_str()) || signed_with(r, key)
}

/// Whether `r` is a poll signed with `key`.
fn signed_with(r: &util::receiver::Received, key: &str) -> bool {
    use lanstat_agent::signing;
    let Some(Ok(parts)) = r.header("authorization").and_then(signing::parse) else {
        return false;
    };
    let sig = signing::signature(
        key.as_bytes(),
        &r.method,
        &r.path,
        parts.ts,
        parts.nonce,
        r.body.as_bytes(),
    );
    sig == parts.sig
}

/// Asserts that `r` refused a saved secret for another host, blaming the token field.
fn assert_retype_refusal(r: &Resp, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text());
    let v = r.json();
    assert_eq!(v["code"], "secret_for_another_host", "{what}: {v}");
    assert_eq!(v["field"], "token", "{what}: {v}");
    let words = v["error"].as_str().unwrap_or_default();
    assert!(
        words.starts_with("the address changed: type the token again"),
        "{what}: {words}"
    );
}

#[test]
fn a_saved_agent_token_never_goes_to_a_new_host() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let old_host = Receiver::start(Answer::Status(200));
    let new_host = Receiver::start(Answer::Status(200));
    let saved = made_up_secret("agent-token");
    let id = c.add_computer("attic pi", &old_host.url(""), &saved);
    // Testing the saved computer at another address, the token left empty: refused.
    let test = json!({ "id": id.to_string(), "url": new_host.url(""), "token": "" });
    let r = c.post_json("/api/test_connection", &test.to_string());
    assert_retype_refusal(&r, "a test at another host");
    // Changing only its address to another host: refused, and nothing changed.
    let path = format!("/api/computers/{id}");
    for method in ["PATCH", "PUT"] {
        let edit = json!({ "url": new_host.url(""), "token": "" });
        let r = c.send_json(method, &path, &edit.to_string());
        assert_retype_refusal(&r, method);
    }
    let other_port = format!("http://{}:{}", old_host.addr.ip(), new_host.addr.port());
    let r = c.send_json("PATCH", &path, &json!({ "url": other_port }).to_string());
    assert_retype_refusal(&r, "the same address on another port");
    let https = format!("https://{}", old_host.addr);
    let r = c.send_json("PATCH", &path, &json!({ "url": https }).to_string());
    assert_retype_refusal(&r, "the same address over https");
    assert_eq!(c.get(&path).json()["url"], old_host.url(""));
    // The same host on another path keeps the token.
    let r = c.post_json(
        "/api/test_connection",
        &json!({ "id": id.to_string(), "url": old_host.url("/systeminfo") }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.send_json(
        "PATCH",
        &path,
        &json!({ "url": old_host.url("/") }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    old_host.wait("the saved token at its own host", |got| {
        got.iter().any(|g| authorized_by(g, &saved))
    });
    // With the token typed again, the new host gets that one.
    let typed = made_up_secret("typed-again");
    let test = json!({ "id": id.to_string(), "url": new_host.url(""), "token": typed });
    let r = c.post_json("/api/test_connection", &test.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    let edit = json!({ "url": new_host.url(""), "token": typed });
    let r = c.send_json("PATCH", &path, &edit.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    new_host.wait("the typed token", |got| {
        got.iter().any(|g| authorized_by(g, &typed))
    });
    assert!(
        !carries(&new_host, &saved),
        "the saved token reached the new host"
    );
    assert_eq!(c.get(&path).json()["url"], new_host.url(""));
    assert!(!s.proc.output().contains(&saved));
}

#[test]
fn a_saved_channel_token_never_goes_to_a_new_host() {
    let (s, mut c) = logged_in(&["--no-local"]);
    for (kind, path) in [
        ("webhook", "/hook"),
        ("ntfy", "/lab-alerts"),
        ("gotify", "/gotify"),
    ] {
        let old_host = Receiver::start(Answer::Status(200));
        let new_host = Receiver::start(Answer::Status(200));
        let saved = made_up_secret(&format!("{kind}-token"));
        let add = json!({
            "name": format!("{kind} channel"),
            "kind": kind,
            "url": old_host.url(path),
            "token": saved,
        });
        let r = c.post_json("/api/alerts/channels", &add.to_string());
        assert_eq!(r.status, 201, "{kind}: {}", r.text());
        let id = r.json()["id"].as_i64().unwrap();
        let channel = format!("/api/alerts/channels/{id}");
        let shown = r.json()["url"].clone();
        // Only the address, to another host: refused, and nothing changed.
        for method in ["PATCH", "PUT"] {
            let edit = json!({ "url": new_host.url(path), "token": "" });
            let r = c.send_json(method, &channel, &edit.to_string());
            assert_retype_refusal(&r, &format!("{kind} {method}"));
        }
        let edit = json!({ "url": new_host.url(path), "kind": kind, "name": "moved" });
        let r = c.send_json("PATCH", &channel, &edit.to_string());
        assert_retype_refusal(&r, &format!("{kind} with other fields"));
        let list: Value = c.get("/api/alerts/channels").json();
        let now = list
            .as_array()
            .unwrap()
            .iter()
            .find(|ch| ch["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(
            (&now["url"], &now["name"]),
            (&shown, &json!(format!("{kind} channel")))
        );
        // "Send test" still goes to the host the token was saved with.
        let test = format!("{channel}/test");
        let r = c.post_json(&test, "{}");
        assert_eq!(r.json()["ok"], true, "{kind}: {}", r.text());
        assert!(
            carries(&old_host, &saved),
            "{kind}: the test went to its own host"
        );
        // Another path on the same host keeps the token.
        let same_host = json!({ "url": old_host.url(&format!("{path}-2")) });
        let r = c.send_json("PATCH", &channel, &same_host.to_string());
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        // Typed again, the token goes to the new host.
        let typed = made_up_secret(&format!("{kind}-typed"));
        let edit = json!({ "url": new_host.url(path), "token": typed });
        let r = c.send_json("PATCH", &channel, &edit.to_string());
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        let r = c.post_json(&test, "{}");
        assert_eq!(r.json()["ok"], true, "{kind}: {}", r.text());
        assert!(carries(&new_host, &typed), "{kind}");
        assert!(
            !carries(&new_host, &saved),
            "{kind}: the saved token reached the new host"
        );
        assert!(
            !s.proc.output().contains(&saved),
            "{kind}: a token in the log"
        );
    }
    // A channel without a token (its address is the secret, typed whole) moves freely.
    let old_host = Receiver::start(Answer::Status(200));
    let new_host = Receiver::start(Answer::Status(200));
    let add =
        json!({ "name": "chat", "kind": "discord", "url": old_host.url("/api/webhooks/1/a") });
    let r = c.post_json("/api/alerts/channels", &add.to_string());
    assert_eq!(r.status, 201, "{}", r.text());
    let channel = format!("/api/alerts/channels/{}", r.json()["id"]);
    let edit = json!({ "url": new_host.url("/api/webhooks/2/b") });
    assert_eq!(
        c.send_json("PATCH", &channel, &edit.to_string()).status,
        200
    );
}
