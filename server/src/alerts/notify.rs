//! Notifications: each channel kind's request as a pure function of the channel and the
//! message ([`request`]), the masks that keep channel secrets out of answers, and the
//! `notify` thread that delivers with timeouts and retries, off the polling path.
//!
//! The poller only ever pushes onto a bounded queue ([`Notifier::push`]); when the queue is
//! full the oldest message is dropped and counted. Log lines name the channel by id and say
//! the outcome, never its URL or token.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::model::alert::mask_url;
use crate::model::{Channel, ChannelKind, Event, EventKind, Rule, RuleKind};
use crate::store::{self, Durability, Store, StoreError};

/// Messages waiting for their first attempt, at most.
const QUEUE_CAP: usize = 256;
/// Messages waiting for a retry, at most.
const RETRY_CAP: usize = 1024;
/// Deliveries in flight at once, each to a different channel: a receiver that hangs holds
/// up its own messages, not the other channels'.
const PARALLEL: usize = 4;
/// Connect and total timeout of one delivery.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);

/// What a message says, whatever the channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `fired`, `resolved` or `test`.
    pub event: &'static str,
    pub rule: String,
    pub rule_id: Option<i64>,
    pub kind: Option<RuleKind>,
    pub computer: String,
    pub computer_id: Option<i64>,
    pub target: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub title: String,
    pub text: String,
    /// Unix seconds.
    pub at: i64,
}

impl Message {
    pub fn for_event(rule: &Rule, e: &Event) -> Message {
        let verb = match e.kind {
            EventKind::Fired => "Alert",
            EventKind::Resolved => "Resolved",
        };
        Message {
            event: e.kind.as_str(),
            rule: rule.name.clone(),
            rule_id: Some(rule.id),
            kind: Some(rule.kind),
            computer: e.computer_name.clone(),
            computer_id: e.computer_id,
            target: e.target.clone(),
            value: e.value,
            threshold: rule.threshold,
            title: format!("{verb}: {} on {}", rule.name, e.computer_name),
            text: e.message.clone(),
            at: e.at,
        }
    }

    pub fn test(channel: &Channel, now: i64) -> Message {
        Message {
            event: "test",
            rule: "Test".into(),
            rule_id: None,
            kind: None,
            computer: String::new(),
            computer_id: None,
            target: None,
            value: None,
            threshold: None,
            title: "Test from lanstat".into(),
            text: format!(
                "This is a test message from lanstat: the channel \"{}\" works.",
                channel.name
            ),
            at: now,
        }
    }
}

/// One HTTP request to make: always a POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

fn json_request(url: String, body: &Value, mut headers: Vec<(&'static str, String)>) -> Request {
    headers.insert(0, ("Content-Type", "application/json".into()));
    Request {
        url,
        headers,
        body: serde_json::to_vec(body).expect("a JSON value serializes"),
    }
}

fn bearer(token: Option<&str>) -> Vec<(&'static str, String)> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| vec![("Authorization", format!("Bearer {t}"))])
        .unwrap_or_default()
}

/// Text cut to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Slack reads `&`, `<` and `>` as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The request a channel gets for a message; `link` is the dashboard's address.
pub fn request(channel: &Channel, m: &Message, link: &str) -> Request {
    let token = channel.token.as_deref();
    match channel.kind {
        ChannelKind::Webhook => json_request(
            channel.url.clone(),
            &json!({
                "event": m.event,
                "rule": m.rule,
                "rule_id": m.rule_id,
                "kind": m.kind,
                "computer": m.computer,
                "computer_id": m.computer_id,
                "target": m.target,
                "value": m.value,
                "threshold": m.threshold,
                "unit": m.kind.map(RuleKind::unit),
                "title": m.title,
                "message": m.text,
                "at": m.at,
                "url": link,
            }),
            bearer(token),
        ),
        ChannelKind::Ntfy => {
            // ntfy's JSON publishing: POST to the server with the topic in the body, which
            // carries any text (headers cannot).
            let url = channel.url.trim_end_matches('/');
            let (server, topic) = url.rsplit_once('/').unwrap_or((url, ""));
            let (priority, tags) = match m.event {
                "fired" => (4, ["rotating_light"]),
                "resolved" => (3, ["white_check_mark"]),
                _ => (3, ["bell"]),
            };
            json_request(
                format!("{server}/"),
                &json!({
                    "topic": topic,
                    "title": m.title,
                    "message": m.text,
                    "priority": priority,
                    "tags": tags,
                    "click": link,
                }),
                bearer(token),
            )
        }
        ChannelKind::Discord => json_request(
            channel.url.clone(),
            &json!({
                "username": "lanstat",
                "content": cut(&format!("**{}**\n{}\n{link}", m.title, m.text), 2000),
                // Names come from agents and users: never let them ping anyone.
                "allowed_mentions": {"parse": []},
            }),
            vec![],
        ),
        ChannelKind::Slack => json_request(
            channel.url.clone(),
            &json!({
                "text": format!(
                    "*{}*\n{}\n<{}|Open the dashboard>",
                    slack_escape(&m.title),
                    slack_escape(&m.text),
                    slack_escape(link)
                ),
            }),
            vec![],
        ),
        ChannelKind::Gotify => {
            let base = channel.url.trim_end_matches('/');
            let url = if base.ends_with("/message") {
                base.to_string()
            } else {
                format!("{base}/message")
            };
            let priority = match m.event {
                "fired" => 8,
                "resolved" => 4,
                _ => 5,
            };
            let headers = token
                .map(|t| vec![("X-Gotify-Key", t.to_string())])
                .unwrap_or_default();
            json_request(
                url,
                &json!({
                    "title": m.title,
                    "message": m.text,
                    "priority": priority,
                    "extras": {"client::notification": {"click": {"url": link}}},
                }),
                headers,
            )
        }
    }
}

/// The HTTP client for deliveries: short timeouts, no redirects, statuses as values.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(crate::tls::USER_AGENT)
        .tls_config(crate::tls::config())
        .build()
        .new_agent()
}

/// Why a message did not arrive. Neither kind's words include the channel's URL or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undelivered {
    /// The receiver answered, with this status outside 2xx.
    Refused(u16),
    /// No answer came: the network, DNS, TLS or a timeout, as described.
    Unreachable(String),
}

impl std::fmt::Display for Undelivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undelivered::Refused(status) => write!(f, "the receiver answered HTTP {status}"),
            Undelivered::Unreachable(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Undelivered {}

/// Makes one attempt. `Ok` with the status for a 2xx answer; otherwise what went wrong.
pub fn deliver(client: &ureq::Agent, req: &Request) -> Result<u16, Undelivered> {
    let mut call = client.post(&req.url);
    for (k, v) in &req.headers {
        call = call.header(*k, v);
    }
    let resp = call
        .send(&req.body[..])
        .map_err(|e| Undelivered::Unreachable(describe(e, &req.url)))?;
    let status = resp.status().as_u16();
    // Read a little of the answer so the connection ends cleanly; it is not needed.
    let _ = resp
        .into_body()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec();
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(Undelivered::Refused(status))
    }
}

fn describe(e: ureq::Error, url: &str) -> String {
    use ureq::Error as E;
    let text = match e {
        E::Timeout(_) => "timed out".to_string(),
        E::HostNotFound => "host not found (DNS)".to_string(),
        E::ConnectionFailed => "connection failed".to_string(),
        E::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                "timed out".to_string()
            }
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                "connection reset".to_string()
            }
            _ => format!("network error: {io}"),
        },
        E::BadUri(_) | E::Http(_) => "the URL or a header is not valid".to_string(),
        E::TlsRequired => "https needs TLS, which this build lacks".to_string(),
        other => other.to_string(),
    };
    // Whatever the library said, it must not carry the secret URL into logs or answers.
    text.replace(url, &mask_url(url))
}

struct Job {
    channel_id: i64,
    message: Arc<Message>,
    /// Attempts made so far.
    attempts: usize,
}

#[derive(Default)]
struct Queue {
    fresh: VecDeque<Job>,
    retries: Vec<(Instant, Job)>,
    /// Channels with a delivery in flight.
    busy: HashSet<i64>,
    stopped: bool,
}

/// The queue between evaluation and the `notify` thread, and its counters. It reads the
/// channels and records each delivery's outcome on its channel itself.
pub struct Notifier {
    store: Arc<Store>,
    clock: Clock,
    /// `--public-url`, for links in messages.
    public_url: Option<String>,
    /// This host's name and port, when neither `--public-url` nor the channel gives a link.
    fallback_url: OnceLock<String>,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Waits before the 2nd, 3rd, … attempt.
    retry_delays: Vec<Duration>,
    client: ureq::Agent,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

impl Notifier {
    pub fn new(
        store: Arc<Store>,
        clock: Clock,
        public_url: Option<String>,
        retry_delays: Vec<Duration>,
    ) -> Notifier {
        Notifier {
            store,
            clock,
            public_url,
            fallback_url: OnceLock::new(),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            retry_delays,
            client: client(),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// This host's address for links, once the listening port is known.
    pub fn set_fallback_url(&self, url: String) {
        let _ = self.fallback_url.set(url);
    }

    /// The dashboard's address for messages: `--public-url`, else the address the admin used
    /// when saving the channel, else this host's name and port.
    pub fn link(&self, channel: &Channel) -> String {
        self.public_url
            .clone()
            .or_else(|| channel.link_base.clone())
            .or_else(|| self.fallback_url.get().cloned())
            .unwrap_or_else(|| "http://localhost:8001".into())
    }

    /// Queues a message for a channel without waiting; a full queue drops its oldest.
    pub fn push(&self, channel_id: i64, message: Arc<Message>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.fresh.len() >= QUEUE_CAP {
            q.fresh.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
            eprintln!("event=notification_dropped reason=queue_full");
        }
        q.fresh.push_back(Job {
            channel_id,
            message,
            attempts: 0,
        });
        self.wake.notify_one();
    }

    /// The messages waiting for their first attempt, by channel.
    #[cfg(test)]
    pub fn queued(&self) -> Vec<(i64, Arc<Message>)> {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.fresh
            .iter()
            .map(|j| (j.channel_id, j.message.clone()))
            .collect()
    }

    /// Queues an event's message for every enabled channel.
    pub fn send_event(&self, rule: &Rule, e: &Event) {
        let channels = match self.store.read(store::alerts::list_channels) {
            Ok(c) => c,
            Err(err) => {
                eprintln!("event=notification_failed error={:?}", err.to_string());
                return;
            }
        };
        let message = Arc::new(Message::for_event(rule, e));
        for c in channels.iter().filter(|c| c.enabled) {
            self.push(c.id, message.clone());
        }
    }

    /// The next job due, waiting for one, and marks its channel busy; `None` once stopped.
    /// A channel has one delivery in flight at most, and its new messages wait behind its
    /// retries, so each receiver gets its messages in order.
    fn next(&self) -> Option<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if q.stopped {
                return None;
            }
            let now = Instant::now();
            if q.busy.len() < PARALLEL {
                let due = q
                    .retries
                    .iter()
                    .enumerate()
                    .filter(|(_, (due, j))| *due <= now && !q.busy.contains(&j.channel_id))
                    .min_by_key(|(_, (due, _))| *due)
                    .map(|(i, _)| i);
                let job = match due {
                    Some(i) => Some(q.retries.swap_remove(i).1),
                    None => q
                        .fresh
                        .iter()
                        .position(|j| {
                            !q.busy.contains(&j.channel_id)
                                && !q.retries.iter().any(|(_, r)| r.channel_id == j.channel_id)
                        })
                        .and_then(|i| q.fresh.remove(i)),
                };
                if let Some(job) = job {
                    q.busy.insert(job.channel_id);
                    return Some(job);
                }
            }
            let wait = q
                .retries
                .iter()
                .map(|(due, _)| due.saturating_duration_since(now))
                .min()
                .unwrap_or(Duration::from_secs(3600));
            q = self
                .wake
                .wait_timeout(q, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn retry_later(&self, job: Job) -> Option<Duration> {
        let delay = *self.retry_delays.get(job.attempts - 1)?;
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.retries.len() >= RETRY_CAP {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        q.retries.push((Instant::now() + delay, job));
        Some(delay)
    }

    /// A channel's delivery is over (its retry, if any, is queued already).
    fn finish(&self, channel_id: i64) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .busy
            .remove(&channel_id);
        self.wake.notify_all();
    }

    /// Stops handing out jobs and waits (a delivery's timeout at most) for those in flight.
    fn stop(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.stopped = true;
        self.wake.notify_all();
        let wait = TOTAL_TIMEOUT + Duration::from_secs(1);
        drop(
            self.wake
                .wait_timeout_while(q, wait, |q| !q.busy.is_empty())
                .unwrap_or_else(|e| e.into_inner()),
        );
    }
}

impl Notifier {
    /// Sends one message to one channel now and records the outcome on the channel.
    pub fn send_now(&self, channel: &Channel, message: &Message) -> Result<u16, Undelivered> {
        let req = request(channel, message, &self.link(channel));
        let result = deliver(&self.client, &req);
        let (id, now) = (channel.id, self.clock.now());
        let failed = result.as_ref().err().map(|e| e.to_string());
        let write =
            self.store.write(
                Durability::Relaxed,
                move |tx| match store::alerts::record_delivery(tx, id, failed.as_deref(), now) {
                    Err(StoreError::NotFound) => Ok(()),
                    r => r,
                },
            );
        if let Err(e) = write {
            eprintln!(
                "event=db_write_failed what=channel_delivery error={:?}",
                e.to_string()
            );
        }
        result
    }
}

/// Marks the channel free again however its delivery ends, a panic included.
struct Finish<'a>(&'a Notifier, i64);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.finish(self.1);
    }
}

/// Hands each job due to a `notify-send` thread of its own.
fn run(notifier: Arc<Notifier>) {
    while let Some(job) = notifier.next() {
        let id = job.channel_id;
        let worker = notifier.clone();
        let spawned = std::thread::Builder::new()
            .name("notify-send".into())
            .spawn(move || {
                let _finish = Finish(&worker, id);
                attempt(&worker, job);
            });
        if let Err(e) = spawned {
            notifier.dropped.fetch_add(1, Ordering::Relaxed);
            notifier.finish(id);
            eprintln!(
                "event=notification_dropped channel_id={id} reason={:?}",
                e.to_string()
            );
        }
    }
}

/// One attempt to deliver a job; a failure queues its retry.
fn attempt(n: &Notifier, mut job: Job) {
    let channel = match n
        .store
        .read(|c| store::alerts::get_channel(c, job.channel_id))
    {
        Ok(c) if c.enabled => c,
        Ok(_) | Err(StoreError::NotFound) => return, // disabled or removed meanwhile
        Err(e) => {
            eprintln!(
                "event=notification_failed channel_id={} error={:?}",
                job.channel_id,
                e.to_string()
            );
            return;
        }
    };
    job.attempts += 1;
    match n.send_now(&channel, &job.message) {
        Ok(status) => {
            n.delivered.fetch_add(1, Ordering::Relaxed);
            println!(
                "event=notification_sent channel_id={} event_kind={} attempt={} status={status}",
                channel.id, job.message.event, job.attempts
            );
        }
        Err(why) => {
            n.failed.fetch_add(1, Ordering::Relaxed);
            let (id, attempt) = (channel.id, job.attempts);
            match n.retry_later(job) {
                Some(delay) => eprintln!(
                    "event=notification_failed channel_id={id} attempt={attempt} error={why:?} action=retry_in_ms_{}",
                    delay.as_millis()
                ),
                None => eprintln!(
                    "event=notification_failed channel_id={id} attempt={attempt} error={why:?} action=give_up"
                ),
            }
        }
    }
}

/// The `notify` thread.
pub struct NotifyThread {
    notifier: Arc<Notifier>,
    thread: Option<JoinHandle<()>>,
}

impl NotifyThread {
    pub fn start(notifier: Arc<Notifier>) -> std::io::Result<NotifyThread> {
        let thread = {
            let notifier = notifier.clone();
            std::thread::Builder::new()
                .name("notify".into())
                .spawn(move || {
                    loop {
                        let n = notifier.clone();
                        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(n))) {
                            Ok(()) => return,
                            Err(_) => eprintln!("event=notify_panic action=continue"),
                        }
                    }
                })?
        };
        Ok(NotifyThread {
            notifier,
            thread: Some(thread),
        })
    }

    /// Stops after the delivery in hand; queued messages are dropped.
    pub fn stop(mut self) {
        self.notifier.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kind: ChannelKind, url: &str, token: Option<&str>) -> Channel {
        Channel {
            id: 1,
            name: "ch".into(),
            kind,
            url: url.into(),
            token: token.map(String::from),
            enabled: true,
            link_base: None,
            created_at: None,
            last_ok_at: None,
            last_error: None,
            last_error_at: None,
        }
    }

    fn fired() -> Message {
        Message {
            event: "fired",
            rule: "CPU high".into(),
            rule_id: Some(3),
            kind: Some(RuleKind::Cpu),
            computer: "pi <b>&".into(),
            computer_id: Some(7),
            target: None,
            value: Some(97.5),
            threshold: Some(90.0),
            title: "Alert: CPU high on pi <b>&".into(),
            text: "pi <b>&: CPU at 97.5 % (at or above 90.0 %)".into(),
            at: 1_700_000_000,
        }
    }

    /// The request that tells a channel of `kind` about [`fired`], linking to `http://dash`.
    fn fired_to(kind: ChannelKind, url: &str, token: Option<&str>) -> Request {
        request(&channel(kind, url, token), &fired(), "http://dash")
    }

    fn body(r: &Request) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn webhook_sends_every_field_and_an_optional_bearer() {
        let r = request(
            &channel(ChannelKind::Webhook, "http://h/hook", Some("s3cret")),
            &fired(),
            "http://dash:8001",
        );
        assert_eq!(r.url, "http://h/hook");
        assert!(
            r.headers
                .contains(&("Authorization", "Bearer s3cret".into()))
        );
        let b = body(&r);
        assert_eq!(b["event"], "fired");
        assert_eq!(b["rule"], "CPU high");
        assert_eq!(b["kind"], "cpu");
        assert_eq!(b["value"], 97.5);
        assert_eq!(b["threshold"], 90.0);
        assert_eq!(b["unit"], "%");
        assert_eq!(b["url"], "http://dash:8001");
        assert_eq!(b["at"], 1_700_000_000);
    }

    #[test]
    fn ntfy_publishes_json_to_the_server_with_the_topic() {
        let r = fired_to(ChannelKind::Ntfy, "https://ntfy.example/lab-alerts", None);
        assert_eq!(r.url, "https://ntfy.example/");
        let b = body(&r);
        assert_eq!(b["topic"], "lab-alerts");
        assert_eq!(b["priority"], 4);
        assert_eq!(b["click"], "http://dash");
        assert!(r.headers.iter().all(|(k, _)| *k != "Authorization"));
    }

    #[test]
    fn discord_never_pings_and_slack_escapes_markup() {
        let d = body(&fired_to(
            ChannelKind::Discord,
            "https://d/api/webhooks/1/x",
            None,
        ));
        assert_eq!(d["allowed_mentions"]["parse"], json!([]));
        assert!(
            d["content"]
                .as_str()
                .unwrap()
                .starts_with("**Alert: CPU high")
        );
        let s = body(&fired_to(ChannelKind::Slack, "https://s/services/x", None));
        let text = s["text"].as_str().unwrap();
        assert!(text.contains("pi &lt;b&gt;&amp;"), "{text}");
        assert!(text.ends_with("<http://dash|Open the dashboard>"), "{text}");
    }

    #[test]
    fn gotify_posts_to_message_with_the_app_token() {
        let r = fired_to(ChannelKind::Gotify, "https://gotify.lan/", Some("AbCdEf"));
        assert_eq!(r.url, "https://gotify.lan/message");
        assert!(r.headers.contains(&("X-Gotify-Key", "AbCdEf".into())));
        let b = body(&r);
        assert_eq!(b["priority"], 8);
        assert_eq!(
            b["extras"]["client::notification"]["click"]["url"],
            "http://dash"
        );
    }

    fn notifier(db: &crate::store::test_support::TestDb, retries: Vec<Duration>) -> Notifier {
        Notifier::new(db.store.clone(), Clock::fake(0), None, retries)
    }

    #[test]
    fn a_busy_channel_waits_and_the_others_go_on() {
        let db = crate::store::test_support::TestDb::new("notify-busy");
        let n = notifier(&db, vec![Duration::from_secs(60)]);
        let m = Arc::new(fired());
        n.push(1, m.clone());
        n.push(1, m.clone());
        n.push(2, m.clone());
        let first = n.next().unwrap();
        assert_eq!(first.channel_id, 1);
        assert_eq!(
            n.next().unwrap().channel_id,
            2,
            "channel 1 is busy: 2 goes first"
        );
        // The first fails: its retry is queued, and channel 1's next message waits behind it.
        let mut failed = first;
        failed.attempts = 1;
        assert_eq!(n.retry_later(failed), Some(Duration::from_secs(60)));
        n.finish(1);
        n.finish(2);
        {
            let q = n.queue.lock().unwrap();
            assert_eq!((q.fresh.len(), q.retries.len(), q.busy.len()), (1, 1, 0));
        }
        n.stop();
        assert!(n.next().is_none(), "a stopped queue hands out nothing");
    }

    #[test]
    fn a_full_queue_drops_its_oldest() {
        let db = crate::store::test_support::TestDb::new("notify-full");
        let n = notifier(&db, vec![]);
        for i in 0..QUEUE_CAP as i64 + 3 {
            n.push(i, Arc::new(fired()));
        }
        assert_eq!(n.dropped.load(Ordering::Relaxed), 3);
        assert_eq!(n.next().unwrap().channel_id, 3);
    }

    #[test]
    fn long_discord_messages_are_cut() {
        let mut m = fired();
        m.text = "x".repeat(5000);
        let d = body(&request(
            &channel(ChannelKind::Discord, "https://d/w", None),
            &m,
            "l",
        ));
        assert_eq!(d["content"].as_str().unwrap().chars().count(), 2000);
    }
}
