//! The connections being served: at most `Limits::max_connections`, each marked as waiting on
//! its client (for a head, a body, or while lingering) or busy, so that a full registry can
//! close the longest-waiting one to make room, and a stop can close the idle ones.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::limits::Limits;

/// What the accept thread and the connection threads share.
pub(crate) struct Shared {
    pub limits: Limits,
    stopping: AtomicBool,
    conns: Mutex<Registry>,
    freed: Condvar,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    entries: Vec<Entry>,
}

struct Entry {
    id: u64,
    /// The socket, shared with its thread, to close it from outside (no second descriptor).
    stream: Arc<TcpStream>,
    /// `Some` while the connection waits on its client: it may be closed to make room.
    waiting_since: Option<Instant>,
    evicted: bool,
}

/// A connection's place in the registry.
pub(crate) struct Slot {
    id: u64,
}

impl Slot {
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn from_id(id: u64) -> Slot {
        Slot { id }
    }
}

/// Whether a new connection got a place.
pub(crate) enum Admission {
    /// Admitted, perhaps after closing a waiting one (`made_room`).
    In { slot: Slot, made_room: bool },
    /// Every connection is busy.
    Full,
}

impl Shared {
    pub fn new(limits: Limits) -> Shared {
        Shared {
            limits,
            stopping: AtomicBool::new(false),
            conns: Mutex::new(Registry::default()),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.lock().entries.len()
    }

    /// Gives `stream` a place, closing the connection that has waited longest on its client
    /// when the registry is full (and waiting, briefly, for its thread to leave).
    pub fn admit(&self, stream: &Arc<TcpStream>) -> Admission {
        let mut reg = self.lock();
        let full = reg.entries.len() >= self.limits.max_connections;
        if full {
            reg = self.make_room(reg);
            if reg.entries.len() >= self.limits.max_connections {
                return Admission::Full;
            }
        }
        let id = reg.next_id;
        reg.next_id += 1;
        reg.entries.push(Entry {
            id,
            stream: stream.clone(),
            waiting_since: Some(Instant::now()),
            evicted: false,
        });
        Admission::In {
            slot: Slot { id },
            made_room: full,
        }
    }

    fn make_room<'a>(&'a self, mut reg: MutexGuard<'a, Registry>) -> MutexGuard<'a, Registry> {
        let oldest = reg
            .entries
            .iter_mut()
            .filter(|e| !e.evicted)
            .filter_map(|e| e.waiting_since.map(|t| (t, e)))
            .min_by_key(|(t, _)| *t);
        let Some((_, victim)) = oldest else {
            return reg;
        };
        victim.evicted = true;
        let _ = victim.stream.shutdown(Shutdown::Both);
        let max = self.limits.max_connections;
        self.freed
            .wait_timeout_while(reg, Duration::from_secs(1), |r| r.entries.len() >= max)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    /// The connection now waits on its client (since `since`) and may be closed to make room.
    pub fn set_waiting(&self, slot: &Slot, since: Instant) {
        if let Some(e) = self.lock().entries.iter_mut().find(|e| e.id == slot.id) {
            e.waiting_since = Some(since);
        }
    }

    /// Marks the connection busy; false if it was closed to make room meanwhile.
    pub fn set_busy(&self, slot: &Slot) -> bool {
        match self.lock().entries.iter_mut().find(|e| e.id == slot.id) {
            Some(e) if !e.evicted => {
                e.waiting_since = None;
                true
            }
            _ => false,
        }
    }

    pub fn leave(&self, slot: &Slot) {
        self.lock().entries.retain(|e| e.id != slot.id);
        self.freed.notify_all();
    }

    /// From now on answers say `Connection: close`; connections waiting on their client are
    /// closed at once.
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for e in self
            .lock()
            .entries
            .iter()
            .filter(|e| e.waiting_since.is_some())
        {
            let _ = e.stream.shutdown(Shutdown::Both);
        }
    }

    /// Waits until every connection has left, or `deadline`.
    pub fn wait_empty(&self, deadline: Instant) {
        let wait = deadline.saturating_duration_since(Instant::now());
        drop(
            self.freed
                .wait_timeout_while(self.lock(), wait, |r| !r.entries.is_empty())
                .unwrap_or_else(|e| e.into_inner()),
        );
    }
}
