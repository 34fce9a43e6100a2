//! The agent's routes: `/systeminfo` and `/metrics` behind the bearer token, `/healthz` open.
//!
//! | path          | methods   | auth                         | body                 |
//! |---------------|-----------|------------------------------|----------------------|
//! | `/systeminfo` | GET, HEAD | token                        | the original JSON+   |
//! | `/metrics`    | GET, HEAD | token or scrape token        | Prometheus text      |
//! | `/healthz`    | GET, HEAD | none                         | `{"status":"ok"}`    |

use crate::sampler::Latest;
use crate::serve::{HeaderValue, Method, Request, Response, StatusCode, header};
use crate::token::constant_time_eq;

pub struct App {
    pub latest: Latest,
    pub token: String,
    /// A fleet-wide token that opens `/metrics` only, for one Prometheus job scraping many agents.
    pub scrape_token: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Token,
    TokenOrScrape,
    Open,
}

/// Answers one request. HEAD reaches here as GET (the HTTP layer drops the body).
pub fn handle(app: &App, req: &mut Request<'_>) -> Response {
    let access = match req.path() {
        "/systeminfo" => Access::Token,
        "/metrics" => Access::TokenOrScrape,
        "/healthz" => Access::Open,
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
    if !authorized(app, req, access) {
        return Response::error(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "missing or wrong bearer token",
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"lanstat-agent\""),
        );
    }
    match access {
        Access::Token => {
            let snap = app.latest.get();
            Response::bytes(StatusCode::OK, "application/json", snap.json().to_vec())
        }
        Access::TokenOrScrape => {
            let snap = app.latest.get();
            Response::bytes(
                StatusCode::OK,
                crate::metrics::CONTENT_TYPE,
                snap.metrics().as_bytes().to_vec(),
            )
        }
        Access::Open => Response::json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "version": crate::VERSION}),
        ),
    }
}

fn authorized(app: &App, req: &Request<'_>, access: Access) -> bool {
    if access == Access::Open {
        return true;
    }
    let Some(given) = req.bearer() else {
        return false;
    };
    if constant_time_eq(given.as_bytes(), app.token.as_bytes()) {
        return true;
    }
    access == Access::TokenOrScrape
        && app
            .scrape_token
            .as_ref()
            .is_some_and(|t| constant_time_eq(given.as_bytes(), t.as_bytes()))
}
