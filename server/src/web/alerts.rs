//! Alerts for admins: rules, channels (their secrets shown masked, never in full), a test
//! message, and the history. Rules and history can also be read with a session or a token.

use lanstat_http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{ApiError, Call, Fields};
use crate::App;
use crate::alerts;
use crate::alerts::notify::{self, Message};
use crate::model::{Channel, ChannelInput, ChannelKind, Rule, RuleInput, RuleKind};
use crate::store::{self, Durability, StoreError};

/// Longest history answer.
const MAX_EVENTS: i64 = 1000;

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
        "url": notify::mask_url(&c.url),
        "token": c.token.as_deref().map(notify::mask_token),
        "enabled": c.enabled,
        "created_at": c.created_at,
        "last_ok_at": c.last_ok_at,
        "last_error": c.last_error,
        "last_error_at": c.last_error_at,
    })
}

fn not_found(what: &str, id: i64) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no {what} with id {id}")),
        e => e.into(),
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Invalid(field.into(), message.into())
}

fn check_name(name: &str, what: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err(invalid("name", &format!("give the {what} a name")));
    }
    if n > 64 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "the name must be at most 64 characters, without control characters",
        ));
    }
    Ok(name.to_string())
}

fn number(fields: &Fields, name: &str) -> Result<Option<f64>, ApiError> {
    match fields.text(name)? {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => t
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(name, &format!("{name} must be a number"))),
    }
}

fn threshold_range(kind: RuleKind) -> (f64, f64, &'static str) {
    match kind {
        RuleKind::Cpu | RuleKind::Memory | RuleKind::Disk => {
            (0.0, 100.0, "a percentage from 0 to 100")
        }
        RuleKind::Temperature => (-50.0, 200.0, "a temperature from -50 to 200 °C"),
        RuleKind::Network => (0.0, 100_000.0, "a rate from 0 to 100000 MB/s"),
        RuleKind::Offline | RuleKind::Reboot => (0.0, 0.0, ""),
    }
}

fn rule_input(app: &App, f: &Fields, current: Option<&Rule>) -> Result<RuleInput, ApiError> {
    let name = match (f.text("name")?, current) {
        (Some(n), _) => check_name(&n, "rule")?,
        (None, Some(r)) => r.name.clone(),
        (None, None) => check_name("", "rule")?,
    };
    let kind = match (f.text("kind")?, current) {
        (Some(k), _) => RuleKind::parse(k.trim()).ok_or_else(|| {
            invalid(
                "kind",
                "kind must be offline, cpu, memory, disk, temperature, network or reboot",
            )
        })?,
        (None, Some(r)) => r.kind,
        (None, None) => return Err(invalid("kind", "choose what the rule watches")),
    };
    let computer_id = match (f.text("computer_id")?, current) {
        (Some(t), _) if t.trim().is_empty() || t.trim() == "all" => None,
        (Some(t), _) => {
            let id: i64 = t.trim().parse().map_err(|_| {
                invalid(
                    "computer_id",
                    "computer_id must be a number or empty for all",
                )
            })?;
            if !app.store.read(|c| store::alerts::computer_exists(c, id))? {
                return Err(invalid("computer_id", &format!("no computer with id {id}")));
            }
            Some(id)
        }
        (None, Some(r)) if !f.has("computer_id") => r.computer_id,
        (None, _) => None,
    };
    let target = match (f.text("target")?, current) {
        (Some(t), _) => Some(t.trim().to_string()).filter(|t| !t.is_empty()),
        (None, Some(r)) if !f.has("target") => r.target.clone(),
        (None, _) => None,
    };
    if let Some(t) = &target {
        if !kind.has_target() {
            return Err(invalid(
                "target",
                "only disk, temperature and network rules watch one mount point, sensor or interface",
            ));
        }
        if t.chars().count() > 255 || t.chars().any(char::is_control) {
            return Err(invalid(
                "target",
                "the target must be at most 255 characters, without control characters",
            ));
        }
    }
    let threshold = if kind.has_threshold() {
        let t = match (number(f, "threshold")?, current) {
            (Some(t), _) => t,
            (None, Some(r)) if r.kind.has_threshold() && !f.has("threshold") => {
                r.threshold.unwrap_or(0.0)
            }
            _ => return Err(invalid("threshold", "give a threshold")),
        };
        let (lo, hi, words) = threshold_range(kind);
        if !(lo..=hi).contains(&t) {
            return Err(invalid(
                "threshold",
                &format!("the threshold must be {words}"),
            ));
        }
        Some(t)
    } else {
        None
    };
    let duration_secs = match (number(f, "duration_secs")?, current) {
        (Some(d), _) => {
            if !(0.0..=7.0 * 86_400.0).contains(&d) || d.fract() != 0.0 {
                return Err(invalid(
                    "duration_secs",
                    "the duration must be whole seconds from 0 to 7 days",
                ));
            }
            d as i64
        }
        (None, Some(r)) => r.duration_secs,
        (None, None) => 0,
    };
    let enabled = f
        .flag("enabled")?
        .unwrap_or(current.map(|r| r.enabled).unwrap_or(true));
    Ok(RuleInput {
        name,
        kind,
        computer_id,
        target,
        threshold,
        duration_secs: if kind == RuleKind::Reboot {
            0
        } else {
            duration_secs
        },
        enabled,
    })
}

pub fn rules(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let list = app.store.read(store::alerts::list_rules)?;
    Ok(Response::json(
        StatusCode::OK,
        &list.iter().map(rule_view).collect::<Vec<_>>(),
    ))
}

/// `POST /api/alerts/rules`: `name, kind, computer_id, target, threshold, duration_secs, enabled`.
pub fn add_rule(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let input = rule_input(app, &fields, None)?;
    let now = app.clock.now();
    let r = app.store.write(Durability::Durable, move |tx| {
        store::alerts::add_rule(tx, &input, now)
    })?;
    println!(
        "event=alert_rule_added rule_id={} kind={}",
        r.id,
        r.kind.as_str()
    );
    Ok(Response::json(StatusCode::CREATED, &rule_view(&r)))
}

/// `PUT`/`PATCH /api/alerts/rules/<id>`: any of the fields. A change other than the name
/// ends the rule's firing alerts with a message, and it is judged afresh.
pub fn update_rule(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let id = call.id();
    let current = app
        .store
        .read(|c| store::alerts::get_rule(c, id))
        .map_err(not_found("rule", id))?;
    let input = rule_input(app, &fields, Some(&current))?;
    let now = app.clock.now();
    let why = if current.enabled && !input.enabled {
        "the rule was turned off"
    } else {
        "the rule was changed"
    };
    let old = current.clone();
    let (r, ended) = app
        .store
        .write(Durability::Durable, move |tx| {
            let ended = if store::alerts::same_meaning(&old, &input) {
                Vec::new()
            } else {
                alerts::end_firing(tx, std::slice::from_ref(&old), None, why, now)?
            };
            Ok((store::alerts::update_rule(tx, id, &input)?, ended))
        })
        .map_err(not_found("rule", id))?;
    println!("event=alert_rule_changed rule_id={id}");
    alerts::notify_ended(app, &[current], &ended);
    Ok(Response::json(StatusCode::OK, &rule_view(&r)))
}

/// `DELETE /api/alerts/rules/<id>`: its firing alerts end with a message saying so.
pub fn delete_rule(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    let now = app.clock.now();
    let (rule, ended) = app
        .store
        .write(Durability::Durable, move |tx| {
            let rule = store::alerts::get_rule(tx, id)?;
            let ended = alerts::end_firing(
                tx,
                std::slice::from_ref(&rule),
                None,
                "the rule was removed",
                now,
            )?;
            store::alerts::delete_rule(tx, id)?;
            Ok((rule, ended))
        })
        .map_err(not_found("rule", id))?;
    println!("event=alert_rule_removed rule_id={id}");
    alerts::notify_ended(app, &[rule], &ended);
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": id }),
    ))
}

/// Checks a channel URL: http or https with a host, no user name or password in it.
pub fn check_channel_url(url: &str, kind: ChannelKind) -> Result<String, ApiError> {
    let bad = |m: &str| invalid("url", m);
    let url = url.trim();
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "the address must be at most 2048 characters, without spaces",
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("the address must start with https:// or http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad(
            "the address must not hold a user name or password; use the token field",
        ));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(bad("the address needs a host name or IP address"));
    }
    if kind == ChannelKind::Ntfy {
        let path = &rest[authority.len()..];
        let topic = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        if path.contains(['?', '#']) || topic.is_empty() {
            return Err(bad(
                "give the topic's address, such as https://ntfy.sh/my-lab-alerts",
            ));
        }
    }
    Ok(url.to_string())
}

fn check_token(token: &str) -> Result<String, ApiError> {
    let t = token.trim();
    if t.len() > 512 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "token",
            "the token must be one word of at most 512 characters",
        ));
    }
    Ok(t.to_string())
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

fn channel_input(
    call: &Call,
    f: &Fields,
    current: Option<&Channel>,
) -> Result<ChannelInput, ApiError> {
    let name = match (f.text("name")?, current) {
        (Some(n), _) => check_name(&n, "channel")?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => check_name("", "channel")?,
    };
    let kind = match (f.text("kind")?, current) {
        (Some(k), _) => ChannelKind::parse(k.trim()).ok_or_else(|| {
            invalid(
                "kind",
                "kind must be webhook, ntfy, discord, slack or gotify",
            )
        })?,
        (None, Some(c)) => c.kind,
        (None, None) => return Err(invalid("kind", "choose the kind of channel")),
    };
    // Empty on an edit keeps the stored secret.
    let url = match (f.text("url")?, current) {
        (Some(u), Some(_)) if u.trim().is_empty() => None,
        (Some(u), _) => Some(check_channel_url(&u, kind)?),
        (None, Some(_)) => None,
        (None, None) => return Err(invalid("url", "enter the channel's address")),
    };
    if let (None, Some(c)) = (&url, current)
        && c.kind != kind
    {
        check_channel_url(&c.url, kind)?;
    }
    let token = match f.text("token")? {
        Some(t) if t.trim().is_empty() => None,
        Some(t) => Some(Some(check_token(&t)?)),
        None => None,
    };
    let has_token = match (&token, current) {
        (Some(_), _) => true,
        (None, Some(c)) => c.token.is_some(),
        (None, None) => false,
    };
    if kind == ChannelKind::Gotify && !has_token {
        return Err(invalid(
            "token",
            "Gotify needs an application token (Apps, then Create application)",
        ));
    }
    let enabled = f
        .flag("enabled")?
        .unwrap_or(current.map(|c| c.enabled).unwrap_or(true));
    Ok(ChannelInput {
        name,
        kind,
        url,
        token,
        enabled,
        link_base: link_base(call),
    })
}

pub fn channels(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let list = app.store.read(store::alerts::list_channels)?;
    Ok(Response::json(
        StatusCode::OK,
        &list.iter().map(channel_view).collect::<Vec<_>>(),
    ))
}

/// `POST /api/alerts/channels`: `name, kind, url, token?, enabled`.
pub fn add_channel(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let input = channel_input(call, &fields, None)?;
    let now = app.clock.now();
    let c = app.store.write(Durability::Durable, move |tx| {
        store::alerts::add_channel(tx, &input, now)
    })?;
    println!(
        "event=alert_channel_added channel_id={} kind={}",
        c.id,
        c.kind.as_str()
    );
    Ok(Response::json(StatusCode::CREATED, &channel_view(&c)))
}

/// `PUT`/`PATCH /api/alerts/channels/<id>`: any field; an empty `url` or `token` keeps it.
pub fn update_channel(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let id = call.id();
    let current = app
        .store
        .read(|c| store::alerts::get_channel(c, id))
        .map_err(not_found("channel", id))?;
    let input = channel_input(call, &fields, Some(&current))?;
    let c = app
        .store
        .write(Durability::Durable, move |tx| {
            store::alerts::update_channel(tx, id, &input)
        })
        .map_err(not_found("channel", id))?;
    println!("event=alert_channel_changed channel_id={id}");
    Ok(Response::json(StatusCode::OK, &channel_view(&c)))
}

pub fn delete_channel(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    app.store
        .write(Durability::Durable, move |tx| {
            store::alerts::delete_channel(tx, id)
        })
        .map_err(not_found("channel", id))?;
    println!("event=alert_channel_removed channel_id={id}");
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": id }),
    ))
}

/// `POST /api/alerts/channels/<id>/test`: sends a test message now, once, and says what
/// the receiver answered. The outcome is recorded on the channel like any delivery.
pub fn test_channel(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    let channel = app
        .store
        .read(|c| store::alerts::get_channel(c, id))
        .map_err(not_found("channel", id))?;
    let started = std::time::Instant::now();
    let result = notify::send_now(app, &channel, &Message::test(&channel, app.clock.now()));
    let ms = started.elapsed().as_millis() as u64;
    println!(
        "event=alert_channel_tested channel_id={id} ok={}",
        result.is_ok()
    );
    let body = match result {
        Ok(status) => json!({
            "ok": true,
            "status": status,
            "elapsed_ms": ms,
            "message": format!("Delivered: the receiver answered HTTP {status} in {ms} ms"),
        }),
        Err(why) => json!({
            "ok": false,
            "elapsed_ms": ms,
            "error": why,
            "message": format!("Not delivered: {why}"),
        }),
    };
    Ok(Response::json(StatusCode::OK, &body))
}

/// `GET /api/alerts/events?limit=N`: the newest first (100 unless asked, at most 1000).
pub fn events(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let limit = match call.query.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_EVENTS).contains(n))
            .ok_or_else(|| invalid("limit", "limit must be a number from 1 to 1000"))?,
    };
    let list = app.store.read(|c| store::alerts::list_events(c, limit))?;
    Ok(Response::json(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_urls_are_checked() {
        for ok in [
            "https://discord.com/api/webhooks/1/abc",
            "http://127.0.0.1:8080/hook?key=1",
            "https://[::1]:9/x",
        ] {
            assert!(check_channel_url(ok, ChannelKind::Webhook).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://u:p@h/x",
            "https://h/a b",
        ] {
            assert!(
                check_channel_url(bad, ChannelKind::Webhook).is_err(),
                "{bad}"
            );
        }
        assert!(check_channel_url("https://ntfy.sh/lab", ChannelKind::Ntfy).is_ok());
        assert!(check_channel_url("https://ntfy.sh/", ChannelKind::Ntfy).is_err());
        assert!(check_channel_url("https://ntfy.sh", ChannelKind::Ntfy).is_err());
    }

    #[test]
    fn tokens_are_one_printable_word() {
        assert!(check_token("AbC.d-e_f").is_ok());
        assert!(check_token("two words").is_err());
        assert!(check_token("é").is_err());
    }
}
