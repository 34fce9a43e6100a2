//! Read-only API tokens, for scripts, Home Assistant and Prometheus: their form, how they are
//! made, checked, listed and revoked. The web handlers and the `token` command both use this.
//!
//! A token is `lst_` and 64 hex digits (256 random bits). The store keeps its SHA-256 and
//! its first [`PREFIX_LEN`] characters; the token itself is shown once and never again.
//! A token may only read: `GET` on the routes marked `Reader` in the route table.

use sha2::{Digest, Sha256};

use std::fmt::Write;

use crate::auth::{hex, random_bytes};
use crate::config::TokenAction;
use crate::model::ApiToken;
use crate::store::{self, Durability, StoreError};
use crate::{App, Error};

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

/// Why a token name is refused, in words for the person typing it.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err("give the token a name, such as prometheus or home-assistant".into());
    }
    if n > 64 {
        return Err("the name must be at most 64 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the name cannot hold control characters".into());
    }
    Ok(name.to_string())
}

/// Why a token could not be made.
#[derive(Debug)]
pub enum CreateError {
    /// The name is not acceptable, and why.
    Name(String),
    Store(StoreError),
}

impl From<StoreError> for CreateError {
    fn from(e: StoreError) -> CreateError {
        CreateError::Store(e)
    }
}

/// Makes a token named `name` for `created_by` (a user id; `None` from the command line).
/// Returns the stored record and the token, which is never available again.
pub fn create(
    app: &App,
    name: &str,
    created_by: Option<i64>,
) -> Result<(ApiToken, String), CreateError> {
    let name = check_name(name).map_err(CreateError::Name)?;
    let (token, hash) = generate();
    let prefix = token[..PREFIX_LEN].to_string();
    let now = app.clock.now();
    let record = app.store.write(Durability::Durable, move |tx| {
        if store::tokens::count(tx)? >= MAX_TOKENS {
            return Err(StoreError::Refused(format!(
                "there are {MAX_TOKENS} tokens already; revoke some first"
            )));
        }
        store::tokens::create(tx, &name, &hash, &prefix, created_by, now)
    })?;
    Ok((record, token))
}

/// Revokes a token by id.
pub fn revoke(app: &App, id: i64) -> Result<ApiToken, StoreError> {
    app.store
        .write(Durability::Durable, move |tx| store::tokens::delete(tx, id))
}

/// The token named `name`, or else the one whose id `name` spells.
pub fn find(app: &App, name_or_id: &str) -> Result<Option<ApiToken>, StoreError> {
    if let Some(t) = app
        .store
        .read(|c| store::tokens::find_by_name(c, name_or_id))?
    {
        return Ok(Some(t));
    }
    match name_or_id.parse::<i64>() {
        Ok(id) if id > 0 => match app.store.read(|c| store::tokens::get(c, id)) {
            Ok(t) => Ok(Some(t)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        },
        _ => Ok(None),
    }
}

/// The token a request presents, if it is a live one. Its last-used time is written at most
/// once per [`TOUCH_SECS`], with relaxed durability: losing one to a power cut is harmless.
pub fn authenticate(app: &App, given: &str) -> Option<ApiToken> {
    let hash = hash_of(given)?;
    let token = app
        .store
        .read(|c| store::tokens::find_by_hash(c, &hash))
        .ok()??;
    let now = app.clock.now();
    if token.last_used_at.is_none_or(|t| now - t >= TOUCH_SECS) {
        let id = token.id;
        let _ = app.store.write(Durability::Relaxed, move |tx| {
            store::tokens::touch(tx, id, now)
        });
    }
    Some(token)
}

/// Runs `lanstat-server token …` and returns what to print.
pub fn command(app: &App, action: TokenAction) -> Result<String, Error> {
    match action {
        TokenAction::Create(name) => {
            let (record, token) = create(app, &name, None).map_err(|e| match e {
                CreateError::Name(why) => Error::Usage(why),
                CreateError::Store(e) => Error::Store(e),
            })?;
            Ok(format!(
                "{token}\nThis is the read-only API token {:?} (id {}). It is shown only this once:\n\
                 keep it in your Prometheus, script or Home Assistant configuration.\n",
                record.name, record.id
            ))
        }
        TokenAction::List => {
            let list = app.store.read(store::tokens::list)?;
            if list.is_empty() {
                return Ok("no API tokens\n".into());
            }
            let width = list
                .iter()
                .map(|t| t.name.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let mut out = format!(
                "{:>4}  {:<width$}  {:<12}  {:<17}  {:<17}  by\n",
                "id", "name", "prefix", "created (UTC)", "last used (UTC)"
            );
            for t in list {
                let _ = writeln!(
                    out,
                    "{:>4}  {:<width$}  {:<12}  {:<17}  {:<17}  {}",
                    t.id,
                    t.name,
                    format!("{}…", t.prefix),
                    utc(t.created_at),
                    t.last_used_at.map(utc).unwrap_or_else(|| "never".into()),
                    t.created_by.as_deref().unwrap_or("(command line)")
                );
            }
            Ok(out)
        }
        TokenAction::Revoke(which) => {
            let t = find(app, &which)?
                .ok_or_else(|| Error::Other(format!("no API token named {which:?}")))?;
            revoke(app, t.id)?;
            Ok(format!(
                "revoked the API token {:?} (id {}); it no longer works\n",
                t.name, t.id
            ))
        }
    }
}

/// Unix seconds as `2025-01-31 23:59` in UTC.
fn utc(secs: i64) -> String {
    let (y, m, d, h, mi, _) = crate::clock::utc_fields(secs);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}")
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
    fn times_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc(1_735_689_599), "2024-12-31 23:59");
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  grafana "), Ok("grafana".into()));
        assert!(check_name("").is_err());
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name(&"é".repeat(64)).is_ok());
        assert!(check_name("a\nb").is_err());
    }
}
