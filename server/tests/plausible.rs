//! Figures no machine has (16 EB of memory, 1e308 B/s) are refused as a failed poll whose
//! reason names the figure; nothing of such an answer is stored, and polling goes on.

mod util;

use std::path::Path;

use util::fake_agent::{Behaviour, FakeAgent, original_json};
use util::*;

/// Stored samples of computer `id`.
fn samples(db: &Path, id: i64) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM stats WHERE computer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn figures_beyond_any_machine_are_a_failed_poll_that_names_them_and_nothing_is_stored() {
    let good = original_json("nas", 1, 1);
    let huge_memory = good.replace(
        r#""total": 8000000000, "used": 2000000000"#,
        r#""total": 18446744073709551615, "used": 2000000000"#,
    );
    let huge_rate = good.replace(
        r#""bytes_sent_per_sec": 100.0"#,
        r#""bytes_sent_per_sec": 1e308"#,
    );
    assert!(huge_memory != good && huge_rate != good);
    let fake = FakeAgent::start(Behaviour::Body(huge_memory));
    let (s, mut c) = logged_in(&["--no-local"]);
    let id = c.add_computer("nas", &fake.url(), "0123456789abcdef");

    let card = c.wait_computer(id, "refused", |v| v["status"] == "error");
    assert_eq!(
        card["status_reason"], "impossible figures: memory.total is 16 EB, more than 1 EB",
        "{card}"
    );
    assert!(
        card.get("memory").is_none(),
        "no figures on the card: {card}"
    );
    c.wait_rounds(2);
    assert_eq!(samples(&s.db(), id), 0, "nothing of the answers stored");
    let history = c.get(&format!("/api/history/{id}?range=1h")).json();
    assert_eq!(samples_in(&history), 0, "{history}");

    fake.set(Behaviour::Body(good));
    c.wait_computer(id, "online", |v| v["status"] == "online");
    until("a good sample stored", || {
        (samples(&s.db(), id) > 0).then_some(())
    });

    fake.set(Behaviour::Body(huge_rate));
    let card = c.wait_computer(id, "refused again", |v| v["status"] == "error");
    assert_eq!(
        card["status_reason"],
        "impossible figures: network_usage.bytes_sent_per_sec is 1e308 B/s, more than 1 TB/s",
        "{card}"
    );
    let stored = samples(&s.db(), id);
    c.wait_rounds(2);
    assert_eq!(samples(&s.db(), id), stored, "refused answers add no row");
    assert_eq!(
        c.get(&format!("/api/computers/{id}")).json()["status"],
        "error"
    );
}
