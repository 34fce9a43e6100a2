//! The agent's routes: `/systeminfo`, `/history` and `/metrics` behind the bearer token,
//! `/healthz` open.
//!
//! | path          | methods   | auth                         | body                 |
//! |---------------|-----------|------------------------------|----------------------|
//! | `/systeminfo` | GET, HEAD | token                        | the original JSON+   |
//! | `/history`    | GET, HEAD | token                        | recent samples, JSON |
//! | `/metrics`    | GET, HEAD | token or scrape token        | Prometheus text      |
//! | `/healthz`    | GET, HEAD | none                         | `{"status":"ok"}`    |
//!
//! "token" is `Authorization: Bearer <token>` or a request signed with the token
//! ([`crate::signing`]); with `--signed-only` the token is accepted only signed (the scrape
//! token, which Prometheus sends as it is, still opens `/metrics`). A 401 offers both schemes
//! (only the signed one with `--signed-only`), so a client can tell the agent signs.

use std::sync::Arc;

use crate::history::{DEFAULT_LIMIT, History, MAX_LIMIT};
use crate::sampler::Latest;
use crate::serve::{HeaderValue, Method, Request, Response, StatusCode, header};
use crate::signing::{self, Refusal, Verifier};
use crate::token::constant_time_eq;

pub struct App {
    pub latest: Latest,
    pub history: Arc<History>,
    pub token: String,
    /// A fleet-wide token that opens `/metrics` only, for one Prometheus job scraping many agents.
    pub scrape_token: Option<String>,
    /// Refuse the token as a bearer: only a request signed with it (`--signed-only`).
    pub signed_only: bool,
    /// The signed requests' time window and nonces.
    pub verifier: Verifier,
}

/// The challenge of the signed scheme on every 401.
const SIGNED_CHALLENGE: &str = "Lanstat-HMAC-SHA256 realm=\"lanstat-agent\"";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    SystemInfo,
    History,
    Metrics,
    Healthz,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Token,
    TokenOrScrape,
    Open,
}

impl Route {
    fn access(self) -> Access {
        match self {
            Route::SystemInfo | Route::History => Access::Token,
            Route::Metrics => Access::TokenOrScrape,
            Route::Healthz => Access::Open,
        }
    }
}

/// Answers one request. HEAD reaches here as GET (the HTTP layer drops the body).
pub fn handle(app: &App, req: &mut Request<'_>) -> Response {
    let route = match req.path() {
        "/systeminfo" => Route::SystemInfo,
        "/history" => Route::History,
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Healthz,
        _ => return Response::error(StatusCode::NOT_FOUND, "not_found", "not found"),
    };
    if req.method() != Method::GET {
        return Response::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        )
        .with_header(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    if let Err(why) = authorized(app, req, route.access()) {
        if let Some(why) = why {
            app.verifier.log(why);
        }
        let message = if app.signed_only {
            "a request signed with the token is required (Lanstat-HMAC-SHA256)"
        } else {
            "missing or wrong bearer token or signature"
        };
        // The signed challenge first: a client that keeps one value keeps the Bearer one.
        let refused = Response::error(StatusCode::UNAUTHORIZED, "bad_token", message).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(SIGNED_CHALLENGE),
        );
        return if app.signed_only {
            refused
        } else {
            refused.with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lanstat-agent\""),
            )
        };
    }
    match route {
        Route::SystemInfo => {
            let snap = app.latest.get();
            Response::bytes(StatusCode::OK, "application/json", snap.json().to_vec())
        }
        Route::History => match history_query(req.query()) {
            Ok((since, limit)) => Response::bytes(
                StatusCode::OK,
                "application/json",
                app.history.page_json(since, limit),
            ),
            Err(why) => Response::error(StatusCode::BAD_REQUEST, "bad_parameter", why),
        },
        Route::Metrics => {
            let snap = app.latest.get();
            Response::bytes(
                StatusCode::OK,
                crate::metrics::CONTENT_TYPE,
                snap.metrics().as_bytes().to_vec(),
            )
        }
        Route::Healthz => Response::json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "version": crate::VERSION}),
        ),
    }
}

/// `since` (unix seconds, default 0) and `limit` (1 to [`MAX_LIMIT`], default
/// [`DEFAULT_LIMIT`]) of a `/history` query. Other parameters are ignored.
fn history_query(query: Option<&str>) -> Result<(u64, usize), &'static str> {
    const SINCE: &str = "since must be unix seconds: a whole number from 0, given once";
    const LIMIT: &str = "limit must be a whole number from 1 to 2000, given once";
    let (mut since, mut limit) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "since" if since.is_none() => since = Some(whole(value).ok_or(SINCE)?),
            "since" => return Err(SINCE),
            "limit" if limit.is_none() => {
                let n = whole(value)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| (1..=MAX_LIMIT).contains(n));
                limit = Some(n.ok_or(LIMIT)?);
            }
            "limit" => return Err(LIMIT),
            _ => {}
        }
    }
    Ok((since.unwrap_or(0), limit.unwrap_or(DEFAULT_LIMIT)))
}

/// Digits only (no sign, space or exponent), within a u64.
fn whole(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `Ok` when the request may pass; `Err(Some(reason))` for a refusal worth a log line (a
/// signed request that fails, a bearer under `--signed-only`), `Err(None)` for a missing or
/// wrong bearer token, as before.
fn authorized(app: &App, req: &Request<'_>, access: Access) -> Result<(), Option<Refusal>> {
    if access == Access::Open {
        return Ok(());
    }
    let value = req.header(header::AUTHORIZATION).unwrap_or("");
    if let Some(parts) = signing::parse(value) {
        let parts = parts.map_err(Some)?;
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path(), |pq| pq.as_str());
        return app
            .verifier
            .verify(
                app.token.as_bytes(),
                req.method().as_str(),
                target,
                b"",
                &parts,
                signing::unix_now(),
            )
            .map_err(Some);
    }
    let Some(given) = req.bearer() else {
        return Err(None);
    };
    if constant_time_eq(given.as_bytes(), app.token.as_bytes()) {
        return if app.signed_only {
            Err(Some(Refusal::BearerRefused))
        } else {
            Ok(())
        };
    }
    let scrape = access == Access::TokenOrScrape
        && app
            .scrape_token
            .as_ref()
            .is_some_and(|t| constant_time_eq(given.as_bytes(), t.as_bytes()));
    if scrape { Ok(()) } else { Err(None) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_query_defaults_and_bounds() {
        assert_eq!(history_query(None), Ok((0, DEFAULT_LIMIT)));
        assert_eq!(history_query(Some("")), Ok((0, DEFAULT_LIMIT)));
        assert_eq!(
            history_query(Some("since=1795740000&limit=2000")),
            Ok((1_795_740_000, 2000))
        );
        assert_eq!(history_query(Some("limit=1&since=0")), Ok((0, 1)));
        assert_eq!(
            history_query(Some("since=5&sig=abc&")),
            Ok((5, DEFAULT_LIMIT))
        );
        assert_eq!(
            history_query(Some("since=18446744073709551615")),
            Ok((u64::MAX, DEFAULT_LIMIT))
        );
    }

    #[test]
    fn a_malformed_since_or_limit_is_refused_saying_what_is_expected() {
        for q in [
            "since=",
            "since",
            "since=-1",
            "since=+1",
            "since=1.5",
            "since=1e9",
            "since=%31",
            "since= 1",
            "since=abc",
            "since=18446744073709551616",
            "since=1&since=2",
        ] {
            let err = history_query(Some(q)).unwrap_err();
            assert!(err.starts_with("since must be"), "{q}: {err}");
        }
        for q in [
            "limit=0",
            "limit=2001",
            "limit=",
            "limit=-5",
            "limit=10&limit=10",
        ] {
            let err = history_query(Some(q)).unwrap_err();
            assert!(err.starts_with("limit must be"), "{q}: {err}");
        }
    }
}
