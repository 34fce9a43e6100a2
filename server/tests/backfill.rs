//! No gaps for pull agents: after the server was down, it asks the agent's `/history` for
//! what it missed and stores it with the samples' own times, once each; an agent without
//! `/history` is polled as before.

mod util;

use std::path::Path;

use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

/// The times of a computer's raw samples, oldest first, read from the database file.
fn stored_times(db: &Path, id: i64) -> Vec<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT timestamp FROM stats WHERE computer_id = ?1 ORDER BY timestamp")
        .unwrap();
    st.query_map([id], |r| r.get(0))
        .unwrap()
        .map(|t| t.unwrap())
        .collect()
}

/// The times of the samples an agent holds after `since`, asked with its token.
fn agent_times(agent: &RealAgent, since: i64) -> Vec<i64> {
    let r = request_as(
        agent.proc.addr,
        "GET",
        &format!("/history?since={since}"),
        &format!("Bearer {}", agent.token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["t"].as_i64().unwrap())
        .collect()
}

/// The largest step between neighbouring times.
fn widest_gap(times: &[i64]) -> i64 {
    times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
}

#[test]
fn a_server_outage_is_filled_from_the_agents_history_without_duplicates() {
    let password = made_up_secret("admin");
    let env = [("ADMIN_PASSWORD", password.as_str())];
    let server = Server::start(&["--no-local"], &env);
    let agent = RealAgent::start();
    let id = server
        .admin_with(&password)
        .add_computer("pi", &agent.url(), &agent.token);
    let db = server.db();
    until("a few polls stored", || {
        (stored_times(&db, id).len() >= 3).then_some(())
    });

    let dir = server.kill();
    let last_polled = *stored_times(&db, id).last().unwrap();
    // The outage: the agent samples on (1 s) while nothing polls it, well past two intervals.
    until("the agent sampled through the outage", || {
        (agent_times(&agent, last_polled).len() >= 6).then_some(())
    });
    let server = Server::start_in(dir, &["--no-local"], &env);
    let outage_end = last_polled + 6;

    let times = until("the outage filled in", || {
        let times: Vec<i64> = stored_times(&db, id)
            .into_iter()
            .filter(|t| *t >= last_polled)
            .collect();
        let past = times.last().is_some_and(|t| *t > outage_end + 2);
        (past && widest_gap(&times) <= 2).then_some(times)
    });
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "a timestamp stored twice: {times:?}"
    );
    let all = stored_times(&db, id);
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no duplicate anywhere");
    let line = server
        .proc
        .wait_for(std::time::Duration::from_secs(60), |l| {
            l.starts_with("event=backfilled ")
        })
        .expect("the backfill is logged");
    assert!(line.contains("computer=\"pi\""), "{line}");
    assert!(!line.contains(&agent.token), "{line}");
    assert!(!server.proc.output().contains(&agent.token));
}

#[test]
fn an_agent_without_history_is_asked_once_and_polled_as_before() {
    let password = made_up_secret("admin");
    let server = Server::with_admin_password(&password);
    let mut c = server.admin_with(&password);
    let body = Behaviour::Body(original_json("old", 1000, 2000));
    let agent = FakeAgent::start(body.clone());
    let id = c.add_computer("old", &agent.url(), &made_up_secret("agent"));
    c.wait_computer(id, "online", |v| v["status"] == "online");

    let gap = |c: &mut Client| {
        agent.set(Behaviour::Status(503));
        c.wait_computer(id, "in error", |v| v["status"] != "online");
        c.wait_rounds(4);
        agent.set(body.clone());
        c.wait_computer(id, "online again", |v| v["status"] == "online");
    };
    gap(&mut c);
    until("/history asked after the gap", || {
        (agent.history_asked() >= 1).then_some(())
    });
    let polled = agent.requests();
    gap(&mut c);
    c.wait_rounds(3);
    assert_eq!(agent.history_asked(), 1, "a 404 is remembered");
    assert!(agent.requests() > polled + 3, "still polled");
    assert!(
        !server.proc.output().contains("event=backfilled"),
        "nothing to store"
    );
}
