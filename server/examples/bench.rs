//! `make bench-server`: poll rounds against simulated fleets, database size over a backfilled
//! year, and API latency, printed as a table and written to `target/bench/server.json`. Then
//! what clients that keep their connection (browsers) see with a home lab's 25 computers:
//! latency on one kept-alive connection, requests per second on 1 and 32 of them, memory
//! while 300 idle connections are held, and the binary against the one on tiny_http.
//! Runs the release binaries; `make bench-server` builds them first.
//!
//! Environment (optional, for a quicker run):
//! - `LANSTAT_BENCH_API_REQUESTS`: requests to `/api/computers` of the 25 computers, kept
//!   alive and on new connections; a fifth of that to their 24 h history [default 2000]
//! - `LANSTAT_BENCH_THROUGHPUT_SECS`: length of each requests-per-second run [default 5]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lanstat_agent::testkit::{
    BEFORE_COMMIT, CONCURRENT, IDLE_CONNECTIONS, KeepAlive, Proc, TempDir, closed_by_server,
    env_number, idle_connections, keep_alive_load, made_up_secret, on_the_measured_target, raw,
    request,
};
use lanstat_server::model::NewComputer;
use lanstat_server::model::Retention;
use lanstat_server::sim::{self, Profile};
use lanstat_server::store::{self, Durability, Store};
use serde_json::{Value, json};

const ROUNDS: usize = 6;
const INTERVAL: i64 = 10;

/// Computers behind the kept-alive figures: a home lab's worth.
const LAB: u64 = 25;
const TARGET_LAB_COMPUTERS_P99_MS: f64 = 2.0;
/// How far the peak RSS may rise over the idle figure while the idle connections are held.
const TARGET_IDLE_CONNECTIONS_GROWTH_MIB: f64 = 8.0;

/// The stripped `lanstat-server` as it was on tiny_http, to compare with: commit ca8f899 in a
/// worktree of its own, built as `make bench-server` builds it (`cargo build --release -p
/// lanstat-server --bins --examples`, rustc 1.95.0, x86_64-unknown-linux-gnu), then
/// `strip --strip-all`. The bench cannot build an old commit each run. Built beside the
/// examples, the binary has the agent's `testkit` feature on: `make build`'s is some hundred
/// bytes smaller, then and now (3 893 384 B then).
const BEFORE_BINARY_BYTES: u64 = 3_893_640;

fn before_binary_bytes() -> Option<u64> {
    on_the_measured_target(BEFORE_BINARY_BYTES)
}

/// A positive whole number from the environment, or `default` when unset.
fn env_count(name: &str, default: usize) -> usize {
    env_number(name, default).unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(1);
    })
}

/// `target/` as cargo sees it: CARGO_TARGET_DIR if set, else the workspace root's.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the server crate sits inside the workspace")
            .join("target"),
    }
}

fn release(name: &str) -> PathBuf {
    let p = target_dir().join("release").join(name);
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

/// Milliseconds per GET over `n` sequential requests on one kept-alive connection, as a
/// browser on the dashboard sends them.
fn keep_alive_latency(server: &Proc, cookie: &str, path: &str, n: usize) -> Vec<f64> {
    let mut client = KeepAlive::connect(server.addr).expect("a connection to the server");
    (0..n)
        .map(|i| {
            let t = Instant::now();
            let r = client
                .get(path, &[("Cookie", cookie)])
                .unwrap_or_else(|e| panic!("{path} number {} on one connection: {e}", i + 1));
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            ms
        })
        .collect()
}

/// The `fleet` example with `n` simulated agents in `dir`, and its manifest (name, url, token
/// of each).
fn start_fleet(dir: &TempDir, n: u64, extra: &[&str]) -> (Proc, Vec<Value>) {
    let manifest = dir.join("fleet.json");
    let agents = n.to_string();
    let mut args = vec!["--agents", &agents];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--manifest", manifest.to_str().expect("utf-8 path")]);
    let fleet = Proc::start(&release("examples/fleet"), &args, dir.path(), &[]);
    let list = serde_json::from_slice(&std::fs::read(&manifest).expect("manifest"))
        .expect("manifest json");
    (fleet, list)
}

/// A computer of the `fleet` example's manifest.
fn fleet_computer(v: &Value) -> NewComputer {
    let s = |k: &str| v[k].as_str().unwrap_or_default();
    NewComputer::new(s("name"), s("url"), s("token")).expect("a simulated computer")
}

fn add_computer(store: &Store, input: NewComputer, t: i64) -> i64 {
    store
        .write(Durability::Durable, move |tx| {
            store::computers::add(tx, &input, t)
        })
        .expect("computer")
        .id
}

fn poll_rounds(n: u64) -> Value {
    let dir = TempDir::new("bench-fleet");
    let (fleet, list) = start_fleet(
        &dir,
        n,
        &["--dead", "5", "--slow", "5", "--slow-secs", "30"],
    );
    let db = dir.join("stats.db");
    let store = Store::open(&db).expect("database");
    let t = now();
    store
        .write(Durability::Durable, move |tx| {
            for v in &list {
                let input = fleet_computer(v);
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
            let mut input =
                NewComputer::new(&p.hostname, "http://127.0.0.1:9/", &format!("sim-{n:08}"))
                    .expect("a simulated computer");
            input.enabled = false;
            let id = add_computer(&store, input, t);
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

/// The kept-alive figures: [`LAB`] simulated agents polled every [`INTERVAL`] seconds, a day
/// of history behind each, and a logged-in browser's requests.
fn lab(requests: usize, throughput: Duration) -> Value {
    let dir = TempDir::new("bench-lab");
    let (fleet, list) = start_fleet(&dir, LAB, &["--dead", "0", "--slow", "0"]);
    let db = dir.join("stats.db");
    let store = Store::open(&db).expect("database");
    let t = now();
    let hosts: Vec<(i64, Profile)> = list
        .iter()
        .map(|v| {
            let id = add_computer(&store, fleet_computer(v), t);
            (id, Profile::new(v["n"].as_u64().unwrap_or(0)))
        })
        .collect();
    // A full day behind each, so the 24 h history is the answer a browser gets.
    sim::backfill(&store, &hosts, 1, t, INTERVAL, Retention::default()).expect("backfill");
    store.close();

    let password = made_up_secret("bench-admin");
    let server = start_server(&dir, &db, &password, &[("LANSTAT_LOG", "debug")]);
    server
        .wait_for(Duration::from_secs(INTERVAL as u64 * 3), |l| {
            l.starts_with("event=poll_round")
        })
        .expect("a poll round line");
    let cookie = login(&server, &password);
    let headers = [("Cookie", cookie.as_str())];
    let computers = "/api/computers".to_string();
    let history = format!("/api/history/{}?range=24h", hosts[0].0);
    let sizes: Vec<usize> = [&computers, &history]
        .iter()
        .map(|path| {
            let r = request(server.addr, "GET", path, &headers, b"");
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            r.body.len()
        })
        .collect();
    let pid = server.pid();

    eprintln!("bench: {IDLE_CONNECTIONS} idle connections held open...");
    let idle_kib = vm_hwm_kib(pid);
    let conns = idle_connections(server.addr, IDLE_CONNECTIONS).expect("idle connections");
    // The connects complete in the kernel's queue at once; the server takes them one by one,
    // making room for each. A second is ample, and far inside its 10 s head deadline.
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let among = request(server.addr, "GET", &computers, &headers, b"");
    let among_ms = started.elapsed().as_secs_f64() * 1000.0;
    let threads = raw::threads(pid);
    let open = conns.len() - closed_by_server(&conns);
    let held_kib = vm_hwm_kib(pid);
    drop(conns);

    let history_requests = (requests / 5).max(1);
    eprintln!(
        "bench: {requests} requests to /api/computers and {history_requests} to a 24 h history, \
         kept alive and on new connections (LANSTAT_BENCH_API_REQUESTS)..."
    );
    let latency_of = |path: &String, n: usize| {
        json!({
            "kept_alive_ms": summary(keep_alive_latency(&server, &cookie, path, n)),
            "new_connection_ms": summary(latency(&server, &cookie, std::slice::from_ref(path), n)),
        })
    };
    let computers_ms = latency_of(&computers, requests);
    let history_ms = latency_of(&history, history_requests);

    let mut rates = Vec::new();
    for n in [1, CONCURRENT] {
        eprintln!(
            "bench: /api/computers from {n} kept-alive {} for {} s \
             (LANSTAT_BENCH_THROUGHPUT_SECS)...",
            if n == 1 { "client" } else { "clients" },
            throughput.as_secs()
        );
        let t = keep_alive_load(server.addr, n, throughput, &computers, &headers);
        rates.push(json!({
            "connections": n,
            "seconds": t.elapsed.as_secs_f64(),
            "requests_per_second": t.per_second(),
            "answered": t.ok,
            "refused_503": t.refused,
            "closed_under_a_request": t.broken,
            "connects": t.connects,
            "connect_failures": t.connect_failures,
        }));
    }
    drop(server);
    drop(fleet);

    let binary = stripped_size(&release("lanstat-server"), &dir);
    json!({
        "computers": LAB,
        "interval_secs": INTERVAL,
        "history_days": 1,
        "body_bytes": { "computers": sizes[0], "history_24h": sizes[1] },
        "api_computers": computers_ms,
        "history_24h": history_ms,
        "throughput_api_computers": rates,
        "idle_connections": {
            "held": IDLE_CONNECTIONS,
            "peak_rss_idle_kib": idle_kib,
            "peak_rss_held_kib": held_kib,
            "growth_mib": held_kib.saturating_sub(idle_kib) as f64 / 1024.0,
            "kept_open_by_server": open,
            "threads": threads,
            "request_status": among.status,
            "request_ms": among_ms,
        },
        "binary": {
            "bytes": binary,
            "before": before_binary_bytes().map(|bytes| json!({
                "bytes": bytes,
                "commit": BEFORE_COMMIT,
                "http": "tiny_http",
                "change_bytes": binary as i64 - bytes as i64,
            })),
        },
    })
}

/// Bytes of `bin` after `strip --strip-all` on a copy, as the agent's bench and the figure
/// from before measure it; the size on disk when `strip` is missing.
fn stripped_size(bin: &Path, dir: &TempDir) -> u64 {
    let copy = dir.join("stripped");
    std::fs::copy(bin, &copy).expect("a copy of the binary");
    let _ = std::process::Command::new("strip")
        .arg("--strip-all")
        .arg(&copy)
        .stderr(std::process::Stdio::null())
        .status();
    std::fs::metadata(&copy).expect("the copy").len()
}

fn print_lab(lab: &Value, requests: usize, throughput: Duration) {
    let ms = |v: &Value| {
        format!(
            "{:.2}/{:.2} ms",
            v["p50"].as_f64().unwrap_or(0.0),
            v["p99"].as_f64().unwrap_or(0.0)
        )
    };
    println!(
        "\nClients that keep their connection (TCP_NODELAY on), {LAB} computers polled every \
         {INTERVAL} s, a day of history; requests one after another, p50/p99:"
    );
    println!("{:<40} {:>18} {:>18}", "", "kept alive", "new connection");
    for (key, label) in [
        (
            "api_computers",
            format!("/api/computers ({requests} requests)"),
        ),
        (
            "history_24h",
            format!("/api/history/<id>?range=24h ({})", (requests / 5).max(1)),
        ),
    ] {
        println!(
            "{label:<40} {:>18} {:>18}",
            ms(&lab[key]["kept_alive_ms"]),
            ms(&lab[key]["new_connection_ms"])
        );
    }
    println!(
        "  answers: /api/computers {} B, 24 h history {} B",
        lab["body_bytes"]["computers"], lab["body_bytes"]["history_24h"]
    );
    println!(
        "\nRequests per second on /api/computers, {} s per run, the default --max-connections:",
        throughput.as_secs()
    );
    for r in lab["throughput_api_computers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let count = |k: &str| r[k].as_u64().unwrap_or(0);
        let mut note = String::new();
        if count("refused_503") + count("closed_under_a_request") > 0
            || count("connects") > count("connections")
        {
            note = format!(
                "  {} answered, {} refused (503), {} closed under a request, {} connects",
                count("answered"),
                count("refused_503"),
                count("closed_under_a_request"),
                count("connects")
            );
        }
        let n = count("connections");
        let plural = if n == 1 { " " } else { "s" };
        println!(
            "{n:>4} connection{plural} {:>10.0} req/s{note}",
            r["requests_per_second"].as_f64().unwrap_or(0.0)
        );
    }
    let idle = &lab["idle_connections"];
    let kib = |k: &str| idle[k].as_f64().unwrap_or(0.0) / 1024.0;
    println!(
        "\n{IDLE_CONNECTIONS} idle connections held: peak RSS idle {:.1} MiB, with them {:.1} MiB \
         (+{:.1} MiB); the server kept {} open on {} threads; /api/computers among them: {} in \
         {:.2} ms",
        kib("peak_rss_idle_kib"),
        kib("peak_rss_held_kib"),
        idle["growth_mib"].as_f64().unwrap_or(0.0),
        idle["kept_open_by_server"],
        idle["threads"],
        idle["request_status"],
        idle["request_ms"].as_f64().unwrap_or(0.0)
    );
    let bytes = lab["binary"]["bytes"].as_u64().unwrap_or(0);
    match lab["binary"]["before"]["bytes"].as_u64() {
        Some(before) => {
            let change = bytes as f64 - before as f64;
            println!(
                "\nBinary, stripped: {BEFORE_COMMIT} (tiny_http, measured once) {before} B, now \
                 {bytes} B ({change:+.0} B, {:+.1} %)",
                change / before as f64 * 100.0
            );
        }
        None => println!("\nBinary, stripped: {bytes} B (no figure from before for this target)"),
    }
}

fn main() {
    let api_requests = env_count("LANSTAT_BENCH_API_REQUESTS", 2000);
    let throughput = Duration::from_secs(env_count("LANSTAT_BENCH_THROUGHPUT_SECS", 5) as u64);
    let mut fleets = Vec::new();
    for n in [100, 500, 1000] {
        eprintln!("bench: polling {n} simulated agents every {INTERVAL} s for {ROUNDS} rounds...");
        fleets.push(poll_rounds(n));
    }
    eprintln!("bench: backfilling 100 hosts x 365 days...");
    let (dir, year, ids) = backfilled_year(100);
    eprintln!("bench: timing the history endpoints...");
    let history = history_latency(&dir, &ids);
    eprintln!("bench: kept-alive clients against {LAB} computers...");
    let lab = lab(api_requests, throughput);

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
    let mut targets = targets;
    let lab_p99 = lab["api_computers"]["kept_alive_ms"]["p99"]
        .as_f64()
        .unwrap_or(f64::MAX);
    targets["api_computers_25_kept_alive_p99_ms"] = json!({ "value": lab_p99, "target": TARGET_LAB_COMPUTERS_P99_MS, "ok": lab_p99 <= TARGET_LAB_COMPUTERS_P99_MS });
    let growth = lab["idle_connections"]["growth_mib"]
        .as_f64()
        .unwrap_or(f64::MAX);
    targets["idle_300_connections_rss_growth_mib"] = json!({ "value": growth, "target": TARGET_IDLE_CONNECTIONS_GROWTH_MIB, "ok": growth <= TARGET_IDLE_CONNECTIONS_GROWTH_MIB });
    // The binary's change against the tiny_http build stays in `kept_alive_25.binary.before`
    // but is no target: it held the HTTP layer's change to no growth when that landed, and
    // the server has since gained pages and checks the old build never had.
    let report = json!({ "poll_rounds": fleets, "year": year, "latency": history, "kept_alive_25": lab, "targets": targets });

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
    print_lab(&lab, api_requests, throughput);
    println!("\nTargets:");
    for (k, v) in report["targets"].as_object().expect("targets") {
        println!(
            "  {:<36} {:>14} (target {}) {}",
            k,
            format!("{:.2}", v["value"].as_f64().unwrap_or(f64::NAN)),
            v["target"],
            if v["ok"] == true { "ok" } else { "MISSED" }
        );
    }
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out).expect("the bench folder under target/");
    let path = out.join("server.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("json"))
        .expect("write server.json");
    println!("\nwritten to {}", path.display());
}
