//! The way out to Prometheus: the server's `/metrics`, its service discovery, and Debian's
//! real `prometheus` scraping both the server and, found through the server, the agents.

mod util;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::*;

/// Writes `secret` to a file only its owner may read, as Prometheus wants its credentials.
fn write_secret(path: &Path, secret: &str) {
    write_with_mode(path, format!("{secret}\n"), 0o600);
}

#[test]
fn server_metrics_label_every_host_and_pass_promtool() {
    let (_s, mut c) = logged_in(&[]);
    let agent = RealAgent::start();
    let id = c.add_computer("agent \"one\"", &agent.url(), &agent.token);
    c.add_computer("gone", "http://127.0.0.1:1", "0123456789abcdef");
    c.wait_computer(id, "online", |v| v["status"] == "online");
    let text = metrics_text(&c.get("/metrics"));
    let instance = agent.proc.addr.to_string();
    let labels = format!("{{instance=\"{instance}\",name=\"agent \\\"one\\\"\"}}");
    let total = c.get(&format!("/api/stats/{id}")).json()["detail"]["memory"]["total"]
        .as_u64()
        .unwrap();
    for line in [
        format!("node_memory_MemTotal_bytes{labels} {total}"),
        format!("lanstat_computer_up{labels} 1"),
        "lanstat_computer_up{instance=\"127.0.0.1:1\",name=\"gone\"} 0".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    for name in [
        format!("lanstat_last_sample_age_seconds{labels}"),
        format!(
            "node_network_receive_bytes_total{{instance=\"{instance}\",name=\"agent \\\"one\\\"\",device=\"lo\"}}"
        ),
        "lanstat_computer_status{instance=\"127.0.0.1:1\",name=\"gone\",status=\"offline\"} 1"
            .into(),
        // The server's own host, with the sampler's Linux-only series.
        "node_cpu_seconds_total{instance=".into(),
        "lanstat_server_poll_round_duration_seconds ".into(),
        "lanstat_server_polls_total{outcome=\"ok\"} ".into(),
        "lanstat_server_database_bytes ".into(),
        "lanstat_server_rows{tier=\"raw\"} ".into(),
        format!(
            "lanstat_server_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
    ] {
        assert!(text.contains(&name), "{name} missing:\n{text}");
    }
    assert!(
        !text.lines().any(|l| l.starts_with("up")),
        "`up` is Prometheus' own"
    );
    if let Err(e) = promtool_accepts(&text) {
        panic!("promtool complained:\n{e}\n\n{text}");
    }
}

#[test]
fn targets_list_the_enabled_agents_for_http_sd() {
    let (s, mut c) = logged_in(&[]);
    let agent = RealAgent::start();
    let id = c.add_computer("agent-1", &format!("{}/", agent.url()), &agent.token);
    c.add_computer(
        "behind-proxy",
        "https://gw.example/lab/pi/",
        "0123456789abcdef",
    );
    c.add_computer("plain", "http://nas.lan", "0123456789abcdef");
    let off = c.add_computer("switched-off", "http://10.1.1.1:8000", "0123456789abcdef");
    let r = c.send_json(
        "PATCH",
        &format!("/api/computers/{off}"),
        r#"{"enabled":false}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let python = util::fake_agent::FakeAgent::start(util::fake_agent::Behaviour::Body(
        util::fake_agent::original_json("old", 1, 2),
    ));
    let py = c.add_computer(
        "python-client",
        &format!("http://{}", python.addr),
        "0123456789abcdef",
    );
    c.wait_computer(id, "online", |v| {
        v["status"] == "online" && v["arch"].is_string()
    });
    c.wait_computer(py, "online", |v| v["status"] == "online");

    let r = c.get("/api/prometheus/targets");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let groups = r.json();
    let by_name: HashMap<String, &Value> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["labels"]["name"].as_str().unwrap().to_string(), g))
        .collect();
    let mut names: Vec<&str> = by_name.keys().map(|k| k.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["agent-1", "behind-proxy", "plain"],
        "no disabled agent, no local host, no original Python client: {groups}"
    );
    let a = by_name["agent-1"];
    assert_eq!(
        a["targets"],
        serde_json::json!([agent.proc.addr.to_string()])
    );
    assert_eq!(a["labels"]["__metrics_path__"], "/metrics");
    assert_eq!(a["labels"]["__scheme__"], "http");
    assert_eq!(a["labels"]["arch"], std::env::consts::ARCH);
    assert!(
        a["labels"]["os"].as_str().is_some_and(|o| !o.is_empty()),
        "{a}"
    );
    let p = by_name["behind-proxy"];
    assert_eq!(p["targets"], serde_json::json!(["gw.example:443"]));
    assert_eq!(p["labels"]["__metrics_path__"], "/lab/pi/metrics");
    assert_eq!(p["labels"]["__scheme__"], "https");
    assert!(p["labels"].get("os").is_none(), "unknown until it answers");
    assert_eq!(
        by_name["plain"]["targets"],
        serde_json::json!(["nas.lan:80"])
    );

    assert_eq!(
        request(s.addr(), "GET", "/api/prometheus/targets", &[], b"").status,
        401
    );
    let r = c.send(
        "POST",
        "/api/prometheus/targets",
        Some("application/json"),
        b"{}",
    );
    assert_eq!(r.status, 405);
}

/// Debian's Prometheus, on a free loopback port, killed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts with `config` in `dir`. A port taken between our probe and its bind is retried.
    fn start(dir: &Path, config: &str) -> Prometheus {
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        for attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let log = dir.join(format!("prometheus-{attempt}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let child = Command::new("prometheus")
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--web.enable-lifecycle")
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run prometheus ({e}); install Debian's `prometheus` package, as .ci/run does"
                    )
                });
            let mut p = Prometheus { child, addr, log };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = p.child.try_wait() {
                    break;
                }
                if try_request(addr, "GET", "/-/ready", &[], b"").is_ok_and(|r| r.status == 200) {
                    return p;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let text = p.log_text();
            if !text.contains("address already in use") {
                panic!("prometheus did not start:\n{text}");
            }
        }
        panic!("prometheus found no free port in three tries");
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn api(&self, path: &str) -> Value {
        let r = request(self.addr, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    }

    /// The result of a PromQL query at this moment.
    fn query(&self, promql: &str) -> Vec<Value> {
        let v = self.api(&format!("/api/v1/query?query={}", encode(promql)));
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The raw samples of a range selector: scrape time (ms) to value.
    fn samples(&self, selector: &str) -> HashMap<i64, f64> {
        let result = self.query(&format!("{selector}[60s]"));
        assert!(
            result.len() <= 1,
            "{selector} matches several series: {result:?}"
        );
        result
            .first()
            .and_then(|s| s["values"].as_array())
            .map(|values| {
                values
                    .iter()
                    .map(|p| {
                        let at = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                        (at, p[1].as_str().unwrap().parse::<f64>().unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A snapshot of the agent as `/systeminfo` told it: sample time (ms), memory total, and
/// the loopback interface's received bytes.
fn systeminfo(agent: &RealAgent) -> (i64, u64, u64) {
    let auth = format!("Bearer {}", agent.token);
    let v = request_as(agent.proc.addr, "GET", "/systeminfo", &auth).json();
    let lo = v["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "lo")
        .unwrap_or_else(|| panic!("no loopback interface in {v}"))["bytes_recv"]
        .as_u64()
        .unwrap();
    (
        v["timestamp"].as_i64().unwrap(),
        v["memory"]["total"].as_u64().unwrap(),
        lo,
    )
}

#[test]
fn prometheus_scrapes_the_server_and_discovers_and_scrapes_the_agents() {
    let started = Instant::now();
    let (s, mut c) = logged_in(&[]);
    let adir = TempDir::new("agent-fleet-token");
    write_secret(
        &adir.join("scrape.tok"),
        &made_up_secret("fleet-scrape-token"),
    );
    let scrape_token = std::fs::read_to_string(adir.join("scrape.tok")).unwrap();
    let agent = RealAgent::start_in(adir, &["--scrape-token-file", "scrape.tok"]);
    let id = c.add_computer("agent-1", &agent.url(), &agent.token);
    c.wait_computer(id, "online", |v| v["status"] == "online");
    let r = c.post_json("/api/tokens", r#"{"name":"prometheus"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    let api_token = r.json()["token"].as_str().unwrap().to_string();

    let pdir = TempDir::new("prometheus");
    write_secret(&pdir.join("api_token"), &api_token);
    write_secret(&pdir.join("scrape_token"), scrape_token.trim());
    let server = s.addr();
    let dir = pdir.path().display();
    // docs/metrics.md's two ways, with the intervals shortened for a test. `type: Bearer` must be
    // written out under http_sd_configs: there Prometheus 2.42 sends the bare credential.
    let config = format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: lanstat-server
    honor_labels: true
    authorization:
      type: Bearer
      credentials_file: "{dir}/api_token"
    static_configs:
      - targets: ["{server}"]
  - job_name: lanstat-agents
    authorization:
      type: Bearer
      credentials_file: "{dir}/scrape_token"
    http_sd_configs:
      - url: "http://{server}/api/prometheus/targets"
        refresh_interval: 1s
        authorization:
          type: Bearer
          credentials_file: "{dir}/api_token"
"#
    );
    let prom = Prometheus::start(pdir.path(), &config);
    let ready_after = started.elapsed();

    // Both jobs' targets up.
    let deadline = Instant::now() + Duration::from_secs(60);
    let agent_addr = agent.proc.addr.to_string();
    loop {
        let targets = prom.api("/api/v1/targets");
        let active = targets["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = |job: &str| {
            active
                .iter()
                .any(|t| t["labels"]["job"] == job && t["health"] == "up")
        };
        if up("lanstat-server") && up("lanstat-agents") {
            let a = active
                .iter()
                .find(|t| t["labels"]["job"] == "lanstat-agents")
                .unwrap();
            assert_eq!(a["labels"]["instance"], agent_addr.as_str(), "{a}");
            assert_eq!(a["labels"]["name"], "agent-1", "{a}");
            assert_eq!(a["labels"]["arch"], std::env::consts::ARCH, "{a}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "targets never both up: {targets}\n\nprometheus log:\n{}",
            prom.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let up_after = started.elapsed();

    // Watch the agent's snapshots until, for each job, one Prometheus stored (found by its
    // sample time, node_time_seconds) is one /systeminfo showed, with the same figures.
    let mut seen: HashMap<i64, (u64, u64)> = HashMap::new();
    let mut matched = HashSet::new();
    until(
        "a snapshot /systeminfo showed, stored through both jobs",
        || {
            let (at, total, lo) = systeminfo(&agent);
            seen.insert(at, (total, lo));
            for job in ["lanstat-agents", "lanstat-server"] {
                let sel = |metric: &str, more: &str| {
                    format!("{metric}{{job=\"{job}\",instance=\"{agent_addr}\"{more}}}")
                };
                let times = prom.samples(&sel("node_time_seconds", ""));
                let lo = prom.samples(&sel("node_network_receive_bytes_total", ",device=\"lo\""));
                let totals = prom.samples(&sel("node_memory_MemTotal_bytes", ""));
                for (scraped_at, sampled) in &times {
                    let sampled_ms = (sampled * 1000.0).round() as i64;
                    let Some((total, lo_recv)) = seen.get(&sampled_ms) else {
                        continue;
                    };
                    assert_eq!(
                        lo.get(scraped_at),
                        Some(&(*lo_recv as f64)),
                        "{job}: lo at {sampled_ms}"
                    );
                    assert_eq!(
                        totals.get(scraped_at),
                        Some(&(*total as f64)),
                        "{job}: MemTotal"
                    );
                    matched.insert(job);
                }
            }
            (matched.len() == 2).then_some(())
        },
    );
    let polls = prom.query("lanstat_server_polls_total{job=\"lanstat-server\",outcome=\"ok\"}");
    assert_eq!(
        polls.len(),
        1,
        "the server's own health is scraped: {polls:?}"
    );
    eprintln!(
        "prometheus: ready after {:.1?}, both targets up after {:.1?}, done after {:.1?}",
        ready_after,
        up_after,
        started.elapsed()
    );
}
