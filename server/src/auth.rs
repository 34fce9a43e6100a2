//! Passwords (argon2id), session ids, login throttling and the same-origin check.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

use crate::clock::Clock;

pub const MIN_PASSWORD_BYTES: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lanstat_session";
/// A session unused for this long ends.
pub const SESSION_IDLE_SECS: i64 = 7 * 86_400;
/// A session ends this long after login whatever its use.
pub const SESSION_MAX_SECS: i64 = 30 * 86_400;
/// Last-seen times are written at most this often per session.
pub const SESSION_TOUCH_SECS: i64 = 60;
/// Argon2 costs ~19 MiB and ~25 ms per hash: at most this many run at once.
const CONCURRENT_HASHES: usize = 2;
/// The prefix of a hash made with today's parameters; anything else is upgraded at login.
const CURRENT_HASH_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source is available");
    b
}

/// A random password a person can type: 20 characters without look-alikes (~115 bits).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(23);
    let mut i = 0;
    while out.len() < 23 {
        // Rejection sampling keeps every character equally likely.
        for b in random_bytes::<32>() {
            if (b as usize) < 256 - 256 % ALPHABET.len() && out.len() < 23 {
                if i > 0 && i % 5 == 0 {
                    out.push('-');
                }
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
                i += 1;
            }
        }
    }
    out
}

/// Why a new password is refused, in words for the person typing it.
pub fn check_new_password(pw: &str) -> Result<(), String> {
    if pw.len() < MIN_PASSWORD_BYTES {
        return Err(format!(
            "the password must be at least {MIN_PASSWORD_BYTES} characters"
        ));
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password must be at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    Ok(())
}

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash should be replaced by this stronger one.
    RightUpgrade(String),
}

/// Password hashing with a cap on how many hashes run at once.
pub struct Passwords {
    running: Mutex<usize>,
    freed: Condvar,
    /// Checked when the user does not exist, so unknown names cost the same time.
    dummy_hash: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Passwords::new()
    }
}

impl Passwords {
    pub fn new() -> Passwords {
        let mut p = Passwords {
            running: Mutex::new(0),
            freed: Condvar::new(),
            dummy_hash: String::new(),
        };
        p.dummy_hash = p.hash(&hex(&random_bytes::<16>()));
        p
    }

    fn with_slot<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut n = self.running.lock().unwrap_or_else(|e| e.into_inner());
            while *n >= CONCURRENT_HASHES {
                n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
            }
            *n += 1;
        }
        let out = f();
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.freed.notify_one();
        out
    }

    /// An argon2id PHC string with the OWASP parameters (19 MiB, t=2, p=1).
    pub fn hash(&self, pw: &str) -> String {
        self.with_slot(|| {
            Argon2::default()
                .hash_password(pw.as_bytes())
                .map(|h| h.to_string())
                .expect("argon2 with default parameters and a fresh salt does not fail")
        })
    }

    /// Checks `pw` against a stored hash; `None` (unknown user) costs the same as a real check.
    /// Hashes from the original design (hex SHA-256) are accepted once and upgraded.
    pub fn verify(&self, pw: &str, stored: Option<&str>) -> Verdict {
        let Some(stored) = stored else {
            let _ = self.with_slot(|| {
                Argon2::default().verify_password(pw.as_bytes(), self.dummy_hash.as_str())
            });
            return Verdict::Wrong;
        };
        if stored.starts_with("$argon2") {
            let ok = self.with_slot(|| {
                Argon2::default()
                    .verify_password(pw.as_bytes(), stored)
                    .is_ok()
            });
            return match (ok, stored.starts_with(CURRENT_HASH_PREFIX)) {
                (false, _) => Verdict::Wrong,
                (true, true) => Verdict::Right,
                (true, false) => Verdict::RightUpgrade(self.hash(pw)),
            };
        }
        if stored.len() == 64 && stored.bytes().all(|b| b.is_ascii_hexdigit()) {
            // The original's unsalted SHA-256: equal time whatever the answer, then upgrade.
            let _ = self.with_slot(|| {
                Argon2::default().verify_password(pw.as_bytes(), self.dummy_hash.as_str())
            });
            let given = sha256_hex(pw.as_bytes());
            if lanstat_agent::token::constant_time_eq(
                given.as_bytes(),
                stored.to_ascii_lowercase().as_bytes(),
            ) {
                return Verdict::RightUpgrade(self.hash(pw));
            }
        }
        Verdict::Wrong
    }
}

/// A new session: the cookie value (64 hex digits, 256 random bits) and the hash we store.
pub fn new_session_id() -> (String, Vec<u8>) {
    let id = hex(&random_bytes::<32>());
    let hash = Sha256::digest(id.as_bytes()).to_vec();
    (id, hash)
}

/// The stored form of a cookie's session id, if it has the right shape.
pub fn session_hash(cookie_value: &str) -> Option<Vec<u8>> {
    (cookie_value.len() == 64 && cookie_value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| Sha256::digest(cookie_value.as_bytes()).to_vec())
}

/// Failed logins per client address and per username. After five failures each new attempt
/// must wait 2^(n-5) seconds, capped at 15 minutes; never a permanent lockout.
pub struct Throttle {
    clock: Clock,
    entries: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: i64,
}

const FREE_FAILURES: u32 = 5;
const MAX_DELAY_SECS: i64 = 15 * 60;
/// Entries older than this are forgotten, and the map is capped.
const FORGET_AFTER_SECS: i64 = 24 * 3600;
const MAX_ENTRIES: usize = 100_000;

impl Throttle {
    pub fn new(clock: Clock) -> Throttle {
        Throttle {
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn delay_for(count: u32) -> i64 {
        if count < FREE_FAILURES {
            return 0;
        }
        let exp = (count - FREE_FAILURES).min(20);
        (1i64 << exp).min(MAX_DELAY_SECS)
    }

    /// Seconds to wait before `keys` may try again (the longest of them), 0 if free.
    pub fn wait_secs(&self, keys: &[&str]) -> i64 {
        let now = self.clock.now();
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| map.get(*k))
            .map(|f| (f.last + Self::delay_for(f.count) - now).max(0))
            .max()
            .unwrap_or(0)
    }

    pub fn fail(&self, keys: &[&str]) {
        let now = self.clock.now();
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, f| now - f.last < FORGET_AFTER_SECS);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        for k in keys {
            let e = map.entry(k.to_string()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now - e.last > FORGET_AFTER_SECS {
                e.count = 0;
            }
            e.count = e.count.saturating_add(1);
            e.last = now;
        }
    }

    pub fn succeed(&self, keys: &[&str]) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            map.remove(*k);
        }
    }
}

/// Whether a state-changing request comes from our own pages: `Sec-Fetch-Site` must be
/// same-origin (or none: typed by the user) and `Origin`, when sent, must name the host the
/// request was sent to. Requests with neither header come from scripts, not browsers.
pub fn same_origin(sec_fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> bool {
    if let Some(site) = sec_fetch_site
        && !matches!(site.trim(), "same-origin" | "none")
    {
        return false;
    }
    match origin {
        None => true,
        Some(o) => {
            let Some(host) = host else { return false };
            let o = o.trim();
            let authority = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"));
            matches!(authority, Some(a) if a.trim_end_matches('/').eq_ignore_ascii_case(host.trim()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip_and_phc_form() {
        let p = Passwords::new();
        let h = p.hash("correct horse");
        assert!(h.starts_with(CURRENT_HASH_PREFIX), "{h}");
        assert_eq!(p.verify("correct horse", Some(&h)), Verdict::Right);
        assert_eq!(p.verify("wrong horse", Some(&h)), Verdict::Wrong);
        assert_eq!(p.verify("correct horse", None), Verdict::Wrong);
        assert_eq!(p.verify("x", Some("garbage")), Verdict::Wrong);
    }

    #[test]
    fn original_sha256_hashes_are_accepted_once_and_upgraded() {
        let p = Passwords::new();
        let legacy = sha256_hex(b"admin123");
        match p.verify("admin123", Some(&legacy)) {
            Verdict::RightUpgrade(h) => assert!(h.starts_with("$argon2id$")),
            v => panic!("{v:?}"),
        }
        assert_eq!(p.verify("admin124", Some(&legacy)), Verdict::Wrong);
    }

    #[test]
    fn password_length_limits() {
        assert!(check_new_password("1234567").is_err());
        assert!(check_new_password("12345678").is_ok());
        assert!(check_new_password(&"x".repeat(1024)).is_ok());
        assert!(check_new_password(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn random_passwords_are_long_and_different() {
        let a = random_password();
        assert_eq!(a.len(), 23);
        assert!(check_new_password(&a).is_ok());
        assert_ne!(a, random_password());
    }

    #[test]
    fn session_ids_hash_and_reject_bad_shapes() {
        let (id, hash) = new_session_id();
        assert_eq!(id.len(), 64);
        assert_eq!(session_hash(&id), Some(hash));
        assert_eq!(session_hash("short"), None);
        assert_eq!(session_hash(&"z".repeat(64)), None);
    }

    #[test]
    fn throttle_delays_grow_then_cap_and_reset() {
        let clock = Clock::fake(1_000_000);
        let t = Throttle::new(clock.clone());
        for _ in 0..5 {
            assert_eq!(t.wait_secs(&["ip:1"]), 0);
            t.fail(&["ip:1"]);
        }
        assert_eq!(t.wait_secs(&["ip:1"]), 1);
        t.fail(&["ip:1"]);
        assert_eq!(t.wait_secs(&["ip:1"]), 2);
        for _ in 0..30 {
            t.fail(&["ip:1"]);
        }
        assert_eq!(t.wait_secs(&["ip:1", "user:x"]), 15 * 60);
        clock.advance(15 * 60);
        assert_eq!(t.wait_secs(&["ip:1"]), 0, "never a permanent lockout");
        t.succeed(&["ip:1"]);
        t.fail(&["ip:1"]);
        assert_eq!(t.wait_secs(&["ip:1"]), 0);
    }

    #[test]
    fn same_origin_rules() {
        assert!(same_origin(
            Some("same-origin"),
            Some("http://pi:8001"),
            Some("pi:8001")
        ));
        assert!(same_origin(None, None, Some("pi:8001")));
        assert!(same_origin(Some("none"), None, Some("pi:8001")));
        assert!(!same_origin(Some("cross-site"), None, Some("pi:8001")));
        assert!(!same_origin(
            Some("same-site"),
            Some("http://pi:8001"),
            Some("pi:8001")
        ));
        assert!(!same_origin(
            None,
            Some("http://evil.example"),
            Some("pi:8001")
        ));
        assert!(!same_origin(None, Some("null"), Some("pi:8001")));
        assert!(!same_origin(None, Some("http://pi:8001"), None));
        assert!(!same_origin(None, Some("http://pi:8002"), Some("pi:8001")));
    }
}
