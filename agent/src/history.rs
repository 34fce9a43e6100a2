//! The agent's recent samples, so that an outage of the server leaves no gap: a ring buffer of
//! compact entries that the sampler fills, `GET /history` pages through, and that is saved to
//! the state directory every few minutes and on a clean stop, so the agent's own restart loses
//! at most the minutes since the last save.
//!
//! An entry keeps the figures the server stores of a sample (its `stats` row) as fixed-size
//! numbers: [`ENTRY_BYTES`] each, six hours at a 10 s interval in about 250 KiB.
//!
//! The saved file is ours alone to read, so it is binary: a 20-byte header (the magic
//! `LANSTATH`, the format version, the record length, the number of records, and an FNV-1a
//! checksum of those), then the records oldest first, each an entry in little-endian order
//! followed by its own FNV-1a checksum. Nothing in a file is trusted: each record is checked
//! (checksum, figures no machine reaches, a time in the future, out of order) and only what
//! passes is kept; a file whose header fails is not read at all.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::snapshot::{
    DiskRates, HistorySample, LoadOne, NetworkRates, NetworkTotals, SwapPercent, SystemInfo, Usage,
    round1,
};
use crate::worker::{Schedule, Worker};

/// How long the buffer should reach back.
const SPAN_SECS: u64 = 6 * 3600;
/// Six hours at 10 s: the fewest entries a buffer holds, whatever the interval.
pub const MIN_CAPACITY: usize = 2160;
/// Six hours at the default 5 s: the most, so that a 1 s interval keeps the agent's memory
/// small (it then reaches back 72 minutes).
pub const MAX_CAPACITY: usize = 4320;
/// The most samples one `/history` answer carries, and how many when the client does not say.
pub const MAX_LIMIT: usize = 2000;
pub const DEFAULT_LIMIT: usize = 360;
/// How often the buffer is saved while the agent runs.
pub const SAVE_EVERY: Duration = Duration::from_secs(5 * 60);

/// The bytes of one entry, in memory and in the file (where a 4-byte checksum follows each).
pub const ENTRY_BYTES: usize = 120;
const RECORD_BYTES: usize = ENTRY_BYTES + 4;
const MAGIC: [u8; 8] = *b"LANSTATH";
const VERSION: u16 = 1;
const HEADER_BYTES: usize = 20;
/// The largest file this build writes; a longer one is not ours and is not read.
pub const MAX_FILE_BYTES: usize = HEADER_BYTES + MAX_CAPACITY * RECORD_BYTES;

// Bounds no machine reaches, as the server checks an answer: beyond them a record is damaged.
const MAX_BYTES: u64 = 1 << 60;
const MAX_COUNTER: u64 = 1 << 62;
const MAX_RATE: f64 = (1u64 << 40) as f64;
const MAX_LOAD: f32 = 4_194_304.0;
const MAX_UPTIME_SECS: u64 = 3_155_760_000;
const TEMPERATURES: std::ops::RangeInclusive<f64> = -100.0..=300.0;
/// `uptime_secs` of an entry whose machine does not say.
const NO_UPTIME: u64 = u64::MAX;

/// The entries a buffer holds at `interval`: six hours' worth, from [`MIN_CAPACITY`] to
/// [`MAX_CAPACITY`].
pub fn capacity(interval: Duration) -> usize {
    let secs = interval.as_secs().max(1);
    usize::try_from(SPAN_SECS / secs)
        .unwrap_or(MAX_CAPACITY)
        .clamp(MIN_CAPACITY, MAX_CAPACITY)
}

/// Where the buffer is saved: beside the token file, in the agent's state directory; made
/// absolute, as the banner names the token file, so the log says where it really is.
pub fn default_path(token_file: &Path) -> PathBuf {
    let dir = token_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let path = dir.join("agent_history.bin");
    std::path::absolute(&path).unwrap_or(path)
}

/// One past sample, compact: a figure the machine does not have is NaN (`NO_UPTIME` for the
/// uptime).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Unix seconds.
    t: u64,
    memory_total: u64,
    memory_used: u64,
    disk_total: u64,
    disk_used: u64,
    bytes_sent: u64,
    bytes_recv: u64,
    uptime_secs: u64,
    bytes_sent_per_sec: f64,
    bytes_recv_per_sec: f64,
    disk_read_per_sec: f64,
    disk_write_per_sec: f64,
    // Percents, load and degrees have one or two decimals: an f32 holds them exactly enough.
    cpu_percent: f32,
    memory_percent: f32,
    disk_percent: f32,
    swap_percent: f32,
    load_1: f32,
    temperature: f32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == ENTRY_BYTES);

impl Entry {
    /// The entry of a published sample; `None` without its time.
    pub fn from_info(info: &SystemInfo) -> Option<Entry> {
        let t = info.timestamp? / 1000;
        let small = |v: Option<f64>| v.filter(|v| v.is_finite()).map_or(f32::NAN, |v| v as f32);
        let hottest = info
            .temperatures
            .iter()
            .map(|s| s.celsius)
            .filter(|c| TEMPERATURES.contains(c))
            .reduce(f64::max);
        Some(Entry {
            t,
            memory_total: info.memory.total,
            memory_used: info.memory.used,
            disk_total: info.disk.total,
            disk_used: info.disk.used,
            bytes_sent: info.network.bytes_sent,
            bytes_recv: info.network.bytes_recv,
            uptime_secs: info.uptime_secs.unwrap_or(NO_UPTIME),
            bytes_sent_per_sec: info.network_usage.bytes_sent_per_sec,
            bytes_recv_per_sec: info.network_usage.bytes_recv_per_sec,
            disk_read_per_sec: info.disk_io.map_or(f64::NAN, |d| d.read_bytes_per_sec),
            disk_write_per_sec: info.disk_io.map_or(f64::NAN, |d| d.write_bytes_per_sec),
            cpu_percent: info.cpu_percent as f32,
            memory_percent: info.memory.percent as f32,
            disk_percent: info.disk.percent as f32,
            swap_percent: small(info.swap.map(|s| s.percent)),
            load_1: small(info.load_average.map(|l| l.one)),
            temperature: small(hottest),
        })
    }

    /// Unix seconds when it was taken.
    pub fn t(&self) -> u64 {
        self.t
    }

    /// Its wire form, each figure with the decimals it was measured with.
    pub fn sample(&self) -> HistorySample {
        let some = |v: f32| (!v.is_nan()).then_some(f64::from(v));
        let round2 = |v: f64| (v * 100.0).round() / 100.0;
        let disk_io = (!self.disk_read_per_sec.is_nan() && !self.disk_write_per_sec.is_nan())
            .then_some(DiskRates {
                read_bytes_per_sec: self.disk_read_per_sec,
                write_bytes_per_sec: self.disk_write_per_sec,
            });
        HistorySample {
            t: self.t,
            cpu_percent: round1(f64::from(self.cpu_percent)),
            memory: Usage {
                total: self.memory_total,
                used: self.memory_used,
                percent: round1(f64::from(self.memory_percent)),
            },
            disk: Usage {
                total: self.disk_total,
                used: self.disk_used,
                percent: round1(f64::from(self.disk_percent)),
            },
            network: NetworkTotals {
                bytes_sent: self.bytes_sent,
                bytes_recv: self.bytes_recv,
            },
            network_usage: NetworkRates {
                bytes_sent_per_sec: self.bytes_sent_per_sec,
                bytes_recv_per_sec: self.bytes_recv_per_sec,
            },
            swap: some(self.swap_percent).map(|p| SwapPercent { percent: round1(p) }),
            load_average: some(self.load_1).map(|l| LoadOne { one: round2(l) }),
            temperature: some(self.temperature).map(round1),
            disk_io,
            uptime_secs: (self.uptime_secs != NO_UPTIME).then_some(self.uptime_secs),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        for v in [
            self.t,
            self.memory_total,
            self.memory_used,
            self.disk_total,
            self.disk_used,
            self.bytes_sent,
            self.bytes_recv,
            self.uptime_secs,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.bytes_sent_per_sec,
            self.bytes_recv_per_sec,
            self.disk_read_per_sec,
            self.disk_write_per_sec,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.cpu_percent,
            self.memory_percent,
            self.disk_percent,
            self.swap_percent,
            self.load_1,
            self.temperature,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let sum = fnv1a(&out[start..]);
        out.extend_from_slice(&sum.to_le_bytes());
    }

    /// An entry from its `ENTRY_BYTES` bytes.
    fn decode(b: &[u8]) -> Entry {
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &b[at..at + n];
            at += n;
            s
        };
        let mut u = || u64::from_le_bytes(take(8).try_into().expect("8 bytes"));
        let (t, memory_total, memory_used, disk_total, disk_used) = (u(), u(), u(), u(), u());
        let (bytes_sent, bytes_recv, uptime_secs) = (u(), u(), u());
        let mut d = || f64::from_bits(u64::from_le_bytes(take(8).try_into().expect("8 bytes")));
        let (bytes_sent_per_sec, bytes_recv_per_sec) = (d(), d());
        let (disk_read_per_sec, disk_write_per_sec) = (d(), d());
        let mut f = || f32::from_bits(u32::from_le_bytes(take(4).try_into().expect("4 bytes")));
        Entry {
            t,
            memory_total,
            memory_used,
            disk_total,
            disk_used,
            bytes_sent,
            bytes_recv,
            uptime_secs,
            bytes_sent_per_sec,
            bytes_recv_per_sec,
            disk_read_per_sec,
            disk_write_per_sec,
            cpu_percent: f(),
            memory_percent: f(),
            disk_percent: f(),
            swap_percent: f(),
            load_1: f(),
            temperature: f(),
        }
    }

    /// Whether every figure is one a machine can have.
    fn plausible(&self) -> bool {
        let percent = |p: f32| (0.0..=100.0).contains(&p);
        let optional = |v: f32, ok: &dyn Fn(f32) -> bool| v.is_nan() || ok(v);
        let rate = |r: f64| (0.0..=MAX_RATE).contains(&r);
        self.t > 0
            && self.memory_total <= MAX_BYTES
            && self.memory_used <= self.memory_total
            && self.disk_total <= MAX_BYTES
            && self.disk_used <= self.disk_total
            && self.bytes_sent <= MAX_COUNTER
            && self.bytes_recv <= MAX_COUNTER
            && (self.uptime_secs == NO_UPTIME || self.uptime_secs <= MAX_UPTIME_SECS)
            && rate(self.bytes_sent_per_sec)
            && rate(self.bytes_recv_per_sec)
            && ((self.disk_read_per_sec.is_nan() && self.disk_write_per_sec.is_nan())
                || (rate(self.disk_read_per_sec) && rate(self.disk_write_per_sec)))
            && percent(self.cpu_percent)
            && percent(self.memory_percent)
            && percent(self.disk_percent)
            && optional(self.swap_percent, &percent)
            && optional(self.load_1, &|l| (0.0..=MAX_LOAD).contains(&l))
            && optional(self.temperature, &|c| TEMPERATURES.contains(&f64::from(c)))
    }
}

/// FNV-1a, 32 bits: finds a damaged record, not a forged one (the file is the agent's own).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The entries, oldest first, at most `capacity` of them, each newer than the one before.
#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<Entry>,
    capacity: usize,
}

/// What [`Ring::page`] found.
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Whether entries newer than the last of `entries` remain.
    pub more: bool,
    pub newest: Option<u64>,
}

impl Ring {
    pub fn new(capacity: usize) -> Ring {
        Ring {
            entries: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// A ring of the newest `capacity` of `entries` (oldest first, strictly increasing), in
    /// their own allocation.
    fn from_entries(entries: Vec<Entry>, capacity: usize) -> Ring {
        let mut entries = VecDeque::from(entries);
        let over = entries.len().saturating_sub(capacity);
        entries.drain(..over);
        entries.reserve_exact(capacity - entries.len());
        Ring { entries, capacity }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn newest(&self) -> Option<u64> {
        self.entries.back().map(|e| e.t)
    }

    /// Adds the newest entry, dropping the oldest when full. One taken in the same second as
    /// the newest, or before it (the clock was set back), replaces every entry from its second
    /// on: times stay strictly increasing, and none lies in the future of the clock.
    pub fn push(&mut self, e: Entry) {
        while self.entries.back().is_some_and(|last| last.t >= e.t) {
            self.entries.pop_back();
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(e);
    }

    /// At most `limit` entries newer than `since`, oldest first.
    pub fn page(&self, since: u64, limit: usize) -> Page {
        let start = self.entries.partition_point(|e| e.t <= since);
        let end = start.saturating_add(limit).min(self.entries.len());
        Page {
            entries: self.entries.range(start..end).copied().collect(),
            more: end < self.entries.len(),
            newest: self.newest(),
        }
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = &Entry> {
        self.entries.iter()
    }
}

/// The file's bytes for `entries`, oldest first.
pub fn encode<'a>(entries: impl ExactSizeIterator<Item = &'a Entry>) -> Vec<u8> {
    let count = entries.len().min(MAX_CAPACITY);
    let mut out = Vec::with_capacity(HEADER_BYTES + count * RECORD_BYTES);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(RECORD_BYTES as u16).to_le_bytes());
    out.extend_from_slice(&(count as u32).to_le_bytes());
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    // Only the newest MAX_CAPACITY, should a caller hand more: a longer file is refused.
    let skip = entries.len() - count;
    for e in entries.skip(skip) {
        e.encode(&mut out);
    }
    out
}

/// What a file held that can be trusted, and what it held that cannot.
#[derive(Debug, Default)]
pub struct Decoded {
    pub entries: Vec<Entry>,
    /// Why records were left out, each with how many: empty when the whole file was good.
    pub dropped: Vec<String>,
}

/// Why a saved file is not read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// Too short for a header, or without the magic.
    NotAHistoryFile,
    /// Written by another version of the format.
    Version(u16),
    /// The header's checksum does not match it.
    DamagedHeader,
    /// Records of another length than this version's.
    RecordLength(usize),
    /// More records than any buffer holds.
    Count(usize),
    /// Longer than any file this build writes.
    TooLarge,
    /// The file cannot be read (permissions, a directory, an I/O error).
    Unreadable(std::io::ErrorKind, String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotAHistoryFile => f.write_str("it is not a history file"),
            Refused::Version(v) => write!(
                f,
                "it is format version {v}; this build reads version {VERSION}"
            ),
            Refused::DamagedHeader => f.write_str("its header is damaged (checksum)"),
            Refused::RecordLength(n) => {
                write!(f, "its records are {n} bytes, not {RECORD_BYTES}")
            }
            Refused::Count(n) => write!(
                f,
                "its header counts {n} samples, more than any buffer holds"
            ),
            Refused::TooLarge => write!(
                f,
                "it is larger than any history file ({MAX_FILE_BYTES} bytes at most)"
            ),
            Refused::Unreadable(_, e) => write!(f, "cannot read it: {e}"),
        }
    }
}

impl std::error::Error for Refused {}

impl From<std::io::Error> for Refused {
    fn from(e: std::io::Error) -> Refused {
        Refused::Unreadable(e.kind(), e.to_string())
    }
}

/// Reads a saved file, keeping each record that passes its checks, one record at a time (so
/// that loading costs the entries kept, not the file too). `Err` says why nothing of it is
/// read: not a history file, another version, a damaged header, larger than any, unreadable.
pub fn decode(mut r: impl Read, now: u64) -> Result<Decoded, Refused> {
    let mut header = [0u8; HEADER_BYTES];
    if read_full(&mut r, &mut header)? < HEADER_BYTES || header[..8] != MAGIC {
        return Err(Refused::NotAHistoryFile);
    }
    let u16_at = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
    let version = u16_at(8);
    if version != VERSION {
        return Err(Refused::Version(version));
    }
    if fnv1a(&header[..16]) != u32_at(16) {
        return Err(Refused::DamagedHeader);
    }
    let record = usize::from(u16_at(10));
    if record != RECORD_BYTES {
        return Err(Refused::RecordLength(record));
    }
    let count = u32_at(12) as usize;
    if count > MAX_CAPACITY {
        return Err(Refused::Count(count));
    }
    let mut d = Decoded::default();
    let (mut whole, mut damaged, mut implausible, mut future, mut unordered) = (0, 0, 0, 0, 0);
    let mut rec = [0u8; RECORD_BYTES];
    while whole < count && read_full(&mut r, &mut rec)? == RECORD_BYTES {
        whole += 1;
        let (data, sum) = rec.split_at(ENTRY_BYTES);
        if fnv1a(data).to_le_bytes() != sum {
            damaged += 1;
            continue;
        }
        let e = Entry::decode(data);
        if !e.plausible() {
            implausible += 1;
        } else if e.t > now {
            future += 1;
        } else if d.entries.last().is_some_and(|last| last.t >= e.t) {
            unordered += 1;
        } else {
            d.entries.push(e);
        }
    }
    // What follows the records, read no further than a byte past the largest file.
    let read = HEADER_BYTES + whole * RECORD_BYTES;
    let after = std::io::copy(
        &mut r.take((MAX_FILE_BYTES + 1 - read) as u64),
        &mut std::io::sink(),
    )? as usize;
    if read + after > MAX_FILE_BYTES {
        return Err(Refused::TooLarge);
    }
    if whole < count {
        d.dropped
            .push(format!("{} missing (the file is cut short)", count - whole));
    } else if after > 0 {
        d.dropped
            .push(format!("{after} bytes after the last sample ignored"));
    }
    for (n, why) in [
        (damaged, "damaged (checksum)"),
        (implausible, "with figures no machine has"),
        (future, "from the future"),
        (unordered, "out of order"),
    ] {
        if n > 0 {
            d.dropped.push(format!("{n} {why}"));
        }
    }
    Ok(d)
}

/// Fills `buf` unless the end comes first; how many bytes it got.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, Refused> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}

/// The saved file's entries that can be trusted at `now`, and what was left out; `Ok(None)`
/// when there is no file (the first start).
fn load(path: &Path, now: u64) -> Result<Option<Decoded>, Refused> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if file
        .metadata()
        .is_ok_and(|m| m.len() > MAX_FILE_BYTES as u64)
    {
        return Err(Refused::TooLarge);
    }
    decode(std::io::BufReader::new(file), now).map(Some)
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The agent's buffer, shared by the sampler that fills it, the requests that read it and the
/// saver. Each holds its lock only to copy entries in or out; files are read and written
/// outside it, so neither a request nor a sample ever waits on the disk.
#[derive(Debug)]
pub struct History {
    ring: Mutex<Ring>,
    interval: Duration,
    path: PathBuf,
    /// One save at a time (the periodic one and the last one on stopping).
    saving: Mutex<()>,
}

impl History {
    /// A buffer for samples every `interval`, with what the file at `path` holds that can be
    /// trusted at `now`, and the log line that says what was loaded or why not.
    pub fn open(path: PathBuf, interval: Duration, now: u64) -> (History, String) {
        let capacity = capacity(interval);
        let shown = path.display();
        let (ring, line) = match load(&path, now) {
            Ok(None) => (
                Ring::new(capacity),
                format!("event=history_loaded samples=0 saved=none path={shown}"),
            ),
            Err(why) => (
                Ring::new(capacity),
                format!("event=history_refused reason=\"{why}\" action=start_empty path={shown}"),
            ),
            Ok(Some(mut d)) => {
                let over = d.entries.len().saturating_sub(capacity);
                if over > 0 {
                    d.dropped
                        .push(format!("{over} oldest beyond what this interval keeps"));
                }
                let ring = Ring::from_entries(d.entries, capacity);
                let line = if d.dropped.is_empty() {
                    format!("event=history_loaded samples={} path={shown}", ring.len())
                } else {
                    format!(
                        "event=history_loaded samples={} dropped=\"{}\" path={shown}",
                        ring.len(),
                        d.dropped.join(", ")
                    )
                };
                (ring, line)
            }
        };
        let history = History {
            ring: Mutex::new(ring),
            interval,
            path,
            saving: Mutex::new(()),
        };
        (history, line)
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A poisoned lock still holds a whole ring: every change to it is one push or pop.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.ring().len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring().is_empty()
    }

    pub fn push(&self, e: Entry) {
        self.ring().push(e);
    }

    /// The `/history` answer's JSON: at most `limit` samples newer than `since`, oldest first,
    /// and no more than [`MAX_BODY_BYTES`] of them. Written straight from the entries under
    /// the lock (about a millisecond at most), so an answer costs its body and nothing else.
    pub fn page_json(&self, since: u64, limit: usize) -> Vec<u8> {
        let ring = self.ring();
        let start = ring.entries.partition_point(|e| e.t <= since);
        let left = ring.len() - start;
        let mut body =
            Vec::with_capacity(MAX_BODY_BYTES.min(64 + left.min(limit) * MAX_SAMPLE_JSON_BYTES));
        body.extend_from_slice(
            format!(
                "{{\"interval\":{},\"newest\":{},\"samples\":[",
                self.interval.as_secs(),
                ring.newest().map_or("null".into(), |t| t.to_string())
            )
            .as_bytes(),
        );
        let mut taken = 0;
        for e in ring.entries.range(start..) {
            // Room for one more and the end, whatever its figures.
            if taken == limit || body.len() + MAX_SAMPLE_JSON_BYTES + 16 > MAX_BODY_BYTES {
                break;
            }
            if taken > 0 {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, &e.sample()).expect("a sample holds only numbers");
            taken += 1;
        }
        let more = taken < left;
        body.extend_from_slice(format!("],\"more\":{more}}}").as_bytes());
        body
    }

    /// Writes the buffer to its file, whole or not at all; the number of samples saved.
    pub fn save(&self) -> std::io::Result<usize> {
        let _one = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let entries: Vec<Entry> = self.ring().iter().copied().collect();
        crate::file::write_private(&self.path, &encode(entries.iter()))?;
        Ok(entries.len())
    }
}

/// The most one sample's JSON can take: every number at its longest (typically it is 470).
const MAX_SAMPLE_JSON_BYTES: usize = 768;
/// The most one `/history` answer takes, whatever its `limit`: about 550 samples of a
/// typical machine. It keeps what an answer costs the agent's memory small; a client asks
/// again while `more` says so.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Saves a [`History`] every [`SAVE_EVERY`] on a thread of its own, so a slow disk delays no
/// sample. A failure is logged once, and its end once. Dropping it stops the thread.
pub struct Saver {
    _thread: Worker,
}

impl Saver {
    pub fn start(history: Arc<History>, every: Duration) -> std::io::Result<Saver> {
        let schedule = Schedule::Steady {
            first: every,
            every,
            min_gap: every / 2,
        };
        let mut failing = false;
        let thread = Worker::start(
            "history-save",
            schedule,
            "event=history_save_failed reason=panic action=retry_later",
            move |_| match history.save() {
                Ok(_) if failing => {
                    failing = false;
                    println!(
                        "event=history_saved path={} after=failures",
                        history.path().display()
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    if !failing {
                        eprintln!(
                            "event=history_save_failed error=\"{e}\" action=retry_every_{}s path={}",
                            every.as_secs(),
                            history.path().display()
                        );
                    }
                    failing = true;
                }
            },
        )?;
        Ok(Saver { _thread: thread })
    }
}

#[cfg(test)]
mod tests;
