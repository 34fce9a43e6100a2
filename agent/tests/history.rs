//! `GET /history`, the agent's recent samples, and the buffer kept across a restart, through
//! the real binary.

mod util;

use serde_json::Value;
use util::*;

/// The samples of a `/history` answer's JSON.
fn samples(v: &Value) -> &Vec<Value> {
    v["samples"].as_array().expect("samples is a list")
}

fn times(v: &Value) -> Vec<u64> {
    samples(v)
        .iter()
        .map(|s| s["t"].as_u64().unwrap())
        .collect()
}

/// The agent's history once it holds at least `n` samples.
fn with_at_least(agent: &Agent, n: usize) -> Value {
    until(&format!("/history holds {n} samples"), || {
        let r = agent.get("/history?limit=2000");
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        (samples(&v).len() >= n).then_some(v)
    })
}

#[test]
fn history_grows_with_samples_oldest_first_with_the_systeminfo_names() {
    let agent = Agent::start(&[]);
    let r = agent.get("/history");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["interval"], 1);
    let v = with_at_least(&agent, 3);
    let ts = times(&v);
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
    assert_eq!(v["newest"].as_u64(), ts.last().copied());
    assert_eq!(v["more"], false);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts[0] <= now && now - ts[0] < 600, "{ts:?} vs {now}");
    let s = &samples(&v)[0];
    assert!(s["cpu_percent"].is_f64());
    for key in ["total", "used"] {
        assert!(s["memory"][key].is_u64(), "memory.{key}");
        assert!(s["disk"][key].is_u64(), "disk.{key}");
    }
    assert!(s["memory"]["percent"].is_f64());
    assert!(s["network"]["bytes_sent"].is_u64());
    assert!(s["network_usage"]["bytes_recv_per_sec"].is_number());
    #[cfg(target_os = "linux")]
    {
        assert!(s["swap"]["percent"].is_number(), "{s}");
        assert!(s["load_average"]["one"].is_number(), "{s}");
        assert!(s["uptime_secs"].is_u64(), "{s}");
    }
    let later = with_at_least(&agent, ts.len() + 1);
    assert_eq!(
        times(&later)[..ts.len()],
        ts[..],
        "older samples stay as they were"
    );
}

#[test]
fn since_and_limit_page_through_the_backlog() {
    let agent = Agent::start(&[]);
    let all = with_at_least(&agent, 5);
    let want = times(&all);
    let (mut since, mut got, mut pages) = (0, Vec::<u64>::new(), 0);
    loop {
        let v = agent.get(&format!("/history?since={since}&limit=2")).json();
        let page = times(&v);
        assert!(page.len() <= 2, "{page:?}");
        assert!(page.iter().all(|t| *t > since), "{since}: {page:?}");
        got.extend(&page);
        pages += 1;
        if v["more"] == false {
            break;
        }
        assert_eq!(page.len(), 2, "a page with more after it is full");
        since = *page.last().unwrap();
    }
    assert!(pages >= 3);
    // Samples taken while paging come after those there were.
    assert_eq!(got[..want.len()], want[..]);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");

    let newest = all["newest"].as_u64().unwrap();
    let v = agent.get(&format!("/history?since={newest}")).json();
    assert!(times(&v).iter().all(|t| *t > newest), "{v}");
    let v = agent.get(&format!("/history?since={}", want[1])).json();
    assert_eq!(times(&v)[..want.len() - 2], want[2..]);
    let v = agent.get("/history?since=18446744073709551615").json();
    assert!(samples(&v).is_empty() && v["more"] == false, "{v}");
}

#[test]
fn a_malformed_since_or_limit_gets_400_saying_what_is_expected() {
    let agent = Agent::start(&[]);
    for (query, named) in [
        ("since=abc", "since"),
        ("since=-1", "since"),
        ("since=1.5", "since"),
        ("since=", "since"),
        ("since=99999999999999999999", "since"),
        ("since=1&since=2", "since"),
        ("limit=0", "limit"),
        ("limit=2001", "limit"),
        ("limit=ten", "limit"),
    ] {
        let r = agent.get(&format!("/history?{query}"));
        assert_eq!(r.status, 400, "{query}");
        let v = r.json();
        assert_eq!(v["code"], "bad_parameter", "{query}");
        let said = v["error"].as_str().unwrap();
        assert!(
            said.starts_with(&format!("{named} must be")),
            "{query}: {said}"
        );
    }
    assert_eq!(agent.get("/history?limit=2000&since=0").status, 200);
}

#[test]
fn history_without_the_token_gets_401_and_the_scrape_token_does_not_open_it() {
    let dir = TempDir::new("agent-history-auth");
    let scrape = dir.join("scrape.tok");
    let secret = made_up_secret("scrape-token-value");
    write_with_mode(&scrape, format!("{secret}\n"), 0o600);
    let agent = Agent::start_in(dir, &["--scrape-token-file", scrape.to_str().unwrap()]);
    let wrong = format!("Bearer {}x", agent.token);
    let scraper = format!("Bearer {secret}");
    for auth in [None, Some(wrong.as_str()), Some(scraper.as_str())] {
        for path in ["/history", "/history?since=abc"] {
            let r = match auth {
                Some(a) => get_as(agent.proc.addr, path, a),
                None => request(agent.proc.addr, "GET", path, &[], b""),
            };
            assert_eq!(r.status, 401, "{path}");
            assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
            assert_eq!(r.json()["code"], "bad_token");
        }
    }
    assert_eq!(get_as(agent.proc.addr, "/metrics", &scraper).status, 200);
}

#[test]
fn a_restart_after_a_clean_stop_keeps_the_samples() {
    let agent = Agent::start(&[]);
    let before = with_at_least(&agent, 3);
    let Agent { mut proc, dir, .. } = agent;
    assert_eq!(proc.signal_and_wait("TERM"), Some(0), "{}", proc.output());
    let saved = proc.output();
    assert!(saved.contains("event=history_saved samples="), "{saved}");
    drop(proc);
    let file = dir.join("agent_history.bin");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = Agent::start_in(dir, &[]);
    let loaded = again
        .proc
        .wait_for(std::time::Duration::from_secs(60), |l| {
            l.starts_with("event=history_")
        })
        .unwrap_or_else(|| again.proc.output());
    assert!(
        loaded.starts_with("event=history_loaded samples=") && !loaded.contains("dropped"),
        "{loaded}"
    );
    let after = again.get("/history?limit=2000").json();
    let newest = before["newest"].as_u64().unwrap();
    let kept: Vec<&Value> = samples(&after)
        .iter()
        .filter(|s| s["t"].as_u64().unwrap() <= newest)
        .collect();
    let was: Vec<&Value> = samples(&before).iter().collect();
    assert_eq!(kept, was, "every sample, every figure, as it was");
}

#[test]
fn a_damaged_history_file_is_refused_in_one_line_and_the_agent_runs() {
    let dir = TempDir::new("agent-history-bad");
    std::fs::write(
        dir.join("agent_history.bin"),
        b"not a history file at all\n",
    )
    .unwrap();
    let agent = Agent::start_in(dir, &[]);
    let line = agent
        .proc
        .wait_for(std::time::Duration::from_secs(60), |l| {
            l.starts_with("event=history_")
        })
        .unwrap_or_else(|| agent.proc.output());
    assert!(
        line.starts_with("event=history_refused reason=\"it is not a history file\""),
        "{line}"
    );
    assert!(line.contains("action=start_empty"), "{line}");
    with_at_least(&agent, 2);
}
