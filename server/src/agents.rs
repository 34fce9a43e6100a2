//! Talking to one agent: fetch `/systeminfo` with timeouts and a size cap, check every value,
//! and classify failures into `offline` (unreachable) or `error` (reachable but wrong), each
//! with a reason a user understands.
//!
//! A poll is signed with the computer's token as the key (`lanstat_agent::signing`), so the
//! token itself never travels. An agent that refuses a signed poll without offering the
//! signed scheme (an older agent, the original Python client) is asked with the bearer token
//! instead, and remembered in [`Schemes`]; an agent that offers the scheme is never sent the
//! bearer token.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lanstat_agent::signing;
use lanstat_agent::snapshot::{HistoryPage, HistorySample, SystemInfo, round1};
use sha2::{Digest, Sha256};

use crate::model::{PollFailure, Sample};

/// Largest answer read from an agent.
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// Timeouts for one poll.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Timeouts {
    /// ~3 s to connect and ~5 s in all, shortened for fast poll intervals so that a round
    /// always ends within its interval.
    pub fn for_interval(interval: Duration) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(3).min(interval.mul_f64(0.5)),
            total: Duration::from_secs(5).min(interval.mul_f64(0.8)),
        }
    }
}

/// An HTTP client for polling: no redirects, no retries, errors as values.
pub fn client(t: Timeouts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(t.connect))
        .timeout_global(Some(t.total))
        .http_status_as_error(false)
        .max_redirects(0)
        .max_idle_connections(0)
        .user_agent(crate::tls::USER_AGENT)
        .tls_config(crate::tls::config())
        .build()
        .new_agent()
}

/// The `/systeminfo` address for a computer's URL (which may or may not name the path).
pub fn systeminfo_url(base: &str) -> String {
    let b = base.trim().trim_end_matches('/');
    if b.ends_with("/systeminfo") {
        b.to_string()
    } else {
        format!("{b}/systeminfo")
    }
}

/// How long an agent that knows only bearer tokens is asked with one before signing is
/// tried again (a server restart tries again too: this is kept in memory only).
pub const RETRY_SIGNING: Duration = Duration::from_secs(3600);

/// The agents, by `/systeminfo` address, that refused a signed poll without offering the
/// signed scheme, with when that was learnt. Shared by the poller and the connection test.
///
/// It also keeps the agents that have answered a signed poll, each with a digest of the token
/// it was signed with: such an agent is never asked with the bearer token again, so a host
/// that takes over its address cannot get the token by refusing signed polls without offering
/// the scheme. A new token (the agent replaced) or a restart of the server forgets it.
#[derive(Debug, Default)]
pub struct Schemes {
    bearer_since: Mutex<HashMap<String, Instant>>,
    signers: Mutex<HashMap<String, [u8; 32]>>,
}

impl Schemes {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.bearer_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `url` is to be signed: unless it refused signing less than [`RETRY_SIGNING`] ago.
    pub fn signs(&self, url: &str) -> bool {
        let mut map = self.map();
        match map.get(url) {
            Some(since) if since.elapsed() < RETRY_SIGNING => false,
            Some(_) => {
                map.remove(url);
                true
            }
            None => true,
        }
    }

    fn bearer_only(&self, url: &str) {
        let mut map = self.map();
        // Bounded by the computers polled; an address no longer polled goes at its retry.
        map.retain(|_, since| since.elapsed() < RETRY_SIGNING);
        map.insert(url.to_string(), Instant::now());
    }

    fn signing_offered(&self, url: &str) {
        self.map().remove(url);
    }

    fn signers(&self) -> std::sync::MutexGuard<'_, HashMap<String, [u8; 32]>> {
        self.signers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The agent at `url` answered a poll signed with `token`.
    fn answered_signed(&self, url: &str, token: &str) {
        // Bounded by the addresses ever polled with a token, a handful per computer.
        self.signers()
            .insert(url.to_string(), Sha256::digest(token.as_bytes()).into());
    }

    /// Whether the agent at `url` has answered a poll signed with this `token`.
    fn signed_before(&self, url: &str, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.signers().get(url) == Some(&digest)
    }
}

/// How a request carries the token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    Signed,
    Bearer,
}

/// Fetches and checks one agent's figures, signed unless `schemes` says the agent knows only
/// bearer tokens (or the token is empty: nothing to sign with).
pub fn fetch(
    client: &ureq::Agent,
    schemes: &Schemes,
    base_url: &str,
    token: &str,
) -> Result<SystemInfo, PollFailure> {
    let url = systeminfo_url(base_url);
    answer(call(client, schemes, &url, &url, token)?)
}

/// Asks `url` with the token as [`fetch`] does: signed unless `schemes` knows the agent at
/// `key` (its `/systeminfo` address) takes only bearer tokens, and never stepping down to the
/// bearer token for an agent that has signed.
fn call(
    client: &ureq::Agent,
    schemes: &Schemes,
    key: &str,
    url: &str,
    token: &str,
) -> Result<ureq::http::Response<ureq::Body>, PollFailure> {
    if !token.is_empty() && schemes.signs(key) {
        let resp = get(client, url, token, Auth::Signed)?;
        if resp.status().is_success() {
            schemes.answered_signed(key, token);
        }
        if resp.status().as_u16() != 401 || offers_signing(&resp) {
            return Ok(resp);
        }
        if schemes.signed_before(key, token) {
            return Err(PollFailure::error(
                "refused a signed poll without offering signing, though the agent at this \
                 address answered signed polls before: its token is not sent as a bearer \
                 (if the agent was replaced by one that cannot sign, save its token again)",
            ));
        }
        // Refused without offering the signed scheme: an agent that knows only bearer tokens.
        schemes.bearer_only(key);
    }
    let resp = get(client, url, token, Auth::Bearer)?;
    if resp.status().as_u16() == 401 && offers_signing(&resp) {
        // It signs now: the next poll signs.
        schemes.signing_offered(key);
    }
    Ok(resp)
}

fn get(
    client: &ureq::Agent,
    url: &str,
    token: &str,
    auth: Auth,
) -> Result<ureq::http::Response<ureq::Body>, PollFailure> {
    let authorization = match auth {
        Auth::Bearer => format!("Bearer {token}"),
        Auth::Signed => {
            let uri: ureq::http::Uri = url
                .parse()
                .map_err(|_| PollFailure::error("the URL is not valid"))?;
            let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
            signing::authorization(token.as_bytes(), "GET", target, b"").map_err(|e| {
                PollFailure::error(format!("cannot sign the poll: no randomness ({e})"))
            })?
        }
    };
    client
        .get(url)
        .header("Authorization", &authorization)
        .header("Accept", "application/json")
        .call()
        .map_err(classify)
}

fn offers_signing(resp: &ureq::http::Response<ureq::Body>) -> bool {
    resp.headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(signing::offers_signing)
}

fn answer(resp: ureq::http::Response<ureq::Body>) -> Result<SystemInfo, PollFailure> {
    if let Some(failure) = refusal(resp.status().as_u16()) {
        return Err(failure);
    }
    let mut body = resp.into_body();
    let bytes = body
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(classify)?;
    parse(&bytes)
}

/// What an answer's HTTP status says when it is not 200: what went wrong in plain words
/// first, then what the agent answered.
fn refusal(status: u16) -> Option<PollFailure> {
    match status {
        200 => None,
        401 | 403 => Some(PollFailure::error(format!(
            "wrong token: the agent answered {status}"
        ))),
        404 => Some(PollFailure::error(
            "no lanstat agent at this address: it answered 404 for /systeminfo",
        )),
        _ => Some(PollFailure::error(format!(
            "unexpected answer: the agent answered HTTP {status}"
        ))),
    }
}

/// Parses and checks an answer body.
pub fn parse(bytes: &[u8]) -> Result<SystemInfo, PollFailure> {
    let info: SystemInfo = serde_json::from_slice(bytes).map_err(|e| {
        let mut msg = e.to_string();
        msg.truncate(160);
        PollFailure::error(format!("not a lanstat answer: bad JSON ({msg})"))
    })?;
    validate(info).map_err(|why| PollFailure::error(format!("impossible figures: {why}")))
}

fn classify(e: ureq::Error) -> PollFailure {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => PollFailure::offline("timed out"),
        E::HostNotFound => PollFailure::offline("host not found (DNS)"),
        E::ConnectionFailed => PollFailure::offline("connection failed"),
        E::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            let inner = io.get_ref().map(|e| e.to_string()).unwrap_or_default();
            PollFailure::error(format!("TLS failed: {inner}"))
        }
        E::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => PollFailure::offline("connection refused"),
            ErrorKind::TimedOut | ErrorKind::WouldBlock => PollFailure::offline("timed out"),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                PollFailure::offline("connection reset")
            }
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                PollFailure::offline("no route to host")
            }
            ErrorKind::UnexpectedEof => {
                PollFailure::error("answer cut off: the agent closed the connection mid-answer")
            }
            _ => PollFailure::offline(format!("network error: {io}")),
        },
        E::BodyExceedsLimit(_) => PollFailure::error("the answer is larger than 1 MiB"),
        E::BadUri(_) | E::Http(_) => PollFailure::error("the URL is not valid"),
        E::Protocol(p) => PollFailure::error(format!("not an HTTP answer: {p}")),
        E::LargeResponseHeader(_, _) => PollFailure::error("the answer's headers are too large"),
        other => PollFailure::error(other.to_string()),
    }
}

const MAX_TEXT: usize = 255;
const MAX_LIST: usize = 256;

// Bounds no real machine's figures reach. A figure beyond one comes from a broken or hostile
// agent, not from a reading: stored, it would skew every chart, average and alert that takes
// it in, so the whole answer is refused as a failed poll that names the figure. Each bound is
// far above what any machine reports today and far below what a wrong one sends (1e308 B/s,
// 16 EB of memory).

/// Memory (RAM or swap) of one machine: 1 EB (2^60 bytes). The largest machines have tens of
/// TB.
pub const MAX_MEMORY_BYTES: u64 = 1 << 60;
/// One filesystem: 1 EB. The largest hold tens of PB.
pub const MAX_DISK_BYTES: u64 = 1 << 60;
/// A byte counter since boot: 4 EB (2^62), a 100 Gbit/s link kept full for eleven years.
pub const MAX_COUNTER_BYTES: u64 = 1 << 62;
/// A byte rate, network or disk, one device or a machine's sum: 1 TB/s (2^40 bytes a
/// second), ten times an 800 Gbit/s interface; rates the server works out from counters
/// have the same bound (`lanstat_agent::sampler::rate`).
pub const MAX_BYTES_PER_SEC: f64 = (1u64 << 40) as f64;
/// A load average: Linux's largest `pid_max` (2^22); no more tasks exist to wait.
pub const MAX_LOAD: f64 = 4_194_304.0;
/// Time since boot: a hundred years.
pub const MAX_UPTIME_SECS: u64 = 3_155_760_000;
/// How far outside 0–100 a percentage may be and still be a rounding hair, taken as 0 or 100.
const PERCENT_SLACK: f64 = 0.5;

/// Checks values an agent reported: every number finite, non-negative and within the bounds
/// above, percents within 0–100 (a rounding hair over is clamped), used never above total,
/// text cut to a sane length without control characters, lists capped. A refusal names the
/// figure and its value: "memory.total is 16 EB, more than 1 EB".
fn validate(mut i: SystemInfo) -> Result<SystemInfo, String> {
    i.cpu_percent = percent("cpu_percent", i.cpu_percent)?;
    i.memory.percent = percent("memory.percent", i.memory.percent)?;
    i.disk.percent = percent("disk.percent", i.disk.percent)?;
    size("memory.total", i.memory.total, MAX_MEMORY_BYTES)?;
    size("disk.total", i.disk.total, MAX_DISK_BYTES)?;
    size(
        "network.bytes_sent",
        i.network.bytes_sent,
        MAX_COUNTER_BYTES,
    )?;
    size(
        "network.bytes_recv",
        i.network.bytes_recv,
        MAX_COUNTER_BYTES,
    )?;
    rate(
        "network_usage.bytes_sent_per_sec",
        i.network_usage.bytes_sent_per_sec,
    )?;
    rate(
        "network_usage.bytes_recv_per_sec",
        i.network_usage.bytes_recv_per_sec,
    )?;
    within("memory", i.memory.used, i.memory.total)?;
    within("disk", i.disk.used, i.disk.total)?;
    if let Some(available) = i.memory.available {
        within("memory.available", available, i.memory.total).map_err(|_| {
            format!(
                "memory.available is {}, more than memory.total ({})",
                bytes(available as f64),
                bytes(i.memory.total as f64)
            )
        })?;
    }
    if let Some(up) = i.uptime_secs
        && up > MAX_UPTIME_SECS
    {
        return Err(format!("uptime_secs is {up}, more than a hundred years"));
    }
    i.hostname = text(&i.hostname);
    i.system = text(&i.system);
    for s in [
        &mut i.os_version,
        &mut i.kernel_version,
        &mut i.arch,
        &mut i.agent_version,
    ]
    .into_iter()
    .flatten()
    {
        *s = text(s);
    }
    if let Some(sw) = &mut i.swap {
        sw.percent = percent("swap.percent", sw.percent)?;
        size("swap.total", sw.total, MAX_MEMORY_BYTES)?;
        within("swap", sw.used, sw.total)?;
    }
    i.per_cpu_percent.truncate(4096);
    for p in &mut i.per_cpu_percent {
        *p = percent("per_cpu_percent", *p)?;
    }
    if let Some(l) = &i.load_average {
        for (field, v) in [
            ("load_average.one", l.one),
            ("load_average.five", l.five),
            ("load_average.fifteen", l.fifteen),
        ] {
            load(field, v)?;
        }
    }
    i.disks.truncate(MAX_LIST);
    for d in &mut i.disks {
        d.mount_point = text(&d.mount_point);
        d.device = text(&d.device);
        d.fs_type = text(&d.fs_type);
        d.percent = percent("disks[].percent", d.percent)?;
        size("disks[].total", d.total, MAX_DISK_BYTES)?;
        within("disks[]", d.used, d.total)?;
        size("disks[].available", d.available, MAX_DISK_BYTES)?;
    }
    i.interfaces.truncate(4 * MAX_LIST);
    for n in &mut i.interfaces {
        n.name = text(&n.name);
        size("interfaces[].bytes_sent", n.bytes_sent, MAX_COUNTER_BYTES)?;
        size("interfaces[].bytes_recv", n.bytes_recv, MAX_COUNTER_BYTES)?;
        rate("interfaces[].bytes_sent_per_sec", n.bytes_sent_per_sec)?;
        rate("interfaces[].bytes_recv_per_sec", n.bytes_recv_per_sec)?;
    }
    if let Some(io) = &i.disk_io {
        size("disk_io.read_bytes", io.read_bytes, MAX_COUNTER_BYTES)?;
        size("disk_io.write_bytes", io.write_bytes, MAX_COUNTER_BYTES)?;
        rate("disk_io.read_bytes_per_sec", io.read_bytes_per_sec)?;
        rate("disk_io.write_bytes_per_sec", io.write_bytes_per_sec)?;
    }
    // A sensor reading outside what any sensor reports is dropped, not the whole sample.
    i.temperatures.retain(|t| plausible_celsius(t.celsius));
    i.temperatures.truncate(MAX_LIST);
    for t in &mut i.temperatures {
        t.label = text(&t.label);
        t.critical = t
            .critical
            .filter(|c| c.is_finite() && (-100.0..=500.0).contains(c));
    }
    Ok(i)
}

/// A load average: finite, non-negative, at most [`MAX_LOAD`].
fn load(field: &str, v: f64) -> Result<(), String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{field} is {v}, not a load"));
    }
    if v > MAX_LOAD {
        return Err(format!("{field} is {v}, more than {MAX_LOAD}"));
    }
    Ok(())
}

/// Whether a sensor reading is one any sensor reports; a poll drops the others.
fn plausible_celsius(c: f64) -> bool {
    c.is_finite() && (-100.0..=300.0).contains(&c)
}

fn percent(field: &str, v: f64) -> Result<f64, String> {
    if !v.is_finite() || !(-PERCENT_SLACK..=100.0 + PERCENT_SLACK).contains(&v) {
        return Err(format!("{field} is {v}, not a percentage from 0 to 100"));
    }
    Ok(v.clamp(0.0, 100.0))
}

/// A byte rate: finite, non-negative, at most [`MAX_BYTES_PER_SEC`].
fn rate(field: &str, v: f64) -> Result<(), String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{field} is {v}, not a rate"));
    }
    if v > MAX_BYTES_PER_SEC {
        return Err(format!(
            "{field} is {}/s, more than {}/s",
            bytes(v),
            bytes(MAX_BYTES_PER_SEC)
        ));
    }
    Ok(())
}

/// A size or counter in bytes, at most `max`.
fn size(field: &str, v: u64, max: u64) -> Result<(), String> {
    if v > max {
        return Err(format!(
            "{field} is {}, more than {}",
            bytes(v as f64),
            bytes(max as f64)
        ));
    }
    Ok(())
}

/// `what.used` no more than `what.total`.
fn within(what: &str, used: u64, total: u64) -> Result<(), String> {
    if used > total {
        return Err(format!(
            "{what}.used is {}, more than {what}.total ({})",
            bytes(used as f64),
            bytes(total as f64)
        ));
    }
    Ok(())
}

/// Bytes in 1024 steps with the dashboard's units (512 B, 7.81 GB, 16 EB), in powers of ten
/// past the largest.
fn bytes(v: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let (raw, mut v, mut unit) = (v, v, 0);
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v >= 1024.0 {
        return format!("{raw:e} B");
    }
    let digits = match (unit, v) {
        (0, _) => 0,
        (_, v) if v < 10.0 => 2,
        (_, v) if v < 100.0 => 1,
        _ => 0,
    };
    let shown = format!("{v:.digits$}");
    // "16.00 EB" reads as "16 EB".
    let shown = if shown.contains('.') {
        shown.trim_end_matches('0').trim_end_matches('.')
    } else {
        &shown
    };
    format!("{shown} {}", UNITS[unit])
}

/// Agent text cut to a sane length, control characters removed.
fn text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

/// Previous counters of a computer, to compute the server's own rates.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    /// When the server got them (unix milliseconds).
    pub at_ms: i64,
    /// When the agent read them, by its own clock; the original agent does not say.
    pub sampled_ms: Option<u64>,
    pub sent: u64,
    pub recv: u64,
}

/// Milliseconds between two readings of an agent's counters, or `None` when the poll saw the
/// same reading again. The agent's own sample times are exact: an agent samples on its own
/// interval, so a poll may get a snapshot taken seconds before it, and dividing by the time
/// between polls would alias (a run of zeros, then double rates). The poll times stand in for
/// an agent that sends no timestamp, or whose clock jumped (a Pi without a real-time clock
/// setting its time after boot).
fn counter_window(prev: &Counters, at_ms: i64, sampled_ms: Option<u64>) -> Option<i64> {
    let polled = at_ms - prev.at_ms;
    if polled <= 0 {
        return None;
    }
    let (Some(before), Some(now)) = (prev.sampled_ms, sampled_ms) else {
        return Some(polled);
    };
    match now.checked_sub(before).map(i64::try_from) {
        Some(Ok(0)) => None,
        Some(Ok(sampled)) if sampled.abs_diff(polled) <= polled.max(60_000) as u64 => Some(sampled),
        _ => Some(polled),
    }
}

/// The row to store for a successful poll. Rates come from the counters since the previous
/// poll; without one (first poll, after a restart, or the same agent sample seen twice) the
/// agent's own rates stand in.
pub fn to_sample(
    computer_id: i64,
    at_ms: i64,
    info: &SystemInfo,
    prev: Option<Counters>,
) -> Sample {
    let agent_rates = (
        info.network_usage.bytes_sent_per_sec,
        info.network_usage.bytes_recv_per_sec,
    );
    let window = prev.and_then(|p| Some((p, counter_window(&p, at_ms, info.timestamp)?)));
    let (sent_rate, recv_rate) = match window {
        Some((p, ms)) => {
            let secs = ms as f64 / 1000.0;
            (
                lanstat_agent::sampler::rate(p.sent, info.network.bytes_sent, secs),
                lanstat_agent::sampler::rate(p.recv, info.network.bytes_recv, secs),
            )
        }
        None => agent_rates,
    };
    let clamp_i64 = |v: u64| v.min(i64::MAX as u64) as i64;
    // Whole bytes per second: SQLite stores a whole REAL in 1-4 bytes instead of 8.
    let whole = |v: f64| v.round();
    Sample {
        computer_id,
        timestamp: at_ms.div_euclid(1000),
        cpu_percent: round1(info.cpu_percent),
        memory_total: clamp_i64(info.memory.total),
        memory_used: clamp_i64(info.memory.used),
        memory_percent: round1(info.memory.percent),
        disk_total: clamp_i64(info.disk.total),
        disk_used: clamp_i64(info.disk.used),
        disk_percent: round1(info.disk.percent),
        network_bytes_sent: clamp_i64(info.network.bytes_sent),
        network_bytes_recv: clamp_i64(info.network.bytes_recv),
        network_sent_per_sec: whole(sent_rate),
        network_recv_per_sec: whole(recv_rate),
        swap_percent: info.swap.map(|s| s.percent),
        load_1: info.load_average.map(|l| l.one),
        temperature: info.temperatures.iter().map(|t| t.celsius).reduce(f64::max),
        disk_read_per_sec: info.disk_io.map(|d| whole(d.read_bytes_per_sec)),
        disk_write_per_sec: info.disk_io.map(|d| whole(d.write_bytes_per_sec)),
        uptime_secs: info.uptime_secs.map(clamp_i64),
        agent_sent_per_sec: Some(whole(agent_rates.0)),
        agent_recv_per_sec: Some(whole(agent_rates.1)),
    }
}

/// How far past the server's clock a past sample's time may be and still be taken: the
/// agent's clock a little ahead of the server's.
pub const HISTORY_SKEW_SECS: i64 = 60;
/// Samples asked for per `/history` page.
pub const HISTORY_PAGE: usize = 500;

/// Whether a poll at `now` (unix seconds) finds a gap worth asking the agent's `/history`
/// for: more than two poll intervals since `newest`, the newest sample stored of the computer
/// (none stored: nothing to fill).
pub fn gap_to_fill(newest: Option<i64>, now: i64, interval: Duration) -> bool {
    let two = 2 * interval.as_secs().max(1) as i64;
    newest.is_some_and(|t| now - t > two)
}

/// Why a `/history` page did not come.
#[derive(Debug)]
pub enum HistoryFailure {
    /// The agent has no `/history` (it answered 404): the original client, an older agent.
    NotOffered,
    Failed(PollFailure),
}

/// The `/history` address for a computer's URL, asking for samples after `since`.
pub fn history_url(base: &str, since: i64, limit: usize) -> String {
    let info = systeminfo_url(base);
    let root = info.strip_suffix("/systeminfo").unwrap_or(&info);
    format!("{root}/history?since={}&limit={limit}", since.max(0))
}

/// Fetches one page of an agent's `/history`, signed (or as bearer) by the same rules as a
/// poll.
pub fn fetch_history(
    client: &ureq::Agent,
    schemes: &Schemes,
    base_url: &str,
    token: &str,
    since: i64,
) -> Result<HistoryPage, HistoryFailure> {
    let key = systeminfo_url(base_url);
    let url = history_url(base_url, since, HISTORY_PAGE);
    let resp = call(client, schemes, &key, &url, token).map_err(HistoryFailure::Failed)?;
    match resp.status().as_u16() {
        200 => {}
        404 => return Err(HistoryFailure::NotOffered),
        status => {
            let failure = refusal(status).unwrap_or_else(|| PollFailure::error("no answer"));
            return Err(HistoryFailure::Failed(failure));
        }
    }
    let bytes = resp
        .into_body()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(|e| HistoryFailure::Failed(classify(e)))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let mut msg = e.to_string();
        msg.truncate(160);
        HistoryFailure::Failed(PollFailure::error(format!(
            "not a lanstat history: bad JSON ({msg})"
        )))
    })
}

/// What a backfill may store: samples strictly after `after` and before `before` (the poll
/// that found the gap), none beyond `now` and the skew allowance, none older than `oldest`
/// (what the raw tier keeps).
#[derive(Debug, Clone, Copy)]
pub struct Backfill {
    pub computer_id: i64,
    pub after: i64,
    pub before: i64,
    pub now: i64,
    pub oldest: i64,
}

/// The rows to store of a `/history` page, and the samples refused with the reason of each.
/// Samples come oldest first; one not later than the one before it is a duplicate.
pub fn history_samples(
    page: &[HistorySample],
    window: Backfill,
) -> (Vec<Sample>, Vec<(i64, Refused)>) {
    let (mut rows, mut refused) = (Vec::new(), Vec::new());
    let mut last = window.after;
    for h in page {
        let t = i64::try_from(h.t).unwrap_or(i64::MAX);
        if t <= last || t >= window.before {
            continue; // stored already, or the poll's own sample stands for it
        }
        match history_sample(window, h) {
            Ok(s) => {
                last = t;
                rows.push(s);
            }
            Err(why) => refused.push((t, why)),
        }
    }
    (rows, refused)
}

/// Why a past sample is not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The row to store for one past sample, checked with the bounds a poll's figures have. Its
/// rates are the agent's own: the counters before it are not the server's to divide.
pub fn history_sample(window: Backfill, h: &HistorySample) -> Result<Sample, Refused> {
    checked_past_sample(window, h).map_err(Refused)
}

fn checked_past_sample(window: Backfill, h: &HistorySample) -> Result<Sample, String> {
    let t = i64::try_from(h.t).unwrap_or(i64::MAX);
    if t > window.now + HISTORY_SKEW_SECS {
        return Err(format!(
            "from the future: {}s after the server's clock",
            t.saturating_sub(window.now)
        ));
    }
    if t < window.oldest {
        return Err("older than the raw history keeps".into());
    }
    let cpu = percent("cpu_percent", h.cpu_percent)?;
    let mem = percent("memory.percent", h.memory.percent)?;
    let disk = percent("disk.percent", h.disk.percent)?;
    size("memory.total", h.memory.total, MAX_MEMORY_BYTES)?;
    size("disk.total", h.disk.total, MAX_DISK_BYTES)?;
    within("memory", h.memory.used, h.memory.total)?;
    within("disk", h.disk.used, h.disk.total)?;
    size(
        "network.bytes_sent",
        h.network.bytes_sent,
        MAX_COUNTER_BYTES,
    )?;
    size(
        "network.bytes_recv",
        h.network.bytes_recv,
        MAX_COUNTER_BYTES,
    )?;
    let (sent, recv) = (
        h.network_usage.bytes_sent_per_sec,
        h.network_usage.bytes_recv_per_sec,
    );
    rate("network_usage.bytes_sent_per_sec", sent)?;
    rate("network_usage.bytes_recv_per_sec", recv)?;
    let swap = match h.swap {
        Some(s) => Some(percent("swap.percent", s.percent)?),
        None => None,
    };
    if let Some(l) = h.load_average {
        load("load_average.one", l.one)?;
    }
    if let Some(io) = h.disk_io {
        rate("disk_io.read_bytes_per_sec", io.read_bytes_per_sec)?;
        rate("disk_io.write_bytes_per_sec", io.write_bytes_per_sec)?;
    }
    if let Some(up) = h.uptime_secs
        && up > MAX_UPTIME_SECS
    {
        return Err(format!("uptime_secs is {up}, more than a hundred years"));
    }
    let clamp_i64 = |v: u64| v.min(i64::MAX as u64) as i64;
    let whole = |v: f64| v.round();
    Ok(Sample {
        computer_id: window.computer_id,
        timestamp: t,
        cpu_percent: round1(cpu),
        memory_total: clamp_i64(h.memory.total),
        memory_used: clamp_i64(h.memory.used),
        memory_percent: round1(mem),
        disk_total: clamp_i64(h.disk.total),
        disk_used: clamp_i64(h.disk.used),
        disk_percent: round1(disk),
        network_bytes_sent: clamp_i64(h.network.bytes_sent),
        network_bytes_recv: clamp_i64(h.network.bytes_recv),
        network_sent_per_sec: whole(sent),
        network_recv_per_sec: whole(recv),
        swap_percent: swap,
        load_1: h.load_average.map(|l| l.one),
        temperature: h.temperature.filter(|c| plausible_celsius(*c)),
        disk_read_per_sec: h.disk_io.map(|d| whole(d.read_bytes_per_sec)),
        disk_write_per_sec: h.disk_io.map(|d| whole(d.write_bytes_per_sec)),
        uptime_secs: h.uptime_secs.map(clamp_i64),
        agent_sent_per_sec: Some(whole(sent)),
        agent_recv_per_sec: Some(whole(recv)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = r#"{"cpu_percent": 15.2,
        "memory": {"total": 16777216, "used": 8388608, "percent": 50.0},
        "disk": {"total": 1000000000, "used": 500000000, "percent": 50.0},
        "network": {"bytes_sent": 1000000, "bytes_recv": 2000000},
        "network_usage": {"bytes_sent_per_sec": 1024, "bytes_recv_per_sec": 2048},
        "hostname": "computer-name", "system": "Linux"}"#;

    #[test]
    fn an_agent_that_knows_only_bearer_is_signed_to_again_after_an_hour() {
        let schemes = Schemes::default();
        let url = "http://10.0.0.5:8000/systeminfo";
        assert!(schemes.signs(url), "signing first");
        schemes.bearer_only(url);
        assert!(!schemes.signs(url));
        assert!(
            schemes.signs("http://10.0.0.6:8000/systeminfo"),
            "only that agent"
        );
        schemes.signing_offered(url);
        assert!(
            schemes.signs(url),
            "an agent that offers signing is signed to at once"
        );
        schemes.bearer_only(url);
        let Some(long_ago) = Instant::now().checked_sub(RETRY_SIGNING + Duration::from_secs(1))
        else {
            return; // a clock too close to its start to go back an hour
        };
        schemes.map().insert(url.to_string(), long_ago);
        assert!(schemes.signs(url), "tried again after an hour");
        assert!(schemes.map().is_empty(), "and forgotten");
    }

    #[test]
    fn an_agent_that_answered_signed_polls_is_known_by_its_address_and_token() {
        let schemes = Schemes::default();
        let url = "http://10.0.0.5:8000/systeminfo";
        assert!(!schemes.signed_before(url, "token-a"));
        schemes.answered_signed(url, "token-a");
        assert!(schemes.signed_before(url, "token-a"));
        assert!(
            !schemes.signed_before(url, "token-b"),
            "a new token is a new agent"
        );
        assert!(!schemes.signed_before("http://10.0.0.6:8000/systeminfo", "token-a"));
    }

    #[test]
    fn original_json_is_accepted() {
        let info = parse(ORIGINAL.as_bytes()).unwrap();
        assert_eq!(info.hostname, "computer-name");
    }

    #[test]
    fn bad_answers_are_errors_with_reasons() {
        let cases = [
            ("<html>", "bad JSON"),
            ("{}", "bad JSON"),
            (&ORIGINAL.replace("15.2", "NaN"), "bad JSON"),
            (
                &ORIGINAL.replace("\"bytes_sent\": 1000000", "\"bytes_sent\": -1"),
                "bad JSON",
            ),
            (&ORIGINAL.replace("15.2", "250"), "cpu_percent"),
            (&ORIGINAL.replace("15.2", "-3"), "cpu_percent"),
            (
                &ORIGINAL.replace("\"bytes_sent_per_sec\": 1024", "\"bytes_sent_per_sec\": -1"),
                "bytes_sent_per_sec",
            ),
            (
                &ORIGINAL.replace("\"used\": 8388608", "\"used\": 99999999999"),
                "memory.used",
            ),
        ];
        for (body, want) in cases {
            let PollFailure { status, reason } = parse(body.as_bytes()).unwrap_err();
            assert_eq!(status, crate::model::Status::Error, "{body}");
            assert!(reason.contains(want), "{reason} should mention {want}");
        }
    }

    /// The original JSON with every additive field, for figures the original does not have.
    fn full() -> String {
        ORIGINAL.replace(
            r#""system": "Linux"}"#,
            r#""system": "Linux",
            "swap": {"total": 2000, "used": 1000, "percent": 50.5},
            "load_average": {"one": 0.5, "five": 0.4, "fifteen": 0.3},
            "uptime_secs": 86400,
            "disks": [{"mount_point": "/", "device": "sda1", "fs_type": "ext4",
                       "total": 1000, "used": 500, "available": 500, "percent": 50.0}],
            "interfaces": [{"name": "eth0", "bytes_sent": 10, "bytes_recv": 20,
                            "bytes_sent_per_sec": 1.0, "bytes_recv_per_sec": 2.0}],
            "disk_io": {"read_bytes": 10, "write_bytes": 20,
                        "read_bytes_per_sec": 1.0, "write_bytes_per_sec": 2.0}}"#,
        )
    }

    #[test]
    fn figures_beyond_any_machine_are_refused_naming_the_figure() {
        assert!(parse(full().as_bytes()).is_ok());
        let cases = [
            (
                r#""total": 16777216, "used": 8388608"#,
                r#""total": 18446744073709551615, "used": 8388608"#,
                "impossible figures: memory.total is 16 EB, more than 1 EB",
            ),
            (
                r#""bytes_sent_per_sec": 1024,"#,
                r#""bytes_sent_per_sec": 1e308,"#,
                "impossible figures: network_usage.bytes_sent_per_sec is 1e308 B/s, more than 1 TB/s",
            ),
            (
                r#""total": 1000000000, "used": 500000000"#,
                r#""total": 2305843009213693952, "used": 500000000"#,
                "disk.total is 2 EB, more than 1 EB",
            ),
            (
                r#""bytes_recv": 2000000"#,
                r#""bytes_recv": 9223372036854775807"#,
                "network.bytes_recv is 8 EB, more than 4 EB",
            ),
            (
                r#""one": 0.5"#,
                r#""one": 1e9"#,
                "load_average.one is 1000000000, more than 4194304",
            ),
            (
                r#""five": 0.4"#,
                r#""five": -1"#,
                "load_average.five is -1, not a load",
            ),
            (
                r#""uptime_secs": 86400"#,
                r#""uptime_secs": 9000000000"#,
                "uptime_secs is 9000000000, more than a hundred years",
            ),
            (
                r#""total": 2000, "used": 1000"#,
                r#""total": 2000, "used": 3000"#,
                "swap.used is 2.93 KB, more than swap.total (1.95 KB)",
            ),
            (
                r#""available": 500,"#,
                r#""available": 18446744073709551615,"#,
                "disks[].available is 16 EB, more than 1 EB",
            ),
            (
                r#""bytes_recv_per_sec": 2.0}"#,
                r#""bytes_recv_per_sec": 2e12}"#,
                "interfaces[].bytes_recv_per_sec is 1.82 TB/s, more than 1 TB/s",
            ),
            (
                r#""write_bytes_per_sec": 2.0"#,
                r#""write_bytes_per_sec": -2.0"#,
                "disk_io.write_bytes_per_sec is -2, not a rate",
            ),
            (
                r#""percent": 50.5"#,
                r#""percent": 101.0"#,
                "swap.percent is 101, not a percentage",
            ),
        ];
        for (from, to, said) in cases {
            let body = full();
            assert_eq!(body.matches(from).count(), 1, "{from}");
            let reason = parse(body.replace(from, to).as_bytes()).unwrap_err().reason;
            assert!(reason.contains(said), "{reason}\nshould say {said}");
        }
        // The bounds themselves are figures a machine may have.
        let at_bounds = full()
            .replace(
                r#""total": 16777216"#,
                &format!(r#""total": {MAX_MEMORY_BYTES}"#),
            )
            .replace(
                r#""bytes_sent_per_sec": 1024,"#,
                &format!(r#""bytes_sent_per_sec": {MAX_BYTES_PER_SEC},"#),
            );
        assert!(parse(at_bounds.as_bytes()).is_ok());
    }

    #[test]
    fn bytes_read_as_the_dashboard_shows_them() {
        for (v, shown) in [
            (0.0, "0 B"),
            (512.0, "512 B"),
            (1536.0, "1.5 KB"),
            (8.0 * 1024.0 * 1024.0 * 1024.0, "8 GB"),
            (123.4 * 1024.0 * 1024.0, "123 MB"),
            (u64::MAX as f64, "16 EB"),
            (1e308, "1e308 B"),
        ] {
            assert_eq!(bytes(v), shown, "{v}");
        }
    }

    #[test]
    fn refusals_say_what_is_wrong_in_plain_words_then_the_status() {
        assert!(refusal(200).is_none());
        for (status, said) in [
            (401, "wrong token: the agent answered 401"),
            (403, "wrong token: the agent answered 403"),
            (
                404,
                "no lanstat agent at this address: it answered 404 for /systeminfo",
            ),
            (500, "unexpected answer: the agent answered HTTP 500"),
        ] {
            let f = refusal(status).expect("not 200");
            assert_eq!(f.status, crate::model::Status::Error, "{status}");
            assert_eq!(f.reason, said);
        }
        let f = parse(b"<html>").unwrap_err();
        assert!(
            f.reason.starts_with("not a lanstat answer: bad JSON ("),
            "{}",
            f.reason
        );
        let f = parse(ORIGINAL.replace("15.2", "250").as_bytes()).unwrap_err();
        assert!(
            f.reason.starts_with("impossible figures: cpu_percent"),
            "{}",
            f.reason
        );
    }

    #[test]
    fn rounding_hairs_are_clamped_and_text_is_cleaned() {
        let body = ORIGINAL
            .replace("15.2", "100.3")
            .replace("computer-name", "evil\\u0007\\nhost");
        let info = parse(body.as_bytes()).unwrap();
        assert_eq!(info.cpu_percent, 100.0);
        assert_eq!(info.hostname, "evilhost");
        let long = ORIGINAL.replace("computer-name", &"h".repeat(5000));
        assert_eq!(parse(long.as_bytes()).unwrap().hostname.len(), 255);
    }

    #[test]
    fn urls_get_the_systeminfo_path_once() {
        assert_eq!(
            systeminfo_url("http://pi:8000"),
            "http://pi:8000/systeminfo"
        );
        assert_eq!(
            systeminfo_url("http://pi:8000/"),
            "http://pi:8000/systeminfo"
        );
        assert_eq!(
            systeminfo_url("http://pi:8000/systeminfo"),
            "http://pi:8000/systeminfo"
        );
    }

    #[test]
    fn server_rates_come_from_counters_and_survive_resets() {
        let info = parse(ORIGINAL.as_bytes()).unwrap();
        let first = to_sample(1, 10_000, &info, None);
        assert_eq!(
            first.network_sent_per_sec, 1024.0,
            "agent's rate stands in on the first poll"
        );
        let at_zero = |sent, recv| Counters {
            at_ms: 0,
            sampled_ms: None,
            sent,
            recv,
        };
        let s = to_sample(1, 10_000, &info, Some(at_zero(900_000, 1_000_000)));
        assert_eq!(s.network_sent_per_sec, 10_000.0);
        assert_eq!(s.network_recv_per_sec, 100_000.0);
        assert_eq!(s.agent_sent_per_sec, Some(1024.0));
        // Counters lower than before: the agent restarted.
        let s = to_sample(1, 10_000, &info, Some(at_zero(5_000_000, 5_000_000)));
        assert_eq!((s.network_sent_per_sec, s.network_recv_per_sec), (0.0, 0.0));
        assert_eq!(s.timestamp, 10);
    }

    #[test]
    fn rates_divide_by_the_agents_own_sample_times() {
        let mut info = parse(ORIGINAL.as_bytes()).unwrap();
        let prev = |sampled_ms| Counters {
            at_ms: 100_000,
            sampled_ms,
            sent: 900_000,
            recv: 1_000_000,
        };
        // Polled 1 s apart, but the agent's samples are 5 s apart: 100 000 B in 5 s.
        info.timestamp = Some(1_700_000_005_000);
        let s = to_sample(1, 101_000, &info, Some(prev(Some(1_700_000_000_000))));
        assert_eq!(s.network_sent_per_sec, 20_000.0);
        // The same agent sample seen by two polls: no new window, the agent's rate stands in.
        let s = to_sample(1, 101_000, &info, Some(prev(Some(1_700_000_005_000))));
        assert_eq!(s.network_sent_per_sec, 1024.0);
        // The agent's clock jumped a day (a Pi setting its time after boot): poll times.
        let s = to_sample(1, 110_000, &info, Some(prev(Some(1_699_913_600_000))));
        assert_eq!(s.network_sent_per_sec, 10_000.0);
        // Or went backwards.
        let s = to_sample(1, 110_000, &info, Some(prev(Some(1_700_000_009_000))));
        assert_eq!(s.network_sent_per_sec, 10_000.0);
        // The original agent sends no timestamp: poll times.
        info.timestamp = None;
        let s = to_sample(1, 110_000, &info, Some(prev(None)));
        assert_eq!(s.network_sent_per_sec, 10_000.0);
    }

    #[test]
    fn short_intervals_shorten_timeouts() {
        let t = Timeouts::for_interval(Duration::from_secs(1));
        assert!(t.total < Duration::from_secs(1));
        let t = Timeouts::for_interval(Duration::from_secs(30));
        assert_eq!(
            (t.connect, t.total),
            (Duration::from_secs(3), Duration::from_secs(5))
        );
    }

    #[test]
    fn a_gap_is_more_than_two_intervals_since_the_newest_stored_sample() {
        let every = Duration::from_secs(10);
        assert!(
            !gap_to_fill(None, 1000, every),
            "nothing stored: nothing to fill"
        );
        assert!(!gap_to_fill(Some(990), 1000, every), "one interval");
        assert!(
            !gap_to_fill(Some(980), 1000, every),
            "two intervals exactly"
        );
        assert!(gap_to_fill(Some(979), 1000, every));
        assert!(
            gap_to_fill(Some(0), 1000, Duration::from_millis(300)),
            "under a second"
        );
    }

    #[test]
    fn history_asks_beside_systeminfo() {
        assert_eq!(
            history_url("http://pi:8000/systeminfo", 17, 500),
            "http://pi:8000/history?since=17&limit=500"
        );
        assert_eq!(
            history_url("http://pi:8000/", -5, 2),
            "http://pi:8000/history?since=0&limit=2"
        );
    }

    fn past(t: u64) -> HistorySample {
        serde_json::from_str(&format!(
            r#"{{"t": {t}, "cpu_percent": 15.2,
            "memory": {{"total": 16777216, "used": 8388608, "percent": 50.0}},
            "disk": {{"total": 1000000000, "used": 500000000, "percent": 50.0}},
            "network": {{"bytes_sent": 1000000, "bytes_recv": 2000000}},
            "network_usage": {{"bytes_sent_per_sec": 1024.4, "bytes_recv_per_sec": 2048.0}},
            "swap": {{"percent": 0.0}}, "load_average": {{"one": 0.52}},
            "temperature": 48.3,
            "disk_io": {{"read_bytes_per_sec": 0.0, "write_bytes_per_sec": 4096.0}},
            "uptime_secs": 86400}}"#
        ))
        .unwrap()
    }

    const WINDOW: Backfill = Backfill {
        computer_id: 7,
        after: 1000,
        before: 2000,
        now: 2000,
        oldest: 500,
    };

    #[test]
    fn a_past_sample_is_stored_with_the_agents_own_rates() {
        let s = history_sample(WINDOW, &past(1500)).unwrap();
        assert_eq!((s.computer_id, s.timestamp), (7, 1500));
        assert_eq!(s.cpu_percent, 15.2);
        assert_eq!(s.memory_total, 16777216);
        assert_eq!(s.network_sent_per_sec, 1024.0);
        assert_eq!(s.network_recv_per_sec, 2048.0);
        assert_eq!(s.agent_sent_per_sec, Some(1024.0));
        assert_eq!(s.load_1, Some(0.52));
        assert_eq!(s.temperature, Some(48.3));
        assert_eq!(s.disk_write_per_sec, Some(4096.0));
        assert_eq!(s.uptime_secs, Some(86400));
    }

    #[test]
    fn past_samples_from_the_future_too_old_or_implausible_are_refused_with_a_reason() {
        let window = Backfill {
            before: i64::MAX,
            ..WINDOW
        };
        let late = (WINDOW.now + HISTORY_SKEW_SECS) as u64;
        assert!(
            history_sample(window, &past(late)).is_ok(),
            "within the skew"
        );
        let why = history_sample(window, &past(late + 1)).unwrap_err().0;
        assert!(why.contains("from the future"), "{why}");
        let why = history_sample(window, &past(499)).unwrap_err().0;
        assert!(why.contains("older than"), "{why}");
        let mut h = past(1500);
        h.cpu_percent = 250.0;
        let why = history_sample(window, &h).unwrap_err().0;
        assert!(why.contains("cpu_percent is 250"), "{why}");
        let mut h = past(1500);
        h.memory.total = u64::MAX;
        let why = history_sample(window, &h).unwrap_err().0;
        assert!(why.contains("memory.total is 16 EB"), "{why}");
        let mut h = past(1500);
        h.network_usage.bytes_sent_per_sec = 1e308;
        assert!(history_sample(window, &h).is_err());
        let mut h = past(1500);
        h.temperature = Some(1e9);
        assert_eq!(history_sample(window, &h).unwrap().temperature, None);
    }

    #[test]
    fn a_page_keeps_only_new_samples_inside_the_gap() {
        let mut bad = past(1300);
        bad.disk.used = bad.disk.total + 1;
        let page = [
            past(900),  // before the newest stored
            past(1000), // the newest stored itself
            past(1100),
            past(1100), // the same second again
            past(1050), // out of order
            bad,
            past(1400),
            past(2000), // the poll that found the gap has it
            past(2100),
        ];
        let (rows, refused) = history_samples(&page, WINDOW);
        let times: Vec<i64> = rows.iter().map(|s| s.timestamp).collect();
        assert_eq!(times, [1100, 1400]);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, 1300);
        assert!(refused[0].1.0.contains("disk.used"), "{}", refused[0].1);
    }
}
