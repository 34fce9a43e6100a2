//! Alerts end to end: rules and channels through the API, a fake agent driven over a
//! threshold and back, offline detection, each channel's payload at a loopback receiver,
//! and receivers that fail or hang without slowing the polls.

mod util;

use serde_json::{Value, json};
use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::receiver::{Answer, Receiver};
use util::*;

fn agent_json(cpu: f64) -> String {
    original_json("lab-pi", 1000, 2000)
        .replace("\"cpu_percent\": 12.5", &format!("\"cpu_percent\": {cpu}"))
}

fn post(c: &mut Client, path: &str, body: Value) -> Resp {
    c.post_json(path, &body.to_string())
}

fn send(c: &mut Client, method: &str, path: &str, body: Value) -> Resp {
    c.send_json(method, path, &body.to_string())
}

/// Adds a rule and returns its id.
fn add_rule(c: &mut Client, body: Value) -> i64 {
    let r = post(c, "/api/alerts/rules", body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

fn add_channel(c: &mut Client, body: Value) -> Value {
    let r = post(c, "/api/alerts/channels", body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// Turns the default rules off, so a test sees only its own.
fn defaults_off(c: &mut Client) {
    for r in c
        .get("/api/alerts/rules")
        .json()
        .as_array()
        .unwrap()
        .clone()
    {
        let id = r["id"].as_i64().unwrap();
        let r = send(
            c,
            "PATCH",
            &format!("/api/alerts/rules/{id}"),
            json!({"enabled": false}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

fn events_of(got: &[util::receiver::Received], event: &str) -> usize {
    got.iter().filter(|r| r.json()["event"] == event).count()
}

/// How many fired and resolved messages the receiver has had.
fn fired_resolved(hook: &Receiver) -> (usize, usize) {
    let got = hook.received();
    (events_of(&got, "fired"), events_of(&got, "resolved"))
}

/// Waits until the agent has been polled `n` more times.
fn rounds(agent: &FakeAgent, n: u64) {
    let polls = agent.requests();
    until(&format!("{n} more polls"), || {
        (agent.requests() >= polls + n).then_some(())
    });
}

/// The alert history, newest first, and the kind of each event.
fn history(c: &mut Client) -> (Value, Vec<String>) {
    let history = c.get("/api/alerts/events").json();
    let kinds = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    (history, kinds)
}

/// A server with its default rules off, a fake agent added as "lab-pi" reporting `cpu` %,
/// and a webhook channel to a loopback receiver: the agent, the receiver, an admin's client,
/// the computer's id and the server.
fn lab(cpu: f64) -> (FakeAgent, Receiver, Client, i64, Server) {
    let agent = FakeAgent::start(Behaviour::Body(agent_json(cpu)));
    let hook = Receiver::start(Answer::Status(200));
    let server = Server::start(&["--no-local"], &[]);
    let mut c = server.admin(&made_up_secret("admin"));
    defaults_off(&mut c);
    let id = c.add_computer(
        "lab-pi",
        &agent.url(),
        "a79a6575-3178-44fa-8ed0-48581ae5caec",
    );
    add_channel(
        &mut c,
        json!({"name": "hook", "kind": "webhook", "url": hook.url("/hook")}),
    );
    (agent, hook, c, id, server)
}

#[test]
fn a_value_over_the_threshold_and_back_sends_one_fired_and_one_resolved() {
    let (agent, hook, mut c, id, _server) = lab(10.0);
    let rule = add_rule(
        &mut c,
        json!({"name": "CPU busy", "kind": "cpu", "computer_id": id, "threshold": 80, "duration_secs": 2}),
    );
    c.wait_computer(id, "online", |v| v["status"] == "online");

    agent.set(Behaviour::Body(agent_json(95.0)));
    let got = hook.wait("a fired message", |g| events_of(g, "fired") == 1);
    let fired = got[0].json();
    assert_eq!(fired["rule"], "CPU busy");
    assert_eq!(fired["rule_id"], rule);
    assert_eq!(fired["computer"], "lab-pi");
    assert_eq!(fired["computer_id"], id);
    assert_eq!(fired["value"], 95.0);
    assert_eq!(fired["threshold"], 80.0);
    assert!(fired["url"].as_str().unwrap().starts_with("http://"));
    let card = c.wait_computer(id, "marked", |v| {
        v["alerts"].as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(card["alerts"][0]["rule"], "CPU busy");

    agent.set(Behaviour::Body(agent_json(10.0)));
    hook.wait("a resolved message", |g| events_of(g, "resolved") == 1);
    c.wait_computer(id, "unmarked", |v| v["alerts"] == json!([]));
    // Several more rounds change nothing.
    rounds(&agent, 4);
    assert_eq!(fired_resolved(&hook), (1, 1), "{:#?}", hook.received());
    let (history, kinds) = history(&mut c);
    assert_eq!(kinds, ["resolved", "fired"], "newest first: {history}");
    assert_eq!(history[1]["value"], 95.0);
}

#[test]
fn an_alert_ended_by_an_admin_sends_one_resolved_message_saying_why() {
    let (agent, hook, mut c, id, _server) = lab(95.0);
    let cpu_rule = |c: &mut Client, name: &str| {
        add_rule(
            c,
            json!({"name": name, "kind": "cpu", "computer_id": id, "threshold": 80, "duration_secs": 0}),
        )
    };
    let rule = cpu_rule(&mut c, "CPU busy");
    hook.wait("a fired message", |g| events_of(g, "fired") == 1);
    let path = format!("/api/alerts/rules/{rule}");
    // Waits for the n-th resolved message and checks that it says why.
    let resolved = |n: usize, why: &str| {
        let got = hook.wait("a resolved message", |g| events_of(g, "resolved") == n);
        let m = got.last().unwrap().json();
        assert_eq!(m["event"], "resolved");
        let text = m["message"].as_str().unwrap();
        assert!(text.ends_with(&format!("ended: {why}")), "{m}");
        m
    };

    // A new name only: the alert carries on, nothing is sent.
    let r = send(&mut c, "PATCH", &path, json!({"name": "CPU flat out"}));
    assert_eq!(r.status, 200, "{}", r.text());
    rounds(&agent, 3);
    assert_eq!(fired_resolved(&hook), (1, 0));
    let v = c.get(&format!("/api/computers/{id}")).json();
    assert_eq!(v["alerts"][0]["rule"], "CPU flat out");

    // A higher threshold: the alert ends with one message that says why, and 95 % stays
    // below the new threshold.
    let r = send(&mut c, "PATCH", &path, json!({"threshold": 99}));
    assert_eq!(r.status, 200, "{}", r.text());
    let m = resolved(1, "the rule was changed");
    assert_eq!(m["value"], 95.0);
    let v = c.get(&format!("/api/computers/{id}")).json();
    assert_eq!(v["alerts"], json!([]));
    rounds(&agent, 3);
    assert_eq!(fired_resolved(&hook), (1, 1));

    // Removing a firing rule ends its alert the same way.
    let r = send(&mut c, "PATCH", &path, json!({"threshold": 80}));
    assert_eq!(r.status, 200, "{}", r.text());
    hook.wait("a second fired message", |g| events_of(g, "fired") == 2);
    let r = send(&mut c, "DELETE", &path, json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    resolved(2, "the rule was removed");

    // So does pausing the computer.
    cpu_rule(&mut c, "CPU again");
    hook.wait("a third fired message", |g| events_of(g, "fired") == 3);
    let computer = format!("/api/computers/{id}");
    let r = send(&mut c, "PATCH", &computer, json!({"enabled": false}));
    assert_eq!(r.status, 200, "{}", r.text());
    resolved(3, "monitoring of the computer was paused");
    // Two more rounds judge the paused computer: they add no event (the history below), so
    // queue no message.
    c.wait_rounds(2);
    let (_, kinds) = history(&mut c);
    assert_eq!(
        kinds,
        [
            "resolved", "fired", "resolved", "fired", "resolved", "fired"
        ]
    );
    assert_eq!(fired_resolved(&hook), (3, 3), "{:#?}", hook.received());
}

#[test]
fn offline_fires_after_the_set_time() {
    let hook = Receiver::start(Answer::Status(204));
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    defaults_off(&mut c);
    // A port that refuses: bound, then closed.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let id = c.add_computer("gone", &url, "a79a6575-3178-44fa-8ed0-48581ae5caec");
    add_rule(
        &mut c,
        json!({"name": "Down", "kind": "offline", "computer_id": id, "duration_secs": 2}),
    );
    add_channel(
        &mut c,
        json!({"name": "hook", "kind": "webhook", "url": hook.url("/h")}),
    );
    let got = hook.wait("an offline alert", |g| events_of(g, "fired") == 1);
    let m = got[0].json();
    assert_eq!(m["kind"], "offline");
    assert!(m["value"].as_f64().unwrap() >= 2.0, "{m}");
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{m}"
    );
    let v = c.get(&format!("/api/computers/{id}")).json();
    assert_eq!(v["alerts"][0]["kind"], "offline");
}

#[test]
fn each_channel_kind_gets_its_own_format_and_secrets_stay_hidden() {
    let rx = Receiver::start(Answer::Status(200));
    let s = Server::start(&["--no-local", "--public-url", "http://dash.lan:8001"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let hook_secret = "hk9Q2x7LmPzR4tW1";
    let token_secret = "tok-Vb8nK3sJ6dF0qY5e";
    let channels = [
        (
            "webhook",
            format!("/hook/{hook_secret}"),
            Some(token_secret),
        ),
        ("ntfy", "/ntfy/lab-alerts".to_string(), None),
        ("discord", "/api/webhooks/1/discordsecret".to_string(), None),
        ("slack", "/services/T0/B0/slacksecret".to_string(), None),
        ("gotify", "/gotify".to_string(), Some("gotify-app-token-1")),
    ];
    let mut tested = Vec::new();
    for (kind, path, token) in &channels {
        let mut body = json!({"name": kind, "kind": kind, "url": rx.url(path)});
        if let Some(t) = token {
            body["token"] = json!(t);
        }
        let ch = add_channel(&mut c, body);
        assert!(!ch["url"].as_str().unwrap().contains(&path[1..]), "{ch}");
        let r = c.post_json(&format!("/api/alerts/channels/{}/test", ch["id"]), "{}");
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["ok"], true, "{kind}: {}", r.text());
        tested.push(kind.to_string());
    }
    let got = rx.wait("five tests", |g| g.len() == 5);
    let by_path = |p: &str| {
        got.iter()
            .find(|r| r.path == p)
            .unwrap_or_else(|| panic!("{p}: {got:#?}"))
    };

    let w = by_path(&format!("/hook/{hook_secret}"));
    assert_eq!(w.method, "POST");
    assert_eq!(w.header("content-type"), Some("application/json"));
    assert_eq!(
        w.header("authorization"),
        Some(format!("Bearer {token_secret}").as_str())
    );
    let b = w.json();
    assert_eq!(
        (b["event"].as_str(), b["url"].as_str()),
        (Some("test"), Some("http://dash.lan:8001"))
    );
    for field in [
        "rule",
        "computer",
        "target",
        "value",
        "threshold",
        "message",
        "at",
        "title",
    ] {
        assert!(b.get(field).is_some(), "webhook lacks {field}: {b}");
    }

    let n = by_path("/ntfy/").json();
    assert_eq!(n["topic"], "lab-alerts");
    assert_eq!(n["click"], "http://dash.lan:8001");
    assert!(n["message"].as_str().unwrap().contains("works"));

    let d = by_path("/api/webhooks/1/discordsecret").json();
    let content = d["content"].as_str().unwrap();
    assert!(content.starts_with("**Test from lanstat**"), "{d}");
    assert_eq!(d["allowed_mentions"], json!({"parse": []}));

    let sl = by_path("/services/T0/B0/slacksecret").json();
    let text = sl["text"].as_str().unwrap();
    assert!(
        text.contains("<http://dash.lan:8001|Open the dashboard>"),
        "{sl}"
    );

    let g = by_path("/gotify/message");
    assert_eq!(g.header("x-gotify-key"), Some("gotify-app-token-1"));
    let gb = g.json();
    assert_eq!(gb["title"], "Test from lanstat");
    assert!(gb["priority"].as_i64().is_some());

    // Lists show the secrets masked, record the delivery, and an edit with an empty address
    // keeps the stored one.
    let secrets = [
        hook_secret,
        token_secret,
        "discordsecret",
        "slacksecret",
        "gotify-app-token-1",
    ];
    let list = c.get("/api/alerts/channels").text();
    for secret in secrets {
        assert!(!list.contains(secret), "{secret} in {list}");
    }
    let list: Value = serde_json::from_str(&list).unwrap();
    let hook = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "webhook")
        .unwrap()
        .clone();
    assert!(hook["last_ok_at"].as_i64().is_some(), "{hook}");
    assert_eq!(
        hook["token"],
        "…5e".replace("5e", &token_secret[token_secret.len() - 4..])
    );
    let r = send(
        &mut c,
        "PUT",
        &format!("/api/alerts/channels/{}", hook["id"]),
        json!({"name": "renamed", "url": "", "token": ""}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["url"], hook["url"]);
    let r = c.post_json(&format!("/api/alerts/channels/{}/test", hook["id"]), "{}");
    assert_eq!(r.json()["ok"], true);
    rx.wait("the renamed hook's test", |g| g.len() == 6);
    assert_eq!(
        rx.received()[5].header("authorization"),
        Some(format!("Bearer {token_secret}").as_str())
    );

    let log = s.proc.output();
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
    assert_eq!(tested.len(), 5);
}

#[test]
fn a_failing_or_hanging_receiver_is_retried_without_delaying_polls() {
    let agent = FakeAgent::start(Behaviour::Body(agent_json(50.0)));
    let failing = Receiver::start(Answer::Status(500));
    let hanging = Receiver::start(Answer::Hang);
    let good = Receiver::start(Answer::Status(200));
    let s = Server::start(&["--no-local", "--notify-retry", "0,0,0"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    defaults_off(&mut c);
    let id = c.add_computer("busy", &agent.url(), "a79a6575-3178-44fa-8ed0-48581ae5caec");
    add_channel(
        &mut c,
        json!({"name": "hangs", "kind": "webhook", "url": hanging.url("/h")}),
    );
    add_channel(
        &mut c,
        json!({"name": "fails", "kind": "webhook", "url": failing.url("/f")}),
    );
    add_channel(
        &mut c,
        json!({"name": "zz-good", "kind": "webhook", "url": good.url("/g")}),
    );
    c.wait_computer(id, "online", |v| v["status"] == "online");
    add_rule(
        &mut c,
        json!({"name": "Any CPU", "kind": "cpu", "computer_id": id, "threshold": 0, "duration_secs": 0}),
    );
    // A channel that hangs does not hold up the others: the good one has its message
    // before the hanging one's first attempt has timed out.
    good.wait("its message", |g| g.len() == 1);
    assert!(hanging.received().len() <= 1, "{:?}", hanging.received());
    // Each attempt at the hanging one waits for the delivery timeout; polls go on meanwhile.
    hanging.wait("a first attempt", |g| !g.is_empty());
    let polls = agent.requests();
    hanging.wait("a retry", |g| g.len() >= 2);
    // The failing receiver gets its first attempt and its retries.
    failing.wait("a retry", |g| g.len() >= 2);
    let during = agent.requests() - polls;
    assert!(during >= 3, "only {during} polls while the receiver hung");
    let list = c.get("/api/alerts/channels").json();
    let fails = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fails")
        .unwrap();
    assert_eq!(
        fails["last_error"], "the receiver answered HTTP 500",
        "{fails}"
    );
    assert!(fails["last_ok_at"].is_null());
    let log = s.proc.output();
    assert!(log.contains("event=notification_failed"), "{log}");
    assert!(!log.contains(&failing.url("/f")), "no URL in the log");
}

#[test]
fn rules_and_channels_are_validated() {
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let defaults = c.get("/api/alerts/rules").json();
    let kinds: Vec<&str> = defaults
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for k in ["offline", "disk", "memory", "temperature"] {
        assert!(kinds.contains(&k), "default {k} rule: {defaults}");
    }
    let bad_rules = [
        (json!({"name": "x", "kind": "fan"}), "kind"),
        (json!({"name": "", "kind": "cpu", "threshold": 5}), "name"),
        (
            json!({"name": "x", "kind": "cpu", "threshold": 150}),
            "threshold",
        ),
        (json!({"name": "x", "kind": "cpu"}), "threshold"),
        (
            json!({"name": "x", "kind": "cpu", "threshold": "hot"}),
            "threshold",
        ),
        (
            json!({"name": "x", "kind": "cpu", "threshold": 5, "target": "/"}),
            "target",
        ),
        (
            json!({"name": "x", "kind": "disk", "threshold": 5, "computer_id": 999}),
            "computer_id",
        ),
        (
            json!({"name": "x", "kind": "disk", "threshold": 5, "duration_secs": -1}),
            "duration_secs",
        ),
    ];
    for (body, field) in bad_rules {
        let r = post(&mut c, "/api/alerts/rules", body.clone());
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{body}");
    }
    let id = add_rule(
        &mut c,
        json!({"name": "Data disk", "kind": "disk", "target": "/data", "threshold": 85}),
    );
    let r = post(
        &mut c,
        "/api/alerts/rules",
        json!({"name": "Data disk", "kind": "cpu", "threshold": 5}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        send(&mut c, "PUT", "/api/alerts/rules/999", json!({"name": "y"})).status,
        404
    );
    assert_eq!(
        send(&mut c, "DELETE", "/api/alerts/rules/999", json!({})).status,
        404
    );
    let r = send(
        &mut c,
        "PATCH",
        &format!("/api/alerts/rules/{id}"),
        json!({"threshold": 95}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json()["threshold"].as_f64(), r.json()["target"].as_str()),
        (Some(95.0), Some("/data"))
    );

    let bad_channels = [
        (
            json!({"name": "x", "kind": "pager", "url": "http://h/x"}),
            "kind",
        ),
        (json!({"name": "x", "kind": "webhook"}), "url"),
        (
            json!({"name": "x", "kind": "webhook", "url": "ftp://h/x"}),
            "url",
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "http://u:p@h/x"}),
            "url",
        ),
        (
            json!({"name": "x", "kind": "ntfy", "url": "https://ntfy.sh/"}),
            "url",
        ),
        (
            json!({"name": "x", "kind": "gotify", "url": "https://gotify.lan"}),
            "token",
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "http://h/x", "token": "a b"}),
            "token",
        ),
    ];
    for (body, field) in bad_channels {
        let r = post(&mut c, "/api/alerts/channels", body.clone());
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{body}");
    }
    add_channel(
        &mut c,
        json!({"name": "a", "kind": "webhook", "url": "http://127.0.0.1:9/x"}),
    );
    let r = post(
        &mut c,
        "/api/alerts/channels",
        json!({"name": "a", "kind": "slack", "url": "http://127.0.0.1:9/y"}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        c.post_json("/api/alerts/channels/999/test", "{}").status,
        404
    );
    assert_eq!(c.get("/api/alerts/events?limit=0").status, 422);

    // A read-only token reads rules and history, and nothing about channels.
    let t = c.post_json("/api/tokens", r#"{"name":"reader"}"#).json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = format!("Bearer {t}");
    let get = |path: &str| request_as(s.addr(), "GET", path, &auth).status;
    assert_eq!(get("/api/alerts/rules"), 200);
    assert_eq!(get("/api/alerts/events"), 200);
    assert_eq!(get("/api/alerts/channels"), 403);
    let r = request(
        s.addr(),
        "POST",
        "/api/alerts/rules",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"name":"t","kind":"reboot"}"#,
    );
    assert_eq!(r.status, 403);
}
