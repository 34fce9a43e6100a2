//! Alerts for admins: rules, channels (their secrets shown masked, never in full), a test
//! message, and the history. Rules and history can also be read with a session or a token.

use lanstat_http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Web;
use super::input::{Field, Flag, Text};
use super::{ApiError, Call, json_list};
use crate::domain;
use crate::domain::alerts::{ChannelEdit, RuleEdit};
use crate::model::values::{ChannelToken, Name, RuleDuration, RuleTarget, kind};
use crate::model::{Channel, ChannelKind, Patch, Rule, RuleKind};

fn rule_view(r: &Rule) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "kind": r.kind,
        "computer_id": r.computer_id,
        "target": r.target,
        "threshold": r.threshold,
        "unit": r.kind.has_threshold().then(|| r.kind.unit()),
        "resolve_below": r.threshold.map(|t| t - r.kind.margin(t)),
        "duration_secs": r.duration_secs,
        "enabled": r.enabled,
        "created_at": r.created_at,
    })
}

/// A channel as answers show it: the URL and token masked.
fn channel_view(c: &Channel) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "kind": c.kind,
        "url": c.shown_url(),
        "token": c.shown_token(),
        "enabled": c.enabled,
        "created_at": c.created_at,
        "last_ok_at": c.last_ok_at,
        "last_error": c.last_error,
        "last_error_at": c.last_error_at,
    })
}

fn removed(id: i64) -> Response {
    Response::json(StatusCode::OK, &json!({ "ok": true, "id": id }))
}

/// A rule as sent: any field may be missing (kept) or null (cleared, where that means
/// something: every computer, any target).
#[derive(Deserialize, Default)]
#[serde(default)]
struct RuleBody {
    name: Field<Text>,
    kind: Field<Text>,
    computer_id: Field<Text>,
    target: Field<Text>,
    threshold: Field<Text>,
    duration_secs: Field<Text>,
    enabled: Field<Flag>,
}

impl RuleBody {
    fn edit(self) -> domain::Result<RuleEdit> {
        let computer_id = match self.computer_id {
            Field::Missing => Patch::Keep,
            Field::Null => Patch::Set(None),
            given => match given.text("computer_id")?.as_deref().map(str::trim) {
                None | Some("") | Some("all") => Patch::Set(None),
                Some(t) => Patch::Set(Some(t.parse().map_err(|_| {
                    domain::Error::invalid(
                        "computer_id",
                        "computer_id must be a number or empty for all",
                    )
                })?)),
            },
        };
        let target = match self.target {
            Field::Missing => Patch::Keep,
            Field::Null => Patch::Set(None),
            given => Patch::Set(RuleTarget::parse(
                &given.text("target")?.unwrap_or_default(),
            )?),
        };
        let threshold = match self.threshold {
            Field::Missing => Patch::Keep,
            given => Patch::Set(given.number("threshold")?),
        };
        let duration = match self.duration_secs.number("duration_secs")? {
            Some(d) => Patch::Set(RuleDuration::new(d)?),
            None => Patch::Keep,
        };
        Ok(RuleEdit {
            name: self
                .name
                .patch("name", |n| Name::parse(n, "give the rule a name"))?,
            kind: self
                .kind
                .patch("kind", |k| kind(k, RuleKind::parse, RuleKind::expected))?,
            computer_id,
            target,
            threshold,
            duration,
            enabled: self.enabled.patch("enabled")?,
        })
    }
}

pub fn rules(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(json_list(&app.alerts.rules()?, rule_view))
}

/// `POST /api/alerts/rules`: `name, kind, computer_id, target, threshold, duration_secs, enabled`.
pub fn add_rule(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let edit = call.input::<RuleBody>()?.edit()?;
    let r = app.alerts.add_rule(edit)?;
    Ok(Response::json(StatusCode::CREATED, &rule_view(&r)))
}

/// `PUT`/`PATCH /api/alerts/rules/<id>`: any of the fields. A change other than the name
/// ends the rule's firing alerts with a message, and it is judged afresh.
pub fn update_rule(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let edit = call.input::<RuleBody>()?.edit()?;
    let r = app.alerts.update_rule(call.id(), edit)?;
    Ok(Response::json(StatusCode::OK, &rule_view(&r)))
}

/// `DELETE /api/alerts/rules/<id>`: its firing alerts end with a message saying so.
pub fn delete_rule(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    app.alerts.delete_rule(call.id())?;
    Ok(removed(call.id()))
}

/// A channel as sent; an empty `url` or `token` keeps the stored secret.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelBody {
    name: Field<Text>,
    kind: Field<Text>,
    url: Field<Text>,
    token: Field<Text>,
    enabled: Field<Flag>,
}

impl ChannelBody {
    fn edit(self, call: &Call) -> domain::Result<ChannelEdit> {
        Ok(ChannelEdit {
            name: self
                .name
                .patch("name", |n| Name::parse(n, "give the channel a name"))?,
            kind: self.kind.patch("kind", |k| {
                kind(k, ChannelKind::parse, ChannelKind::expected)
            })?,
            url: self
                .url
                .blank_keeps()
                .patch("url", |u| domain::Result::Ok(u.to_string()))?,
            token: self
                .token
                .blank_keeps()
                .patch("token", ChannelToken::parse)?,
            enabled: self.enabled.patch("enabled")?,
            link_base: link_base(call),
        })
    }
}

/// The dashboard's address as this request reached it, for links in messages.
fn link_base(call: &Call) -> Option<String> {
    let host = call.header("Host")?.trim();
    if host.is_empty() || host.len() > 255 || host.contains(|c: char| c.is_whitespace() || c == '/')
    {
        return None;
    }
    Some(format!(
        "{}://{host}",
        if call.https { "https" } else { "http" }
    ))
}

pub fn channels(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(json_list(&app.alerts.channels()?, channel_view))
}

/// `POST /api/alerts/channels`: `name, kind, url, token?, enabled`.
pub fn add_channel(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let body = call.input::<ChannelBody>()?;
    let edit = body.edit(call)?;
    let c = app.alerts.add_channel(edit)?;
    Ok(Response::json(StatusCode::CREATED, &channel_view(&c)))
}

/// `PUT`/`PATCH /api/alerts/channels/<id>`: any field; an empty `url` or `token` keeps it.
pub fn update_channel(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let body = call.input::<ChannelBody>()?;
    let edit = body.edit(call)?;
    let c = app.alerts.update_channel(call.id(), edit)?;
    Ok(Response::json(StatusCode::OK, &channel_view(&c)))
}

pub fn delete_channel(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    app.alerts.delete_channel(call.id())?;
    Ok(removed(call.id()))
}

/// `POST /api/alerts/channels/<id>/test`: sends a test message now, once, and says what
/// the receiver answered.
pub fn test_channel(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let sent = app.alerts.test_channel(call.id())?;
    let ms = sent.took.as_millis() as u64;
    let body = match sent.result {
        Ok(status) => json!({
            "ok": true,
            "status": status,
            "elapsed_ms": ms,
            "message": format!("Delivered: the receiver answered HTTP {status} in {ms} ms"),
        }),
        Err(why) => json!({
            "ok": false,
            "elapsed_ms": ms,
            "error": why.to_string(),
            "message": format!("Not delivered: {why}"),
        }),
    };
    Ok(Response::json(StatusCode::OK, &body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EventsQuery {
    limit: Field<Text>,
}

/// `GET /api/alerts/events?limit=N`: the newest first (100 unless asked, at most 1000).
pub fn events(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let q: EventsQuery = call.query_as()?;
    let limit = match q.limit.text("limit")? {
        None => 100,
        Some(l) => l.parse::<i64>().unwrap_or(0),
    };
    let list = app.alerts.events(limit)?;
    Ok(Response::json(StatusCode::OK, &list))
}
