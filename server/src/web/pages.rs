//! HTML pages and static assets, compiled into the binary from `html/`. Pages carry no inline
//! script or style (the CSP forbids both); the few server-filled bits are HTML-escaped.

use std::sync::LazyLock;

use lanstat_http::{HeaderValue, Response, StatusCode, header};

use super::Web;
use super::{ApiError, Call};

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

const HTML: &str = "text/html; charset=utf-8";

/// The pages. Each is its own file under `html/`, set in the layout `layout/page.html`
/// (doctype, meta lines, icon, app.css, the `<body>` tag): the file's `<head>` lines (title,
/// scripts, a page's own stylesheet, which comes before app.css) go into the head, the rest
/// into the body. The app's pages have `layout/header.html` above their `<main>`: the skip
/// link and the header, with the page's nav entry marked current. Its admin entries are in
/// every page, hidden until `frame()` in app.js shows them to an admin; the server refuses
/// their pages to a viewer anyway.
#[derive(Clone, Copy, Debug)]
enum Page {
    Dashboard,
    Manage,
    Users,
    Alerts,
    Login,
    ChangePassword,
    Forbidden,
}

/// What a page's file is set in.
#[derive(Clone, Copy, Debug)]
enum Frame {
    /// The skip link and the header above the page, the nav entry for this path marked current.
    App(&'static str),
    /// One narrow column without the header: logging in, the password, the refusal.
    Narrow,
}

impl Page {
    const ALL: [Page; 7] = [
        Page::Dashboard,
        Page::Manage,
        Page::Users,
        Page::Alerts,
        Page::Login,
        Page::ChangePassword,
        Page::Forbidden,
    ];

    fn source(self) -> (&'static str, Frame) {
        match self {
            Page::Dashboard => (html_file!("index.html"), Frame::App("/")),
            Page::Manage => (html_file!("manage.html"), Frame::App("/manage")),
            Page::Users => (html_file!("users.html"), Frame::App("/users")),
            Page::Alerts => (html_file!("alerts.html"), Frame::App("/alerts")),
            Page::Login => (html_file!("login.html"), Frame::Narrow),
            Page::ChangePassword => (html_file!("change_password.html"), Frame::Narrow),
            Page::Forbidden => (html_file!("forbidden.html"), Frame::Narrow),
        }
    }

    /// The whole page, assembled at first use.
    fn html(self) -> &'static str {
        static BUILT: LazyLock<[String; 7]> = LazyLock::new(|| {
            Page::ALL.map(|p| {
                let (file, frame) = p.source();
                assemble(file, frame)
            })
        });
        &BUILT[self as usize]
    }
}

/// Sets a page's file in the layout. The files are ours and compiled in, and the tests
/// assemble every page, so a file out of shape fails them rather than a request.
fn assemble(file: &str, frame: Frame) -> String {
    let (head, body) = file
        .strip_prefix("<head>\n")
        .and_then(|f| f.split_once("</head>\n"))
        .expect("a page file starts with its <head> lines");
    let (class, header) = match frame {
        Frame::App(current) => ("", top_bar(current)),
        Frame::Narrow => (" class=\"narrow\"", String::new()),
    };
    // The page's own text goes in last, so nothing in it is taken for a slot of the layout.
    html_file!("layout/page.html")
        .replacen("{{class}}", class, 1)
        .replacen("{{header}}\n", &header, 1)
        .replacen("{{head}}\n", head, 1)
        .replacen("{{body}}\n", body, 1)
}

/// The skip link and the header, with the nav entry that links to `current` marked as the
/// page shown.
fn top_bar(current: &str) -> String {
    let entry = format!("<a href=\"{current}\"");
    html_file!("layout/header.html").replacen(&entry, &format!("{entry} aria-current=\"page\""), 1)
}

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
    Response::bytes(status, HTML, html.as_bytes().to_vec())
}

/// The login page, with an error and the username typed, escaped.
pub fn login_page(status: StatusCode, error: &str, username: &str) -> Response {
    let hidden = if error.is_empty() { " hidden" } else { "" };
    let html = Page::Login
        .html()
        .replace("{{error_hidden}}", hidden)
        .replace("{{error}}", &escape(error))
        .replace("{{username}}", &escape(username));
    page(status, &html)
}

pub fn change_password_page(status: StatusCode, error: &str, forced: bool) -> Response {
    let html = Page::ChangePassword
        .html()
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
    page(StatusCode::FORBIDDEN, Page::Forbidden.html())
}

pub fn login(_app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    if call
        .session
        .as_ref()
        .is_some_and(|s| !s.user.must_change_password)
    {
        return Ok(super::redirect("/"));
    }
    Ok(login_page(StatusCode::OK, "", ""))
}

pub fn change_password(_app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let forced = call.user()?.user.must_change_password;
    Ok(change_password_page(StatusCode::OK, "", forced))
}

pub fn dashboard(_app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, Page::Dashboard.html()))
}

pub fn manage(_app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, Page::Manage.html()))
}

pub fn users(_app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, Page::Users.html()))
}

pub fn alerts(_app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(page(StatusCode::OK, Page::Alerts.html()))
}

pub fn asset(_app: &Web, call: &mut Call) -> Result<Response, ApiError> {
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

pub fn healthz(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    let db_ok = app.health.database_ok();
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
        for page in Page::ALL.map(Page::html) {
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

    /// Each page is one whole document around its own file: the shared head, its title, the
    /// header with its own nav entry current (or none), and no slot left unfilled but the
    /// ones the login and password pages fill per request.
    #[test]
    fn every_page_is_assembled_from_the_layout() {
        let per_request = [
            "{{error_hidden}}",
            "{{error}}",
            "{{username}}",
            "{{forced_hidden}}",
            "{{back_hidden}}",
        ];
        for (i, page) in Page::ALL.into_iter().enumerate() {
            assert_eq!(page as usize, i, "Page::ALL is in declaration order");
            let html = page.html();
            assert!(html.starts_with("<!doctype html>\n"), "{page:?}");
            assert!(html.ends_with("</body>\n</html>\n"), "{page:?}");
            for once in [
                "<title>",
                "<head>",
                "<body",
                "<main",
                "href=\"/static/app.css\"",
            ] {
                assert_eq!(html.matches(once).count(), 1, "{page:?}: {once}");
            }
            let mut rest = html.to_string();
            for slot in per_request {
                rest = rest.replace(slot, "");
            }
            assert!(!rest.contains("{{"), "{page:?} has a slot left: {rest}");
            let current = html.matches("aria-current=\"page\"").count();
            match page.source().1 {
                Frame::App(path) => {
                    assert_eq!(current, 1, "{page:?}");
                    let marked = format!("<a href=\"{path}\" aria-current=\"page\"");
                    assert!(html.contains(&marked), "{page:?}");
                    assert!(html.contains("<body>\n<a class=\"skip\" href=\"#main\">"));
                    assert!(
                        html.contains("<main id=\"main\">"),
                        "{page:?}: the skip link's target"
                    );
                }
                Frame::Narrow => {
                    assert_eq!(current, 0, "{page:?}");
                    assert!(!html.contains("<header"), "{page:?}");
                    assert!(html.contains("<body class=\"narrow\">\n<main>"), "{page:?}");
                }
            }
        }
        // A page's own stylesheet comes before app.css, so app.css has the last word.
        let dashboard = Page::Dashboard.html();
        let uplot = dashboard
            .find("uPlot.min.css")
            .expect("the dashboard links uPlot's CSS");
        assert!(uplot < dashboard.find("app.css").expect("and app.css"));
    }

    #[test]
    fn server_filled_values_are_escaped() {
        let body = |r: Response| String::from_utf8(r.body().to_vec()).expect("pages are UTF-8");
        let login = body(login_page(
            StatusCode::UNAUTHORIZED,
            "<b>wrong</b>",
            "\"><script>",
        ));
        assert!(login.contains(">&lt;b&gt;wrong&lt;/b&gt;</p>"));
        assert!(login.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(!login.contains("<script>"));
        let forced = body(change_password_page(StatusCode::OK, "", true));
        assert!(forced.contains("id=\"forced\">"));
        assert!(forced.contains("id=\"back\" href=\"/\" hidden>"));
    }

    #[test]
    fn escape_covers_html_specials() {
        assert_eq!(
            escape("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }
}
