//! Read-only API tokens: made by admins (API and command line), shown once, stored hashed;
//! they read `/api/*` and `/metrics` and are refused on everything else.

mod util;

use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

/// Makes a token through the API and returns (id, token).
fn new_token(c: &mut Client, name: &str) -> (i64, String) {
    let r = c.post_json(
        "/api/tokens",
        &serde_json::json!({ "name": name }).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    (
        v["id"].as_i64().unwrap(),
        v["token"].as_str().unwrap().to_string(),
    )
}

/// A request as a script sends it: the token, no cookie, no Origin.
fn with_token(s: &Server, method: &str, path: &str, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    request(
        s.addr(),
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        if matches!(method, "GET" | "HEAD") {
            b""
        } else {
            b"{}"
        },
    )
}

#[test]
fn a_token_is_shown_once_and_stored_only_hashed() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let r = c.post_json("/api/tokens", r#"{"name":"grafana"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let token = v["token"].as_str().unwrap();
    assert!(token.starts_with("lst_") && token.len() == 68, "{token}");
    assert_eq!(v["prefix"], &token[..12]);
    assert_eq!(v["name"], "grafana");
    assert_eq!(v["created_by"], "admin");
    let list = c.get("/api/tokens").json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token").is_none(), "{list}");
    assert!(list[0]["last_used_at"].is_null());
    assert!(!c.get("/api/tokens").text().contains(&token[12..]));
    let mut stored = Vec::new();
    for suffix in ["", "-wal"] {
        stored.extend(std::fs::read(format!("{}{suffix}", s.db().display())).unwrap_or_default());
    }
    assert!(
        !stored.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token itself is never written"
    );
    assert_eq!(with_token(&s, "GET", "/api/computers", token).status, 200);
    let used = c.get("/api/tokens").json();
    assert!(used[0]["last_used_at"].as_i64().is_some(), "{used}");
}

#[test]
fn a_token_reads_and_is_refused_on_every_write() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let agent = FakeAgent::start(Behaviour::Body(original_json("pi", 1, 2)));
    let id = c.add_computer("pi", &format!("http://{}", agent.addr), "0123456789abcdef");
    c.wait_computer(id, "online", |v| v["status"] == "online");
    let (token_id, token) = new_token(&mut c, "home-assistant");
    let users_before = c.get("/api/users").text();

    for path in [
        "/api/computers".to_string(),
        format!("/api/computers/{id}"),
        format!("/api/stats/{id}"),
        format!("/api/history/{id}?range=1h"),
        format!("/api/network_graph/{id}"),
        "/api/prometheus/targets".to_string(),
        "/metrics".to_string(),
    ] {
        let r = with_token(&s, "GET", &path, &token);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        assert!(
            r.header("set-cookie").is_none(),
            "GET {path} made a session"
        );
        let r = with_token(&s, "HEAD", &path, &token);
        assert_eq!(r.status, 200, "HEAD {path}");
    }

    let writes = [
        ("POST", "/api/computers".to_string()),
        ("POST", "/api/add_computer".to_string()),
        ("POST", "/api/test_connection".to_string()),
        ("PUT", format!("/api/computers/{id}")),
        ("PATCH", format!("/api/computers/{id}")),
        ("DELETE", format!("/api/computers/{id}")),
        ("POST", "/api/users".to_string()),
        ("PUT", "/api/users/1".to_string()),
        ("PATCH", "/api/users/1".to_string()),
        ("DELETE", "/api/users/1".to_string()),
        ("POST", "/api/users/1/reset_password".to_string()),
        ("POST", "/api/tokens".to_string()),
        ("DELETE", format!("/api/tokens/{token_id}")),
        ("POST", "/login".to_string()),
        ("POST", "/logout".to_string()),
        ("GET", "/logout".to_string()),
        ("POST", "/change_password".to_string()),
    ];
    // Admin-only and page routes need a person, even for reading.
    let person_only = [
        "/api/users",
        "/api/tokens",
        "/api/me",
        "/",
        "/manage",
        "/users",
        "/change_password",
        "/login",
        "/healthz",
        "/static/app.js",
    ];
    let refused = writes
        .iter()
        .map(|(m, p)| (*m, p.clone()))
        .chain(person_only.iter().map(|p| ("GET", p.to_string())));
    for (method, path) in refused {
        let r = with_token(&s, method, &path, &token);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.json()["error"].as_str().unwrap().contains("read-only"));
        assert!(r.header("set-cookie").is_none());
        // An admin's cookie and our own Origin beside the token change nothing: a request
        // with a token is judged by the token alone.
        let auth = format!("Bearer {token}");
        let origin = format!("http://{}", s.addr());
        let cookie = format!("lanstat_session={}", c.cookie.clone().unwrap());
        let r = request(
            s.addr(),
            method,
            &path,
            &[
                ("Authorization", &auth),
                ("Cookie", &cookie),
                ("Origin", &origin),
                ("Content-Type", "application/json"),
            ],
            br#"{"name":"x","url":"http://x:1","token":"0123456789abcdef","role":"viewer"}"#,
        );
        assert_eq!(r.status, 403, "{method} {path} with a cookie");
    }
    let after = c.get("/api/computers").json();
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(after[0]["name"], "pi");
    assert_eq!(c.get("/api/users").text(), users_before);
    assert_eq!(c.count("/api/tokens"), 1);
    assert_eq!(c.get("/api/me").status, 200, "the admin's session lives on");
}

#[test]
fn a_revoked_token_is_refused_at_once() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let (id, token) = new_token(&mut c, "script");
    let (_, other) = new_token(&mut c, "other");
    assert_eq!(with_token(&s, "GET", "/metrics", &token).status, 200);
    let r = c.send("DELETE", &format!("/api/tokens/{id}"), None, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "script");
    let r = with_token(&s, "GET", "/metrics", &token);
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(with_token(&s, "GET", "/api/computers", &token).status, 401);
    assert_eq!(
        with_token(&s, "GET", "/api/computers", &other).status,
        200,
        "only that one"
    );
    let r = c.send("DELETE", &format!("/api/tokens/{id}"), None, b"");
    assert_eq!(r.status, 404, "{}", r.text());
    for path in ["/api/tokens/999999", "/api/tokens/0", "/api/tokens/x"] {
        assert_eq!(c.send("DELETE", path, None, b"").status, 404, "{path}");
    }
    assert_eq!(c.send("PATCH", "/api/tokens/1", None, b"").status, 405);
}

#[test]
fn tokens_of_the_wrong_shape_are_refused() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let (_, token) = new_token(&mut c, "real");
    let upper = format!("lst_{}", token[4..].to_ascii_uppercase());
    let long = format!("lst_{}", "a".repeat(8000));
    let wrong = format!("lst_{}", "0".repeat(64));
    for (why, bad) in [
        ("empty", ""),
        ("the prefix alone", "lst_"),
        ("cut short", &token[..60]),
        ("a digit too many", &format!("{token}0")),
        ("without its prefix", &token[4..]),
        ("in upper case", &upper),
        ("far too long", &long),
        ("well-formed, never made", &wrong),
        ("an agent's token", "0123456789abcdef"),
        ("SQL", "' OR 1=1 --"),
    ] {
        let r = with_token(&s, "GET", "/api/computers", bad);
        assert_eq!(r.status, 401, "{why}: {bad:?}");
        assert_eq!(r.json()["error"], "unknown or revoked API token");
    }
    for header in ["Bearer", "bearer   ", "Bearer \t"] {
        let r = request_as(s.addr(), "GET", "/api/computers", header);
        assert_eq!(r.status, 401, "{header:?}");
    }
    let auth = format!("bEaReR {token}");
    let r = request_as(s.addr(), "GET", "/api/computers", &auth);
    assert_eq!(r.status, 200, "the scheme is case-insensitive");
    // Without any credential: JSON for the API and /metrics, never the login page.
    for path in ["/api/computers", "/metrics"] {
        let r = request(s.addr(), "GET", path, &[], b"");
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}

#[test]
fn token_names_are_checked() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    for body in [
        r#"{"name":""}"#.to_string(),
        r#"{"name":"   "}"#.to_string(),
        format!(r#"{{"name":"{}"}}"#, "x".repeat(65)),
        r#"{"name":"a\nb"}"#.to_string(),
        r#"{"name":["x"]}"#.to_string(),
        r#"{"name":{"a":1}}"#.to_string(),
        r#"{}"#.to_string(),
    ] {
        let r = c.post_json("/api/tokens", &body);
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], "name", "{body}");
    }
    new_token(&mut c, "prometheus");
    let r = c.post_json("/api/tokens", r#"{"name":" prometheus "}"#);
    assert_eq!(r.status, 409);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("exists already")
    );
    let r = c.post_form("/api/tokens", "name=ha%20sensor");
    assert_eq!(r.status, 201, "a form works too: {}", r.text());
    assert_eq!(r.json()["name"], "ha sensor");
    let r = c.post_json(
        "/api/tokens",
        &format!(r#"{{"name":"{}"}}"#, "é".repeat(64)),
    );
    assert_eq!(r.status, 201, "64 characters, not bytes");
    assert_eq!(c.post_json("/api/tokens", "{not json").status, 400);
    assert_eq!(c.post_json("/api/tokens", "[1]").status, 400);
    let big = vec![b'a'; 200 * 1024];
    let r = c.send("POST", "/api/tokens", Some("application/json"), &big);
    assert_eq!(r.status, 413);
    assert_eq!(c.count("/api/tokens"), 3);
}

#[test]
fn only_an_admin_session_manages_tokens() {
    let (s, mut admin) = logged_in(&["--no-local"]);
    let vpw = made_up_secret("viewer");
    let r = admin.post_json(
        "/api/users",
        &format!(r#"{{"username":"vic","role":"viewer","password":"{vpw}"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mut viewer = s.client();
    assert_eq!(viewer.login("vic", &vpw).status, 200);
    assert_eq!(viewer.get("/api/tokens").status, 403);
    assert_eq!(
        viewer.post_json("/api/tokens", r#"{"name":"x"}"#).status,
        403
    );
    assert_eq!(
        viewer.send("DELETE", "/api/tokens/1", None, b"").status,
        403
    );
    assert_eq!(viewer.get("/metrics").status, 200, "a viewer may read");
    let mut nobody = s.client();
    assert_eq!(nobody.get("/api/tokens").status, 401);
    // A cross-site form post is refused before anything else.
    let r = request(
        s.addr(),
        "POST",
        "/api/tokens",
        &[
            ("Origin", "http://evil.example"),
            (
                "Cookie",
                &format!("lanstat_session={}", admin.cookie.clone().unwrap()),
            ),
            ("Content-Type", "application/json"),
        ],
        br#"{"name":"stolen"}"#,
    );
    assert_eq!(r.status, 403);
    assert_eq!(admin.count("/api/tokens"), 0);
}

#[test]
fn the_token_command_creates_lists_and_revokes_beside_a_running_server() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let db = s.db().display().to_string();
    // The `token` command with `args`, on the running server's database.
    let token_command = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", &db]);
        s.run(&all)
    };
    let (code, out, err) = token_command(&["token", "create", "prometheus"]);
    assert_eq!(code, 0, "{err}");
    let token = out.lines().next().unwrap().trim().to_string();
    assert!(token.starts_with("lst_"), "{out}");
    assert!(out.contains("shown only this once"), "{out}");
    assert_eq!(with_token(&s, "GET", "/metrics", &token).status, 200);

    new_token(&mut c, "from-the-web");
    let (code, out, _) = token_command(&["token", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("prometheus") && out.contains("from-the-web"),
        "{out}"
    );
    assert!(
        out.contains("(command line)") && out.contains("admin"),
        "{out}"
    );
    assert!(
        out.contains(&token[..12]) && !out.contains(&token[12..]),
        "{out}"
    );

    for (args, why) in [
        (&["token", "create", "prometheus"][..], "exists already"),
        (&["token", "create", ""], "give the token a name"),
        (&["token", "revoke", "nope"], "no API token named"),
    ] {
        let (code, _, err) = token_command(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(why), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }

    let (code, out, err) = token_command(&["token", "revoke", "prometheus"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked"), "{out}");
    assert_eq!(with_token(&s, "GET", "/metrics", &token).status, 401);
    let id = c.get("/api/tokens").json()[0]["id"].as_i64().unwrap();
    let (code, _, err) = token_command(&["token", "revoke", &id.to_string()]);
    assert_eq!(code, 0, "by id: {err}");
    let (_, out, _) = token_command(&["token", "list"]);
    assert_eq!(out.trim(), "no API tokens");
    let (code, _, err) = s.run(&["token", "list", "--db", "/no/such.db"]);
    assert_eq!(code, 1);
    assert!(err.contains("no database"), "{err}");
}
