//! The latest full answer of every computer, kept in memory: cards and `/api/stats` read it
//! without touching the disk, and the database stores only the compact per-poll rows.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use lanstat_agent::SystemInfo;

use crate::agents::Counters;
use crate::store::Sample;

#[derive(Clone)]
pub struct LiveEntry {
    pub info: Arc<SystemInfo>,
    /// When the server received it, unix milliseconds.
    pub at_ms: i64,
    /// The row stored for it, with the server's rates.
    pub sample: Arc<Sample>,
}

#[derive(Default)]
pub struct Live {
    map: RwLock<HashMap<i64, LiveEntry>>,
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
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, entry);
    }

    pub fn remove(&self, id: i64) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
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
