//! The latest full answer of every computer, kept in memory: cards and `/api/stats` read it
//! without touching the disk, and the database stores only the compact per-poll rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use lanstat_agent::{SystemInfo, snapshot};
use serde::Serialize;

use crate::agents::Counters;
use crate::model::Sample;

#[derive(Clone)]
pub struct LiveEntry {
    pub info: Arc<SystemInfo>,
    /// When the server received it, unix milliseconds.
    pub at_ms: i64,
    /// The row stored for it, with the server's rates.
    pub sample: Arc<Sample>,
    /// Its figures as the cards show them: JSON object members, without the braces. Written
    /// once when the answer arrives rather than on every request, since a dashboard of a
    /// thousand hosts asks for a thousand of them every poll interval.
    pub card_fields: Arc<str>,
}

impl LiveEntry {
    pub fn new(info: SystemInfo, at_ms: i64, sample: Sample) -> LiveEntry {
        let card = CardFigures::of(&info, at_ms, &sample);
        let json = serde_json::to_string(&card).unwrap_or_else(|_| "{}".into());
        // A struct serializes to `{...}`; the members are what lies between the braces.
        let fields = json
            .strip_prefix('{')
            .and_then(|j| j.strip_suffix('}'))
            .unwrap_or_default();
        LiveEntry {
            card_fields: Arc::from(fields),
            info: Arc::new(info),
            at_ms,
            sample: Arc::new(sample),
        }
    }
}

/// The latest answer's figures on a card (`/api/computers`), beside the computer's own fields.
#[derive(Serialize)]
struct CardFigures<'a> {
    sampled_at: i64,
    hostname: &'a str,
    system: &'a str,
    os_version: Option<&'a str>,
    kernel_version: Option<&'a str>,
    arch: Option<&'a str>,
    agent_version: Option<&'a str>,
    cpu_percent: f64,
    cpu_count: Option<u32>,
    memory: &'a snapshot::Memory,
    swap: Option<&'a snapshot::Swap>,
    disk: &'a snapshot::Disk,
    network: &'a snapshot::NetworkTotals,
    /// The server's own rates, from counters between its polls.
    network_usage: snapshot::NetworkRates,
    temperature: Option<f64>,
    uptime_secs: Option<u64>,
    load_average: Option<&'a snapshot::LoadAverage>,
}

impl<'a> CardFigures<'a> {
    fn of(i: &'a SystemInfo, at_ms: i64, s: &Sample) -> CardFigures<'a> {
        CardFigures {
            sampled_at: at_ms,
            hostname: &i.hostname,
            system: &i.system,
            os_version: i.os_version.as_deref(),
            kernel_version: i.kernel_version.as_deref(),
            arch: i.arch.as_deref(),
            agent_version: i.agent_version.as_deref(),
            cpu_percent: i.cpu_percent,
            cpu_count: i.cpu_count,
            memory: &i.memory,
            swap: i.swap.as_ref(),
            disk: &i.disk,
            network: &i.network,
            network_usage: snapshot::NetworkRates {
                bytes_sent_per_sec: s.network_sent_per_sec,
                bytes_recv_per_sec: s.network_recv_per_sec,
            },
            temperature: s.temperature,
            uptime_secs: i.uptime_secs,
            load_average: i.load_average.as_ref(),
        }
    }
}

#[derive(Default)]
pub struct Live {
    map: RwLock<HashMap<i64, LiveEntry>>,
    /// Changes made to `map`; see `generation`.
    changes: AtomicU64,
}

impl Live {
    pub fn get(&self, id: i64) -> Option<LiveEntry> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub fn set(&self, id: i64, entry: LiveEntry) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.insert(id, entry);
        self.changes.fetch_add(1, Ordering::Release);
    }

    pub fn remove(&self, id: i64) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.remove(&id);
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// Moves on with every change: what was built from a snapshot taken while it stayed the
    /// same is still current. Read it before taking the snapshot.
    pub fn generation(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Counters of the last answer, for the next rate.
    pub fn counters(&self, id: i64) -> Option<Counters> {
        self.get(id).map(|e| Counters {
            at_ms: e.at_ms,
            sampled_ms: e.info.timestamp,
            sent: e.info.network.bytes_sent,
            recv: e.info.network.bytes_recv,
        })
    }

    pub fn snapshot(&self) -> HashMap<i64, LiveEntry> {
        self.map.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents;
    use crate::sim::Profile;

    #[test]
    fn card_fields_are_the_members_of_one_object() {
        let info = Profile::new(3).at(1_700_000_000);
        let sample = agents::to_sample(7, 1_700_000_000_000, &info, None);
        let e = LiveEntry::new(info.clone(), 1_700_000_000_000, sample);
        assert!(
            e.card_fields.starts_with(r#""sampled_at":"#),
            "{}",
            e.card_fields
        );
        let v: serde_json::Value =
            serde_json::from_str(&format!("{{{}}}", e.card_fields)).expect("members of an object");
        assert_eq!(v["hostname"], info.hostname.as_str());
        assert_eq!(v["sampled_at"], 1_700_000_000_000_i64);
        assert_eq!(v["memory"]["total"], info.memory.total);
        assert!(v["network_usage"]["bytes_sent_per_sec"].is_number());
    }

    #[test]
    fn every_change_moves_the_generation() {
        let live = Live::default();
        let info = Profile::new(1).at(1_700_000_000);
        let sample = agents::to_sample(1, 1_700_000_000_000, &info, None);
        let g0 = live.generation();
        live.set(1, LiveEntry::new(info, 1_700_000_000_000, sample));
        let g1 = live.generation();
        live.remove(1);
        assert!(g0 < g1 && g1 < live.generation());
    }
}
