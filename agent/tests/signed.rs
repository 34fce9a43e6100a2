//! Signed requests through the real binary: the token as an HMAC key, never sent.

mod util;

use lanstat_agent::signing::{self, SCHEME, WINDOW_SECS};
use util::*;

/// The `Authorization` value for GET `path` signed with `key` at `ts`.
fn signed_at(key: &str, path: &str, ts: u64) -> String {
    signing::authorization_at(
        key.as_bytes(),
        "GET",
        path,
        b"",
        ts,
        &signing::new_nonce().unwrap(),
    )
}

fn signed(key: &str, path: &str) -> String {
    signed_at(key, path, signing::unix_now())
}

/// The `WWW-Authenticate` values of an answer, in order.
fn challenges(r: &Resp) -> Vec<&str> {
    r.all_headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn a_signed_request_opens_every_token_route() {
    let agent = Agent::start(&[]);
    for path in ["/systeminfo", "/history?since=0&limit=5", "/metrics"] {
        let r = get_as(agent.proc.addr, path, &signed(&agent.token, path));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
}

#[test]
fn a_replayed_request_is_refused_and_the_reason_logged() {
    let agent = Agent::start(&[]);
    let auth = signed(&agent.token, "/systeminfo");
    assert_eq!(get_as(agent.proc.addr, "/systeminfo", &auth).status, 200);
    let again = get_as(agent.proc.addr, "/systeminfo", &auth);
    assert_eq!(again.status, 401);
    assert_eq!(again.json()["code"], "bad_token");
    agent
        .proc
        .wait_for(std::time::Duration::from_secs(60), |l| {
            l == "event=auth_refused reason=replayed_nonce"
        })
        .expect("the replay is logged with its reason");
    assert!(!agent.proc.output().contains(&agent.token[..]));
}

#[test]
fn a_stale_or_future_time_is_refused() {
    let agent = Agent::start(&[]);
    let now = signing::unix_now();
    for ts in [now - WINDOW_SECS - 60, now + WINDOW_SECS + 60, 0] {
        let r = get_as(
            agent.proc.addr,
            "/systeminfo",
            &signed_at(&agent.token, "/systeminfo", ts),
        );
        assert_eq!(r.status, 401, "ts {ts} (now {now})");
    }
    let near = signed_at(&agent.token, "/systeminfo", now - 60);
    assert_eq!(get_as(agent.proc.addr, "/systeminfo", &near).status, 200);
    agent
        .proc
        .wait_for(std::time::Duration::from_secs(60), |l| {
            l == "event=auth_refused reason=stale_timestamp"
        })
        .expect("logged with its reason");
}

#[test]
fn a_wrong_key_a_tampered_path_or_a_malformed_header_is_refused() {
    let agent = Agent::start(&[]);
    let addr = agent.proc.addr;
    let other = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        get_as(addr, "/systeminfo", &signed(other, "/systeminfo")).status,
        401
    );
    // Signed for one path or query, sent to another.
    let for_metrics = signed(&agent.token, "/metrics");
    assert_eq!(get_as(addr, "/systeminfo", &for_metrics).status, 401);
    let for_page = signed(&agent.token, "/history?since=0&limit=5");
    assert_eq!(
        get_as(addr, "/history?since=0&limit=6", &for_page).status,
        401
    );
    let malformed = format!("{SCHEME} ts=1,nonce=zz,sig=00");
    assert_eq!(get_as(addr, "/systeminfo", &malformed).status, 401);
    // A signature is no bearer token, and the token is no signature.
    let sig_only = for_metrics.rsplit_once("sig=").unwrap().1.to_string();
    assert_eq!(
        get_as(addr, "/metrics", &format!("Bearer {sig_only}")).status,
        401
    );
    assert_eq!(
        get_as(addr, "/systeminfo", &format!("{SCHEME} {}", agent.token)).status,
        401
    );
}

#[test]
fn without_signed_only_bearer_still_works_and_a_401_offers_both_schemes() {
    let agent = Agent::start(&[]);
    assert_eq!(agent.get("/systeminfo").status, 200);
    let r = request(agent.proc.addr, "GET", "/systeminfo", &[], b"");
    assert_eq!(r.status, 401);
    let offered = challenges(&r);
    assert!(
        offered.iter().any(|c| c.starts_with("Bearer")),
        "{offered:?}"
    );
    assert!(
        offered.iter().any(|c| signing::offers_signing(c)),
        "{offered:?}"
    );
}

fn signed_only_refuses_bearer(agent: &Agent) {
    let addr = agent.proc.addr;
    for path in ["/systeminfo", "/history", "/metrics"] {
        let r = agent.get(path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            challenges(&r),
            vec!["Lanstat-HMAC-SHA256 realm=\"lanstat-agent\""]
        );
        assert_eq!(
            get_as(addr, path, &signed(&agent.token, path)).status,
            200,
            "{path}"
        );
    }
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    agent
        .proc
        .wait_for(std::time::Duration::from_secs(60), |l| {
            l == "event=auth_refused reason=bearer_refused_signed_only"
        })
        .expect("logged with its reason");
    assert!(!agent.proc.output().contains(&agent.token[..]));
}

#[test]
fn signed_only_refuses_bearer_with_the_signed_challenge() {
    signed_only_refuses_bearer(&Agent::start(&["--signed-only"]));
}

#[test]
fn signed_only_can_be_set_in_the_environment() {
    let dir = TempDir::new("agent");
    let args = ["--listen", "127.0.0.1:0", "--sample-interval", "1"];
    let proc = Proc::start(bin(), &args, dir.path(), &[("LANSTAT_SIGNED_ONLY", "1")]);
    let token = std::fs::read_to_string(dir.join("client_token.txt"))
        .unwrap()
        .trim()
        .to_string();
    signed_only_refuses_bearer(&Agent { proc, dir, token });
}

#[test]
fn under_signed_only_the_scrape_token_still_opens_metrics() {
    let dir = TempDir::new("agent-scrape");
    let file = dir.join("scrape.tok");
    let scrape = made_up_secret("scrape-token-value");
    write_with_mode(&file, format!("{scrape}\n"), 0o600);
    let agent = Agent::start_in(
        dir,
        &[
            "--signed-only",
            "--scrape-token-file",
            file.to_str().unwrap(),
        ],
    );
    let bearer = format!("Bearer {scrape}");
    assert_eq!(get_as(agent.proc.addr, "/metrics", &bearer).status, 200);
    assert_eq!(get_as(agent.proc.addr, "/systeminfo", &bearer).status, 401);
}
