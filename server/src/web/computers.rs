//! Computers: the cards' data, and adding, editing, removing and testing agents.

use std::sync::{Arc, Mutex};

use lanstat_http::{Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::{ApiError, Call, Fields};
use crate::App;
use crate::live::LiveEntry;
use crate::model::{Computer, ComputerInput, Firing, Kind};
use crate::store::{self, Durability};
use crate::{agents, alerts};

/// A computer as the API shows it: never the token, only its last four characters. The
/// latest answer's figures follow in the same object, absent until the first one; they were
/// written when the answer arrived (`LiveEntry::card_fields`), so a dashboard of a thousand
/// hosts does not serialize a thousand answers on every refresh.
#[derive(Serialize)]
struct Head<'a> {
    id: i64,
    name: &'a str,
    url: Option<&'a str>,
    kind: Kind,
    enabled: bool,
    status: &'static str,
    status_reason: Option<&'a str>,
    status_changed_at: Option<i64>,
    last_seen: Option<i64>,
    token_hint: Option<String>,
    /// Firing alerts (rule, kind, target, since, value).
    alerts: Vec<&'a Firing>,
}

/// Appends a computer's JSON object to `out`.
fn write_view(
    out: &mut Vec<u8>,
    c: &Computer,
    live: Option<&LiveEntry>,
    firing: &[Firing],
) -> Result<(), ApiError> {
    let head = Head {
        id: c.id,
        name: &c.name,
        url: (c.kind != Kind::Local).then_some(c.url.as_str()),
        kind: c.kind,
        enabled: c.enabled,
        status: c.status.as_str(),
        status_reason: c.status_reason.as_deref(),
        status_changed_at: c.status_changed_at,
        last_seen: c.last_seen,
        token_hint: token_hint(&c.token),
        alerts: firing.iter().filter(|f| f.computer_id == c.id).collect(),
    };
    serde_json::to_writer(&mut *out, &head)
        .map_err(|e| ApiError::Internal(format!("cannot encode computer {}: {e}", c.id)))?;
    if let Some(fields) = live.map(|l| &l.card_fields).filter(|f| !f.is_empty()) {
        // Open the object again after its last member and add the figures' members.
        out.pop();
        out.push(b',');
        out.extend_from_slice(fields.as_bytes());
        out.push(b'}');
    }
    Ok(())
}

/// One computer as a JSON response.
fn view_reply(
    status: StatusCode,
    c: &Computer,
    live: Option<&LiveEntry>,
    firing: &[Firing],
) -> Result<Response, ApiError> {
    let mut out = Vec::with_capacity(2048);
    write_view(&mut out, c, live, firing)?;
    Ok(Response::bytes(status, "application/json", out))
}

fn token_hint(token: &str) -> Option<String> {
    let n = token.chars().count();
    (n >= 8).then(|| format!("…{}", token.chars().skip(n - 4).collect::<String>()))
}

/// The last `/api/computers` body and the database and live generations it was built from.
/// A dashboard refreshes at the poll interval, and several may be open, while what they show
/// changes only when a round stores its answers or someone edits: between those, every
/// request is answered from here.
#[derive(Default)]
pub struct ListCache(Mutex<Option<(Generations, Arc<Vec<u8>>)>>);

/// `(Store::generation, Live::generation)`.
type Generations = (u64, u64);

impl ListCache {
    fn get(&self, now: Generations) -> Option<Arc<Vec<u8>>> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(built, _)| *built == now)
            .map(|(_, body)| Arc::clone(body))
    }

    fn put(&self, built: Generations, body: Arc<Vec<u8>>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((built, body));
    }
}

pub fn list(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    // Read before what they guard: a change made meanwhile moves them past what is cached.
    let now = (app.store.generation(), app.live.generation());
    let body = match app.computers_list.get(now) {
        Some(body) => body,
        None => {
            let body = Arc::new(list_json(app)?);
            app.computers_list.put(now, Arc::clone(&body));
            body
        }
    };
    Ok(Response::bytes(
        StatusCode::OK,
        "application/json",
        body.to_vec(),
    ))
}

fn list_json(app: &App) -> Result<Vec<u8>, ApiError> {
    let (computers, firing) = app.store.read(|c| {
        Ok((
            store::computers::list(c, app.config.local)?,
            store::alerts::firing(c)?,
        ))
    })?;
    let live = app.live.snapshot();
    let rows: Vec<_> = computers.iter().map(|c| (c, live.get(&c.id))).collect();
    // Sized up front, so a large list is not copied as it grows: a computer's own fields take
    // a few hundred bytes.
    let size: usize = rows
        .iter()
        .map(|(_, l)| 512 + l.map_or(0, |l| l.card_fields.len()))
        .sum();
    let mut out = Vec::with_capacity(size + 2);
    out.push(b'[');
    for (i, (c, l)) in rows.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_view(&mut out, c, l, &firing)?;
    }
    out.push(b']');
    Ok(out)
}

pub fn get(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let c = find(app, call.id())?;
    let firing = app.store.read(store::alerts::firing)?;
    let live = app.live.get(c.id);
    view_reply(StatusCode::OK, &c, live.as_ref(), &firing)
}

fn find(app: &App, id: i64) -> Result<Computer, ApiError> {
    let c = app
        .store
        .read(|conn| store::computers::get(conn, id))
        .map_err(|e| match e {
            store::StoreError::NotFound => ApiError::NotFound(format!("no computer with id {id}")),
            e => e.into(),
        })?;
    if c.kind == Kind::Local && !app.config.local {
        return Err(ApiError::NotFound(format!("no computer with id {id}")));
    }
    Ok(c)
}

/// Checks a name: 1–64 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err(ApiError::Invalid(
            "name".into(),
            "give the computer a name".into(),
        ));
    }
    if n > 64 {
        return Err(ApiError::Invalid(
            "name".into(),
            "the name must be at most 64 characters".into(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::Invalid(
            "name".into(),
            "the name cannot hold control characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// Checks an agent URL: http or https, with a host, no credentials, no query.
pub fn check_url(url: &str) -> Result<String, ApiError> {
    let bad = |m: &str| ApiError::Invalid("url".into(), m.to_string());
    let url = url.trim();
    if url.is_empty() {
        return Err(bad(
            "enter the agent's address, such as http://raspberrypi.local:8000",
        ));
    }
    if url.len() > 2048 {
        return Err(bad("the address is too long"));
    }
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if let Some(r) = url.strip_prefix("https://") {
        r
    } else {
        return Err(bad("the address must start with http:// or https://"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad(
            "the address must not hold a user name or password; the token is entered apart",
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => return Err(bad("the IPv6 address needs its closing ]")),
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the address needs a host name or IP address"));
    }
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(p) if p > 0)
    {
        return Err(bad("the port must be a number from 1 to 65535"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("the address must not have a query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn check_token(token: &str) -> Result<String, ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::Invalid(
            "token".into(),
            "enter the token the agent printed when it started".into(),
        ));
    }
    if token.len() > 256 || token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::Invalid(
            "token".into(),
            "the token must be one word of at most 256 characters".into(),
        ));
    }
    Ok(token.to_string())
}

fn input_from(fields: &Fields, current: Option<&Computer>) -> Result<ComputerInput, ApiError> {
    let name = match (fields.text("name")?, current) {
        (Some(n), _) => check_name(&n)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => check_name("")?,
    };
    let url = match (fields.text("url")?, current) {
        (_, Some(c)) if c.kind == Kind::Local => c.url.clone(),
        (Some(u), _) => check_url(&u)?,
        (None, Some(c)) => c.url.clone(),
        (None, None) => check_url("")?,
    };
    let token = match (fields.text("token")?, current) {
        (Some(t), Some(_)) if t.trim().is_empty() => None, // empty on edit: keep the stored one
        (Some(t), _) => Some(check_token(&t)?),
        (None, Some(_)) => None,
        (None, None) => Some(check_token("")?),
    };
    let enabled = fields
        .flag("enabled")?
        .unwrap_or(current.map(|c| c.enabled).unwrap_or(true));
    Ok(ComputerInput {
        name,
        url,
        token,
        enabled,
    })
}

/// `POST /api/add_computer` (and `/api/computers`): `name`, `url`, `token`, as JSON or a form.
pub fn add(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let input = input_from(&fields, None)?;
    let now = app.clock.now();
    let c = app.store.write(Durability::Durable, move |tx| {
        store::computers::add(tx, &input, now)
    })?;
    println!(
        "event=computer_added computer_id={} name={:?}",
        c.id, c.name
    );
    view_reply(StatusCode::CREATED, &c, None, &[])
}

/// `PUT`/`PATCH /api/computers/<id>`: any of `name`, `url`, `token` (empty keeps it), `enabled`.
pub fn update(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let current = find(app, call.id())?;
    let input = input_from(&fields, Some(&current))?;
    let id = current.id;
    let now = app.clock.now();
    let pausing = current.enabled && !input.enabled;
    let (c, rules, ended) = app.store.write(Durability::Durable, move |tx| {
        let (rules, ended) = if pausing {
            let rules = store::alerts::list_rules(tx)?;
            let why = "monitoring of the computer was paused";
            let ended = alerts::end_firing(tx, &rules, Some(id), why, now)?;
            (rules, ended)
        } else {
            Default::default()
        };
        Ok((store::computers::update(tx, id, &input)?, rules, ended))
    })?;
    alerts::notify_ended(app, &rules, &ended);
    if c.url != current.url || c.token != current.token {
        app.live.remove(id); // the next rate must not mix two agents' counters
    }
    let live = app.live.get(id);
    view_reply(StatusCode::OK, &c, live.as_ref(), &[])
}

/// `DELETE /api/computers/<id>`: the computer and its history.
pub fn delete(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let c = find(app, call.id())?;
    let id = c.id;
    let now = app.clock.now();
    // Its firing alerts end with a message; their events go with its history.
    let (rules, ended) = app.store.write(Durability::Durable, move |tx| {
        let rules = store::alerts::list_rules(tx)?;
        let why = "the computer was removed";
        let ended = alerts::end_firing(tx, &rules, Some(id), why, now)?;
        store::computers::delete(tx, id)?;
        Ok((rules, ended))
    })?;
    alerts::notify_ended(app, &rules, &ended);
    app.live.remove(id);
    println!("event=computer_removed computer_id={id}");
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": id }),
    ))
}

/// `POST /api/test_connection` with `url` and `token` (or `id` of a saved computer, whose
/// stored token is used when none is given): polls once and says what came back.
pub fn test_connection(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let saved = match fields.text("id")? {
        Some(id) => {
            let id: i64 = id
                .parse()
                .map_err(|_| ApiError::Invalid("id".into(), "id must be a number".into()))?;
            Some(find(app, id)?)
        }
        None => None,
    };
    let url = match (fields.text("url")?, &saved) {
        (Some(u), _) if !u.trim().is_empty() => check_url(&u)?,
        (_, Some(c)) => c.url.clone(),
        _ => check_url("")?,
    };
    let token = match (fields.text("token")?, &saved) {
        (Some(t), _) if !t.trim().is_empty() => check_token(&t)?,
        (_, Some(c)) => c.token.clone(),
        _ => check_token("")?,
    };
    let started = std::time::Instant::now();
    let result = agents::fetch(&app.poll_client, &url, &token);
    let ms = started.elapsed().as_millis() as u64;
    let body = match result {
        Ok(info) => json!({
            "ok": true,
            "status": "online",
            "elapsed_ms": ms,
            "hostname": info.hostname,
            "system": info.system,
            "os_version": info.os_version,
            "agent_version": info.agent_version,
            "cpu_percent": info.cpu_percent,
            "memory": info.memory,
            "disk": info.disk,
            "message": format!("Connected: {} answered in {ms} ms", info.hostname),
        }),
        Err((status, reason)) => json!({
            "ok": false,
            "status": status.as_str(),
            "elapsed_ms": ms,
            "reason": reason,
            "message": format!("Could not read the agent: {reason}"),
        }),
    };
    Ok(Response::json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        for ok in [
            "http://pi:8000",
            "https://nas.lan",
            "http://192.168.1.5:8000/",
            "http://[fe80::1]:8000",
            "http://pi:8000/systeminfo",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "pi:8000",
            "ftp://pi",
            "http://",
            "http://:8000",
            "http://user:pw@pi",
            "http://pi:99999",
            "http://pi:0",
            "http://p i",
            "http://pi?x=1",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert_eq!(check_url(" http://pi:8000/ ").unwrap(), "http://pi:8000");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("").is_err());
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name("a\u{7}b").is_err());
        assert_eq!(check_name(" Living-room Pi ").unwrap(), "Living-room Pi");
        assert!(check_name(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn tokens_are_checked_and_hinted() {
        assert!(check_token("").is_err());
        assert!(check_token("two words").is_err());
        assert_eq!(
            token_hint("a79a6575-3178-44fa-8ed0-48581ae5caec").as_deref(),
            Some("…caec")
        );
        assert_eq!(token_hint("short"), None);
    }
}
