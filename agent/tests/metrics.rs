//! `/metrics` in the Prometheus text format, and figures consistent with the OS.

mod util;

use std::process::Command;
use util::*;

#[test]
fn metrics_pass_promtool() {
    let agent = Agent::start(&[]);
    let text = metrics_text(&agent.get("/metrics"));
    for name in [
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
        "node_filesystem_size_bytes",
        "node_network_receive_bytes_total",
        "node_uname_info",
        "lanstat_cpu_usage_ratio",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    if let Err(e) = promtool_accepts(&text) {
        panic!("promtool complained:\n{e}");
    }
}

#[test]
fn promtool_check_can_fail() {
    // The check above is only worth something if promtool rejects bad text.
    assert!(promtool_accepts("# TYPE x counter\nx{ 1\n").is_err());
    assert!(promtool_accepts("# HELP y_total y.\n# TYPE y_total gauge\ny_total 1\n").is_err());
}

#[test]
fn metrics_need_a_token() {
    let agent = Agent::start(&[]);
    assert_eq!(
        request(agent.proc.addr, "GET", "/metrics", &[], b"").status,
        401
    );
}

#[test]
fn scrape_token_opens_metrics_only() {
    let dir = TempDir::new("agent-scrape");
    let scrape = dir.join("scrape.tok");
    let secret = made_up_secret("scrape-token-value");
    write_with_mode(&scrape, format!("{secret}\n"), 0o600);
    let agent = Agent::start_in(dir, &["--scrape-token-file", scrape.to_str().unwrap()]);
    let auth = format!("Bearer {secret}");
    let addr = agent.proc.addr;
    assert_eq!(get_as(addr, "/metrics", &auth).status, 200);
    assert_eq!(get_as(addr, "/systeminfo", &auth).status, 401);
    assert_eq!(agent.get("/metrics").status, 200);
}

/// The scrape token file is held to the token file's rules: owner-only, a valid token.
#[cfg(unix)]
#[test]
fn scrape_token_file_is_checked_like_the_token_file() {
    let dir = TempDir::new("agent-scrape-perm");
    let path = dir.join("scrape.tok");
    let flag = [
        "--listen",
        "127.0.0.1:0",
        "--scrape-token-file",
        "scrape.tok",
    ];
    let err = refused(dir.path(), &flag);
    assert!(err.contains("scrape.tok"), "a missing file: {err}");
    write_with_mode(&path, format!("{}\n", made_up_secret("scrape")), 0o644);
    let err = refused(dir.path(), &flag);
    assert!(
        err.contains("readable by others") && err.contains("chmod 600"),
        "{err}"
    );
    write_with_mode(&path, "short\n", 0o600);
    let err = refused(dir.path(), &flag);
    assert!(err.contains("not hold a valid token"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[cfg(target_os = "linux")]
fn meminfo_kib(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn memory_matches_proc_meminfo() {
    let agent = Agent::start(&[]);
    let v = agent.get("/systeminfo").json();
    let total = v["memory"]["total"].as_u64().unwrap();
    assert_eq!(total, meminfo_kib("MemTotal") * 1024);
    let available = v["memory"]["available"].as_u64().unwrap();
    let now = meminfo_kib("MemAvailable") * 1024;
    let slack = total / 20; // other tests run beside this one
    assert!(
        available.abs_diff(now) < slack,
        "available {available} vs /proc/meminfo {now}"
    );
    assert_eq!(v["memory"]["used"].as_u64().unwrap(), total - available);
    let text = agent.get("/metrics").text();
    assert!(
        text.contains(&format!("node_memory_MemTotal_bytes {total}\n")),
        "MemTotal in /metrics"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn root_disk_matches_df() {
    let agent = Agent::start(&[]);
    let v = agent.get("/systeminfo").json();
    let out = Command::new("df")
        .args(["-B1", "--output=size,used,avail", "/"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let nums: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let (size, used, avail) = (nums[0], nums[1], nums[2]);
    assert_eq!(v["disk"]["total"].as_u64().unwrap(), size);
    let ours = v["disk"]["used"].as_u64().unwrap();
    assert!(ours.abs_diff(used) < size / 100, "used {ours} vs df {used}");
    let pct = v["disk"]["percent"].as_f64().unwrap();
    let df_pct = used as f64 / (used + avail) as f64 * 100.0;
    assert!((pct - df_pct).abs() < 1.0, "percent {pct} vs df {df_pct}");
}
