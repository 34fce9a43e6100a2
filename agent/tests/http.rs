//! The agent's HTTP contract: the original JSON, auth, errors, methods.

mod util;

use util::*;

/// Asserts that the object `v` (at `at` in the answer) has every one of `keys`.
fn assert_has_keys(v: &serde_json::Value, at: &str, keys: &[&str]) {
    for key in keys {
        assert!(v.get(key).is_some(), "{at}.{key}");
    }
}

#[test]
fn systeminfo_has_the_original_fields_and_types() {
    let agent = Agent::start(&[]);
    let r = agent.get("/systeminfo");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert!(v["cpu_percent"].is_f64());
    for key in ["total", "used"] {
        assert!(v["memory"][key].is_u64(), "memory.{key}");
        assert!(v["disk"][key].is_u64(), "disk.{key}");
    }
    assert!(v["memory"]["percent"].is_f64());
    assert!(v["disk"]["percent"].is_f64());
    assert!(v["network"]["bytes_sent"].is_u64());
    assert!(v["network"]["bytes_recv"].is_u64());
    assert!(v["network_usage"]["bytes_sent_per_sec"].is_number());
    assert!(v["network_usage"]["bytes_recv_per_sec"].is_number());
    assert!(!v["hostname"].as_str().unwrap().is_empty());
    assert_eq!(
        v["system"],
        std::env::consts::OS
            .replace("linux", "Linux")
            .replace("macos", "Darwin")
    );
    let pct = v["memory"]["percent"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&pct));
}

#[test]
fn systeminfo_has_the_additive_fields() {
    let agent = Agent::start(&[]);
    let v = agent.get("/systeminfo").json();
    for key in [
        "swap",
        "cpu_count",
        "per_cpu_percent",
        "load_average",
        "uptime_secs",
        "boot_time",
        "disks",
        "interfaces",
        "disk_io",
        "temperatures",
        "os_version",
        "kernel_version",
        "arch",
        "agent_version",
        "timestamp",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["memory"]["available"].is_u64());
    assert_eq!(
        v["per_cpu_percent"].as_array().unwrap().len() as u64,
        v["cpu_count"].as_u64().unwrap()
    );
    assert_has_keys(&v["swap"], "swap", &["total", "used", "percent"]);
    let disk = &v["disks"][0];
    assert_has_keys(
        disk,
        "disks[]",
        &[
            "mount_point",
            "device",
            "fs_type",
            "total",
            "used",
            "available",
            "percent",
        ],
    );
    let iface = &v["interfaces"][0];
    assert_has_keys(
        iface,
        "interfaces[]",
        &[
            "name",
            "bytes_sent",
            "bytes_recv",
            "bytes_sent_per_sec",
            "bytes_recv_per_sec",
        ],
    );
    assert_eq!(v["agent_version"], env!("CARGO_PKG_VERSION"));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let ts = v["timestamp"].as_u64().unwrap();
    assert!(
        ts <= now_ms && now_ms - ts < 60_000,
        "timestamp {ts} vs now {now_ms}"
    );
}

#[test]
fn missing_token_gets_401_with_www_authenticate() {
    let agent = Agent::start(&[]);
    let r = request(agent.proc.addr, "GET", "/systeminfo", &[], b"");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert!(r.json()["error"].is_string());
    assert_eq!(r.json()["code"], "bad_token");
}

#[test]
fn wrong_token_gets_401() {
    let agent = Agent::start(&[]);
    for auth in [
        "Bearer 00000000-0000-4000-8000-000000000000",
        "Basic abc",
        "Bearer",
        &agent.token.clone(),
    ] {
        let r = get_as(agent.proc.addr, "/systeminfo", auth);
        assert_eq!(r.status, 401, "{auth}");
    }
    let prefix = format!("Bearer {}", &agent.token[..20]);
    let r = get_as(agent.proc.addr, "/metrics", &prefix);
    assert_eq!(r.status, 401);
}

#[test]
fn token_scheme_is_case_insensitive() {
    let agent = Agent::start(&[]);
    let auth = format!("bearer {}", agent.token);
    let r = get_as(agent.proc.addr, "/systeminfo", &auth);
    assert_eq!(r.status, 200);
}

#[test]
fn unknown_path_gets_404_json() {
    let agent = Agent::start(&[]);
    for path in ["/", "/systeminfo/x", "/../etc/passwd", "/%00"] {
        let r = agent.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["error"], "not found");
        assert_eq!(r.json()["code"], "not_found");
    }
}

#[test]
fn wrong_method_gets_405_with_allow() {
    let agent = Agent::start(&[]);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = request(agent.proc.addr, method, "/systeminfo", &[], b"{}");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
        assert!(r.json()["error"].is_string());
        assert_eq!(r.json()["code"], "method_not_allowed");
    }
}

#[test]
fn head_answers_without_body() {
    let agent = Agent::start(&[]);
    let auth = format!("Bearer {}", agent.token);
    let r = request_as(agent.proc.addr, "HEAD", "/systeminfo", &auth);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[test]
fn healthz_needs_no_token() {
    let agent = Agent::start(&[]);
    let r = request(agent.proc.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}

#[test]
fn query_strings_are_ignored_for_routing() {
    let agent = Agent::start(&[]);
    assert_eq!(agent.get("/systeminfo?x=1").status, 200);
}

#[test]
fn rates_appear_after_traffic() {
    let agent = Agent::start(&[]);
    // Loopback traffic from the requests themselves moves the `lo` counters.
    let first = agent.get("/systeminfo").json();
    let before = first["timestamp"].as_u64().unwrap();
    until("a loopback rate in a later sample", || {
        for _ in 0..20 {
            agent.get("/systeminfo");
        }
        let v = agent.get("/systeminfo").json();
        if v["timestamp"].as_u64().unwrap() <= before {
            return None;
        }
        let lo = v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "lo")
            .cloned();
        match lo {
            Some(lo) => (lo["bytes_recv_per_sec"].as_f64().unwrap() > 0.0).then_some(()),
            None => Some(()), // no loopback interface to watch on this OS
        }
    });
}

#[test]
fn concurrent_readers_see_the_same_sample() {
    let agent = Agent::start(&["--sample-interval", "30"]);
    let a = agent.get("/systeminfo").json();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (addr, auth) = (agent.proc.addr, format!("Bearer {}", agent.token));
            std::thread::spawn(move || get_as(addr, "/systeminfo", &auth).json())
        })
        .collect();
    for h in handles {
        let b = h.join().unwrap();
        assert_eq!(a["timestamp"], b["timestamp"]);
        assert_eq!(a["network_usage"], b["network_usage"]);
        assert_eq!(a["cpu_percent"], b["cpu_percent"]);
    }
}
