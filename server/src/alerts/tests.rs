//! The state machine, driven round by round with a fake clock.

use super::*;
use crate::clock::Clock;
use crate::model::EventKind::{Fired, Resolved};

const ORIGINAL: &str = r#"{"cpu_percent": 10.0,
    "memory": {"total": 1000, "used": 100, "percent": 10.0},
    "disk": {"total": 1000, "used": 100, "percent": 10.0},
    "network": {"bytes_sent": 0, "bytes_recv": 0},
    "network_usage": {"bytes_sent_per_sec": 0, "bytes_recv_per_sec": 0},
    "hostname": "pi", "system": "Linux", "uptime_secs": 1000,
    "disks": [
      {"mount_point": "/", "device": "a", "fs_type": "ext4", "total": 1, "used": 0, "available": 1, "percent": 40.0},
      {"mount_point": "/data", "device": "b", "fs_type": "ext4", "total": 1, "used": 0, "available": 1, "percent": 40.0}],
    "temperatures": [
      {"label": "cpu_thermal", "celsius": 50.0},
      {"label": "nvme", "celsius": 40.0}],
    "interfaces": [
      {"name": "lo", "bytes_sent": 0, "bytes_recv": 0, "bytes_sent_per_sec": 9e9, "bytes_recv_per_sec": 0},
      {"name": "eth0", "bytes_sent": 0, "bytes_recv": 0, "bytes_sent_per_sec": 1e6, "bytes_recv_per_sec": 2e6}]}"#;

fn info() -> SystemInfo {
    serde_json::from_str(ORIGINAL).unwrap()
}

fn rule(kind: RuleKind, threshold: Option<f64>, duration_secs: i64) -> Rule {
    Rule {
        id: 1,
        name: "r".into(),
        kind,
        computer_id: None,
        target: None,
        threshold,
        duration_secs,
        enabled: true,
        created_at: None,
    }
}

/// Runs rounds of one rule against one computer, keeping state as the server would.
struct Sim {
    rules: Vec<Rule>,
    states: Vec<StateRow>,
    uptimes: HashMap<i64, u64>,
    clock: Clock,
    events: Vec<(EventKind, String, Option<f64>)>,
}

impl Sim {
    fn new(rule: Rule) -> Sim {
        Sim {
            rules: vec![rule],
            states: vec![],
            uptimes: HashMap::new(),
            clock: Clock::fake(1_000_000),
            events: vec![],
        }
    }

    /// One round with the computer online and these figures; `secs` pass first.
    fn online(&mut self, secs: i64, info: &SystemInfo) -> Vec<EventKind> {
        self.clock.advance(secs);
        let c = Observed {
            id: 7,
            name: "pi",
            online: true,
            down_since: None,
            reason: None,
            info: Some(info),
            sample: None,
        };
        let kinds = self.apply(&[c]);
        if let Some(up) = info.uptime_secs {
            self.uptimes.insert(7, up);
        }
        kinds
    }

    fn offline(&mut self, secs: i64, since: i64) -> Vec<EventKind> {
        self.clock.advance(secs);
        let c = Observed {
            id: 7,
            name: "pi",
            online: false,
            down_since: Some(since),
            reason: Some("connection refused"),
            info: None,
            sample: None,
        };
        self.apply(&[c])
    }

    fn apply(&mut self, computers: &[Observed]) -> Vec<EventKind> {
        let out = evaluate(
            &self.rules,
            computers,
            &self.states,
            &self.uptimes,
            self.clock.now(),
        );
        for ((r, c, k), row) in out.states {
            self.states
                .retain(|s| !(s.rule_id == r && s.computer_id == c && s.target_key == k));
            if let Some(row) = row {
                self.states.push(row);
            }
        }
        let kinds = out.events.iter().map(|e| e.kind).collect();
        self.events.extend(
            out.events
                .into_iter()
                .map(|e| (e.kind, e.target.unwrap_or_default(), e.value)),
        );
        kinds
    }

    fn state(&self, key: &str) -> Option<State> {
        self.states
            .iter()
            .find(|s| s.target_key == key)
            .map(|s| s.state)
    }
}

fn cpu(v: f64) -> SystemInfo {
    let mut i = info();
    i.cpu_percent = v;
    i
}

#[test]
fn a_single_spike_does_not_fire() {
    let mut s = Sim::new(rule(RuleKind::Cpu, Some(90.0), 300));
    assert!(s.online(30, &cpu(99.0)).is_empty());
    assert_eq!(s.state(""), Some(State::Pending));
    assert!(s.online(30, &cpu(20.0)).is_empty());
    assert_eq!(s.state(""), None, "one reading below ends the wait");
    assert!(
        s.online(300, &cpu(99.0)).is_empty(),
        "the wait starts again"
    );
    assert!(s.events.is_empty());
}

#[test]
fn a_sustained_value_fires_once_and_resolves_once() {
    let mut s = Sim::new(rule(RuleKind::Cpu, Some(90.0), 300));
    assert!(s.online(0, &cpu(95.0)).is_empty());
    assert!(s.online(200, &cpu(96.0)).is_empty());
    assert_eq!(s.online(100, &cpu(97.0)), vec![Fired]);
    for _ in 0..10 {
        assert!(
            s.online(30, &cpu(98.0)).is_empty(),
            "firing says nothing more"
        );
    }
    assert_eq!(s.state(""), Some(State::Firing));
    assert_eq!(s.online(30, &cpu(10.0)), vec![Resolved]);
    assert_eq!(s.state(""), Some(State::Resolved));
    assert_eq!(
        s.events,
        vec![
            (Fired, String::new(), Some(97.0)),
            (Resolved, String::new(), Some(10.0))
        ]
    );
}

#[test]
fn resolving_needs_the_value_below_the_margin() {
    let mut s = Sim::new(rule(RuleKind::Memory, Some(90.0), 0));
    let mem = |v: f64| {
        let mut i = info();
        i.memory.percent = v;
        i
    };
    assert_eq!(
        s.online(0, &mem(90.0)),
        vec![Fired],
        "at the threshold counts"
    );
    assert!(
        s.online(30, &mem(89.0)).is_empty(),
        "within the 2-point margin"
    );
    assert!(s.online(30, &mem(88.1)).is_empty());
    assert_eq!(s.online(30, &mem(87.9)), vec![Resolved]);
}

#[test]
fn a_flapping_value_does_not_spam() {
    let mut s = Sim::new(rule(RuleKind::Cpu, Some(90.0), 0));
    let mut messages = 0;
    // Over and well under every 30 s for an hour: one fire/resolve pair per quiet period.
    for i in 0..120 {
        let v = if i % 2 == 0 { 99.0 } else { 5.0 };
        messages += s.online(30, &cpu(v)).len();
    }
    let periods = (120 * 30) / QUIET_SECS as usize;
    assert!(
        messages <= 2 * periods,
        "{messages} messages in {periods} quiet periods"
    );
    assert!(messages >= 2);
    // While held back, the state is pending, and it fires once the quiet period is over.
    let mut s = Sim::new(rule(RuleKind::Cpu, Some(90.0), 0));
    assert_eq!(s.online(0, &cpu(99.0)), vec![Fired]);
    assert_eq!(s.online(30, &cpu(5.0)), vec![Resolved]);
    assert!(s.online(30, &cpu(99.0)).is_empty());
    assert_eq!(s.state(""), Some(State::Pending));
    assert!(s.online(QUIET_SECS - 60, &cpu(99.0)).is_empty());
    assert_eq!(s.online(30, &cpu(99.0)), vec![Fired]);
}

#[test]
fn disks_fire_per_mount_point_or_only_the_chosen_one() {
    let full_data = || {
        let mut i = info();
        i.disks[1].percent = 95.0;
        i
    };
    let mut s = Sim::new(rule(RuleKind::Disk, Some(90.0), 0));
    assert_eq!(s.online(0, &full_data()), vec![Fired]);
    assert_eq!(s.events[0].1, "/data");
    assert_eq!(s.state("/"), None);

    let mut only_root = rule(RuleKind::Disk, Some(90.0), 0);
    only_root.target = Some("/".into());
    let mut s = Sim::new(only_root);
    assert!(s.online(0, &full_data()).is_empty(), "/data is not watched");

    // An unmounted disk that was firing resolves.
    let mut s = Sim::new(rule(RuleKind::Disk, Some(90.0), 0));
    s.online(0, &full_data());
    let mut gone = info();
    gone.disks.truncate(1);
    assert_eq!(s.online(30, &gone), vec![Resolved]);
}

#[test]
fn sensors_fire_per_label_and_interfaces_skip_loopback() {
    let mut hot = info();
    hot.temperatures[1].celsius = 85.0;
    let mut r = rule(RuleKind::Temperature, Some(80.0), 0);
    r.target = Some("cpu_thermal".into());
    let mut s = Sim::new(r);
    assert!(
        s.online(0, &hot).is_empty(),
        "nvme is not the chosen sensor"
    );
    let mut s = Sim::new(rule(RuleKind::Temperature, Some(80.0), 0));
    assert_eq!(s.online(0, &hot), vec![Fired]);
    assert_eq!(s.events[0].1, "nvme");

    // eth0 moves 2 MB/s; loopback's huge rate is never judged by an "any" rule.
    let mut s = Sim::new(rule(RuleKind::Network, Some(1.5), 0));
    assert_eq!(s.online(0, &info()), vec![Fired]);
    assert_eq!(s.events[0].1, "eth0");
    assert_eq!(s.events[0].2, Some(2.0));
    let mut s = Sim::new(rule(RuleKind::Network, Some(5.0), 0));
    assert!(s.online(0, &info()).is_empty());
}

#[test]
fn offline_fires_after_the_duration_counted_from_going_down() {
    let mut s = Sim::new(rule(RuleKind::Offline, None, 300));
    let down = s.clock.now();
    assert!(s.offline(10, down).is_empty());
    assert_eq!(s.state(""), Some(State::Pending));
    assert!(s.offline(200, down).is_empty());
    assert_eq!(s.offline(100, down), vec![Fired]);
    assert_eq!(
        s.events[0].2,
        Some(310.0),
        "the value is how long it has been down"
    );
    assert!(s.offline(30, down).is_empty());
    assert_eq!(s.online(30, &info()), vec![Resolved]);

    // A computer that was down long before the server looked fires at the first round.
    let mut s = Sim::new(rule(RuleKind::Offline, None, 300));
    let long_ago = s.clock.now() - 3600;
    assert_eq!(s.offline(0, long_ago), vec![Fired]);
}

#[test]
fn a_reboot_fires_once_and_leaves_no_state() {
    let mut s = Sim::new(rule(RuleKind::Reboot, None, 0));
    let up = |secs: u64| {
        let mut i = info();
        i.uptime_secs = Some(secs);
        i
    };
    assert!(
        s.online(0, &up(1000)).is_empty(),
        "the first reading only records"
    );
    assert!(s.online(30, &up(1030)).is_empty());
    assert!(
        s.online(30, &up(1059)).is_empty(),
        "a second of jitter is not a reboot"
    );
    assert_eq!(s.online(30, &up(20)), vec![Fired]);
    assert!(s.online(30, &up(50)).is_empty());
    assert!(s.states.is_empty());
    assert_eq!(s.events.len(), 1);
}

#[test]
fn figures_of_a_computer_that_did_not_answer_keep_the_state() {
    let mut s = Sim::new(rule(RuleKind::Cpu, Some(90.0), 0));
    assert_eq!(s.online(0, &cpu(99.0)), vec![Fired]);
    let since = s.clock.now();
    assert!(s.offline(30, since).is_empty());
    assert_eq!(s.state(""), Some(State::Firing), "not resolved by silence");
}

#[test]
fn a_rule_for_one_computer_ignores_the_others_and_disabled_rules_clear() {
    let mut r = rule(RuleKind::Cpu, Some(90.0), 0);
    r.computer_id = Some(8);
    let mut s = Sim::new(r);
    assert!(
        s.online(0, &cpu(99.0)).is_empty(),
        "computer 7 is not watched"
    );

    let mut s = Sim::new(rule(RuleKind::Cpu, Some(90.0), 0));
    assert_eq!(s.online(0, &cpu(99.0)), vec![Fired]);
    s.rules[0].enabled = false;
    assert!(s.online(30, &cpu(99.0)).is_empty());
    assert!(
        s.states.is_empty(),
        "a disabled rule's alerts end without a message"
    );
}

#[test]
fn messages_say_what_where_and_how_much() {
    let c = Observed {
        id: 7,
        name: "pi",
        online: false,
        down_since: None,
        reason: Some("connection refused"),
        info: None,
        sample: None,
    };
    let r = rule(RuleKind::Disk, Some(90.0), 600);
    assert_eq!(
        message(&r, &c, "/data", Fired, Some(93.25)),
        "pi: disk /data at 93.2 % (at or above 90.0 % for 10 min)"
    );
    assert_eq!(
        message(&r, &c, "/data", Resolved, Some(80.0)),
        "pi: disk /data back to 80.0 %"
    );
    let off = rule(RuleKind::Offline, None, 300);
    assert_eq!(
        message(&off, &c, "", Fired, Some(320.0)),
        "pi is not answering for 5 min: connection refused"
    );
    assert_eq!(minutes(7500), "2 h 5 min");
    assert_eq!(minutes(7200), "2 h");
}
