//! Prometheus: the server's `/metrics` (every computer's latest figures under the agent's
//! metric names, labelled `instance` and `name`, plus statuses and the server's own health)
//! and `/api/prometheus/targets`, the fleet in the format of Prometheus' `http_sd_configs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lanstat_agent::Snapshot;
use lanstat_agent::metrics::{CONTENT_TYPE, Exposition, write_host};
use lanstat_http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{ApiError, Call};
use crate::App;
use crate::live::LiveEntry;
use crate::model::{Computer, Kind, Status, Tier};
use crate::store;

/// Row counts scan whole tables: they are taken at most this often.
const ROWS_MAX_AGE: Duration = Duration::from_secs(60);

/// Where Prometheus should scrape an agent, from the URL the dashboard polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    pub scheme: &'static str,
    /// `host:port`, with the scheme's default port written out.
    pub address: String,
    pub metrics_path: String,
}

/// Splits an agent URL (`http://pi:8000`, `https://proxy/pi/`, `http://pi:8000/systeminfo`)
/// into what Prometheus needs. `None` for a URL the dashboard would not accept.
pub fn scrape_target(url: &str) -> Option<ScrapeTarget> {
    let url = url.trim();
    let (scheme, rest, port) = if let Some(r) = url.strip_prefix("http://") {
        ("http", r, "80")
    } else if let Some(r) = url.strip_prefix("https://") {
        ("https", r, "443")
    } else {
        return None;
    };
    if rest.contains(['?', '#', '@']) {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => {
            let (_, after) = v6.split_once(']')?;
            !after.is_empty()
        }
        None => authority.contains(':'),
    };
    if authority.is_empty() || authority.starts_with(':') {
        return None;
    }
    let address = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{port}")
    };
    let path = path.trim_end_matches('/');
    let base = path.strip_suffix("/systeminfo").unwrap_or(path);
    Some(ScrapeTarget {
        scheme,
        address,
        metrics_path: format!("{base}/metrics"),
    })
}

/// The server's own health, as counted since it started.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub poll_round_secs: f64,
    pub poll_rounds: u64,
    pub polls_ok: u64,
    pub polls_failed: u64,
    pub db_write_errors: u64,
    pub db_bytes: u64,
    pub rows: Vec<(Tier, i64)>,
}

/// One computer's part of the exposition: its row, and its figures while it is online
/// (a stale answer is not shown as a current one: the series stop, and the age says why).
pub struct HostView<'a> {
    pub computer: &'a Computer,
    pub instance: String,
    pub snapshot: Option<Arc<Snapshot>>,
    /// When it last answered, unix milliseconds.
    pub last_answer_ms: Option<i64>,
}

/// The `/metrics` body.
pub fn render(hosts: &[HostView], health: &Health, now_ms: i64) -> String {
    let mut e = Exposition::new();
    for h in hosts {
        let labels = [
            ("instance", h.instance.as_str()),
            ("name", h.computer.name.as_str()),
        ];
        let up = if h.computer.status == Status::Online {
            1.0
        } else {
            0.0
        };
        e.family(
            "lanstat_computer_up",
            "gauge",
            "1 if the computer answered the server's last poll, else 0.",
        )
        .sample("lanstat_computer_up", &labels, up);
        e.family(
            "lanstat_computer_status",
            "gauge",
            "The computer's status: 1 on the series of its current status (online, offline, error).",
        );
        for s in [Status::Online, Status::Offline, Status::Error] {
            let with_status = [labels[0], labels[1], ("status", s.as_str())];
            let v = if h.computer.status == s { 1.0 } else { 0.0 };
            e.sample("lanstat_computer_status", &with_status, v);
        }
        if let Some(at) = h.last_answer_ms {
            e.family(
                "lanstat_last_sample_age_seconds",
                "gauge",
                "Seconds since the computer last answered a poll.",
            )
            .sample(
                "lanstat_last_sample_age_seconds",
                &labels,
                ((now_ms - at).max(0)) as f64 / 1000.0,
            );
        }
    }
    for h in hosts {
        if let Some(s) = &h.snapshot {
            write_host(
                &mut e,
                s,
                &[("instance", &h.instance), ("name", &h.computer.name)],
            );
        }
    }
    let none: &[(&str, &str)] = &[];
    e.single(
        "lanstat_server_build_info",
        "gauge",
        "The server's version.",
        &[("version", crate::VERSION)],
        1.0,
    );
    e.single(
        "lanstat_server_poll_round_duration_seconds",
        "gauge",
        "How long the last poll round took, from start to the last answer stored.",
        none,
        health.poll_round_secs,
    );
    e.single(
        "lanstat_server_poll_rounds_total",
        "counter",
        "Poll rounds run since the server started.",
        none,
        health.poll_rounds as f64,
    );
    e.family(
        "lanstat_server_polls_total",
        "counter",
        "Polls since the server started, by outcome.",
    )
    .sample(
        "lanstat_server_polls_total",
        &[("outcome", "ok")],
        health.polls_ok as f64,
    )
    .sample(
        "lanstat_server_polls_total",
        &[("outcome", "failed")],
        health.polls_failed as f64,
    );
    e.single(
        "lanstat_server_database_write_errors_total",
        "counter",
        "Poll rounds whose samples could not be written (a full disk, for one).",
        none,
        health.db_write_errors as f64,
    );
    e.single(
        "lanstat_server_database_bytes",
        "gauge",
        "Size of the SQLite database and its write-ahead log.",
        none,
        health.db_bytes as f64,
    );
    if !health.rows.is_empty() {
        e.family(
            "lanstat_server_rows",
            "gauge",
            "Rows stored per history tier (raw samples; 5-minute, hourly and daily rollups).",
        );
        for (tier, n) in &health.rows {
            e.sample("lanstat_server_rows", &[("tier", tier.name())], *n as f64);
        }
    }
    e.finish()
}

/// `GET /metrics`.
pub fn metrics(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let computers = app
        .store
        .read(|c| store::computers::list(c, app.config.local))?;
    let live = app.live.snapshot();
    let hosts: Vec<HostView> = computers
        .iter()
        .filter(|c| c.enabled)
        .map(|c| host_view(app, c, live.get(&c.id)))
        .collect();
    let text = render(&hosts, &health(app), app.clock.now_ms());
    Ok(Response::bytes(
        StatusCode::OK,
        CONTENT_TYPE,
        text.into_bytes(),
    ))
}

fn host_view<'a>(app: &App, c: &'a Computer, live: Option<&LiveEntry>) -> HostView<'a> {
    let online = c.status == Status::Online;
    let last_answer_ms = live
        .map(|l| l.at_ms)
        .or(c.last_seen.map(|s| s.saturating_mul(1000)));
    match c.kind {
        // The server's own host: the sampler's full snapshot, with the Linux-only series
        // (CPU seconds, every meminfo field, disk counters) an agent's JSON does not carry.
        Kind::Local => {
            let full = app.local.as_ref().map(|l| l.get());
            let instance = full
                .as_ref()
                .map(|s| s.info.hostname.clone())
                .unwrap_or_else(|| c.name.clone());
            HostView {
                computer: c,
                instance,
                snapshot: full.filter(|_| online),
                last_answer_ms,
            }
        }
        Kind::Agent => HostView {
            computer: c,
            instance: scrape_target(&c.url)
                .map(|t| t.address)
                .unwrap_or_else(|| c.url.clone()),
            snapshot: live
                .filter(|_| online)
                .map(|l| Arc::new(Snapshot::new((*l.info).clone(), Default::default()))),
            last_answer_ms,
        },
    }
}

fn health(app: &App) -> Health {
    use std::sync::atomic::Ordering::Relaxed;
    let m = &app.metrics;
    Health {
        poll_round_secs: m.last_round_ms.load(Relaxed) as f64 / 1000.0,
        poll_rounds: m.rounds.load(Relaxed),
        polls_ok: m.polls_ok.load(Relaxed),
        polls_failed: m.polls_failed.load(Relaxed),
        db_write_errors: m.db_write_errors.load(Relaxed),
        db_bytes: database_bytes(app.store.path()),
        rows: row_counts(app),
    }
}

fn database_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
        })
        .sum()
}

type RowCache = HashMap<PathBuf, (Instant, Vec<(Tier, i64)>)>;

/// Rows per tier, counted at most once a [`ROWS_MAX_AGE`] per database: a count walks a
/// whole index, which on a Pi with a big history is not free at every scrape.
fn row_counts(app: &App) -> Vec<(Tier, i64)> {
    static CACHE: Mutex<Option<RowCache>> = Mutex::new(None);
    let path = app.store.path().to_path_buf();
    if let Some((at, rows)) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&path)
        && at.elapsed() < ROWS_MAX_AGE
    {
        return rows.clone();
    }
    let rows = match app.store.read(store::tiers::row_counts) {
        Ok(r) => r.to_vec(),
        Err(e) => {
            eprintln!("event=db_error what=row_counts error={:?}", e.to_string());
            return Vec::new();
        }
    };
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(path, (Instant::now(), rows.clone()));
    rows
}

/// `GET /api/prometheus/targets`: every enabled agent as an `http_sd_configs` target group.
/// Agents known to be the original Python client are left out: it has no `/metrics`.
pub fn targets(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let computers = app.store.read(|c| store::computers::list(c, false))?;
    let live = app.live.snapshot();
    let groups: Vec<Value> = computers
        .iter()
        .filter(|c| c.enabled && c.kind == Kind::Agent)
        .filter_map(|c| target_group(c, live.get(&c.id)))
        .collect();
    Ok(Response::json(StatusCode::OK, &groups))
}

fn target_group(c: &Computer, live: Option<&LiveEntry>) -> Option<Value> {
    if live.is_some_and(|l| l.info.agent_version.is_none()) {
        return None;
    }
    let t = scrape_target(&c.url)?;
    let mut labels = serde_json::Map::new();
    labels.insert("name".into(), json!(c.name));
    if let Some(l) = live {
        let os = l.info.os_version.clone().unwrap_or(l.info.system.clone());
        if !os.is_empty() {
            labels.insert("os".into(), json!(os));
        }
        if let Some(arch) = l.info.arch.as_ref().filter(|a| !a.is_empty()) {
            labels.insert("arch".into(), json!(arch));
        }
    }
    labels.insert("__metrics_path__".into(), json!(t.metrics_path));
    labels.insert("__scheme__".into(), json!(t.scheme));
    Some(json!({ "targets": [t.address], "labels": labels }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Option<(&'static str, String, String)> {
        scrape_target(url).map(|t| (t.scheme, t.address, t.metrics_path))
    }

    #[test]
    fn scrape_targets_from_agent_urls() {
        let t = |s: &'static str, a: &str, p: &str| Some((s, a.to_string(), p.to_string()));
        assert_eq!(target("http://pi:8000"), t("http", "pi:8000", "/metrics"));
        assert_eq!(target("http://pi:8000/"), t("http", "pi:8000", "/metrics"));
        assert_eq!(target("http://pi"), t("http", "pi:80", "/metrics"));
        assert_eq!(
            target("https://gw.example/lab/pi/"),
            t("https", "gw.example:443", "/lab/pi/metrics")
        );
        assert_eq!(
            target("http://pi:8000/systeminfo"),
            t("http", "pi:8000", "/metrics")
        );
        assert_eq!(
            target("http://[fe80::1]:8000"),
            t("http", "[fe80::1]:8000", "/metrics")
        );
        assert_eq!(target("https://[::1]"), t("https", "[::1]:443", "/metrics"));
        for bad in [
            "local",
            "",
            "ftp://pi",
            "http://",
            "http://:80",
            "http://u:p@pi",
            "http://pi?x",
            "http://[::1",
        ] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }

    fn computer(id: i64, name: &str, status: Status) -> Computer {
        Computer {
            id,
            name: name.into(),
            url: format!("http://10.0.0.{id}:8000"),
            token: "t".into(),
            kind: Kind::Agent,
            enabled: true,
            status,
            status_reason: None,
            status_changed_at: None,
            last_seen: Some(1_700_000_000),
            created_at: None,
        }
    }

    fn snapshot(host: &str) -> Snapshot {
        let info = serde_json::from_str(&format!(
            r#"{{"cpu_percent": 25.0,
                "memory": {{"total": 1000, "used": 600, "percent": 60.0}},
                "disk": {{"total": 10, "used": 5, "percent": 50.0}},
                "network": {{"bytes_sent": 1, "bytes_recv": 2}},
                "network_usage": {{"bytes_sent_per_sec": 0, "bytes_recv_per_sec": 0}},
                "hostname": "{host}", "system": "Linux",
                "interfaces": [{{"name": "eth0", "bytes_sent": 7, "bytes_recv": 9,
                                "bytes_sent_per_sec": 0, "bytes_recv_per_sec": 0}}]}}"#
        ))
        .unwrap();
        Snapshot::new(info, Default::default())
    }

    #[test]
    fn every_host_is_labelled_and_families_appear_once() {
        let (a, b, c) = (
            computer(1, "pi", Status::Online),
            computer(2, "nas \"big\"", Status::Online),
            computer(3, "old", Status::Offline),
        );
        let hosts = [
            HostView {
                computer: &a,
                instance: "10.0.0.1:8000".into(),
                snapshot: Some(Arc::new(snapshot("pi"))),
                last_answer_ms: Some(1_700_000_000_000),
            },
            HostView {
                computer: &b,
                instance: "10.0.0.2:8000".into(),
                snapshot: Some(Arc::new(snapshot("nas"))),
                last_answer_ms: Some(1_700_000_001_000),
            },
            HostView {
                computer: &c,
                instance: "10.0.0.3:8000".into(),
                snapshot: None,
                last_answer_ms: None,
            },
        ];
        let health = Health {
            rows: vec![(Tier::Raw, 5), (Tier::FiveMinutes, 2), (Tier::Hour, 1)],
            ..Health::default()
        };
        let text = render(&hosts, &health, 1_700_000_002_500);
        assert!(
            text.contains(
                "node_memory_MemTotal_bytes{instance=\"10.0.0.1:8000\",name=\"pi\"} 1000\n"
            )
        );
        assert!(text.contains("node_network_receive_bytes_total{instance=\"10.0.0.2:8000\",name=\"nas \\\"big\\\"\",device=\"eth0\"} 9\n"), "{text}");
        assert!(text.contains("lanstat_computer_up{instance=\"10.0.0.3:8000\",name=\"old\"} 0\n"));
        assert!(text.contains(
            "lanstat_computer_status{instance=\"10.0.0.3:8000\",name=\"old\",status=\"offline\"} 1\n"
        ));
        assert!(text.contains(
            "lanstat_last_sample_age_seconds{instance=\"10.0.0.1:8000\",name=\"pi\"} 2.5\n"
        ));
        assert!(
            !text.contains("name=\"old\"} 1000"),
            "no figures while offline"
        );
        assert!(text.contains("lanstat_server_rows{tier=\"5m\"} 2\n"));
        assert!(text.contains("lanstat_server_polls_total{outcome=\"failed\"} 0\n"));
        let mut seen = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(seen.insert(line.to_string()), "twice: {line}");
        }
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("up ") || l.starts_with("up{")),
            "`up` belongs to Prometheus"
        );
    }
}
