//! A simulated fleet: N agents on one loopback port, each at its own path
//! (`http://ADDR/a/<n>`), answering `/systeminfo` with varying figures from
//! `lanstat_server::sim`. A chosen share is dead (their URL points at a closed port) or slow
//! (they answer only after `--slow-secs`). Writes a manifest of every agent's name, URL and
//! token for the backfill tool, the benchmark and `make demo`.
//!
//! ```sh
//! cargo run --release -p lanstat-server --example fleet -- --agents 100 --dead 5 --slow 5 \
//!     --manifest target/demo/fleet.json
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lanstat_server::sim::{Profile, mix};

struct Options {
    agents: u64,
    dead_pct: u64,
    slow_pct: u64,
    slow_secs: u64,
    listen: String,
    manifest: Option<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        agents: 100,
        dead_pct: 5,
        slow_pct: 5,
        slow_secs: 30,
        listen: "127.0.0.1:0".into(),
        manifest: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{a} needs a number, not {v:?}"))
        };
        match a.as_str() {
            "--agents" => o.agents = num(val()?)?,
            "--dead" => o.dead_pct = num(val()?)?,
            "--slow" => o.slow_pct = num(val()?)?,
            "--slow-secs" => o.slow_secs = num(val()?)?,
            "--listen" => o.listen = val()?,
            "--manifest" => o.manifest = Some(val()?),
            "--help" | "-h" => {
                println!(
                    "fleet [--agents N] [--dead PCT] [--slow PCT] [--slow-secs S] [--listen ADDR] [--manifest FILE]"
                );
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.dead_pct + o.slow_pct > 100 {
        return Err("--dead and --slow add up to more than 100 %".into());
    }
    Ok(o)
}

/// What kind of agent number `n` is: spread evenly so any prefix of the fleet has the mix.
fn kind(n: u64, o: &Options) -> &'static str {
    let slot = (n * 37) % 100;
    if slot < o.dead_pct {
        "dead"
    } else if slot < o.dead_pct + o.slow_pct {
        "slow"
    } else {
        "ok"
    }
}

fn token(n: u64) -> String {
    format!("sim-{n:04}-{:016x}", mix(n ^ 0x5eed))
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fleet: {e}");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(&o.listen).unwrap_or_else(|e| {
        eprintln!("fleet: cannot listen on {}: {e}", o.listen);
        std::process::exit(1)
    });
    let addr = listener.local_addr().expect("bound");
    // A port nobody listens on: dead agents refuse connections there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let entries: Vec<serde_json::Value> = (0..o.agents)
        .map(|n| {
            let k = kind(n, &o);
            let url = if k == "dead" { format!("http://127.0.0.1:{closed}/a/{n}") } else { format!("http://{addr}/a/{n}") };
            serde_json::json!({ "n": n, "name": Profile::new(n).hostname, "url": url, "token": token(n), "kind": k })
        })
        .collect();
    if let Some(path) = &o.manifest {
        if let Some(dir) = std::path::Path::new(path).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, serde_json::to_vec_pretty(&entries).expect("json")).unwrap_or_else(
            |e| {
                eprintln!("fleet: cannot write {path}: {e}");
                std::process::exit(1)
            },
        );
    }
    println!("listening on {addr}");
    println!(
        "event=fleet_started agents={} dead_pct={} slow_pct={}",
        o.agents, o.dead_pct, o.slow_pct
    );
    let o = Arc::new(o);
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let o = o.clone();
        let _ = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || serve(conn, &o));
    }
}

fn serve(mut conn: TcpStream, o: &Options) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            auth = v.trim().to_string();
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let n = path
        .strip_prefix("/a/")
        .and_then(|p| p.strip_suffix("/systeminfo"))
        .and_then(|n| n.parse::<u64>().ok());
    let (status, body) = match n {
        Some(n) if n < o.agents => {
            if auth != format!("Bearer {}", token(n)) {
                (
                    401,
                    r#"{"error":"missing or wrong bearer token"}"#.to_string(),
                )
            } else {
                if kind(n, o) == "slow" {
                    std::thread::sleep(Duration::from_secs(o.slow_secs));
                }
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                (
                    200,
                    serde_json::to_string(&Profile::new(n).at(now)).expect("json"),
                )
            }
        }
        _ => (404, r#"{"error":"not found"}"#.to_string()),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
