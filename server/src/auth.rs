//! Passwords (argon2id), session ids, device cookies and login throttling.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};

use crate::clock::Clock;

/// Argon2 costs ~19 MiB and ~25 ms per hash: at most this many run at once.
const CONCURRENT_HASHES: usize = 2;
/// The prefix of a hash made with today's parameters; anything else is upgraded at login.
const CURRENT_HASH_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
/// Today's parameters decide the size of each hash's memory; stored hashes that need more are
/// refused rather than allowed to grow the server.
const SLOT_BLOCKS: usize = Params::DEFAULT.block_count();
/// Checked when the user does not exist, so unknown names cost the same time. The hash of a
/// random value that was never kept: no password matches it.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$CIT0Gm71ev1h9m+3CqqfIg$kiu8N5oY+dNvWHdPzRwDdFB3vNYuhL4A8ndjRZJF4H0";

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

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash should be replaced by this stronger one.
    RightUpgrade(String),
}

/// Password hashing with a cap on how many hashes run at once, each in memory kept for the
/// next. Left to allocate its own, argon2 frees 19 MiB after every hash, and glibc puts later
/// such blocks in a heap where they are neither reused nor trimmed: ~19 MiB more per login.
pub struct Passwords {
    slots: Mutex<Slots>,
    freed: Condvar,
}

#[derive(Default)]
struct Slots {
    idle: Vec<Box<[Block]>>,
    /// Allocated so far, idle or in use; never more than `CONCURRENT_HASHES`.
    made: usize,
}

/// One hash's memory, returned to the pool when dropped, even by a panic.
struct Slot<'a> {
    owner: &'a Passwords,
    blocks: Box<[Block]>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let blocks = std::mem::take(&mut self.blocks);
        lock(&self.owner.slots).idle.push(blocks);
        self.owner.freed.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for Passwords {
    fn default() -> Self {
        Passwords::new()
    }
}

impl Passwords {
    /// Allocates nothing: the memory comes with the first hashes, so a server nobody logs in
    /// to stays small.
    pub fn new() -> Passwords {
        Passwords {
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
        }
    }

    fn slot(&self) -> Slot<'_> {
        let mut slots = lock(&self.slots);
        loop {
            if let Some(blocks) = slots.idle.pop() {
                return Slot {
                    owner: self,
                    blocks,
                };
            }
            if slots.made < CONCURRENT_HASHES {
                // Under the lock: this happens at most CONCURRENT_HASHES times per process.
                let mut v = Vec::new();
                v.try_reserve_exact(SLOT_BLOCKS)
                    .expect("memory for one password hash");
                v.resize(SLOT_BLOCKS, Block::new());
                slots.made += 1;
                return Slot {
                    owner: self,
                    blocks: v.into_boxed_slice(),
                };
            }
            slots = self.freed.wait(slots).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// An argon2id PHC string with the OWASP parameters (19 MiB, t=2, p=1).
    pub fn hash(&self, pw: &str) -> String {
        let params = Params::DEFAULT;
        let salt = Salt::new(&random_bytes::<{ Salt::RECOMMENDED_LENGTH }>())
            .expect("a salt of the recommended length");
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(
                pw.as_bytes(),
                &salt,
                &mut out,
                &mut *self.slot().blocks,
            )
            .expect("argon2 with default parameters, a full slot and a 16-byte salt does not fail");
        PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).expect("the default parameters fit"),
            salt: Some(salt),
            hash: Some(Output::new(&out).expect("32 bytes is a valid output length")),
        }
        .to_string()
    }

    /// Whether `pw` matches a PHC string, as argon2's `verify_password` decides but in our
    /// memory. Hashes that do not parse, or need more memory than a slot has, match nothing.
    fn matches(&self, pw: &str, stored: &str) -> bool {
        let Ok(phc) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
            return false;
        };
        let Ok(version) = phc
            .version
            .map_or(Ok(Version::default()), Version::try_from)
        else {
            return false;
        };
        let Ok(params) = Params::try_from(&phc) else {
            return false;
        };
        if params.block_count() > SLOT_BLOCKS {
            println!(
                "event=password_hash_unsupported m_cost={} p_cost={} max_m_cost={}",
                params.m_cost(),
                params.p_cost(),
                Params::DEFAULT_M_COST
            );
            return false;
        }
        let mut buf = [0u8; Output::MAX_LENGTH];
        let out = &mut buf[..expected.len()];
        let done = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            pw.as_bytes(),
            &salt,
            &mut *out,
            &mut *self.slot().blocks,
        );
        done.is_ok() && lanstat_agent::token::constant_time_eq(out, expected.as_bytes())
    }

    /// Checks `pw` against a stored hash; `None` (unknown user) costs the same as a real check.
    /// Hashes from the original design (hex SHA-256) are accepted once and upgraded.
    pub fn verify(&self, pw: &str, stored: Option<&str>) -> Verdict {
        let Some(stored) = stored else {
            let _ = self.matches(pw, DUMMY_HASH);
            return Verdict::Wrong;
        };
        if stored.starts_with("$argon2") {
            return match (
                self.matches(pw, stored),
                stored.starts_with(CURRENT_HASH_PREFIX),
            ) {
                (false, _) => Verdict::Wrong,
                (true, true) => Verdict::Right,
                (true, false) => Verdict::RightUpgrade(self.hash(pw)),
            };
        }
        if stored.len() == 64 && stored.bytes().all(|b| b.is_ascii_hexdigit()) {
            // The original's unsalted SHA-256: equal time whatever the answer, then upgrade.
            let _ = self.matches(pw, DUMMY_HASH);
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

/// HMAC-SHA256 (RFC 2104), the agent library's, which signed requests use too.
pub use lanstat_agent::signing::hmac_sha256;

/// What a device cookie's MAC covers besides the user and the nonce, so no other MAC made
/// with the same key can pass for one.
const DEVICE_MAC_CONTEXT: &str = "lanstat device cookie v1";

fn device_mac(user_id: i64, nonce: &str, key: &[u8]) -> String {
    let message = format!("{DEVICE_MAC_CONTEXT}\n{user_id}\n{nonce}");
    hex(&hmac_sha256(key, message.as_bytes()))
}

/// A new device cookie's value for the user `user_id`: `<user id>.<nonce>.<MAC>`, the nonce
/// 128 random bits in hex and the MAC made with `key`, which only the server has (OWASP's
/// "device cookie": a browser that has logged in before is told apart from the rest).
pub fn new_device_cookie(user_id: i64, key: &[u8]) -> String {
    let nonce = hex(&random_bytes::<16>());
    let mac = device_mac(user_id, &nonce, key);
    format!("{user_id}.{nonce}.{mac}")
}

/// The device a cookie's value names, when it was made for `user_id` with `key`: its nonce,
/// which stands for the device in the throttle. Anything else (another user's cookie, another
/// key's, a changed one) names no device.
pub fn device_of(cookie_value: &str, user_id: i64, key: &[u8]) -> Option<String> {
    let mut parts = cookie_value.split('.');
    let (Some(user), Some(nonce), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let hex_of = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if user != user_id.to_string() || !hex_of(nonce, 32) || !hex_of(mac, 64) {
        return None;
    }
    let expected = device_mac(user_id, &nonce.to_ascii_lowercase(), key);
    lanstat_agent::token::constant_time_eq(expected.as_bytes(), mac.to_ascii_lowercase().as_bytes())
        .then(|| nonce.to_ascii_lowercase())
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
    /// Unix milliseconds of the last attempt: whole seconds would let an attempt just after
    /// a second boundary through a one-second wait at once.
    last: i64,
}

const FREE_FAILURES: u32 = 5;
const MAX_DELAY_SECS: i64 = 15 * 60;
/// Entries older than this (milliseconds) are forgotten, and the map is capped.
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;
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

    /// Seconds to wait before `keys` may try again (the longest of them, rounded up), 0 if free.
    pub fn wait_secs(&self, keys: &[&str]) -> i64 {
        let now = self.clock.now_ms();
        Self::wait_in(&lock(&self.entries), keys, now)
    }

    fn wait_in(map: &HashMap<String, Failures>, keys: &[&str], now_ms: i64) -> i64 {
        let wait_ms = keys
            .iter()
            .filter_map(|k| map.get(*k))
            .map(|f| (f.last + Self::delay_for(f.count) * 1000 - now_ms).max(0))
            .max()
            .unwrap_or(0);
        (wait_ms + 999) / 1000
    }

    /// Admits one attempt for `keys`, counted as a failure before it is judged (a success
    /// clears it with [`Throttle::succeed`]); `Err` holds the seconds to wait. Checking and
    /// counting under one lock is what lets an open window admit one guess, not every request
    /// that arrives while the first is still being verified.
    pub fn reserve(&self, keys: &[&str]) -> Result<(), i64> {
        let now = self.clock.now_ms();
        let mut map = lock(&self.entries);
        match Self::wait_in(&map, keys, now) {
            0 => {
                Self::count_in(&mut map, keys, now);
                Ok(())
            }
            wait => Err(wait),
        }
    }

    /// Counts a failure without asking: tests use it to reach long delays.
    #[cfg(test)]
    fn fail(&self, keys: &[&str]) {
        let now = self.clock.now_ms();
        Self::count_in(&mut lock(&self.entries), keys, now);
    }

    fn count_in(map: &mut HashMap<String, Failures>, keys: &[&str], now: i64) {
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, f| now - f.last < FORGET_AFTER_MS);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        for k in keys {
            let e = map.entry(k.to_string()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now - e.last > FORGET_AFTER_MS {
                e.count = 0;
            }
            e.count = e.count.saturating_add(1);
            e.last = now;
        }
    }

    pub fn succeed(&self, keys: &[&str]) {
        let mut map = lock(&self.entries);
        for k in keys {
            map.remove(*k);
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
    fn hashes_stored_by_argon2s_own_hasher_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let p = Passwords::new();
        let stored = Argon2::default()
            .hash_password(b"stored before")
            .unwrap()
            .to_string();
        assert_eq!(p.verify("stored before", Some(&stored)), Verdict::Right);
        assert_eq!(p.verify("stored after", Some(&stored)), Verdict::Wrong);
    }

    #[test]
    fn our_hashes_verify_with_argon2s_own_verifier() {
        use argon2::password_hash::PasswordVerifier;
        let h = Passwords::new().hash("made here");
        assert!(
            Argon2::default()
                .verify_password(b"made here", h.as_str())
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"made there", h.as_str())
                .is_err()
        );
    }

    #[test]
    fn older_argon2_parameters_are_upgraded() {
        use argon2::password_hash::PasswordHasher;
        let p = Passwords::new();
        for (algorithm, version) in [
            (Algorithm::Argon2id, Version::V0x13),
            (Algorithm::Argon2i, Version::V0x10),
        ] {
            let old = Argon2::new(algorithm, version, Params::new(4096, 3, 1, None).unwrap())
                .hash_password(b"old params")
                .unwrap()
                .to_string();
            let Verdict::RightUpgrade(new) = p.verify("old params", Some(&old)) else {
                panic!("{old} was not upgraded");
            };
            assert!(new.starts_with(CURRENT_HASH_PREFIX), "{new}");
            assert_eq!(p.verify("old params", Some(&new)), Verdict::Right);
            assert_eq!(p.verify("new params", Some(&old)), Verdict::Wrong);
        }
    }

    #[test]
    fn hashes_needing_more_memory_than_a_slot_are_refused() {
        use argon2::password_hash::PasswordHasher;
        let big = Params::new(2 * Params::DEFAULT_M_COST, 1, 1, None).unwrap();
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, big)
            .hash_password(b"right but too big")
            .unwrap()
            .to_string();
        let p = Passwords::new();
        assert_eq!(p.verify("right but too big", Some(&stored)), Verdict::Wrong);
        assert_eq!(
            lock(&p.slots).made,
            0,
            "refused before any memory was taken"
        );
    }

    #[test]
    fn the_dummy_hash_costs_what_a_current_hash_costs() {
        assert!(DUMMY_HASH.starts_with(CURRENT_HASH_PREFIX));
        let phc = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(Params::try_from(&phc).unwrap().block_count(), SLOT_BLOCKS);
    }

    #[test]
    fn memory_is_allocated_on_first_use_and_reused() {
        let p = Passwords::new();
        assert_eq!(lock(&p.slots).made, 0, "nothing allocated at start");
        let h = p.hash("reused memory");
        std::thread::scope(|s| {
            for i in 0..6 {
                let (p, h) = (&p, &h);
                s.spawn(move || {
                    let pw = if i % 2 == 0 { "reused memory" } else { "other" };
                    let want = if i % 2 == 0 {
                        Verdict::Right
                    } else {
                        Verdict::Wrong
                    };
                    assert_eq!(p.verify(pw, Some(h)), want);
                });
            }
        });
        let slots = lock(&p.slots);
        assert!(
            (1..=CONCURRENT_HASHES).contains(&slots.made),
            "{}",
            slots.made
        );
        assert_eq!(slots.idle.len(), slots.made, "every slot came back");
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
    fn random_passwords_are_long_and_different() {
        let a = random_password();
        assert_eq!(a.len(), 23);
        assert!(crate::model::values::NewPassword::parse(&a).is_ok());
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
    fn a_device_cookie_names_its_device_only_for_its_user_and_key() {
        let key = b"the stored secret";
        let cookie = new_device_cookie(7, key);
        let nonce = device_of(&cookie, 7, key).expect("a fresh cookie names its device");
        assert_eq!(nonce.len(), 32);
        assert_ne!(cookie, new_device_cookie(7, key), "each is new");
        assert_eq!(device_of(&cookie.to_ascii_uppercase(), 7, key), Some(nonce));
        assert_eq!(device_of(&cookie, 8, key), None, "another user");
        assert_eq!(device_of(&cookie, 7, b"another key"), None);
        let (user, rest) = cookie.split_once('.').unwrap();
        let flipped = |i: usize| {
            let mut b = rest.as_bytes().to_vec();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            format!("{user}.{}", String::from_utf8(b).unwrap())
        };
        assert_eq!(device_of(&flipped(0), 7, key), None, "a changed nonce");
        assert_eq!(
            device_of(&flipped(rest.len() - 1), 7, key),
            None,
            "a changed MAC"
        );
        let forged_user = format!("8.{rest}");
        assert_eq!(device_of(&forged_user, 8, key), None, "another user's name");
        for bad in [
            "",
            "7",
            "7..",
            &format!("{cookie}.x"),
            &cookie[..cookie.len() - 1],
        ] {
            assert_eq!(device_of(bad, 7, key), None, "{bad:?}");
        }
    }

    /// A throttle on a fake clock, and the clock.
    fn throttle() -> (Clock, Throttle) {
        let clock = Clock::fake(1_000_000);
        (clock.clone(), Throttle::new(clock))
    }

    #[test]
    fn throttle_delays_grow_then_cap_and_reset() {
        let (clock, t) = throttle();
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
    fn a_one_second_wait_is_not_cut_short_by_a_second_boundary() {
        let (clock, t) = throttle();
        clock.advance_ms(999);
        for _ in 0..5 {
            assert_eq!(t.reserve(&["ip:1"]), Ok(()));
        }
        clock.advance_ms(2);
        assert_eq!(t.reserve(&["ip:1"]), Err(1), "2 ms after the fifth failure");
        clock.advance_ms(997);
        assert_eq!(t.reserve(&["ip:1"]), Err(1));
        clock.advance_ms(1);
        assert_eq!(t.reserve(&["ip:1"]), Ok(()), "a whole second later");
    }

    #[test]
    fn reserve_counts_the_attempt_before_it_is_judged() {
        let (clock, t) = throttle();
        let keys = ["ip:1", "user:ann"];
        for _ in 0..5 {
            assert_eq!(t.reserve(&keys), Ok(()));
        }
        assert_eq!(
            t.reserve(&keys),
            Err(1),
            "five unjudged attempts count as failures"
        );
        assert_eq!(t.reserve(&["user:ann"]), Err(1), "each key on its own");
        clock.advance(1);
        assert_eq!(t.reserve(&keys), Ok(()));
        assert_eq!(
            t.wait_secs(&keys),
            2,
            "the admitted attempt counted at once"
        );
        t.succeed(&keys);
        assert_eq!(t.reserve(&keys), Ok(()), "a success clears the count");
        assert_eq!(t.wait_secs(&keys), 0);
    }

    #[test]
    fn an_open_window_admits_one_of_many_parallel_attempts() {
        let (clock, t) = throttle();
        let keys = ["ip:1", "user:ann"];
        for _ in 0..5 {
            t.fail(&keys);
        }
        clock.advance(1);
        assert_eq!(t.wait_secs(&keys), 0, "the window is open");
        let start = std::sync::Barrier::new(16);
        let admitted: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        t.reserve(&keys)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            admitted.iter().filter(|r| r.is_ok()).count(),
            1,
            "{admitted:?}"
        );
        assert!(
            admitted.iter().all(|r| matches!(r, Ok(()) | Err(2))),
            "{admitted:?}"
        );
    }
}
