//! Computers: the cards' data, and adding, editing, removing and testing agents.

use std::sync::{Arc, Mutex};

use lanstat_http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Web;
use super::input::{Field, Flag, Text};
use super::{ApiError, Call};
use crate::domain::{
    self,
    computers::{Card, Cards, Latest, TestTarget},
};
use crate::model::computer::ASK_NAME;
use crate::model::values::{AgentToken, AgentUrl, Name};
use crate::model::{Computer, ComputerEdit, Firing, Kind, NewComputer, PollFailure};

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
    live: Option<&Latest>,
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
fn view_reply(status: StatusCode, card: &Card) -> Result<Response, ApiError> {
    let mut out = Vec::with_capacity(2048);
    write_view(&mut out, &card.computer, card.latest.as_ref(), &card.firing)?;
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

pub fn list(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    // Read before what it guards: a change made meanwhile moves it past what is cached.
    let now = app.computers.generation();
    let body = match app.computers_list.get(now) {
        Some(body) => body,
        None => {
            let body = Arc::new(list_json(&app.computers.cards()?)?);
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

fn list_json(cards: &Cards) -> Result<Vec<u8>, ApiError> {
    let rows: Vec<_> = cards
        .computers
        .iter()
        .map(|c| (c, cards.latest.get(&c.id)))
        .collect();
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
        write_view(&mut out, c, l, &cards.firing)?;
    }
    out.push(b']');
    Ok(out)
}

pub fn get(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let card = app.computers.card(call.id())?;
    view_reply(StatusCode::OK, &card)
}

/// A computer as sent: `name`, `url`, `token` (empty keeps the stored one), `enabled`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ComputerBody {
    name: Field<Text>,
    url: Field<Text>,
    token: Field<Text>,
    enabled: Field<Flag>,
}

impl ComputerBody {
    fn edit(self) -> domain::Result<ComputerEdit> {
        Ok(ComputerEdit {
            name: self.name.patch("name", |n| Name::parse(n, ASK_NAME))?,
            url: self.url.patch("url", AgentUrl::parse)?,
            token: self.token.blank_keeps().patch("token", AgentToken::parse)?,
            enabled: self.enabled.patch("enabled")?,
        })
    }
}

/// `POST /api/add_computer` (and `/api/computers`): `name`, `url`, `token`, as JSON or a form.
pub fn add(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let new = NewComputer::from_edit(call.input::<ComputerBody>()?.edit()?)?;
    let c = app.computers.add(new)?;
    view_reply(
        StatusCode::CREATED,
        &Card {
            computer: c,
            latest: None,
            firing: Vec::new(),
        },
    )
}

/// `PUT`/`PATCH /api/computers/<id>`: any of `name`, `url`, `token` (empty keeps it), `enabled`.
pub fn update(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let edit = call.input::<ComputerBody>()?.edit()?;
    let card = app.computers.update(call.id(), edit)?;
    view_reply(StatusCode::OK, &card)
}

/// `DELETE /api/computers/<id>`: the computer and its history.
pub fn delete(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    app.computers.delete(call.id())?;
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": call.id() }),
    ))
}

/// The agent to test: `url` and `token`, or the `id` of a saved computer whose stored ones
/// are used where none is given.
#[derive(Deserialize, Default)]
#[serde(default)]
struct TestBody {
    id: Field<Text>,
    url: Field<Text>,
    token: Field<Text>,
}

/// `POST /api/test_connection`: polls once and says what came back.
pub fn test_connection(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let b: TestBody = call.input()?;
    let saved =
        b.id.text("id")?
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| domain::Error::invalid("id", "id must be a number"))
            })
            .transpose()?;
    let tested = app.computers.test(TestTarget {
        saved,
        url: b.url.blank_keeps().patch("url", AgentUrl::parse)?,
        token: b.token.blank_keeps().patch("token", AgentToken::parse)?,
    })?;
    let ms = tested.took.as_millis() as u64;
    let body = match tested.answer {
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
        Err(PollFailure { status, reason }) => json!({
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
    fn tokens_are_hinted_by_their_last_four_characters() {
        assert_eq!(
            token_hint("a79a6575-3178-44fa-8ed0-48581ae5caec").as_deref(),
            Some("…caec")
        );
        assert_eq!(token_hint("short"), None);
    }
}
