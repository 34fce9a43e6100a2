//! First run, login, sessions, password changes, throttling, CSRF and roles, through the
//! real server binary.

mod util;

use util::*;

#[test]
fn first_run_prints_a_random_password_once_and_forces_a_change() {
    let s = Server::start(&["--no-local"], &[]);
    let first = s.password.clone().expect("banner with a password");
    assert!(first.len() >= 16, "{first}");
    assert!(s.proc.output().contains("Log in as: admin"));
    let mut c = s.client();
    let r = c.login("admin", &first);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["must_change_password"], true);
    // Nothing else is reachable before the change.
    let r = c.get("/api/computers");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "change your password first");
    let r = request(
        s.addr(),
        "GET",
        "/",
        &[(
            "Cookie",
            &format!("lanstat_session={}", c.cookie.clone().unwrap()),
        )],
        b"",
    );
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/change_password"))
    );
    let new = made_up_secret("first-change");
    let r = c.change_password(&first, &new);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.get("/api/computers").status, 200);
    // The old password is gone; the new one works.
    assert_eq!(s.client().login("admin", &first).status, 401);
    assert_eq!(s.client().login("admin", &new).status, 200);
}

#[test]
fn second_start_prints_no_password() {
    let s = Server::start(&["--no-local"], &[]);
    assert!(s.password.is_some());
    let mut proc = s.proc;
    assert_eq!(proc.signal_and_wait("TERM"), Some(0));
    let again = Server::start_in(s.dir, &["--no-local"], &[]);
    assert_eq!(again.password, None, "{}", again.proc.output());
}

#[test]
fn admin_password_from_the_environment_needs_no_change() {
    let pw = made_up_secret("env-admin");
    let s = Server::start(
        &["--no-local"],
        &[("ADMIN_USERNAME", "root"), ("ADMIN_PASSWORD", &pw)],
    );
    assert_eq!(s.password, None);
    assert!(
        !s.proc.output().contains(&pw),
        "the password must never be printed"
    );
    let mut c = s.client();
    let r = c.login("root", &pw);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["must_change_password"], false);
    assert_eq!(c.get("/api/computers").status, 200);
    assert_eq!(c.get("/api/me").json()["username"], "root");
}

/// Posts `form` to `/login` as the browser's login form does, with `extra` headers.
fn form_login(s: &Server, form: &str, extra: &[(&str, &str)]) -> Resp {
    let origin = format!("http://{}", s.addr());
    let mut headers = vec![
        ("Origin", origin.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    headers.extend_from_slice(extra);
    request(s.addr(), "POST", "/login", &headers, form.as_bytes())
}

#[test]
fn form_login_redirects_and_sets_a_strict_cookie() {
    let pw = made_up_secret("form");
    // Behind a proxy on this host, which may say the browser used https.
    let s = Server::start(&["--no-local", "--trust-proxy"], &[("ADMIN_PASSWORD", &pw)]);
    let body = format!("username=admin&password={pw}");
    let r = form_login(&s, &body, &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    let cookie = r.header("set-cookie").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");
    let value = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert_eq!(value.len(), 64, "256-bit id in hex");
    // Behind a proxy that says https, the cookie is Secure.
    let r = form_login(&s, &body, &[("X-Forwarded-Proto", "https")]);
    assert!(r.header("set-cookie").unwrap().contains("Secure"));
    // A wrong password shows the form again with a message, and the user's input escaped.
    let r = form_login(&s, "username=%3Cscript%3E&password=wrong-password", &[]);
    assert_eq!(r.status, 422);
    let page = r.text();
    assert!(page.contains("wrong username or password"));
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>"),
        "{page}"
    );
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let pw = made_up_secret("same");
    let s = Server::with_admin_password(&pw);
    let a = s.client().login("admin", "not-the-password");
    let b = s.client().login("nobody-here", "not-the-password");
    assert_eq!((a.status, a.text()), (b.status, b.text()));
    assert_eq!(a.status, 401);
}

#[test]
fn logout_ends_the_session() {
    let pw = made_up_secret("logout");
    let s = Server::with_admin_password(&pw);
    let mut c = s.admin_with(&pw);
    let old = c.cookie.clone().unwrap();
    assert_eq!(c.post_json("/logout", "{}").status, 200);
    let r = request(
        s.addr(),
        "GET",
        "/api/computers",
        &[("Cookie", &format!("lanstat_session={old}"))],
        b"",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn api_without_session_is_401_and_pages_redirect() {
    let s = Server::start(&["--no-local"], &[]);
    for path in [
        "/api/computers",
        "/api/stats/1",
        "/api/history/1",
        "/api/network_graph/1",
        "/api/users",
        "/api/me",
    ] {
        let r = request(s.addr(), "GET", path, &[], b"");
        assert_eq!(r.status, 401, "{path}");
        assert!(r.json()["error"].is_string());
        assert_eq!(r.json()["code"], "login_required", "{path}");
    }
    for path in ["/", "/manage", "/users", "/change_password"] {
        let r = request(s.addr(), "GET", path, &[], b"");
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "{path}"
        );
    }
    let r = request(
        s.addr(),
        "GET",
        "/api/computers",
        &[("Cookie", "lanstat_session=forged")],
        b"",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn login_is_throttled_after_five_failures_per_user() {
    let pw = made_up_secret("throttle");
    let s = Server::with_admin_password(&pw);
    // Even the right password waits.
    let r = sixth_login_waits(&s, &pw, |_| "admin".into(), &pw);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // The delay is short at first: after it, the right password works and clears the count
    // (a refused attempt is not counted, so asking again does not prolong it).
    until("the right password let in once the wait is over", || {
        (s.client().login("admin", &pw).status == 200).then_some(())
    });
    // The same happens for a name that does not exist, so it tells nothing.
    sixth_login_waits(&s, &pw, |n| format!("ghost-{n}"), "wrong-wrong");
}

/// Five wrong logins as `user(n)`, then at once a sixth with `password`, until that sixth is
/// told to wait (429), which is returned. Five failures start a one-second wait counted from
/// the fifth attempt's arrival; on a busy machine the fifth's password check may outlast that
/// second, and then the sixth is rightly let through and judged: the admin's login (with
/// `admin_pw`) then clears the address's count and the next try takes a new `n`. A throttle
/// that never makes the sixth wait fails after 60 s.
fn sixth_login_waits(
    s: &Server,
    admin_pw: &str,
    user: impl Fn(u32) -> String,
    password: &str,
) -> Resp {
    let mut n = 0;
    until("a sixth login told to wait", || {
        n += 1;
        let user = user(n);
        s.five_wrong_logins(&user);
        let r = s.client().login(&user, password);
        if r.status == 429 {
            return Some(r);
        }
        assert!(matches!(r.status, 200 | 401), "{}: {}", r.status, r.text());
        until("the admin let in", || {
            (s.client().login("admin", admin_pw).status == 200).then_some(())
        });
        None
    })
}

#[test]
fn cross_origin_posts_are_refused() {
    let pw = made_up_secret("csrf");
    let s = Server::with_admin_password(&pw);
    let mut c = s.admin_with(&pw);
    let cookie = format!("lanstat_session={}", c.cookie.clone().unwrap());
    let body = br#"{"name":"x","url":"http://x:8000","token":"0123456789abcdef"}"#;
    for headers in [
        vec![
            ("Origin", "http://evil.example"),
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ],
        vec![
            ("Sec-Fetch-Site", "cross-site"),
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ],
        vec![
            ("Origin", "null"),
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ],
    ] {
        let r = request(s.addr(), "POST", "/api/add_computer", &headers, body);
        assert_eq!(r.status, 403, "{headers:?}");
        assert_eq!(r.json()["error"], "cross-origin request refused");
    }
    // A cross-site login attempt is refused too.
    let r = request(
        s.addr(),
        "POST",
        "/login",
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(r.status, 403);
    assert_eq!(c.count("/api/computers"), 0, "nothing was added");
}

#[test]
fn password_change_needs_the_current_one_and_ends_other_sessions() {
    let pw = made_up_secret("change");
    let s = Server::with_admin_password(&pw);
    let mut a = s.admin_with(&pw);
    let mut b = s.admin_with(&pw);
    let new = made_up_secret("changed");
    let r = a.change_password("nope-nope", &new);
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("current_password"))
    );
    let r = a.change_password(&pw, "short");
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("new_password"))
    );
    let r = a.post_json(
        "/change_password",
        &format!(
            r#"{{"current_password":"{pw}","new_password":"{new}","confirm_password":"other-one"}}"#
        ),
    );
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("confirm_password"))
    );
    let r = a.change_password(&pw, &new);
    assert_eq!(r.status, 200);
    assert_eq!(a.get("/api/me").status, 200, "this session lives on");
    assert_eq!(b.get("/api/me").status, 401, "the other session ended");
}

#[test]
fn viewers_read_but_are_refused_admin_routes() {
    let s = Server::start(&["--no-local"], &[]);
    let mut admin = s.admin(&made_up_secret("admin"));
    let vpw = made_up_secret("viewer");
    let r = admin.post_json(
        "/api/users",
        &format!(r#"{{"username":"vic","role":"viewer","password":"{vpw}"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let vid = r.json()["id"].as_i64().unwrap();
    let mut viewer = s.client();
    assert_eq!(viewer.login("vic", &vpw).status, 200);
    assert_eq!(viewer.get("/api/computers").status, 200);
    assert_eq!(viewer.get("/api/me").json()["role"], "viewer");
    for (method, path, body) in [
        (
            "POST",
            "/api/add_computer",
            r#"{"name":"x","url":"http://x:8000","token":"0123456789abcdef"}"#,
        ),
        ("GET", "/api/users", ""),
        ("POST", "/api/users", r#"{"username":"eve","role":"admin"}"#),
        ("DELETE", "/api/users/1", ""),
        (
            "POST",
            "/api/test_connection",
            r#"{"url":"http://x:8000","token":"t"}"#,
        ),
    ] {
        let r = viewer.send(method, path, Some("application/json"), body.as_bytes());
        assert_eq!(r.status, 403, "{method} {path}");
    }
    let cookie = format!("lanstat_session={}", viewer.cookie.clone().unwrap());
    assert_eq!(
        request(s.addr(), "GET", "/manage", &[("Cookie", &cookie)], b"").status,
        403
    );
    // The admin can promote, and cannot remove the last admin.
    let me = admin.get("/api/me").json()["id"].as_i64().unwrap();
    let r = admin.send("DELETE", &format!("/api/users/{me}"), None, b"");
    assert_eq!(r.status, 409);
    let r = admin.send_json("PATCH", &format!("/api/users/{me}"), r#"{"role":"viewer"}"#);
    assert_eq!(r.status, 409);
    let r = admin.send_json("PATCH", &format!("/api/users/{vid}"), r#"{"role":"admin"}"#);
    assert_eq!(r.json()["role"], "admin");
}

#[test]
fn users_are_added_with_generated_passwords_and_reset() {
    let s = Server::start(&["--no-local"], &[]);
    let mut admin = s.admin(&made_up_secret("admin"));
    let r = admin.post_json("/api/users", r#"{"username":"kim","role":"viewer"}"#);
    assert_eq!(r.status, 201);
    let (id, pw) = (
        r.json()["id"].as_i64().unwrap(),
        r.json()["password"].as_str().unwrap().to_string(),
    );
    let mut kim = s.client();
    assert_eq!(kim.login("kim", &pw).json()["must_change_password"], true);
    assert_eq!(
        admin
            .post_json("/api/users", r#"{"username":"kim"}"#)
            .status,
        409
    );
    assert_eq!(
        admin
            .post_json("/api/users", r#"{"username":"has space"}"#)
            .status,
        422
    );
    assert_eq!(
        admin
            .post_json("/api/users", r#"{"username":"x","role":"root"}"#)
            .status,
        422
    );
    assert_eq!(
        admin
            .post_json("/api/users", r#"{"username":"y","password":"short"}"#)
            .status,
        422
    );
    let r = admin.post_json(&format!("/api/users/{id}/reset_password"), "{}");
    assert_eq!(r.status, 200);
    let new = r.json()["password"].as_str().unwrap().to_string();
    assert_ne!(new, pw);
    assert_eq!(
        kim.get("/api/me").status,
        401,
        "reset ends the user's sessions"
    );
    assert_eq!(s.client().login("kim", &new).status, 200);
    let list = admin.get("/api/users").json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );
}

#[test]
fn reset_password_command_prints_once_and_ends_sessions() {
    let pw = made_up_secret("cli-reset");
    let s = Server::with_admin_password(&pw);
    let mut c = s.admin_with(&pw);
    let db = s.db();
    let db = db.to_str().unwrap();
    let (code, out, err) = s.run(&["reset-password", "admin", "--db", db]);
    assert_eq!(code, 0, "{err}");
    let new = out
        .lines()
        .find_map(|l| l.strip_prefix("New password for admin: "))
        .unwrap()
        .to_string();
    assert_eq!(c.get("/api/me").status, 401);
    let mut again = s.client();
    let r = again.login("admin", &new);
    assert_eq!(r.json()["must_change_password"], true);
    assert_fails(
        &["reset-password", "nobody", "--db", db],
        s.dir.path(),
        "no user named",
    );
}
