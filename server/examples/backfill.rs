//! Writes days of simulated history straight into a database through the server's own
//! storage, rollup and retention code, so charts and retention can be seen and measured on a
//! year of data without waiting a year.
//!
//! ```sh
//! # 100 simulated hosts (disabled, so nothing polls them), a year each:
//! cargo run --release -p lanstat-server --example backfill -- --db bench.db --hosts 100 --days 365
//! # the hosts of a running fleet (see the fleet example), 60 days each:
//! cargo run --release -p lanstat-server --example backfill -- --db demo.db --manifest fleet.json --days 60
//! ```

use std::path::PathBuf;
use std::time::Instant;

use lanstat_server::model::NewComputer;
use lanstat_server::model::Retention;
use lanstat_server::sim::{self, Profile};
use lanstat_server::store::{self, Durability, Store};

fn main() {
    if let Err(e) = run() {
        eprintln!("backfill: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let (mut db, mut hosts, mut days, mut interval, mut manifest) =
        (None, 10u64, 30i64, 30i64, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--db" => db = Some(PathBuf::from(val()?)),
            "--hosts" => hosts = val()?.parse().map_err(|_| "--hosts needs a number")?,
            "--days" => days = val()?.parse().map_err(|_| "--days needs a number")?,
            "--interval" => interval = val()?.parse().map_err(|_| "--interval needs seconds")?,
            "--manifest" => manifest = Some(PathBuf::from(val()?)),
            "--help" | "-h" => {
                println!(
                    "backfill --db FILE [--hosts N | --manifest FILE] [--days D] [--interval SECONDS]"
                );
                return Ok(());
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let db = db.ok_or("--db is required")?;
    let store = Store::open(&db).map_err(|e| e.to_string())?;
    // (name, url, token, enabled, profile number)
    let wanted: Vec<(String, String, String, bool, u64)> = match manifest {
        Some(path) => {
            let text =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let list: Vec<serde_json::Value> =
                serde_json::from_slice(&text).map_err(|e| format!("bad manifest: {e}"))?;
            list.iter()
                .map(|v| {
                    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                    (
                        s("name"),
                        s("url"),
                        s("token"),
                        true,
                        v["n"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        }
        None => (0..hosts)
            .map(|n| {
                (
                    Profile::new(n).hostname,
                    "http://127.0.0.1:9/".into(),
                    format!("sim-token-{n:06}"),
                    false,
                    n,
                )
            })
            .collect(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let mut ids = Vec::new();
    for (name, url, token, enabled, n) in wanted {
        let mut input = NewComputer::new(&name, &url, &token).map_err(|e| e.to_string())?;
        input.enabled = enabled;
        let id = store
            .write(Durability::Durable, move |tx| {
                match store::computers::add(tx, &input, now) {
                    Ok(c) => Ok(c.id),
                    Err(store::StoreError::Taken(_)) => Ok(tx.query_row(
                        "SELECT id FROM computers WHERE name = ?1",
                        [&*input.name],
                        |r| r.get(0),
                    )?),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| e.to_string())?;
        ids.push((id, Profile::new(n)));
    }
    let started = Instant::now();
    let done = sim::backfill(&store, &ids, days, now, interval, Retention::default())
        .map_err(|e| e.to_string())?;
    store.close();
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "event=backfilled hosts={} days={days} interval_secs={interval} raw_rows_written={} buckets={} rows_trimmed={} seconds={:.1} insert_secs={:.1} rollup_secs={:.1} trim_secs={:.1} db_bytes={size}",
        ids.len(),
        done.raw_rows,
        done.buckets,
        done.deleted,
        started.elapsed().as_secs_f64(),
        done.insert_secs,
        done.rollup_secs,
        done.trim_secs
    );
    Ok(())
}
