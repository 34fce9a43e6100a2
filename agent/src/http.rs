//! The agent's routes: `/systeminfo` and `/metrics` behind the bearer token, `/healthz` open.
//!
//! | path          | methods   | auth                         | body                 |
//! |---------------|-----------|------------------------------|----------------------|
//! | `/systeminfo` | GET, HEAD | token                        | the original JSON+   |
//! | `/metrics`    | GET, HEAD | token or scrape token        | Prometheus text      |
//! | `/healthz`    | GET, HEAD | none                         | `{"status":"ok"}`    |

use tiny_http::{Method, Request};

use crate::sampler::Latest;
use crate::serve::{self, Reply};
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

pub fn handle(app: &App, req: &mut Request) -> Reply {
    let path = req.url().split('?').next().unwrap_or("");
    let access = match path {
        "/systeminfo" => Access::Token,
        "/metrics" => Access::TokenOrScrape,
        "/healthz" => Access::Open,
        _ => return serve::error(404, "not found"),
    };
    if !matches!(req.method(), Method::Get | Method::Head) {
        return serve::error(405, "method not allowed")
            .with_header(serve::header("Allow", "GET, HEAD"));
    }
    if !authorized(app, req, access) {
        return serve::error(401, "missing or wrong bearer token").with_header(serve::header(
            "WWW-Authenticate",
            "Bearer realm=\"lanstat-agent\"",
        ));
    }
    match path {
        "/systeminfo" => {
            let snap = app.latest.get();
            serve::bytes(200, "application/json", snap.json().to_vec())
        }
        "/metrics" => {
            let snap = app.latest.get();
            serve::bytes(
                200,
                crate::metrics::CONTENT_TYPE,
                snap.metrics().as_bytes().to_vec(),
            )
        }
        _ => serve::json(
            200,
            &serde_json::json!({"status": "ok", "version": crate::VERSION}),
        ),
    }
}

fn authorized(app: &App, req: &Request, access: Access) -> bool {
    if access == Access::Open {
        return true;
    }
    let Some(given) = serve::bearer(req) else {
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
