//! Signed requests: the token never travels, only an HMAC-SHA256 made with it.
//!
//! The server signs its polls with the agent's token as the key; push mode will sign its
//! reports the same way with a per-agent secret. One header carries the signature:
//!
//! ```text
//! Authorization: Lanstat-HMAC-SHA256 ts=1765130000,nonce=<32 hex>,sig=<64 hex>
//! ```
//!
//! `sig` is the lowercase hex HMAC-SHA256, under the key, of the canonical string: these
//! six lines joined by `\n`, with no newline after the last:
//!
//! ```text
//! LANSTAT-HMAC-SHA256-V1
//! GET
//! /history?since=0&limit=10
//! 1765130000
//! 00112233445566778899aabbccddeeff
//! e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
//! ```
//!
//! the version tag, the method, the path with its query exactly as sent, the unix time in
//! seconds, the nonce (128 random bits, lowercase hex) and the hex SHA-256 of the body (of
//! nothing for a GET). A receiver accepts a time within [`WINDOW_SECS`] of its own and each
//! nonce once ([`Verifier`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The scheme's name, in `Authorization` and in the `WWW-Authenticate` challenge.
pub const SCHEME: &str = "Lanstat-HMAC-SHA256";

/// The first line of the canonical string, so that no other MAC made with the same key can
/// pass for a request's.
pub const VERSION_TAG: &str = "LANSTAT-HMAC-SHA256-V1";

/// How far a request's time may be from the receiver's, either way.
pub const WINDOW_SECS: u64 = 300;

/// The most nonces a [`Verifier`] remembers. A poll every second for the 10 minutes a
/// nonce can be live is 600; when a flood fills it, the oldest go and a request signed no
/// later than the newest forgotten one is refused.
pub const NONCE_CAP: usize = 4096;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut padded = [0u8; BLOCK];
    if key.len() > BLOCK {
        padded[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        padded[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(padded.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(padded.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The string a signature covers (see the module's documentation).
pub fn canonical(method: &str, path_and_query: &str, ts: u64, nonce: &str, body: &[u8]) -> String {
    format!(
        "{VERSION_TAG}\n{method}\n{path_and_query}\n{ts}\n{nonce}\n{}",
        hex(&Sha256::digest(body))
    )
}

/// The hex signature of a request.
pub fn signature(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    ts: u64,
    nonce: &str,
    body: &[u8],
) -> String {
    hex(&hmac_sha256(
        key,
        canonical(method, path_and_query, ts, nonce, body).as_bytes(),
    ))
}

/// A new nonce: 128 random bits in lowercase hex.
pub fn new_nonce() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    Ok(hex(&b))
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `Authorization` value for a request signed at `ts` with `nonce`.
pub fn authorization_at(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    body: &[u8],
    ts: u64,
    nonce: &str,
) -> String {
    let sig = signature(key, method, path_and_query, ts, nonce, body);
    format!("{SCHEME} ts={ts},nonce={nonce},sig={sig}")
}

/// The `Authorization` value for a request signed now with a new nonce.
pub fn authorization(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Result<String, getrandom::Error> {
    Ok(authorization_at(
        key,
        method,
        path_and_query,
        body,
        unix_now(),
        &new_nonce()?,
    ))
}

/// Whether a `WWW-Authenticate` value offers the signed scheme.
pub fn offers_signing(www_authenticate: &str) -> bool {
    www_authenticate
        .split(',')
        .filter_map(|part| part.split_whitespace().next())
        .any(|scheme| scheme.eq_ignore_ascii_case(SCHEME))
}

/// The parts of a signed `Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    pub ts: u64,
    pub nonce: &'a str,
    pub sig: &'a str,
}

/// The parts of `Authorization: Lanstat-HMAC-SHA256 ts=…,nonce=…,sig=…`, in that order,
/// each once; `None` for another scheme. `Some(Err)` when it is ours but malformed.
pub fn parse(value: &str) -> Option<Result<Parts<'_>, Refusal>> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let mut fields = rest.trim().split(',');
    let mut take = |name: &str| {
        fields
            .next()
            .and_then(|f| f.trim().strip_prefix(name))
            .and_then(|f| f.strip_prefix('='))
    };
    let parts = (|| {
        let ts = take("ts")?;
        let nonce = take("nonce")?;
        let sig = take("sig")?;
        let digits = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if ts.is_empty() || ts.len() > 20 || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !digits(nonce, 32) || !digits(sig, 64) {
            return None;
        }
        Some(Parts {
            ts: ts.parse().ok()?,
            nonce,
            sig,
        })
    })();
    if fields.next().is_some() {
        return Some(Err(Refusal::Malformed));
    }
    Some(parts.ok_or(Refusal::Malformed))
}

/// Why a signed request was refused. Its name is what the log says; no part of the request
/// but the reason is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Not `ts=…,nonce=…,sig=…` with a decimal time, 32 and 64 lowercase hex digits.
    Malformed,
    /// The time is more than [`WINDOW_SECS`] from the receiver's.
    Stale,
    /// The signature does not match: another key, or a request changed on the way.
    BadSignature,
    /// The nonce was seen before.
    Replayed,
    /// Signed no later than a nonce the full cache had to forget, so a replay could not be told.
    BeyondMemory,
    /// A bearer token where only signed requests are accepted (`--signed-only`).
    BearerRefused,
}

impl Refusal {
    pub fn name(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Stale => "stale_timestamp",
            Refusal::BadSignature => "bad_signature",
            Refusal::Replayed => "replayed_nonce",
            Refusal::BeyondMemory => "older_than_nonce_memory",
            Refusal::BearerRefused => "bearer_refused_signed_only",
        }
    }
}

/// The nonces seen within the window, at most `cap`, by (time, nonce): the oldest by time
/// go first, when they leave the window or when the cache is full.
#[derive(Debug)]
pub struct Nonces {
    seen: BTreeSet<(u64, [u8; 16])>,
    cap: usize,
    /// The newest time whose nonces were forgotten while still in the window: a request
    /// signed at or before it is refused.
    floor: Option<u64>,
}

impl Nonces {
    pub fn new(cap: usize) -> Nonces {
        Nonces {
            seen: BTreeSet::new(),
            cap: cap.max(1),
            floor: None,
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Records `nonce` signed at `ts`, or says why it cannot be trusted. `now` drops what
    /// has left the window.
    pub fn admit(&mut self, ts: u64, nonce: [u8; 16], now: u64) -> Result<(), Refusal> {
        let horizon = now.saturating_sub(WINDOW_SECS);
        while let Some(&(t, _)) = self.seen.first() {
            if t >= horizon {
                break;
            }
            self.seen.pop_first();
        }
        if self.floor.is_some_and(|f| ts <= f) {
            return Err(Refusal::BeyondMemory);
        }
        if !self.seen.insert((ts, nonce)) {
            return Err(Refusal::Replayed);
        }
        while self.seen.len() > self.cap {
            if let Some((t, _)) = self.seen.pop_first() {
                self.floor = Some(self.floor.map_or(t, |f| f.max(t)));
            }
        }
        Ok(())
    }
}

/// One line per refusal reason at most once a minute, with how many went unsaid.
#[derive(Debug, Default)]
struct RefusalLog {
    last: HashMap<Refusal, (Instant, u64)>,
}

impl RefusalLog {
    const EVERY: Duration = Duration::from_secs(60);

    /// The line to print for this refusal, if one is due.
    fn line(&mut self, why: Refusal, now: Instant) -> Option<String> {
        match self.last.get_mut(&why) {
            Some((at, unsaid)) if now.duration_since(*at) < Self::EVERY => {
                *unsaid += 1;
                None
            }
            Some((at, unsaid)) => {
                let line = format!(
                    "event=auth_refused reason={} unsaid_since_last={}",
                    why.name(),
                    unsaid
                );
                *at = now;
                *unsaid = 0;
                Some(line)
            }
            None => {
                self.last.insert(why, (now, 0));
                Some(format!("event=auth_refused reason={}", why.name()))
            }
        }
    }
}

/// Checks signed requests against one key: time window, signature, nonce once.
#[derive(Debug)]
pub struct Verifier {
    nonces: Mutex<Nonces>,
    log: Mutex<RefusalLog>,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier::new(NONCE_CAP)
    }
}

impl Verifier {
    pub fn new(cap: usize) -> Verifier {
        Verifier {
            nonces: Mutex::new(Nonces::new(cap)),
            log: Mutex::new(RefusalLog::default()),
        }
    }

    /// Whether `parts` sign this request under `key` at a time near `now`, with a nonce not
    /// seen before (which is then remembered).
    pub fn verify(
        &self,
        key: &[u8],
        method: &str,
        path_and_query: &str,
        body: &[u8],
        parts: &Parts<'_>,
        now: u64,
    ) -> Result<(), Refusal> {
        if parts.ts.abs_diff(now) > WINDOW_SECS {
            return Err(Refusal::Stale);
        }
        let expected = signature(key, method, path_and_query, parts.ts, parts.nonce, body);
        if !crate::token::constant_time_eq(expected.as_bytes(), parts.sig.as_bytes()) {
            return Err(Refusal::BadSignature);
        }
        let mut nonce = [0u8; 16];
        for (i, pair) in parts.nonce.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).map_err(|_| Refusal::Malformed)?;
            nonce[i] = u8::from_str_radix(s, 16).map_err(|_| Refusal::Malformed)?;
        }
        self.nonces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(parts.ts, nonce, now)
    }

    /// Logs a refusal, once a minute per reason at most. Nothing of the request is logged.
    pub fn log(&self, why: Refusal) {
        let line = self
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .line(why, Instant::now());
        if let Some(line) = line {
            eprintln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0f8fad5b-d9cb-469f-a165-70867728950e";
    const NONCE: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_canonical_string_and_signature_are_fixed() {
        let c = canonical(
            "GET",
            "/history?since=0&limit=10",
            1_765_130_000,
            NONCE,
            b"",
        );
        assert_eq!(
            c,
            "LANSTAT-HMAC-SHA256-V1\nGET\n/history?since=0&limit=10\n1765130000\n\
             00112233445566778899aabbccddeeff\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let posted = canonical("POST", "/push", 1, NONCE, b"{}");
        assert!(
            posted.ends_with("\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
        let sig = signature(
            KEY,
            "GET",
            "/history?since=0&limit=10",
            1_765_130_000,
            NONCE,
            b"",
        );
        assert_eq!(sig, hex(&hmac_sha256(KEY, c.as_bytes())));
        assert_eq!(
            sig,
            "f642c8c309c2bd8e2b914e245634da7a3fd2db739600ece77ec86575dfc9f504"
        );
        assert_eq!(
            authorization_at(
                KEY,
                "GET",
                "/history?since=0&limit=10",
                b"",
                1_765_130_000,
                NONCE
            ),
            format!("Lanstat-HMAC-SHA256 ts=1765130000,nonce={NONCE},sig={sig}")
        );
    }

    #[test]
    fn a_header_parses_only_in_its_exact_form() {
        let value = authorization_at(KEY, "GET", "/systeminfo", b"", 42, NONCE);
        let parts = parse(&value).unwrap().unwrap();
        assert_eq!((parts.ts, parts.nonce), (42, NONCE));
        assert_eq!(parse("Bearer abc"), None);
        let sig = "a".repeat(64);
        for bad in [
            format!("{SCHEME} ts=42,nonce={NONCE}"),
            format!("{SCHEME} nonce={NONCE},ts=42,sig={sig}"),
            format!("{SCHEME} ts=-1,nonce={NONCE},sig={sig}"),
            format!("{SCHEME} ts=42,nonce={},sig={sig}", NONCE.to_uppercase()),
            format!("{SCHEME} ts=42,nonce={NONCE},sig={sig}a"),
            format!("{SCHEME} ts=42,nonce={NONCE},sig={sig},extra=1"),
            format!("{SCHEME} ts=99999999999999999999999,nonce={NONCE},sig={sig}"),
        ] {
            assert_eq!(parse(&bad), Some(Err(Refusal::Malformed)), "{bad}");
        }
    }

    #[test]
    fn nonces_are_fresh_and_128_bits() {
        let (a, b) = (new_nonce().unwrap(), new_nonce().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn the_challenge_is_recognised_beside_others() {
        assert!(offers_signing(
            "Lanstat-HMAC-SHA256 realm=\"lanstat-agent\""
        ));
        assert!(offers_signing("Bearer realm=\"x\", lanstat-hmac-sha256"));
        assert!(!offers_signing("Bearer realm=\"lanstat-agent\""));
        assert!(!offers_signing(""));
    }

    fn parts_at(ts: u64, nonce: &str) -> (String, u64) {
        (
            authorization_at(KEY, "GET", "/systeminfo", b"", ts, nonce),
            ts,
        )
    }

    fn check(v: &Verifier, key: &[u8], header: &str, path: &str, now: u64) -> Result<(), Refusal> {
        let parts = parse(header).unwrap()?;
        v.verify(key, "GET", path, b"", &parts, now)
    }

    #[test]
    fn the_window_is_five_minutes_either_way_inclusive() {
        let v = Verifier::default();
        let now = 1_765_130_000;
        let mut n = 0u8;
        let mut at = |ts: u64| {
            n += 1;
            let (h, _) = parts_at(ts, &hex(&[n; 16]));
            check(&v, KEY, &h, "/systeminfo", now)
        };
        assert_eq!(at(now - 300), Ok(()));
        assert_eq!(at(now + 300), Ok(()));
        assert_eq!(at(now), Ok(()));
        assert_eq!(at(now - 301), Err(Refusal::Stale));
        assert_eq!(at(now + 301), Err(Refusal::Stale));
        assert_eq!(at(0), Err(Refusal::Stale));
    }

    #[test]
    fn a_replay_a_wrong_key_or_another_path_is_refused() {
        let v = Verifier::default();
        let now = 1_765_130_000;
        let (h, _) = parts_at(now, NONCE);
        assert_eq!(
            check(&v, b"another key", &h, "/systeminfo", now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            check(&v, KEY, &h, "/metrics", now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(check(&v, KEY, &h, "/systeminfo", now), Ok(()));
        assert_eq!(
            check(&v, KEY, &h, "/systeminfo", now + 10),
            Err(Refusal::Replayed)
        );
    }

    #[test]
    fn the_nonce_cache_is_bounded_and_refuses_what_it_forgot() {
        let mut cache = Nonces::new(3);
        let now = 1000;
        for i in 0..3u8 {
            cache.admit(now + u64::from(i), [i; 16], now).unwrap();
        }
        assert_eq!(cache.admit(now, [0; 16], now), Err(Refusal::Replayed));
        // A flood: every new nonce pushes the oldest out, never past the cap.
        for i in 3..100u8 {
            cache.admit(now + u64::from(i), [i; 16], now).unwrap();
            assert!(cache.len() <= 3);
        }
        // What was forgotten cannot be replayed: its time is at or below the floor.
        assert_eq!(cache.admit(now, [0; 16], now), Err(Refusal::BeyondMemory));
        assert_eq!(
            cache.admit(now + 96, [200; 16], now),
            Err(Refusal::BeyondMemory)
        );
        assert_eq!(cache.admit(now + 99, [99; 16], now), Err(Refusal::Replayed));
        assert_eq!(cache.admit(now + 100, [100; 16], now), Ok(()));
    }

    #[test]
    fn nonces_leave_with_the_window() {
        let mut cache = Nonces::new(10);
        cache.admit(1000, [1; 16], 1000).unwrap();
        cache.admit(1001, [2; 16], 1000).unwrap();
        assert_eq!(cache.len(), 2);
        cache.admit(1400, [3; 16], 1300 + WINDOW_SECS).unwrap();
        assert_eq!(cache.len(), 1, "both older than the window are gone");
        assert!(cache.floor.is_none(), "expiry is no forgetting");
    }

    #[test]
    fn a_refusal_is_logged_once_a_minute_per_reason() {
        let mut log = RefusalLog::default();
        let t = Instant::now();
        assert!(log.line(Refusal::Stale, t).is_some());
        assert!(
            log.line(Refusal::Stale, t + Duration::from_secs(1))
                .is_none()
        );
        assert!(log.line(Refusal::Replayed, t).is_some());
        let again = log
            .line(Refusal::Stale, t + Duration::from_secs(61))
            .unwrap();
        assert_eq!(
            again,
            "event=auth_refused reason=stale_timestamp unsaid_since_last=1"
        );
    }
}
