//! The HTTP surface: statuses, validation, headers, limits, hostile clients.

mod util;

use util::*;

#[test]
fn add_computer_validates_fields_with_reasons() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    for (body, field) in [
        (
            r#"{"name":"","url":"http://pi:8000","token":"0123456789abcdef"}"#,
            "name",
        ),
        (
            &format!(
                r#"{{"name":"{}","url":"http://pi:8000","token":"0123456789abcdef"}}"#,
                "x".repeat(65)
            ),
            "name",
        ),
        (
            r#"{"name":"pi","url":"pi:8000","token":"0123456789abcdef"}"#,
            "url",
        ),
        (
            r#"{"name":"pi","url":"ftp://pi","token":"0123456789abcdef"}"#,
            "url",
        ),
        (
            r#"{"name":"pi","url":"http://","token":"0123456789abcdef"}"#,
            "url",
        ),
        (
            r#"{"name":"pi","url":"http://pi:8000","token":""}"#,
            "token",
        ),
        (r#"{"name":"pi","url":"http://pi:8000"}"#, "token"),
        (
            r#"{"name":"pi","url":"http://pi:8000","token":["x"]}"#,
            "token",
        ),
        (
            r#"{"name":"pi","url":"http://pi:8000","token":"two words"}"#,
            "token",
        ),
    ] {
        let r = c.post_json("/api/add_computer", body);
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{body}");
        assert_eq!(r.json()["code"], "invalid", "{body}");
        assert!(!r.json()["error"].as_str().unwrap().is_empty());
    }
}

#[test]
fn add_takes_json_or_a_form_and_refuses_duplicates() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    let r = c.post_form(
        "/api/add_computer",
        "name=nas&url=http%3A%2F%2Fnas.lan%3A8000&token=0123456789abcdef",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c.post_json(
        "/api/add_computer",
        r#"{"name":"nas","url":"http://nas2:8000","token":"0123456789abcdef"}"#,
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["code"], "conflict");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("exists already")
    );
}

#[test]
fn edit_and_delete_a_computer() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    let id = c.add_computer("pi", "http://pi:8000", "0123456789abcdef");
    let path = format!("/api/computers/{id}");
    // An empty token keeps the stored one, on the host it was saved for.
    let r = c.send_json(
        "PUT",
        &path,
        r#"{"name":"pi-4","url":"http://pi:8000/agent","token":""}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["name"].as_str(), r.json()["token_hint"].as_str()),
        (Some("pi-4"), Some("…cdef"))
    );
    let r = c.send_json("PATCH", &path, r#"{"enabled":false}"#);
    assert_eq!(r.json()["enabled"], false);
    assert_eq!(c.send("DELETE", &path, None, b"").status, 200);
    assert_eq!(c.get(&path).status, 404);
    assert_eq!(c.send("DELETE", &path, None, b"").status, 404);
    assert_eq!(c.get("/api/stats/999").status, 404);
    assert_eq!(c.get("/api/history/999").status, 404);
}

#[test]
fn unknown_paths_and_methods() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let r = c.get("/api/nope");
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(c.get("/api/computers/abc").status, 404);
    let r = c.send("DELETE", "/api/computers", None, b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST, HEAD"));
    let r = request(s.addr(), "PUT", "/login", &[], b"");
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("POST"));
}

#[test]
fn oversize_and_malformed_bodies() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    let big = vec![b'a'; 200 * 1024];
    let r = c.send("POST", "/api/add_computer", Some("application/json"), &big);
    assert_eq!(r.status, 413);
    let r = c.post_json("/api/add_computer", "{not json");
    assert_eq!(r.status, 400);
    let r = c.send("POST", "/api/add_computer", Some("text/xml"), b"<a/>");
    assert_eq!(r.status, 400);
    let r = c.post_json("/api/add_computer", "[1,2,3]");
    assert_eq!(r.status, 400);
    assert_eq!(c.count("/api/computers"), 0, "nothing stored");
}

#[test]
fn history_ranges_are_checked() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    let id = c.add_computer("pi", "http://127.0.0.1:1", "0123456789abcdef");
    for q in [
        "range=1h",
        "range=24h",
        "range=7d",
        "range=30d",
        "range=1y",
        "from=1700000000&to=1700003600",
        "hours=24",
    ] {
        let r = c.get(&format!("/api/history/{id}?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        assert!(r.json()["points"].as_array().unwrap().len() <= 520);
    }
    for q in ["range=2w", "from=10&to=5", "from=abc", "hours=0", "to=5"] {
        let r = c.get(&format!("/api/history/{id}?{q}"));
        assert_eq!(r.status, 422, "{q}");
    }
}

#[test]
fn every_response_carries_the_security_headers() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let mut responses = vec![
        c.get("/api/computers"),
        c.get("/api/nope"),
        c.get("/static/app.css"),
    ];
    responses.push(request(s.addr(), "GET", "/login", &[], b""));
    responses.push(request(s.addr(), "GET", "/healthz", &[], b""));
    for r in responses {
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("same-origin"));
    }
}

#[test]
fn pages_are_served_to_logged_in_users() {
    let (_s, mut c) = logged_in(&["--no-local"]);
    let r = c.get("/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(c.get("/manage").status, 200);
    assert!(
        c.get("/static/app.js")
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(c.get("/static/../Cargo.toml").status, 404);
    assert_eq!(c.get("/static/nope.js").status, 404);
}

#[test]
fn idle_half_open_connections_and_a_long_header_do_not_stop_it() {
    let (s, mut c) = logged_in(&["--no-local"]);
    let idle = raw::waiting(s.addr(), b"GET /api/computers HTTP/1.1\r\nHost: x\r\n", 200);
    assert_eq!(c.get("/api/computers").status, 200);
    raw::exchange(s.addr(), &raw::one_mib_header_line("/healthz", b'b'));
    drop(idle);
    assert_eq!(request(s.addr(), "GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn healthz_is_open() {
    let s = Server::start(&["--no-local"], &[]);
    let r = request(s.addr(), "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}
