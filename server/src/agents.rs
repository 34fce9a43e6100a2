//! Talking to one agent: fetch `/systeminfo` with timeouts and a size cap, check every value,
//! and classify failures into `offline` (unreachable) or `error` (reachable but wrong), each
//! with a reason a user understands.

use std::io::ErrorKind;
use std::time::Duration;

use lanstat_agent::snapshot::{SystemInfo, round1};

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

/// Fetches and checks one agent's figures.
pub fn fetch(client: &ureq::Agent, base_url: &str, token: &str) -> Result<SystemInfo, PollFailure> {
    let url = systeminfo_url(base_url);
    let resp = client
        .get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Accept", "application/json")
        .call()
        .map_err(classify)?;
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

/// Checks values an agent reported: every number finite and non-negative, percents within
/// 0–100 (a rounding hair over is clamped, anything else refused), text cut to a sane length
/// without control characters, lists capped. Refusals say which field was wrong.
fn validate(mut i: SystemInfo) -> Result<SystemInfo, String> {
    i.cpu_percent = percent("cpu_percent", i.cpu_percent)?;
    i.memory.percent = percent("memory.percent", i.memory.percent)?;
    i.disk.percent = percent("disk.percent", i.disk.percent)?;
    rate(
        "network_usage.bytes_sent_per_sec",
        i.network_usage.bytes_sent_per_sec,
    )?;
    rate(
        "network_usage.bytes_recv_per_sec",
        i.network_usage.bytes_recv_per_sec,
    )?;
    if i.memory.used > i.memory.total {
        return Err(format!(
            "memory.used ({}) is larger than memory.total ({})",
            i.memory.used, i.memory.total
        ));
    }
    if i.disk.used > i.disk.total {
        return Err(format!(
            "disk.used ({}) is larger than disk.total ({})",
            i.disk.used, i.disk.total
        ));
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
    }
    i.per_cpu_percent.truncate(4096);
    for p in &mut i.per_cpu_percent {
        *p = percent("per_cpu_percent", *p)?;
    }
    if let Some(l) = &i.load_average {
        for v in [l.one, l.five, l.fifteen] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("load_average has a bad value: {v}"));
            }
        }
    }
    i.disks.truncate(MAX_LIST);
    for d in &mut i.disks {
        d.mount_point = text(&d.mount_point);
        d.device = text(&d.device);
        d.fs_type = text(&d.fs_type);
        d.percent = percent("disks[].percent", d.percent)?;
    }
    i.interfaces.truncate(4 * MAX_LIST);
    for n in &mut i.interfaces {
        n.name = text(&n.name);
        rate("interfaces[].bytes_sent_per_sec", n.bytes_sent_per_sec)?;
        rate("interfaces[].bytes_recv_per_sec", n.bytes_recv_per_sec)?;
    }
    if let Some(io) = &i.disk_io {
        rate("disk_io.read_bytes_per_sec", io.read_bytes_per_sec)?;
        rate("disk_io.write_bytes_per_sec", io.write_bytes_per_sec)?;
    }
    // A sensor reading outside what any sensor reports is dropped, not the whole sample.
    i.temperatures
        .retain(|t| t.celsius.is_finite() && (-100.0..=300.0).contains(&t.celsius));
    i.temperatures.truncate(MAX_LIST);
    for t in &mut i.temperatures {
        t.label = text(&t.label);
        t.critical = t
            .critical
            .filter(|c| c.is_finite() && (-100.0..=500.0).contains(c));
    }
    Ok(i)
}

fn percent(field: &str, v: f64) -> Result<f64, String> {
    if !v.is_finite() || !(-0.5..=100.5).contains(&v) {
        return Err(format!(
            "{field} must be a percentage from 0 to 100, not {v}"
        ));
    }
    Ok(v.clamp(0.0, 100.0))
}

fn rate(field: &str, v: f64) -> Result<(), String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{field} must be a non-negative rate, not {v}"));
    }
    Ok(())
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
}
