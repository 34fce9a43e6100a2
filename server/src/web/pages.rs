//! HTML pages and static assets, compiled into the binary from `html/`. Pages carry no inline
//! script or style (the CSP forbids both); the few server-filled bits are HTML-escaped.

use lanstat_agent::serve::{self, Reply};

use super::{ApiError, Call};
use crate::App;

macro_rules! html_file {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../html/", $name))
    };
}

macro_rules! asset {
    ($name:literal, $ctype:literal) => {
        (
            $name,
            $ctype,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../html/", $name)) as &[u8],
        )
    };
}

/// Files under `/static/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("tokens.js", "text/javascript; charset=utf-8"),
];

const PAGE: &str = "text/html; charset=utf-8";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: u16, html: &str) -> Reply {
    serve::bytes(status, PAGE, html.as_bytes().to_vec())
}

/// The login page, with an error and the username typed, escaped.
pub fn login_page(status: u16, error: &str, username: &str) -> Reply {
    let hidden = if error.is_empty() { " hidden" } else { "" };
    let html = html_file!("login.html")
        .replace("{{error_hidden}}", hidden)
        .replace("{{error}}", &escape(error))
        .replace("{{username}}", &escape(username));
    page(status, &html)
}

pub fn change_password_page(status: u16, error: &str, forced: bool) -> Reply {
    let html = html_file!("change_password.html")
        .replace(
            "{{error_hidden}}",
            if error.is_empty() { " hidden" } else { "" },
        )
        .replace("{{error}}", &escape(error))
        .replace("{{forced_hidden}}", if forced { "" } else { " hidden" });
    page(status, &html)
}

pub fn login(_app: &App, call: &mut Call) -> Result<Reply, ApiError> {
    if call
        .session
        .as_ref()
        .is_some_and(|s| !s.user.must_change_password)
    {
        return Ok(super::redirect("/"));
    }
    Ok(login_page(200, "", ""))
}

pub fn change_password(_app: &App, call: &mut Call) -> Result<Reply, ApiError> {
    let forced = call.user()?.user.must_change_password;
    Ok(change_password_page(200, "", forced))
}

pub fn dashboard(_app: &App, _call: &mut Call) -> Result<Reply, ApiError> {
    Ok(page(200, html_file!("index.html")))
}

pub fn manage(_app: &App, _call: &mut Call) -> Result<Reply, ApiError> {
    Ok(page(200, html_file!("manage.html")))
}

pub fn users(_app: &App, _call: &mut Call) -> Result<Reply, ApiError> {
    Ok(page(200, html_file!("users.html")))
}

pub fn asset(_app: &App, call: &mut Call) -> Result<Reply, ApiError> {
    let name = call.file.as_deref().unwrap_or("");
    let (_, ctype, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::NotFound("not found".into()))?;
    Ok(serve::bytes(200, ctype, body.to_vec())
        .with_header(serve::header("Cache-Control", "public, max-age=300")))
}

pub fn healthz(app: &App, _call: &mut Call) -> Result<Reply, ApiError> {
    let db_ok = app
        .store
        .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .is_ok();
    let status = if db_ok { 200 } else { 503 };
    Ok(serve::json(
        status,
        &serde_json::json!({ "status": if db_ok { "ok" } else { "database unavailable" }, "version": crate::VERSION }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_html_specials() {
        assert_eq!(
            escape("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }
}
