//! `make bench-server`: poll rounds against simulated fleets, database size over a backfilled
//! year, and API latency, printed as a table and written to `target/bench/server.json`.
//! Runs the release binaries; `make bench-server` builds them first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lanstat_agent::testkit::{Proc, TempDir, made_up_secret, request};
use lanstat_server::sim::{self, Profile};
use lanstat_server::store::{self, ComputerInput, Durability, Retention, Store};
use serde_json::{Value, json};

const ROUNDS: usize = 6;
const INTERVAL: i64 = 10;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn release(name: &str) -> PathBuf {
    let p = root().join("target/release").join(name);
    if !p.exists() {
        eprintln!(
            "bench: {} is missing; run `make bench-server`, which builds it",
            p.display()
        );
        std::process::exit(1);
    }
    p
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// CPU seconds (user + system) a process has used.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> Value {
    v.sort_by(|a, b| a.total_cmp(b));
    json!({ "n": v.len(), "p50": percentile(&v, 0.5), "p99": percentile(&v, 0.99), "max": v.last().copied().unwrap_or(0.0) })
}

/// Logs in with the admin password and returns the session cookie header.
fn login(server: &Proc, password: &str) -> String {
    let origin = format!("http://{}", server.addr);
    let body = json!({ "username": "admin", "password": password }).to_string();
    let r = request(
        server.addr,
        "POST",
        "/login",
        &[("Origin", &origin), ("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "login failed: {}", r.text());
    let set = r.header("set-cookie").expect("a session cookie");
    set.split(';').next().expect("cookie").to_string()
}

/// Milliseconds per GET, over `n` sequential requests.
fn latency(server: &Proc, cookie: &str, paths: &[String], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let path = &paths[i % paths.len()];
            let t = Instant::now();
            let r = request(server.addr, "GET", path, &[("Cookie", cookie)], b"");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            ms
        })
        .collect()
}

fn poll_rounds(n: u64) -> Value {
    let dir = TempDir::new("bench-fleet");
    let manifest = dir.join("fleet.json");
    let fleet = Proc::start(
        &release("examples/fleet"),
        &[
            "--agents",
            &n.to_string(),
            "--dead",
            "5",
            "--slow",
            "5",
            "--slow-secs",
            "30",
            "--manifest",
            manifest.to_str().expect("utf-8 path"),
        ],
        dir.path(),
        &[],
    );
    let list: Vec<Value> = serde_json::from_slice(&std::fs::read(&manifest).expect("manifest"))
        .expect("manifest json");
    let db = dir.join("stats.db");
    let store = Store::open(&db).expect("database");
    let t = now();
    store
        .write(Durability::Durable, move |tx| {
            for v in &list {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let input = ComputerInput {
                    name: s("name"),
                    url: s("url"),
                    token: Some(s("token")),
                    enabled: true,
                };
                store::computers::add(tx, &input, t)?;
            }
            Ok(())
        })
        .expect("computers");
    store.close();
    let password = made_up_secret("bench-admin");
    let server = start_server(&dir, &db, &password, &[("LANSTAT_LOG", "debug")]);
    let pid = server.pid();
    let mut rounds: Vec<Value> = Vec::new();
    let (mut cpu_start, mut t_start) = (0.0, Instant::now());
    let mut seen = 0;
    while rounds.len() < ROUNDS {
        let line = server
            .wait_for(Duration::from_secs(INTERVAL as u64 * 3), |l| {
                l.starts_with("event=poll_round")
            })
            .expect("a poll round line");
        let _ = line;
        let lines: Vec<String> = server
            .output()
            .lines()
            .filter(|l| l.starts_with("event=poll_round"))
            .map(str::to_string)
            .collect();
        for l in &lines[seen..] {
            let field = |k: &str| -> f64 {
                l.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0)
            };
            if seen == 0 {
                // The first round warms up; CPU is measured from its end.
                cpu_start = cpu_secs(pid);
                t_start = Instant::now();
            } else {
                rounds.push(json!({ "stored_ms": field("stored_ms"), "duration_ms": field("duration_ms"), "ok": field("ok"), "failed": field("failed") }));
            }
            seen += 1;
        }
        if rounds.len() < ROUNDS {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let cpu_share = (cpu_secs(pid) - cpu_start) / t_start.elapsed().as_secs_f64() * 100.0;
    let api = if n >= 1000 {
        let cookie = login(&server, &password);
        Some(summary(latency(
            &server,
            &cookie,
            &["/api/computers".to_string()],
            300,
        )))
    } else {
        None
    };
    let rss = vm_hwm_kib(pid);
    drop(server);
    drop(fleet);
    let stored: Vec<f64> = rounds
        .iter()
        .map(|r| r["stored_ms"].as_f64().unwrap_or(0.0))
        .collect();
    let complete: Vec<f64> = rounds
        .iter()
        .map(|r| r["duration_ms"].as_f64().unwrap_or(0.0))
        .collect();
    json!({
        "agents": n,
        "interval_secs": INTERVAL,
        "rounds": rounds,
        "stored_ms": summary(stored),
        "complete_ms": summary(complete),
        "cpu_percent_of_one_core": cpu_share,
        "peak_rss_kib": rss,
        "api_computers_ms": api,
    })
}

fn backfilled_year(hosts: u64) -> (TempDir, Value, Vec<i64>) {
    let dir = TempDir::new("bench-year");
    let db = dir.join("stats.db");
    let store = Store::open(&db).expect("database");
    let t = now();
    let ids: Vec<(i64, Profile)> = (0..hosts)
        .map(|n| {
            let p = Profile::new(n);
            let input = ComputerInput {
                name: p.hostname.clone(),
                url: "http://127.0.0.1:9/".into(),
                token: Some(format!("sim-{n:08}")),
                enabled: false,
            };
            let id = store
                .write(Durability::Durable, move |tx| {
                    store::computers::add(tx, &input, t)
                })
                .expect("computer")
                .id;
            (id, p)
        })
        .collect();
    let started = Instant::now();
    let done =
        sim::backfill(&store, &ids, 365, t, INTERVAL, Retention::default()).expect("backfill");
    let secs = started.elapsed().as_secs_f64();
    let tables = store
        .read(|c| {
            let mut st = c.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .expect("dbstat");
    let counts = store.read(store::tiers::row_counts).expect("row counts");
    store.close();
    let size = |names: &[&str]| -> i64 {
        tables
            .iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, b)| *b)
            .sum()
    };
    let file = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64;
    let raw = size(&["stats", "stats_by_computer_time"]) as f64;
    let five = size(&["stats_5m"]) as f64;
    let hour = size(&["stats_1h"]) as f64;
    let h = hosts as f64;
    let v = json!({
        "hosts": hosts,
        "days": 365,
        "interval_secs": INTERVAL,
        "backfill_seconds": secs,
        "raw_rows_written": done.raw_rows,
        "rows": { "raw": counts[0].1, "5m": counts[1].1, "1h": counts[2].1 },
        "db_bytes": file,
        "bytes_per_host_year_all_tiers": file / h,
        "bytes_per_host_day": {
            "raw": raw / h / 2.0,
            "5m": five / h / 30.0,
            "1h": hour / h / 365.0,
        },
        "tier_bytes": { "raw": raw, "5m": five, "1h": hour },
    });
    (dir, v, ids.iter().map(|(id, _)| *id).collect())
}

/// The release server on a free loopback port over `db`, polling every [`INTERVAL`]
/// seconds, with `password` for its first admin.
fn start_server(dir: &TempDir, db: &Path, password: &str, env: &[(&str, &str)]) -> Proc {
    let interval = INTERVAL.to_string();
    let mut env = env.to_vec();
    env.push(("ADMIN_PASSWORD", password));
    Proc::start(
        &release("lanstat-server"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().expect("utf-8 path"),
            "--no-local",
            "--poll-interval",
            &interval,
        ],
        dir.path(),
        &env,
    )
}

fn history_latency(dir: &TempDir, ids: &[i64]) -> Value {
    let password = made_up_secret("bench-admin");
    let db = dir.join("stats.db");
    let server = start_server(dir, &db, &password, &[]);
    let cookie = login(&server, &password);
    let mut out = serde_json::Map::new();
    for range in ["1h", "24h", "7d", "30d", "1y"] {
        for endpoint in ["history", "network_graph"] {
            let paths: Vec<String> = ids
                .iter()
                .map(|id| format!("/api/{endpoint}/{id}?range={range}"))
                .collect();
            out.insert(
                format!("{endpoint}_{range}_ms"),
                summary(latency(&server, &cookie, &paths, 200)),
            );
        }
    }
    Value::Object(out)
}

fn main() {
    let mut fleets = Vec::new();
    for n in [100, 500, 1000] {
        eprintln!("bench: polling {n} simulated agents every {INTERVAL} s for {ROUNDS} rounds...");
        fleets.push(poll_rounds(n));
    }
    eprintln!("bench: backfilling 100 hosts x 365 days...");
    let (dir, year, ids) = backfilled_year(100);
    eprintln!("bench: timing the history endpoints...");
    let history = history_latency(&dir, &ids);

    let big = fleets
        .iter()
        .find(|f| f["agents"] == 1000)
        .cloned()
        .unwrap_or(Value::Null);
    let worst_history = history
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| v["p99"].as_f64())
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let targets = json!({
        "round_1000_stored_max_ms": { "value": big["stored_ms"]["max"], "target": 2000, "ok": big["stored_ms"]["max"].as_f64().unwrap_or(f64::MAX) <= 2000.0 },
        "round_1000_cpu_percent": { "value": big["cpu_percent_of_one_core"], "target": 25, "ok": big["cpu_percent_of_one_core"].as_f64().unwrap_or(f64::MAX) <= 25.0 },
        "host_year_bytes": { "value": year["bytes_per_host_year_all_tiers"], "target": 8_000_000, "ok": year["bytes_per_host_year_all_tiers"].as_f64().unwrap_or(f64::MAX) <= 8e6 },
        "history_p99_ms": { "value": worst_history, "target": 25, "ok": worst_history <= 25.0 },
        "api_computers_1000_p99_ms": { "value": big["api_computers_ms"]["p99"], "target": 20, "ok": big["api_computers_ms"]["p99"].as_f64().unwrap_or(f64::MAX) <= 20.0 },
    });
    let report =
        json!({ "poll_rounds": fleets, "year": year, "latency": history, "targets": targets });

    println!(
        "\nPoll rounds ({INTERVAL} s interval, 5 % dead + 5 % timing out; rounds 2-{}):",
        ROUNDS + 1
    );
    println!(
        "{:>7} {:>16} {:>16} {:>12} {:>10}",
        "agents", "stored p50/max", "complete p50/max", "CPU % core", "peak RSS"
    );
    for f in &fleets {
        println!(
            "{:>7} {:>7.0}/{:<6.0}ms {:>7.0}/{:<6.0}ms {:>11.1}% {:>7.1} MiB",
            f["agents"],
            f["stored_ms"]["p50"].as_f64().unwrap_or(0.0),
            f["stored_ms"]["max"].as_f64().unwrap_or(0.0),
            f["complete_ms"]["p50"].as_f64().unwrap_or(0.0),
            f["complete_ms"]["max"].as_f64().unwrap_or(0.0),
            f["cpu_percent_of_one_core"].as_f64().unwrap_or(0.0),
            f["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0
        );
    }
    println!(
        "\n/api/computers with 1000 hosts: p50 {:.2} ms, p99 {:.2} ms",
        big["api_computers_ms"]["p50"].as_f64().unwrap_or(0.0),
        big["api_computers_ms"]["p99"].as_f64().unwrap_or(0.0)
    );
    println!(
        "\nA backfilled year, 100 hosts, {INTERVAL} s polls: {:.1} MB in all, {:.2} MB per host; per host per day: raw {:.0} KB, 5m {:.1} KB, 1h {:.1} KB (backfill took {:.0} s)",
        year["db_bytes"].as_f64().unwrap_or(0.0) / 1e6,
        year["bytes_per_host_year_all_tiers"]
            .as_f64()
            .unwrap_or(0.0)
            / 1e6,
        year["bytes_per_host_day"]["raw"].as_f64().unwrap_or(0.0) / 1e3,
        year["bytes_per_host_day"]["5m"].as_f64().unwrap_or(0.0) / 1e3,
        year["bytes_per_host_day"]["1h"].as_f64().unwrap_or(0.0) / 1e3,
        year["backfill_seconds"].as_f64().unwrap_or(0.0)
    );
    println!(
        "\n{:>8} {:>22} {:>22}",
        "range", "history p50/p99", "network_graph p50/p99"
    );
    for range in ["1h", "24h", "7d", "30d", "1y"] {
        let h = &history[format!("history_{range}_ms")];
        let g = &history[format!("network_graph_{range}_ms")];
        println!(
            "{:>8} {:>9.2}/{:<8.2} ms {:>9.2}/{:<8.2} ms",
            range,
            h["p50"].as_f64().unwrap_or(0.0),
            h["p99"].as_f64().unwrap_or(0.0),
            g["p50"].as_f64().unwrap_or(0.0),
            g["p99"].as_f64().unwrap_or(0.0)
        );
    }
    println!("\nTargets:");
    for (k, v) in report["targets"].as_object().expect("targets") {
        println!(
            "  {:<28} {:>14} (target {}) {}",
            k,
            format!("{:.2}", v["value"].as_f64().unwrap_or(f64::NAN)),
            v["target"],
            if v["ok"] == true { "ok" } else { "MISSED" }
        );
    }
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    std::fs::write(
        out.join("server.json"),
        serde_json::to_vec_pretty(&report).expect("json"),
    )
    .expect("write server.json");
    println!("\nwritten to target/bench/server.json");
}
