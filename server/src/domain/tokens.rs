//! Read-only API tokens, for scripts, Home Assistant and Prometheus: their form, how they are
//! made, checked, listed and revoked. The web handlers and the `token` command both use this.
//!
//! A token is `lst_` and 64 hex digits (256 random bits). The store keeps its SHA-256 and
//! its first [`PREFIX_LEN`] characters; the token itself is shown once and never again.
//! A token may only read: `GET` on the routes marked `Reader` in the route table.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::auth::{hex, random_bytes};
use crate::clock::Clock;
use crate::domain::{Error, Result};
use crate::model::ApiToken;
use crate::model::values::Name;
use crate::store::{self, Durability, Store, StoreError};

const SCHEME: &str = "lst_";
/// Characters of a token kept to tell tokens apart: `lst_` and 8 hex digits (32 of 256 bits).
pub const PREFIX_LEN: usize = 12;
/// A token's last-used time is written at most this often.
pub const TOUCH_SECS: i64 = 60;
/// More tokens than this is a mistake or a runaway script.
pub const MAX_TOKENS: i64 = 200;

/// A new token and its stored hash.
pub fn generate() -> (String, Vec<u8>) {
    let token = format!("{SCHEME}{}", hex(&random_bytes::<32>()));
    let hash = digest(&token);
    (token, hash)
}

/// The stored form of a token, if `given` has a token's shape.
///
/// SHA-256 and not argon2: a token carries 256 random bits, so no dictionary or brute force
/// can reach it and a slow hash would only slow every request. Equality is tested by SQLite
/// on the whole digest, so a guess learns nothing from timing.
pub fn hash_of(given: &str) -> Option<Vec<u8>> {
    let hexpart = given.strip_prefix(SCHEME)?;
    (hexpart.len() == 64
        && hexpart
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then(|| digest(given))
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The name of a token, checked: what an empty one is told.
pub fn name(s: &str) -> std::result::Result<Name, crate::model::Invalid> {
    Name::parse(
        s,
        "give the token a name, such as prometheus or home-assistant",
    )
}

pub struct Tokens {
    store: Arc<Store>,
    clock: Clock,
}

impl Tokens {
    pub fn new(store: Arc<Store>, clock: Clock) -> Tokens {
        Tokens { store, clock }
    }

    pub fn list(&self) -> Result<Vec<ApiToken>> {
        Ok(self.store.read(store::tokens::list)?)
    }

    /// Makes a token named `name` for `created_by` (a user id; `None` from the command
    /// line). Returns the stored record and the token, which is never available again.
    /// Nothing is logged here: the command prints the token first, alone on its line.
    pub fn create(&self, name: Name, created_by: Option<i64>) -> Result<(ApiToken, String)> {
        let (token, hash) = generate();
        let prefix = token[..PREFIX_LEN].to_string();
        let now = self.clock.now();
        let record = self.store.durable(move |tx| {
            if store::tokens::count(tx)? >= MAX_TOKENS {
                return Err(StoreError::Refused(format!(
                    "there are {MAX_TOKENS} tokens already; revoke some first"
                )));
            }
            store::tokens::create(tx, &name, &hash, &prefix, created_by, now)
        })?;
        Ok((record, token))
    }

    /// Revokes a token by id: it stops working at once.
    pub fn revoke(&self, id: i64) -> Result<ApiToken> {
        let gone = self
            .store
            .durable(move |tx| store::tokens::delete(tx, id))
            .map_err(Error::not_found("token", id))?;
        Ok(gone)
    }

    /// The token named `name`, or else the one whose id `name` spells.
    pub fn find(&self, name_or_id: &str) -> Result<Option<ApiToken>> {
        if let Some(t) = self
            .store
            .read(|c| store::tokens::find_by_name(c, name_or_id))?
        {
            return Ok(Some(t));
        }
        match name_or_id.parse::<i64>() {
            Ok(id) if id > 0 => match self.store.read(|c| store::tokens::get(c, id)) {
                Ok(t) => Ok(Some(t)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            },
            _ => Ok(None),
        }
    }

    /// The token a request presents, if it is a live one. Its last-used time is written at
    /// most once per [`TOUCH_SECS`], with relaxed durability: losing one to a power cut is
    /// harmless.
    pub fn authenticate(&self, given: &str) -> Option<ApiToken> {
        let hash = hash_of(given)?;
        let token = self
            .store
            .read(|c| store::tokens::find_by_hash(c, &hash))
            .ok()??;
        let now = self.clock.now();
        if token.last_used_at.is_none_or(|t| now - t >= TOUCH_SECS) {
            let id = token.id;
            let _ = self.store.write(Durability::Relaxed, move |tx| {
                store::tokens::touch(tx, id, now)
            });
        }
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_shape() {
        let (t, h) = generate();
        assert_eq!(t.len(), 4 + 64);
        assert!(t.starts_with("lst_"));
        assert_eq!(hash_of(&t), Some(h));
        assert_ne!(generate().0, t);
        let upper = format!("lst_{}", t[4..].to_ascii_uppercase());
        for bad in [
            "",
            "lst_",
            &t[..67],
            &format!("{t}0"),
            &t[4..],
            &format!("LST_{}", &t[4..]),
            &upper,
            &format!("lst_{}", "g".repeat(64)),
            &format!("lst_{}", "é".repeat(32)),
        ] {
            assert_eq!(hash_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(&*name("  grafana ").unwrap(), "grafana");
        assert!(
            name("")
                .unwrap_err()
                .message
                .contains("give the token a name")
        );
        assert!(name("   ").is_err());
        assert!(name(&"x".repeat(65)).is_err());
        assert!(name(&"é".repeat(64)).is_ok());
        assert!(name("a\nb").is_err());
    }
}
