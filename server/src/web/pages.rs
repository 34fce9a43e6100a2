//! HTML pages and static assets, compiled into the binary from `html/`. Pages carry no inline
//! script or style (the CSP forbids both); the few server-filled bits are HTML-escaped.

use lanstat_http::{HeaderValue, Response, StatusCode, header};

use super::{ApiError, Call};
use crate::App;

macro_rules! html_file {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../html/", $name))
    };
}

macro_rules! asset {
    ($name:literal, $ctype:expr) => {
        asset!($name, $name, $ctype)
    };
    ($name:literal, $file:literal, $ctype:expr) => {
        (
            $name,
            $ctype,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../html/", $file)) as &[u8],
        )
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Files under `/static/`: name in the URL, content type, bytes. The vendored uPlot keeps
/// its own folder in the tree but is served flat, as `/static/:file` is one segment.
const ASSETS: &[(&str, &str, &[u8])] = &[
    asset!("app.css", CSS),
    asset!("app.js", JS),
    asset!("account.js", JS),
    asset!("dashboard.js", JS),
    asset!("charts.js", JS),
    asset!("manage.js", JS),
    asset!("users.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("tokens.js", JS),
    asset!("alerts.js", JS),
    asset!("uPlot.iife.min.js", "vendor/uplot/uPlot.iife.min.js", JS),
    asset!("uPlot.min.css", "vendor/uplot/uPlot.min.css", CSS),
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

fn page(status: StatusCode, html: &str) -> Response {
    Response::bytes(status, PAGE, html.as_bytes().to_vec())
}

/// The login page, with an error and the username typed, escaped.
pub fn login_page(status: StatusCode, error: &str, username: &str) -> Response {
    let hidden = if error.is_empty() { " hidden" } else { "" };
    let html = html_file!("login.html")
        .replace("{{error_hidden}}", hidden)
        .replace("{{error}}", &escape(error))
        .replace("{{username}}", &escape(username));
    page(status, &html)
}

pub fn change_password_page(status: StatusCode, error: &str, forced: bool) -> Response {
    let html = html_file!("change_password.html")
        .replace(
            "{{error_hidden}}",
            if error.is_empty() { " hidden" } else { "" },
        )
        .replace("{{error}}", &escape(error))
        .replace("{{forced_hidden}}", if forced { "" } else { " hidden" })
        .replace("{{back_hidden}}", if forced { " hidden" } else { "" });
    page(status, &html)
}

/// What a viewer who opens an admin page sees, instead of the API's JSON.
pub fn forbidden_page() -> Response {
    page(StatusCode::FORBIDDEN, html_file!("forbidden.html"))
}

pub fn login(_app: &App, call: &mut Call) -> Result<Response, ApiError> {
    if call
        .session
        .as_ref()
        .is_some_and(|s| !s.user.must_change_password)
    {
        return Ok(super::redirect("/"));
    }
    Ok(login_page(StatusCode::OK, "", ""))
}

pub fn change_password(_app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let forced = call.user()?.user.must_change_password;
    Ok(change_password_page(StatusCode::OK, "", forced))
}

pub fn dashboard(_app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, html_file!("index.html")))
}

pub fn manage(_app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, html_file!("manage.html")))
}

pub fn users(_app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, html_file!("users.html")))
}

pub fn alerts(_app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, html_file!("alerts.html")))
}

pub fn asset(_app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let name = call.file.as_deref().unwrap_or("");
    let (_, ctype, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::NotFound("not found".into()))?;
    Ok(Response::bytes(StatusCode::OK, ctype, *body).with_header(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    ))
}

pub fn healthz(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let db_ok = app
        .store
        .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .is_ok();
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(Response::json(
        status,
        &serde_json::json!({ "status": if db_ok { "ok" } else { "database unavailable" }, "version": crate::VERSION }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `/static/…` a page links and every `./….js` a script imports is in the table, so a
    /// renamed file cannot leave a page half-loaded.
    #[test]
    fn every_file_a_page_names_is_served() {
        let served = |name: &str| ASSETS.iter().any(|(n, _, _)| *n == name);
        let pages = [
            html_file!("index.html"),
            html_file!("login.html"),
            html_file!("change_password.html"),
            html_file!("manage.html"),
            html_file!("users.html"),
            html_file!("alerts.html"),
            html_file!("forbidden.html"),
        ];
        for page in pages {
            for part in page.split("/static/").skip(1) {
                let name = part.split('"').next().unwrap_or("");
                assert!(served(name), "{name} is linked but not served");
            }
        }
        for (name, ctype, body) in ASSETS {
            if !name.ends_with(".js") {
                continue;
            }
            assert_eq!(*ctype, JS, "{name}");
            let text = std::str::from_utf8(body).expect("our scripts are UTF-8");
            for part in text.split("from \"./").skip(1) {
                let import = part.split('"').next().unwrap_or("");
                assert!(
                    served(import),
                    "{name} imports {import}, which is not served"
                );
            }
        }
    }

    #[test]
    fn escape_covers_html_specials() {
        assert_eq!(
            escape("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }
}
