//! Prometheus: the server's `/metrics` (every computer's latest figures under the agent's
//! metric names, labelled `instance` and `name`, plus statuses and the server's own health)
//! and `/api/prometheus/targets`, the fleet in the format of Prometheus' `http_sd_configs`.

use std::sync::Arc;

use lanstat_agent::Snapshot;
use lanstat_agent::metrics::{CONTENT_TYPE, Exposition, write_host};
use lanstat_http::{Response, StatusCode};
use serde_json::{Value, json};

use super::Web;
use super::{ApiError, Call};
use crate::domain::computers::Latest;
use crate::domain::health::Figures;
use crate::model::values::AgentUrl;
use crate::model::{Computer, Kind, Status};

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
pub fn render(hosts: &[HostView], health: &Figures, now_ms: i64) -> String {
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
        "lanstat_server_degraded",
        "gauge",
        "1 while the server is degraded (history not being recorded, a damaged database file; /healthz says why), else 0.",
        none,
        if health.degraded { 1.0 } else { 0.0 },
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
pub fn metrics(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    let cards = app.computers.cards()?;
    let hosts: Vec<HostView> = cards
        .computers
        .iter()
        .filter(|c| c.enabled)
        .map(|c| host_view(app, c, cards.latest.get(&c.id)))
        .collect();
    let text = render(&hosts, &app.health.figures(), app.clock.now_ms());
    Ok(Response::bytes(
        StatusCode::OK,
        CONTENT_TYPE,
        text.into_bytes(),
    ))
}

fn host_view<'a>(app: &Web, c: &'a Computer, live: Option<&Latest>) -> HostView<'a> {
    let online = c.status == Status::Online;
    let last_answer_ms = live
        .map(|l| l.at_ms)
        .or(c.last_seen.map(|s| s.saturating_mul(1000)));
    match c.kind {
        // The server's own host: the sampler's full snapshot, with the Linux-only series
        // (CPU seconds, every meminfo field, disk counters) an agent's JSON does not carry.
        Kind::Local => {
            let full = app.computers.local_snapshot();
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
            instance: AgentUrl::scrape_target(&c.url)
                .map(|t| t.address)
                .unwrap_or_else(|| c.url.clone()),
            snapshot: live
                .filter(|_| online)
                .map(|l| Arc::new(Snapshot::new((*l.info).clone(), Default::default()))),
            last_answer_ms,
        },
    }
}

/// `GET /api/prometheus/targets`: every enabled agent as an `http_sd_configs` target group.
/// Agents known to be the original Python client are left out: it has no `/metrics`.
pub fn targets(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    let cards = app.computers.cards()?;
    let groups: Vec<Value> = cards
        .computers
        .iter()
        .filter(|c| c.enabled && c.kind == Kind::Agent)
        .filter_map(|c| target_group(c, cards.latest.get(&c.id)))
        .collect();
    Ok(Response::json(StatusCode::OK, &groups))
}

fn target_group(c: &Computer, live: Option<&Latest>) -> Option<Value> {
    if live.is_some_and(|l| l.info.agent_version.is_none()) {
        return None;
    }
    let t = AgentUrl::scrape_target(&c.url)?;
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
    use crate::model::Tier;

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
        let health = Figures {
            rows: vec![(Tier::Raw, 5), (Tier::FiveMinutes, 2), (Tier::Hour, 1)],
            ..Figures::default()
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
