//! Polling real and fake agents: status with reasons, figures stored, bad agents isolated.

mod util;

use std::time::Duration;
use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

#[test]
fn a_real_agent_goes_online_with_real_figures_everywhere() {
    let agent = RealAgent::start();
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("lab-agent", &agent.url(), &agent.token);
    let v = c.wait_computer(id, "online", |v| v["status"] == "online");
    assert!(v["memory"]["total"].as_u64().unwrap() > 0);
    assert!(v["hostname"].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(v["url"], agent.url());
    assert!(v.get("token").is_none(), "the token is never shown");
    assert_eq!(
        v["token_hint"],
        format!("…{}", &agent.token[agent.token.len() - 4..])
    );
    // A few polls later history and the network graph have points.
    let h = until("three samples in the last hour's history", || {
        let h = c.get(&format!("/api/history/{id}?range=1h")).json();
        (samples_in(&h) >= 3).then_some(h)
    });
    let stats = c.get(&format!("/api/stats/{id}")).json();
    assert!(stats["memory_total"].as_i64().unwrap() > 0);
    assert!(stats["disk_total"].as_i64().unwrap() > 0);
    assert!(stats["network_bytes_recv"].as_i64().unwrap() > 0);
    assert!(
        stats["detail"]["disks"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
    let points = h["points"].as_array().unwrap();
    assert!(
        points
            .iter()
            .any(|p| p["memory_percent"].as_f64().is_some_and(|m| m > 0.0))
    );
    let g = c.get(&format!("/api/network_graph/{id}")).json();
    assert_eq!(g["range"], "24h");
    assert!(!g["timestamps"].as_array().unwrap().is_empty());
    assert_eq!(
        g["sent"].as_array().unwrap().len(),
        g["timestamps"].as_array().unwrap().len()
    );
    assert_eq!(
        g["recv"].as_array().unwrap().len(),
        g["labels"].as_array().unwrap().len()
    );
}

#[test]
fn a_stopped_agent_goes_offline_with_a_reason() {
    let mut agent = RealAgent::start();
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("goes-away", &agent.url(), &agent.token);
    c.wait_computer(id, "online", |v| v["status"] == "online");
    agent.proc.signal_and_wait("TERM");
    let v = c.wait_computer(id, "offline", |v| v["status"] == "offline");
    assert_eq!(v["status_reason"], "connection refused");
    assert!(v["last_seen"].as_i64().is_some());
    assert!(v["status_changed_at"].as_i64().is_some());
}

#[test]
fn a_wrong_token_is_an_error_not_offline() {
    let agent = RealAgent::start();
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer(
        "bad-token",
        &agent.url(),
        "00000000-0000-4000-8000-000000000000",
    );
    let v = c.wait_computer(id, "error", |v| v["status"] == "error");
    assert!(v["status_reason"].as_str().unwrap().contains("401"), "{v}");
}

#[test]
fn an_original_python_agent_is_understood_and_rates_come_from_counters() {
    let fake = FakeAgent::start(Behaviour::Body(original_json("old-client", 1000, 2000)));
    let token = "a79a6575-3178-44fa-8ed0-48581ae5caec";
    // It knows only bearer tokens: the server's signed poll is refused, and it falls back.
    fake.only_bearer(token);
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("python", &fake.url(), token);
    let v = c.wait_computer(id, "online", |v| v["status"] == "online");
    assert_eq!(v["hostname"], "old-client");
    assert_eq!(*fake.last_auth.lock().unwrap(), format!("Bearer {token}"));
    // The sent counter moves by 5000 bytes at every look from now on (the agent's own rate
    // stays 100): the server derives its own rate from the counters.
    let mut sent = 1000u64;
    until("a sent rate the server derived from the counters", || {
        sent += 5000;
        fake.set(Behaviour::Body(original_json("old-client", sent, 2000)));
        let v = c.get(&format!("/api/computers/{id}")).json();
        let rate = v["network_usage"]["bytes_sent_per_sec"].as_f64().unwrap();
        (rate > 1000.0 && rate != 100.0).then_some(())
    });
    // A counter reset (the agent restarted) gives 0, never a negative rate.
    fake.set(Behaviour::Body(original_json("old-client", 10, 10)));
    let stats = until("the reset counters stored", || {
        let stats = c.get(&format!("/api/stats/{id}")).json();
        (stats["network_bytes_sent"] == 10).then_some(stats)
    });
    assert!(stats["network_sent_per_sec"].as_f64().unwrap() >= 0.0);
    let h = c.get(&format!("/api/history/{id}?range=1h")).json();
    for p in h["points"].as_array().unwrap() {
        if let Some(r) = p["network_sent_per_sec"].as_f64() {
            assert!(r >= 0.0, "{p}");
        }
    }
}

#[test]
fn hostile_agents_get_clear_errors_and_never_delay_the_others() {
    let good = FakeAgent::start(Behaviour::Body(original_json("good", 1, 1)));
    let nan = original_json("nan", 1, 1).replace("12.5", "NaN");
    let negative = original_json("neg", 1, 1).replace("\"bytes_sent\": 1", "\"bytes_sent\": -1");
    let cases: Vec<(&str, Behaviour, &str, &str)> = vec![
        (
            "garbage",
            Behaviour::Body("<html>not json</html>".into()),
            "error",
            "bad JSON",
        ),
        (
            "huge",
            Behaviour::Huge(10 * 1024 * 1024),
            "error",
            "larger than 1 MiB",
        ),
        ("nan", Behaviour::Body(nan), "error", "bad JSON"),
        ("negative", Behaviour::Body(negative), "error", "bad JSON"),
        (
            "percent",
            Behaviour::Body(original_json("p", 1, 1).replace("12.5", "250")),
            "error",
            "cpu_percent",
        ),
        ("status500", Behaviour::Status(500), "error", "HTTP 500"),
        ("silent", Behaviour::Silent, "offline", "timed out"),
        (
            "trickle",
            Behaviour::Trickle(Duration::from_millis(100)),
            "offline",
            "timed out",
        ),
    ];
    let fakes: Vec<FakeAgent> = cases
        .iter()
        .map(|(_, b, _, _)| FakeAgent::start(b.clone()))
        .collect();
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let good_id = c.add_computer("good", &good.url(), "0123456789abcdef");
    let ids: Vec<i64> = cases
        .iter()
        .zip(&fakes)
        .map(|((name, ..), f)| c.add_computer(name, &f.url(), "0123456789abcdef"))
        .collect();
    for ((name, _, status, reason), id) in cases.iter().zip(&ids) {
        let v = c.wait_computer(*id, status, |v| {
            v["status"] == *status && v["status_reason"].is_string()
        });
        let got = v["status_reason"].as_str().unwrap_or("");
        assert!(
            got.contains(reason),
            "{name}: reason {got:?} should mention {reason:?}"
        );
    }
    // Meanwhile the good agent is polled in every round: the round under way may have asked
    // it before `before`, the next three ask it after. (Each round ends by its deadline,
    // whatever the others do: see the poller.)
    let before = good.requests();
    c.wait_rounds(4);
    let polls = good.requests() - before;
    assert!(polls >= 3, "the good agent got {polls} polls in 4 rounds");
    assert_eq!(
        c.get(&format!("/api/computers/{good_id}")).json()["status"],
        "online"
    );
    // And the server itself still answers quickly.
    assert_eq!(request(s.addr(), "GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn the_servers_own_host_is_a_computer_at_once() {
    let s = Server::start(&[], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let list = c.get("/api/computers").json();
    let local = &list[0];
    assert_eq!(local["kind"], "local");
    assert!(local["url"].is_null());
    let id = local["id"].as_i64().unwrap();
    let v = c.wait_computer(id, "online", |v| v["status"] == "online");
    assert!(v["memory"]["total"].as_u64().unwrap() > 0);
    assert!(v["cpu_count"].as_u64().unwrap() > 0);
}

#[test]
fn no_local_leaves_the_host_out() {
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    assert_eq!(c.count("/api/computers"), 0);
}

#[test]
fn test_connection_reports_before_saving() {
    let agent = RealAgent::start();
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let body = serde_json::json!({ "url": agent.url(), "token": agent.token }).to_string();
    let r = c.post_json("/api/test_connection", &body).json();
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["memory"]["total"].as_u64().unwrap() > 0);
    let body =
        serde_json::json!({ "url": agent.url(), "token": "wrong-token-wrong-token" }).to_string();
    let r = c.post_json("/api/test_connection", &body).json();
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_str()),
        (Some(false), Some("error"))
    );
    assert!(r["reason"].as_str().unwrap().contains("401"));
    let body = serde_json::json!({ "url": "http://127.0.0.1:1", "token": "abcdefabcdefabcdef" })
        .to_string();
    let r = c.post_json("/api/test_connection", &body).json();
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_str()),
        (Some(false), Some("offline"))
    );
    assert_eq!(c.count("/api/computers"), 0, "nothing saved");
}

/// A TLS endpoint from Debian's `openssl s_server`, with a certificate made for the test.
struct TlsEndpoint {
    child: std::process::Child,
    port: u16,
    /// The CA that signed the endpoint's certificate.
    ca: std::path::PathBuf,
    _dir: TempDir,
}

impl TlsEndpoint {
    fn start() -> TlsEndpoint {
        let dir = TempDir::new("tls");
        let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl (Debian's openssl package) is needed for the TLS test");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        // A private CA, and a certificate for 127.0.0.1 that it signs.
        openssl(
            &[
                &["req", "-x509", "-days", "1", "-subj", "/CN=lanstat test CA"][..],
                &ec,
                &["-keyout", &path("ca.key"), "-out", &path("ca.pem")],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-subj", "/CN=localhost"][..],
                &ec,
                &["-keyout", &path("key.pem"), "-out", &path("leaf.csr")],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-days",
            "1",
            "-in",
            &path("leaf.csr"),
            "-CA",
            &path("ca.pem"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &path("ext.cnf"),
            "-out",
            &path("cert.pem"),
        ]);
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        until("openssl s_server listening", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        TlsEndpoint {
            child,
            port,
            ca: dir.join("ca.pem"),
            _dir: dir,
        }
    }
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_agents_are_reached_through_the_system_trust_store() {
    let tls = TlsEndpoint::start();
    let url = format!("https://127.0.0.1:{}", tls.port);
    // Trusted through SSL_CERT_FILE: the handshake succeeds and the HTML answer is refused.
    let s = Server::start(
        &["--no-local"],
        &[("SSL_CERT_FILE", tls.ca.to_str().unwrap())],
    );
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("tls", &url, "0123456789abcdef");
    let v = c.wait_computer(id, "answered", |v| v["status"] == "error");
    assert!(
        v["status_reason"].as_str().unwrap().contains("bad JSON"),
        "{v}"
    );
    // Not trusted by the system's bundle: refused at the handshake, with a reason.
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    let id = c.add_computer("tls", &url, "0123456789abcdef");
    let v = c.wait_computer(id, "refused", |v| v["status"] == "error");
    let reason = v["status_reason"].as_str().unwrap().to_lowercase();
    assert!(
        reason.contains("certificate") || reason.contains("issuer"),
        "{reason}"
    );
}

#[test]
fn the_computer_list_shows_every_change_at_once() {
    let agent = RealAgent::start();
    let s = Server::start(&["--no-local"], &[]);
    let mut c = s.admin(&made_up_secret("admin"));
    assert_eq!(c.get("/api/computers").json(), serde_json::json!([]));
    let id = c.add_computer("lab-agent", &agent.url(), &agent.token);
    let listed = c.get("/api/computers").json();
    assert_eq!(listed[0]["name"], "lab-agent", "{listed}");
    c.wait_computer(id, "online", |v| v["status"] == "online");
    let listed = c.get("/api/computers").json();
    assert_eq!(listed[0]["status"], "online", "{listed}");
    assert!(listed[0]["memory"]["total"].as_u64().unwrap() > 0);

    // Paused, it is polled no more: once the round under way has ended, the list and the
    // computer's own view agree in full, the latest figures included.
    let edit = |c: &mut Client, body: &str| {
        let r = c.send_json("PATCH", &format!("/api/computers/{id}"), body);
        assert_eq!(r.status, 200, "{}", r.text());
    };
    edit(&mut c, r#"{"enabled":false}"#);
    c.wait_rounds(1);
    let listed = c.get("/api/computers").json();
    assert_eq!(listed[0], c.get(&format!("/api/computers/{id}")).json());
    assert_eq!(listed[0]["enabled"], false);
    assert!(
        listed[0]["hostname"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );

    // Each edit shows in the very next list.
    edit(&mut c, r#"{"name":"lab-agent-2"}"#);
    assert_eq!(c.get("/api/computers").json()[0]["name"], "lab-agent-2");
    edit(&mut c, r#"{"enabled":true}"#);
    assert_eq!(c.get("/api/computers").json()[0]["enabled"], true);
    edit(&mut c, r#"{"enabled":false}"#);
    assert_eq!(c.get("/api/computers").json()[0]["enabled"], false);
    assert_eq!(
        c.send("DELETE", &format!("/api/computers/{id}"), None, b"")
            .status,
        200
    );
    assert_eq!(c.get("/api/computers").json(), serde_json::json!([]));
}
