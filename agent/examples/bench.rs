//! The agent benchmark, run by `make bench-agent`: latency, CPU and memory of the release
//! binary under sequential load on loopback, its idle CPU and its size, checked against the
//! targets, and the same figures for Debian's `prometheus-node-exporter` when it is
//! installed. Then what clients that keep their connection see (Prometheus, browsers):
//! latency on one kept-alive connection, requests per second on 1 and 32 of them, memory
//! while 300 idle connections are held, and the binary against the one on tiny_http.
//! Prints a table and writes `target/bench/agent.json`.
//!
//! Environment (all optional, for a quicker run):
//! - `LANSTAT_BENCH_IDLE_SECS`: length of the idle window [default 60]
//! - `LANSTAT_BENCH_REQUESTS`: requests per agent endpoint, on new connections and then on
//!   one kept-alive connection [default 10000]
//! - `LANSTAT_BENCH_NE_SCRAPES`: scrapes of node_exporter's /metrics [default 2000]
//! - `LANSTAT_BENCH_THROUGHPUT_SECS`: length of each requests-per-second run [default 5]
//!
//! A missed target is reported, not turned into a failing exit code: figures from a shared
//! machine are too noisy to gate a build on.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lanstat_agent::testkit::{
    BEFORE_COMMIT, CONCURRENT, IDLE_CONNECTIONS, KeepAlive, Proc, Resp, TempDir, Throughput,
    closed_by_server, env_number, idle_connections, keep_alive_load, on_the_measured_target,
    try_request,
};
use serde_json::{Value, json};

/// Clock ticks per second in /proc/PID/stat (USER_HZ, 100 on every Linux architecture).
const CLOCK_TICKS: f64 = 100.0;
const MIB: f64 = 1024.0 * 1024.0;
const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

/// The targets.
const TARGET_RSS_BYTES: u64 = 4 * 1024 * 1024;
const TARGET_P99: Duration = Duration::from_millis(1);
const TARGET_IDLE_PERCENT: f64 = 0.2;
const TARGET_BINARY_BYTES: u64 = 3 * 1024 * 1024 / 2;
const TARGET_IDLE_CONNECTIONS_RSS_BYTES: u64 = 6 * 1024 * 1024;

/// The agent's default `--max-connections`: [`CONCURRENT`] clients are twice as many.
const DEFAULT_MAX_CONNECTIONS: usize = 16;
/// A cap with room for every one of [`CONCURRENT`] clients, for the second busy run.
const ROOMY_MAX_CONNECTIONS: usize = 64;

/// The stripped `lanstat-agent` as it was on tiny_http, to compare with: commit ca8f899 in a
/// worktree of its own, built as `make bench-agent` builds it (`cargo build --release -p
/// lanstat-agent`, rustc 1.95.0, x86_64-unknown-linux-gnu) and stripped as [`binary_size`]
/// strips. The bench cannot build an old commit each run.
const BEFORE_BINARY_BYTES: u64 = 779_952;

fn before_binary_bytes() -> Option<u64> {
    on_the_measured_target(BEFORE_BINARY_BYTES)
}

struct Config {
    idle: Duration,
    requests: usize,
    ne_scrapes: usize,
    throughput: Duration,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        Ok(Config {
            idle: Duration::from_secs(env_number("LANSTAT_BENCH_IDLE_SECS", 60)? as u64),
            requests: env_number("LANSTAT_BENCH_REQUESTS", 10_000)?,
            ne_scrapes: env_number("LANSTAT_BENCH_NE_SCRAPES", 2_000)?,
            throughput: Duration::from_secs(env_number("LANSTAT_BENCH_THROUGHPUT_SECS", 5)? as u64),
        })
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    let target = target_dir();
    let agent_bin = target.join("release").join("lanstat-agent");
    if !agent_bin.is_file() {
        return Err(format!(
            "{} is missing: build it first with `cargo build --release -p lanstat-agent` \
             (`make bench-agent` does both)",
            agent_bin.display()
        ));
    }
    let tmp = TempDir::new("bench");

    eprintln!("starting {}", agent_bin.display());
    let agent = Agent::start(&agent_bin, &tmp, &[])?;
    let agent_start = Usage::read(agent.pid)?;

    let node_exporter = if Path::new(NODE_EXPORTER).is_file() {
        eprintln!("starting {NODE_EXPORTER}");
        let ne = NodeExporter::start(Path::new(NODE_EXPORTER), &tmp)?;
        let start = Usage::read(ne.pid())?;
        Some((ne, start))
    } else {
        eprintln!("{NODE_EXPORTER} is not installed: no comparison");
        None
    };

    // Both idle windows run at once: they are mostly sleep, and this halves the wait.
    let mut pids = vec![agent.pid];
    pids.extend(node_exporter.as_ref().map(|(ne, _)| ne.pid()));
    eprintln!(
        "idle window: {} s (LANSTAT_BENCH_IDLE_SECS)",
        config.idle.as_secs()
    );
    let watch = OtherWork::start(&pids)?;
    let idle = idle_cpu(&pids, config.idle)?;
    let idle_other_cores = watch.cores()?;

    eprintln!(
        "{} requests each to /systeminfo and /metrics",
        config.requests
    );
    let (systeminfo, metrics) = agent_load(&agent, config.requests, Connections::New)?;
    let ours = Figures {
        binary: binary_size(&agent_bin, &tmp)?,
        start: agent_start,
        end: Usage::read(agent.pid)?,
        rss_peak: status_number(agent.pid, "VmHWM")? * 1024,
        idle: idle[0],
        systeminfo: Some(systeminfo),
        metrics,
    };
    let clients = kept_alive(&config, &agent, &agent_bin, &tmp)?;

    let theirs = match node_exporter {
        None => None,
        Some((ne, start)) => {
            eprintln!("{} scrapes of node_exporter's /metrics", config.ne_scrapes);
            let metrics = load(
                ne.pid(),
                ne.addr,
                "/metrics",
                &[],
                config.ne_scrapes,
                Connections::New,
            )?;
            Some(Figures {
                binary: binary_size(Path::new(NODE_EXPORTER), &tmp)?,
                start,
                end: Usage::read(ne.pid())?,
                rss_peak: status_number(ne.pid(), "VmHWM")? * 1024,
                idle: idle[1],
                systeminfo: None,
                metrics,
            })
        }
    };
    drop(agent);

    let results = Results {
        targets: check_targets(&ours, &clients),
        ours,
        clients,
        theirs,
        idle_other_cores,
    };
    print!("{}", report(&config, &results));
    let out = target.join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let path = out.join("agent.json");
    let doc = to_json(&config, &results);
    let text = serde_json::to_string_pretty(&doc).expect("a json! value always serialises");
    std::fs::write(&path, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("\nwritten to {}", path.display());
    Ok(())
}

/// `target/` as cargo sees it: CARGO_TARGET_DIR if set, else the workspace root's.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the agent crate sits inside the workspace")
            .join("target"),
    }
}

// ---------------------------------------------------------------------------------------
// The processes under test

/// The release agent, with the default sample interval so the idle figure is the real one.
struct Agent {
    _proc: Proc,
    pid: u32,
    addr: SocketAddr,
    token: String,
}

impl Agent {
    fn start(bin: &Path, dir: &TempDir, flags: &[&str]) -> Result<Agent, String> {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let proc = Proc::try_start(bin, &args, dir.path(), &[])
            .map_err(|output| format!("the agent did not start; its output:\n{output}"))?;
        let token_file = dir.join("client_token.txt");
        let token = std::fs::read_to_string(&token_file)
            .map_err(|e| format!("cannot read {}: {e}", token_file.display()))?
            .trim()
            .to_string();
        Ok(Agent {
            pid: proc.pid(),
            addr: proc.addr,
            token,
            _proc: proc,
        })
    }
}

/// A running node_exporter, killed on drop. It prints no `listening on` line, so it gets a
/// port picked here and we poll it until it answers.
struct NodeExporter {
    child: Child,
    addr: SocketAddr,
}

impl NodeExporter {
    fn start(bin: &Path, dir: &TempDir) -> Result<NodeExporter, String> {
        let log_path = dir.join("node_exporter.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        // Binding port 0 and dropping it right before the start leaves a small race with
        // other programs; acceptable for a benchmark, which runs alone.
        let addr = free_loopback_port()?;
        let child = Command::new(bin)
            .arg(format!("--web.listen-address={addr}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut ne = NodeExporter { child, addr };
        ne.wait_until_answering(Duration::from_secs(20))
            .map_err(|why| {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                format!("node_exporter {why}; its output:\n{log}")
            })?;
        Ok(ne)
    }

    /// Polls its landing page rather than /metrics, so no scrape happens before the start
    /// RSS is read.
    fn wait_until_answering(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if try_request(self.addr, "GET", "/", &[], b"").is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("did not answer on {} in {timeout:?}", self.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_loopback_port() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

// ---------------------------------------------------------------------------------------
// Measuring

/// CPU seconds (user + system) the process has used, all its threads, living and ended.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name (field 2) may hold spaces and parentheses; what follows its last ')'
    // splits cleanly, starting at field 3, so utime (14) and stime (15) are at 11 and 12.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (tick(11), tick(12)) {
        (Some(user), Some(system)) => Ok((user + system) as f64 / CLOCK_TICKS),
        _ => Err(format!("cannot parse {path}: {text:?}")),
    }
}

/// The number of a `/proc/PID/status` line ("VmRSS" and "VmHWM" are in kB, "Threads" a count).
fn status_number(pid: u32, key: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .ok_or_else(|| format!("no {key} in {path}"))
}

/// Resident memory and threads at one moment.
#[derive(Clone, Copy)]
struct Usage {
    rss: u64,
    /// The anonymous part of `rss`: heap and stacks, the memory that is the process's own.
    /// The rest is file pages (the binary and, with glibc, libc.so) shared with others.
    anon: u64,
    /// Each thread brings a stack and, with glibc, may bring a malloc arena.
    threads: u64,
}

impl Usage {
    fn read(pid: u32) -> Result<Usage, String> {
        Ok(Usage {
            rss: status_number(pid, "VmRSS")? * 1024,
            anon: status_number(pid, "RssAnon")? * 1024,
            threads: status_number(pid, "Threads")?,
        })
    }
}

/// Seconds on CPU of the process's living threads, from /proc/PID/task/*/schedstat
/// (nanoseconds). Finer than /proc/PID/stat's 10 ms ticks, which over a 60 s window cannot
/// tell 0.01 % from 0.03 %; but the time of threads that end is lost, so it only suits a
/// window in which no thread ends, such as an idle one. `None` without schedstats.
fn cpu_seconds_fine(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns = 0u64;
    for task in tasks {
        let text = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// CPU use over an idle window, as a percentage of one core.
#[derive(Clone, Copy)]
struct Idle {
    /// From /proc/PID/stat, the figure the target is stated in.
    percent: f64,
    /// From schedstat, when the kernel keeps it.
    percent_fine: Option<f64>,
}

/// The idle CPU of each process over the same window.
fn idle_cpu(pids: &[u32], window: Duration) -> Result<Vec<Idle>, String> {
    let read = |pid: u32| Ok::<_, String>((cpu_seconds(pid)?, cpu_seconds_fine(pid)));
    let before = pids
        .iter()
        .map(|p| read(*p))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    std::thread::sleep(window);
    let secs = started.elapsed().as_secs_f64();
    let mut idle = Vec::with_capacity(pids.len());
    for (pid, (coarse, fine)) in pids.iter().zip(before) {
        let (coarse_now, fine_now) = read(*pid)?;
        idle.push(Idle {
            percent: (coarse_now - coarse) / secs * 100.0,
            percent_fine: fine.zip(fine_now).map(|(a, b)| (b - a) / secs * 100.0),
        });
    }
    Ok(idle)
}

/// What `count` sequential requests to one path cost.
struct Load {
    count: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// CPU seconds the server process used over the whole run.
    cpu_seconds: f64,
    /// How busy the rest of the machine was meanwhile, in cores.
    other_cores: f64,
}

impl Load {
    fn cpu_per_request(&self) -> f64 {
        self.cpu_seconds / self.count as f64
    }
}

/// How a run's requests reach the server.
#[derive(Clone, Copy)]
enum Connections {
    /// Each on a new connection, as a scraper or the server's poller makes them; timed from
    /// connect to the last byte read.
    New,
    /// All on one kept-alive connection, as Prometheus scrapes and a browser fetches; timed
    /// from each write to the last byte read. The server closing the connection fails the
    /// run: nothing in its limits should make it.
    KeptAlive,
}

/// Sends `count` GETs one after another over `connections`.
fn load(
    pid: u32,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    count: usize,
    connections: Connections,
) -> Result<Load, String> {
    match connections {
        Connections::New => timed(pid, path, count, || {
            try_request(addr, "GET", path, headers, b"")
        }),
        Connections::KeptAlive => {
            let mut client =
                KeepAlive::connect(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
            timed(pid, path, count, || client.get(path, headers))
        }
    }
}

/// `count` GETs of /systeminfo from `agent` over `connections`, then as many of /metrics.
fn agent_load(
    agent: &Agent,
    count: usize,
    connections: Connections,
) -> Result<(Load, Load), String> {
    let auth = format!("Bearer {}", agent.token);
    let headers = [("Authorization", auth.as_str())];
    let run = |path| load(agent.pid, agent.addr, path, &headers, count, connections);
    Ok((run("/systeminfo")?, run("/metrics")?))
}

/// Times `count` calls of `send`, one after another, and the CPU the process `pid` used.
fn timed(
    pid: u32,
    path: &str,
    count: usize,
    mut send: impl FnMut() -> std::io::Result<Resp>,
) -> Result<Load, String> {
    let mut times = Vec::with_capacity(count);
    let watch = OtherWork::start(&[pid])?;
    let cpu_before = cpu_seconds(pid)?;
    for i in 0..count {
        let started = Instant::now();
        let resp = send().map_err(|e| format!("GET {path} number {}: {e}", i + 1))?;
        times.push(started.elapsed());
        if resp.status != 200 {
            return Err(format!(
                "GET {path} number {} answered {}: {}",
                i + 1,
                resp.status,
                resp.text()
            ));
        }
    }
    let cpu_seconds = cpu_seconds(pid)? - cpu_before;
    let other_cores = watch.cores()?;
    times.sort_unstable();
    Ok(Load {
        count,
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        max: *times.last().expect("count is at least 1"),
        cpu_seconds,
        other_cores,
    })
}

/// Watches how much CPU the rest of the machine uses while we measure: the machine's busy
/// time less that of the processes under test and of this one. On a two-core machine, a
/// compiler running beside us shows in the p99 at once, so a run should say so.
struct OtherWork {
    pids: Vec<u32>,
    started: Instant,
    machine: f64,
    ours: f64,
}

impl OtherWork {
    fn start(pids: &[u32]) -> Result<OtherWork, String> {
        Ok(OtherWork {
            pids: pids.to_vec(),
            started: Instant::now(),
            machine: machine_busy_seconds()?,
            ours: ours_cpu_seconds(pids)?,
        })
    }

    /// Cores' worth of CPU everything else used since `start`.
    fn cores(&self) -> Result<f64, String> {
        let machine = machine_busy_seconds()? - self.machine;
        let ours = ours_cpu_seconds(&self.pids)? - self.ours;
        let secs = self.started.elapsed().as_secs_f64();
        Ok(((machine - ours) / secs).max(0.0))
    }
}

fn ours_cpu_seconds(pids: &[u32]) -> Result<f64, String> {
    let mut total = cpu_seconds(std::process::id())?;
    for pid in pids {
        total += cpu_seconds(*pid)?;
    }
    Ok(total)
}

/// CPU seconds all cores spent running processes since boot: user, nice, system and steal
/// on /proc/stat's `cpu` line (guest time is already inside user). Steal counts, since a
/// host busy elsewhere slows us just as much. Interrupts are left out: the loopback traffic
/// of our own requests is handled in softirq time, which is charged to no process.
fn machine_busy_seconds() -> Result<f64, String> {
    let text = std::fs::read_to_string("/proc/stat")
        .map_err(|e| format!("cannot read /proc/stat: {e}"))?;
    let line = text.lines().next().unwrap_or_default();
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map_while(|f| f.parse().ok())
        .collect();
    if !line.starts_with("cpu ") || ticks.len() < 8 {
        return Err(format!("cannot parse /proc/stat: {line:?}"));
    }
    // user nice system idle iowait irq softirq steal
    let busy = ticks[0] + ticks[1] + ticks[2] + ticks[7];
    Ok(busy as f64 / CLOCK_TICKS)
}

// ---------------------------------------------------------------------------------------
// Clients that keep their connection

/// What clients that keep their connection see, and what many idle ones cost.
struct Clients {
    systeminfo: Load,
    metrics: Load,
    /// One client, then [`CONCURRENT`] on the default cap, then on a cap with room for all.
    rates: Vec<Rate>,
    held: Held,
}

/// Requests per second on /metrics against an agent with a given connection cap.
struct Rate {
    max_connections: usize,
    t: Throughput,
}

/// The agent while [`IDLE_CONNECTIONS`] silent connections are held open.
struct Held {
    /// VmHWM before they were opened: the peak of everything measured before.
    peak_before: u64,
    /// VmHWM once they were held and a request answered among them.
    peak: u64,
    threads: u64,
    /// How many of them the agent still kept when that request had been answered.
    open: usize,
    status: u16,
    answered_in: Duration,
}

fn kept_alive(
    config: &Config,
    agent: &Agent,
    bin: &Path,
    tmp: &TempDir,
) -> Result<Clients, String> {
    let auth = format!("Bearer {}", agent.token);
    let headers = [("Authorization", auth.as_str())];
    eprintln!(
        "{} requests each to /systeminfo and /metrics on one kept-alive connection",
        config.requests
    );
    let (systeminfo, metrics) = agent_load(agent, config.requests, Connections::KeptAlive)?;

    // Before the throughput runs, so the peak is that of the idle connections on top of the
    // sequential requests, not that of 32 busy clients.
    eprintln!("{IDLE_CONNECTIONS} idle connections held open");
    let held = hold_idle(agent, &headers)?;

    let secs = config.throughput.as_secs();
    let mut rates = Vec::new();
    for n in [1, CONCURRENT] {
        let clients = if n == 1 { "client" } else { "clients" };
        eprintln!(
            "/metrics from {n} kept-alive {clients} for {secs} s, --max-connections \
             {DEFAULT_MAX_CONNECTIONS} (LANSTAT_BENCH_THROUGHPUT_SECS)"
        );
        rates.push(Rate {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            t: keep_alive_load(agent.addr, n, config.throughput, "/metrics", &headers),
        });
    }
    let cap = ROOMY_MAX_CONNECTIONS.to_string();
    let roomy = Agent::start(bin, tmp, &["--max-connections", &cap])?;
    let auth = format!("Bearer {}", roomy.token);
    eprintln!(
        "/metrics from {CONCURRENT} kept-alive clients for {secs} s, --max-connections {cap}"
    );
    rates.push(Rate {
        max_connections: ROOMY_MAX_CONNECTIONS,
        t: keep_alive_load(
            roomy.addr,
            CONCURRENT,
            config.throughput,
            "/metrics",
            &[("Authorization", auth.as_str())],
        ),
    });
    Ok(Clients {
        systeminfo,
        metrics,
        rates,
        held,
    })
}

/// Opens [`IDLE_CONNECTIONS`] connections that send nothing, has one ordinary request
/// answered among them, and reads the agent's peak memory and threads meanwhile.
fn hold_idle(agent: &Agent, headers: &[(&str, &str)]) -> Result<Held, String> {
    let peak_before = status_number(agent.pid, "VmHWM")? * 1024;
    let conns = idle_connections(agent.addr, IDLE_CONNECTIONS)
        .map_err(|e| format!("cannot open {IDLE_CONNECTIONS} connections: {e}"))?;
    // The connects complete in the kernel's queue at once; the agent takes them one by one,
    // making room for each. A second is ample, and far inside its 10 s head deadline.
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let resp = try_request(agent.addr, "GET", "/systeminfo", headers, b"")
        .map_err(|e| format!("GET /systeminfo among idle connections: {e}"))?;
    let answered_in = started.elapsed();
    let threads = status_number(agent.pid, "Threads")?;
    let open = conns.len() - closed_by_server(&conns);
    let peak = status_number(agent.pid, "VmHWM")? * 1024;
    drop(conns);
    Ok(Held {
        peak_before,
        peak,
        threads,
        open,
        status: resp.status,
        answered_in,
    })
}

/// Nearest-rank percentile of sorted, non-empty `times`.
fn percentile(times: &[Duration], p: f64) -> Duration {
    let rank = (p * times.len() as f64).ceil() as usize;
    times[rank.clamp(1, times.len()) - 1]
}

struct BinarySize {
    on_disk: u64,
    /// After `strip --strip-all` on a copy; `None` when `strip` is not available.
    stripped: Option<u64>,
}

impl BinarySize {
    /// The stripped size when known: that is what a package would ship.
    fn bytes(&self) -> u64 {
        self.stripped.unwrap_or(self.on_disk)
    }
}

/// Strips a copy rather than trusting the release profile's `strip`, so both binaries are
/// compared the same way whatever the profile says.
fn binary_size(bin: &Path, tmp: &TempDir) -> Result<BinarySize, String> {
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let on_disk = size(bin)?;
    let name = bin.file_name().expect("a binary path names a file");
    let copy = tmp.path().join(name).with_extension("stripped");
    std::fs::copy(bin, &copy).map_err(|e| format!("cannot copy {}: {e}", bin.display()))?;
    let stripped = Command::new("strip")
        .arg("--strip-all")
        .arg(&copy)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then(|| size(&copy))
        .transpose()?;
    Ok(BinarySize { on_disk, stripped })
}

// ---------------------------------------------------------------------------------------
// Reporting

/// One program's measured figures.
struct Figures {
    binary: BinarySize,
    start: Usage,
    /// After the requests.
    end: Usage,
    rss_peak: u64,
    idle: Idle,
    /// node_exporter has no /systeminfo.
    systeminfo: Option<Load>,
    metrics: Load,
}

/// Everything one run measured.
struct Results {
    ours: Figures,
    clients: Clients,
    theirs: Option<Figures>,
    targets: Vec<Target>,
    /// How busy the rest of the machine was during the idle window, in cores.
    idle_other_cores: f64,
}

impl Results {
    /// Each phase of the run and how many cores other work used during it.
    fn other_work(&self) -> Vec<(&'static str, f64)> {
        let mut phases = vec![("idle window", self.idle_other_cores)];
        if let Some(load) = &self.ours.systeminfo {
            phases.push(("/systeminfo", load.other_cores));
        }
        phases.push(("/metrics", self.ours.metrics.other_cores));
        phases.push((
            "kept-alive /systeminfo",
            self.clients.systeminfo.other_cores,
        ));
        phases.push(("kept-alive /metrics", self.clients.metrics.other_cores));
        if let Some(theirs) = &self.theirs {
            phases.push(("node_exporter", theirs.metrics.other_cores));
        }
        phases
    }
}

/// Above this much other work, in cores, a run is flagged as noisy.
const QUIET_CORES: f64 = 0.25;

/// One of the targets, in the unit it is stated in.
struct Target {
    name: &'static str,
    unit: &'static str,
    value: f64,
    limit: f64,
}

impl Target {
    /// A size in bytes, shown in MiB.
    fn mib(name: &'static str, bytes: u64, limit_bytes: u64) -> Target {
        Target {
            name,
            unit: "MiB",
            value: bytes as f64 / MIB,
            limit: limit_bytes as f64 / MIB,
        }
    }

    /// A load's 99th percentile against the latency target.
    fn p99(name: &'static str, load: &Load) -> Target {
        Target {
            name,
            unit: "ms",
            value: as_ms(load.p99),
            limit: as_ms(TARGET_P99),
        }
    }

    fn pass(&self) -> bool {
        self.value <= self.limit
    }

    fn show(&self, x: f64) -> String {
        format!("{x:.3} {}", self.unit)
    }
}

fn check_targets(ours: &Figures, clients: &Clients) -> Vec<Target> {
    let mut t = vec![Target::mib("peak RSS", ours.rss_peak, TARGET_RSS_BYTES)];
    if let Some(load) = &ours.systeminfo {
        t.push(Target::p99("p99 GET /systeminfo", load));
    }
    t.push(Target::p99("p99 GET /metrics", &ours.metrics));
    t.push(Target {
        name: "idle CPU (one core)",
        unit: "%",
        value: ours.idle.percent,
        limit: TARGET_IDLE_PERCENT,
    });
    t.push(Target::mib(
        "binary, stripped",
        ours.binary.bytes(),
        TARGET_BINARY_BYTES,
    ));
    t.push(Target::p99(
        "kept-alive p99 /systeminfo",
        &clients.systeminfo,
    ));
    t.push(Target::p99("kept-alive p99 /metrics", &clients.metrics));
    t.push(Target::mib(
        "peak RSS, 300 idle conns",
        clients.held.peak,
        TARGET_IDLE_CONNECTIONS_RSS_BYTES,
    ));
    // The comparison with the tiny_http build is printed beside the figures, not held as a
    // target: it held the HTTP layer's change to no growth when that change landed (-5.2 %),
    // and the agent has since gained what the old build never had (its recent-sample
    // history, signed requests).
    t
}

/// A figure both programs have: its label, its JSON key, how to read it and how to show it.
struct Compared {
    label: &'static str,
    key: &'static str,
    get: fn(&Figures) -> Option<f64>,
    show: fn(f64) -> String,
}

/// Prometheus' default scrape interval, for the cost of the two designs in use: the agent
/// samples whether or not anyone asks, node_exporter reads the system on each scrape.
const SCRAPE_INTERVAL_SECS: f64 = 15.0;

const COMPARED: [Compared; 12] = [
    Compared {
        label: "GET /metrics p50",
        key: "metrics_p50",
        get: |f| Some(as_ms(f.metrics.p50)),
        show: show_ms,
    },
    Compared {
        label: "GET /metrics p99",
        key: "metrics_p99",
        get: |f| Some(as_ms(f.metrics.p99)),
        show: show_ms,
    },
    Compared {
        label: "CPU per /metrics",
        key: "cpu_per_scrape",
        get: |f| Some(f.metrics.cpu_per_request() * 1e6),
        show: |us| format!("{us:.1} µs"),
    },
    Compared {
        label: "RSS at start",
        key: "rss_start",
        get: |f| Some(f.start.rss as f64),
        show: show_mib,
    },
    Compared {
        label: "RSS after the requests",
        key: "rss_end",
        get: |f| Some(f.end.rss as f64),
        show: show_mib,
    },
    Compared {
        label: "anonymous RSS after",
        key: "rss_anon_end",
        get: |f| Some(f.end.anon as f64),
        show: show_mib,
    },
    Compared {
        label: "peak RSS (VmHWM)",
        key: "rss_peak",
        get: |f| Some(f.rss_peak as f64),
        show: show_mib,
    },
    Compared {
        label: "threads after the requests",
        key: "threads_end",
        get: |f| Some(f.end.threads as f64),
        show: |n| format!("{n}"),
    },
    Compared {
        label: "idle CPU (one core)",
        key: "idle_cpu",
        get: |f| Some(f.idle.percent),
        show: show_percent,
    },
    Compared {
        label: "idle CPU, schedstat",
        key: "idle_cpu_schedstat",
        get: |f| f.idle.percent_fine,
        show: show_percent,
    },
    Compared {
        label: "CPU, a scrape every 15 s",
        key: "cpu_scraped_every_15s",
        get: |f| {
            let idle = f.idle.percent_fine.unwrap_or(f.idle.percent);
            Some(idle + f.metrics.cpu_per_request() / SCRAPE_INTERVAL_SECS * 100.0)
        },
        show: show_percent,
    },
    Compared {
        label: "binary, stripped",
        key: "binary",
        get: |f| Some(f.binary.bytes() as f64),
        show: show_mib,
    },
];

fn as_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn show_ms(ms: f64) -> String {
    format!("{ms:.3} ms")
}

fn show_mib(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / MIB)
}

fn show_percent(p: f64) -> String {
    // A process that barely ran still shows a figure, not a 0.000 that hides its ratio.
    if p > 0.0 && p < 0.001 {
        format!("{p:.1e} %")
    } else {
        format!("{p:.3} %")
    }
}

/// ours / theirs, or nothing when theirs is zero (node_exporter uses no CPU at all while
/// nobody scrapes it, for one).
fn ratio(ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    let (ours, theirs) = (ours?, theirs?);
    (theirs > 0.0).then(|| ours / theirs)
}

fn report(config: &Config, r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nlanstat-agent benchmark: {} sequential requests per endpoint on loopback, a new \
         connection each; idle window {} s",
        config.requests,
        config.idle.as_secs()
    );
    let phases = r.other_work();
    let shown: Vec<String> = phases
        .iter()
        .map(|(phase, cores)| format!("{phase} {cores:.2}"))
        .collect();
    let _ = writeln!(
        s,
        "other work on the machine, in cores: {}",
        shown.join(", ")
    );
    if phases.iter().any(|(_, cores)| *cores > QUIET_CORES) {
        let _ = writeln!(
            s,
            "warning: the machine was not idle; latencies and CPU figures are noisy"
        );
    }
    let _ = writeln!(s, "\nlanstat-agent");
    for (label, value) in our_rows(&r.ours) {
        let _ = writeln!(s, "  {label:<28} {value:>14}");
    }
    let _ = writeln!(
        s,
        "\nlanstat-agent, clients that keep their connection (TCP_NODELAY on): {} sequential \
         requests per endpoint on one connection; throughput on /metrics, {} s per run",
        config.requests,
        config.throughput.as_secs()
    );
    for (label, value, note) in client_rows(&r.clients, &r.ours) {
        let line = format!("  {label:<36} {value:>14}  {note}");
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s.push_str(&targets_table(&r.targets));
    match &r.theirs {
        None => {
            let _ = writeln!(
                s,
                "\nnode_exporter: {NODE_EXPORTER} is not installed, no comparison"
            );
        }
        Some(theirs) => s.push_str(&comparison_table(&r.ours, theirs)),
    }
    s
}

fn our_rows(ours: &Figures) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (path, load) in [
        ("/systeminfo", ours.systeminfo.as_ref()),
        ("/metrics", Some(&ours.metrics)),
    ] {
        let Some(load) = load else { continue };
        rows.push((format!("GET {path} p50"), show_ms(as_ms(load.p50))));
        rows.push((format!("GET {path} p99"), show_ms(as_ms(load.p99))));
        rows.push((format!("GET {path} max"), show_ms(as_ms(load.max))));
        rows.push((
            format!("CPU per {} {path}", load.count),
            format!("{:.2} s", load.cpu_seconds),
        ));
    }
    rows.push(("RSS at start".into(), show_mib(ours.start.rss as f64)));
    rows.push((
        "RSS after the requests".into(),
        show_mib(ours.end.rss as f64),
    ));
    rows.push(("peak RSS (VmHWM)".into(), show_mib(ours.rss_peak as f64)));
    rows.push((
        "anonymous RSS start / after".into(),
        format!(
            "{} / {}",
            show_mib(ours.start.anon as f64),
            show_mib(ours.end.anon as f64)
        ),
    ));
    rows.push((
        "threads at start / after".into(),
        format!("{} / {}", ours.start.threads, ours.end.threads),
    ));
    rows.push((
        "idle CPU (one core)".into(),
        show_percent(ours.idle.percent),
    ));
    rows.push((
        "idle CPU, schedstat".into(),
        ours.idle.percent_fine.map_or("n/a".into(), show_percent),
    ));
    let bytes = ours.binary.bytes();
    rows.push(("binary, stripped".into(), format!("{bytes} B")));
    rows
}

fn client_rows(c: &Clients, ours: &Figures) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for (path, load) in [("/systeminfo", &c.systeminfo), ("/metrics", &c.metrics)] {
        for (what, d) in [("p50", load.p50), ("p99", load.p99), ("max", load.max)] {
            rows.push((
                format!("kept-alive GET {path} {what}"),
                show_ms(as_ms(d)),
                String::new(),
            ));
        }
        rows.push((
            format!("CPU per {} kept-alive {path}", load.count),
            format!("{:.2} s", load.cpu_seconds),
            String::new(),
        ));
    }
    for r in &c.rates {
        let t = &r.t;
        let mut note = format!("--max-connections {}", r.max_connections);
        if t.refused + t.broken > 0 || t.connects > t.connections as u64 {
            note.push_str(&format!(
                ": {} answered, {} refused (503), {} closed under a request, {} connects",
                t.ok, t.refused, t.broken, t.connects
            ));
        }
        let plural = if t.connections == 1 { "" } else { "s" };
        rows.push((
            format!("req/s /metrics, {} connection{plural}", t.connections),
            format!("{:.0}", t.per_second()),
            note,
        ));
    }
    let h = &c.held;
    rows.push((
        format!("{IDLE_CONNECTIONS} idle connections, kept open"),
        format!("{}", h.open),
        format!("{} threads in the agent meanwhile", h.threads),
    ));
    rows.push((
        "GET /systeminfo among them".into(),
        show_ms(as_ms(h.answered_in)),
        format!("status {}", h.status),
    ));
    rows.push((
        "peak RSS before / with them".into(),
        format!(
            "{} / {}",
            show_mib(h.peak_before as f64),
            show_mib(h.peak as f64)
        ),
        String::new(),
    ));
    let now = ours.binary.bytes();
    match before_binary_bytes() {
        Some(before) => {
            rows.push((
                format!("binary, stripped, {BEFORE_COMMIT} (tiny_http)"),
                format!("{before} B"),
                "measured once, a constant in this bench".into(),
            ));
            let change = now as f64 - before as f64;
            rows.push((
                "binary, stripped, now".into(),
                format!("{now} B"),
                format!("{change:+.0} B, {:+.1} %", change / before as f64 * 100.0),
            ));
        }
        None => rows.push((
            "binary, stripped, now".into(),
            format!("{now} B"),
            "no figure from before for this target".into(),
        )),
    }
    rows
}

fn targets_table(targets: &[Target]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n{:<30} {:>14} {:>14}  result",
        "target", "measured", "limit"
    );
    for t in targets {
        let verdict = if t.pass() { "pass" } else { "FAIL" };
        let (value, limit) = (t.show(t.value), format!("<= {}", t.show(t.limit)));
        let _ = writeln!(s, "  {:<28} {value:>14} {limit:>14}  {verdict}", t.name);
    }
    let met = targets.iter().filter(|t| t.pass()).count();
    let _ = writeln!(s, "  {met} of {} targets met", targets.len());
    s
}

fn comparison_table(ours: &Figures, theirs: &Figures) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n{:<30} {:>14} {:>14} {:>8}",
        "vs node_exporter", "lanstat-agent", "node_exporter", "ratio"
    );
    for c in &COMPARED {
        let (a, b) = ((c.get)(ours), (c.get)(theirs));
        let show = |x: Option<f64>| x.map_or("n/a".to_string(), c.show);
        let r = ratio(a, b).map_or("n/a".to_string(), |r| format!("{r:.3}"));
        let _ = writeln!(
            s,
            "  {:<28} {:>14} {:>14} {r:>8}",
            c.label,
            show(a),
            show(b)
        );
    }
    let _ = writeln!(
        s,
        "  (node_exporter: {} scrapes of /metrics, {} requests per endpoint for the agent)",
        theirs.metrics.count, ours.metrics.count
    );
    s
}

fn load_json(load: &Load) -> Value {
    json!({
        "requests": load.count,
        "p50_ms": as_ms(load.p50),
        "p99_ms": as_ms(load.p99),
        "max_ms": as_ms(load.max),
        "cpu_seconds": load.cpu_seconds,
        "cpu_seconds_per_10000": load.cpu_per_request() * 10_000.0,
        "other_work_cores": load.other_cores,
    })
}

fn figures_json(f: &Figures) -> Value {
    let mut v = json!({
        "binary": {
            "bytes": f.binary.bytes(),
            "mib": f.binary.bytes() as f64 / MIB,
            "bytes_on_disk": f.binary.on_disk,
            "stripped_here": f.binary.stripped.is_some(),
        },
        "rss_start_bytes": f.start.rss,
        "rss_end_bytes": f.end.rss,
        "rss_peak_bytes": f.rss_peak,
        "rss_anon_start_bytes": f.start.anon,
        "rss_anon_end_bytes": f.end.anon,
        "threads_start": f.start.threads,
        "threads_end": f.end.threads,
        "idle_cpu_percent_of_one_core": f.idle.percent,
        "idle_cpu_percent_of_one_core_schedstat": f.idle.percent_fine,
        "metrics": load_json(&f.metrics),
    });
    if let Some(load) = &f.systeminfo {
        v["systeminfo"] = load_json(load);
    }
    v
}

fn to_json(config: &Config, r: &Results) -> Value {
    let node_exporter = r.theirs.as_ref().map(|theirs| {
        let mut v = figures_json(theirs);
        v["version"] = json!(node_exporter_version());
        let ratios: serde_json::Map<String, Value> = COMPARED
            .iter()
            .map(|c| {
                (
                    c.key.to_string(),
                    json!(ratio((c.get)(&r.ours), (c.get)(theirs))),
                )
            })
            .collect();
        v["ours_over_theirs"] = Value::Object(ratios);
        v
    });
    let mut agent = figures_json(&r.ours);
    let c = &r.clients;
    agent["kept_alive"] = json!({
        "systeminfo": load_json(&c.systeminfo),
        "metrics": load_json(&c.metrics),
    });
    agent["throughput_metrics"] = c
        .rates
        .iter()
        .map(|r| {
            json!({
                "connections": r.t.connections,
                "max_connections": r.max_connections,
                "seconds": r.t.elapsed.as_secs_f64(),
                "requests_per_second": r.t.per_second(),
                "answered": r.t.ok,
                "refused_503": r.t.refused,
                "closed_under_a_request": r.t.broken,
                "connects": r.t.connects,
                "connect_failures": r.t.connect_failures,
            })
        })
        .collect();
    agent["idle_connections"] = json!({
        "held": IDLE_CONNECTIONS,
        "kept_open_by_agent": c.held.open,
        "threads": c.held.threads,
        "rss_peak_before_bytes": c.held.peak_before,
        "rss_peak_bytes": c.held.peak,
        "request_status": c.held.status,
        "request_ms": as_ms(c.held.answered_in),
    });
    agent["binary"]["before"] = json!(before_binary_bytes().map(|bytes| json!({
        "bytes": bytes,
        "commit": BEFORE_COMMIT,
        "http": "tiny_http",
        "change_bytes": r.ours.binary.bytes() as i64 - bytes as i64,
    })));
    let targets: Vec<Value> = r
        .targets
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "unit": t.unit,
                "value": t.value,
                "limit": t.limit,
                "pass": t.pass(),
            })
        })
        .collect();
    json!({
        "config": {
            "requests_per_endpoint": config.requests,
            "node_exporter_scrapes": config.ne_scrapes,
            "idle_seconds": config.idle.as_secs(),
            "agent_sample_interval": "default (5 s)",
            "new_connection_per_request": true,
            "kept_alive_requests_per_endpoint": config.requests,
            "throughput_seconds": config.throughput.as_secs(),
            "throughput_path": "/metrics",
            "concurrent_connections": CONCURRENT,
            "idle_connections": IDLE_CONNECTIONS,
        },
        "machine": {
            "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|s| s.trim().to_string()),
            "arch": std::env::consts::ARCH,
            "other_work_cores": r
                .other_work()
                .into_iter()
                .map(|(phase, cores)| (phase.to_string(), json!(cores)))
                .collect::<serde_json::Map<_, _>>(),
        },
        "agent": agent,
        "targets": targets,
        "node_exporter": node_exporter,
    })
}

/// The first line of `--version`, e.g. "node_exporter, version 1.5.0 (branch: ...)".
fn node_exporter_version() -> Option<String> {
    let out = Command::new(NODE_EXPORTER).arg("--version").output().ok()?;
    // Older releases print the version on stderr.
    let text = [out.stdout, out.stderr].concat();
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(str::to_string)
}
