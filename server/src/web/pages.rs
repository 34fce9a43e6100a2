//! HTML pages and static assets, compiled into the binary from `html/`. Pages carry no inline
//! script or style (the CSP forbids both); the few server-filled bits are HTML-escaped.

use std::sync::LazyLock;

use lanstat_http::{HeaderValue, Response, StatusCode, header};

use super::Web;
use super::{ApiError, Call};
use crate::domain::health::Verdict;

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
/// their pages to a viewer anyway. The fields, item forms and list tables of the body are
/// written with the few elements of [`ELEMENTS`], expanded as the page is assembled.
#[derive(Clone, Copy, Debug)]
enum Page {
    Dashboard,
    Manage,
    Users,
    Alerts,
    Login,
    ChangePassword,
    Logout,
    Forbidden,
}

/// What a page's file is set in.
#[derive(Clone, Copy, Debug)]
enum Frame {
    /// The skip link and the header above the page, the nav entry for this path marked current.
    App(&'static str),
    /// One narrow column without the header: logging in and out, the password, the refusal.
    Narrow,
}

impl Page {
    const ALL: [Page; 8] = [
        Page::Dashboard,
        Page::Manage,
        Page::Users,
        Page::Alerts,
        Page::Login,
        Page::ChangePassword,
        Page::Logout,
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
            Page::Logout => (html_file!("logout.html"), Frame::Narrow),
            Page::Forbidden => (html_file!("forbidden.html"), Frame::Narrow),
        }
    }

    /// The whole page, assembled at first use.
    fn html(self) -> &'static str {
        static BUILT: LazyLock<[String; 8]> = LazyLock::new(|| {
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
        .replacen("{{body}}\n", &expand(body), 1)
}

/// The page files' own elements, each standing for markup that the pages write alike; they
/// are expanded here, so the browser gets plain HTML and the forms work without a script.
/// Each starts its line; its attribute values are HTML, as the files are ours.
///
/// `<form-field label="…" hint="…" error>CONTROL</form-field>`: a `<div class="field">` with
/// the label of its control (the first `<input>`, `<select>` or `<textarea>`), the control,
/// a hint `ID-hint` where `hint` is given, and where `error` is, the paragraph `ID-error` in
/// which `showError()` in app.js puts what is wrong with the field (`data-for` its name). The
/// control is described by both. `label-id` gives the label an id; `id` and `hidden` go to the
/// div. A checkbox stands before its label, with neither hint nor error.
///
/// `<item-form id="…" heading="…" heading-id="…" submit="…" submit-id="…" cancel-id="…">`:
/// the form beside a list that `itemForm()` in app.js drives: a card with its heading, the
/// line for an error that concerns no field, the fields it holds, and its actions: buttons
/// that end what it holds, then the submit button and Cancel, hidden until an item is edited.
///
/// `<list-table id="…" columns="A, B" actions message="…" empty="…">note</list-table>`: a
/// list's table with its column heads, and with `actions` a last column for the row buttons,
/// named for screen readers only; the status line `message` above it, which `notice()` in
/// app.js writes to; the note `empty` below it, shown while the list has nothing.
const ELEMENTS: [(&str, Expand); 3] = [
    ("form-field", form_field),
    ("item-form", item_form),
    ("list-table", list_table),
];

/// How one of [`ELEMENTS`] becomes HTML: the lines it stands for, the first without its indent.
type Expand = fn(&Element) -> String;

/// One of [`ELEMENTS`] as a page file writes it.
struct Element<'a> {
    attrs: Vec<(&'a str, Option<&'a str>)>,
    content: &'a str,
    /// The white space before it on its line.
    indent: &'a str,
}

impl Element<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let found = self.attrs.iter().find(|(n, _)| *n == name);
        found.map(|(_, value)| value.unwrap_or(""))
    }

    fn expect(&self, name: &str) -> &str {
        let value = self.get(name);
        value.unwrap_or_else(|| panic!("an element without {name}: {}", self.content))
    }

    /// Fails on an attribute the element does not know, so a misspelt one is not lost.
    fn only(&self, known: &[&str]) {
        for (name, _) in &self.attrs {
            let content = self.content;
            assert!(known.contains(name), "unknown attribute {name}: {content}");
        }
    }

    /// What it holds, line by line, indented relative to the element: content on the
    /// element's own line is one line a step in.
    fn inner(&self) -> Vec<String> {
        if !self.content.contains('\n') {
            return vec![format!("  {}", self.content)];
        }
        let lines = self.content.trim_end().lines().skip(1);
        let relative = lines.map(|l| l.strip_prefix(self.indent).unwrap_or(l).to_string());
        relative.collect()
    }

    /// Lines relative to the element, as they stand in the page.
    fn write(&self, lines: &[String]) -> String {
        lines.join(&format!("\n{}", self.indent))
    }
}

/// Expands the [`ELEMENTS`] of a page's body.
fn expand(body: &str) -> String {
    let mut out = String::with_capacity(body.len() * 2);
    let mut rest = body;
    loop {
        let next = ELEMENTS
            .iter()
            .filter_map(|&(name, build)| Some((rest.find(&format!("<{name} "))?, name, build)))
            .min_by_key(|&(at, _, _)| at);
        let Some((at, name, build)) = next else { break };
        let indent = &rest[rest[..at].rfind('\n').map_or(0, |nl| nl + 1)..at];
        assert!(indent.trim().is_empty(), "<{name}> starts its line");
        let (attrs, after) = start_tag(&rest[at + 1 + name.len()..]);
        let close = format!("</{name}>");
        let (content, after) = after.split_once(&close).expect("an element is closed");
        out.push_str(&rest[..at]);
        // What it holds may be elements too.
        out.push_str(&expand(&build(&Element {
            attrs,
            content,
            indent,
        })));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The attributes of a start tag, read from just after its name, and the text after its `>`.
fn start_tag(text: &str) -> (Vec<(&str, Option<&str>)>, &str) {
    let mut attrs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.starts_with('>') {
        let end = rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '-');
        let (name, after) = rest.split_at(end.expect("a start tag ends"));
        assert!(!name.is_empty(), "an attribute has a name: {rest}");
        rest = after;
        let mut value = None;
        if let Some(quoted) = after.strip_prefix('=') {
            let quote = quoted.chars().next().filter(|q| *q == '"' || *q == '\'');
            let quote = quote.expect("an attribute's value is quoted");
            let (inside, after) = quoted[1..].split_once(quote).expect("a quote is closed");
            value = Some(inside);
            rest = after;
        }
        attrs.push((name, value));
        rest = rest.trim_start();
    }
    (attrs, &rest[1..])
}

/// `<form-field>`: see [`ELEMENTS`].
fn form_field(e: &Element) -> String {
    e.only(&["label", "label-id", "hint", "error", "id", "hidden"]);
    let mut control = e.inner();
    let (line, at) = control
        .iter()
        .enumerate()
        .find_map(|(n, l)| Some((n, CONTROLS.iter().find_map(|c| l.find(c))?)))
        .expect("a field has a control");
    let tag = &control[line][at..];
    let (attrs, after) = start_tag(&tag[tag.find(' ').unwrap_or(0)..]);
    let attr = |name: &str| attrs.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v);
    let id = attr("id").expect("a control has an id").to_string();
    let name = attr("name").map(str::to_string);
    let checkbox = attr("type") == Some("checkbox");
    let end = control[line].len() - after.len() - 1;
    let mut notes = Vec::new();
    if let Some(hint) = e.get("hint") {
        notes.push((
            format!("{id}-hint"),
            format!(r#"<p class="hint" id="{id}-hint">{hint}</p>"#),
        ));
    }
    if e.get("error").is_some() {
        let name = name.expect("a control with an error line has a name");
        let error =
            format!(r#"<p class="field-error" id="{id}-error" data-for="{name}" hidden></p>"#);
        notes.push((format!("{id}-error"), error));
    }
    assert!(
        !checkbox || notes.is_empty(),
        "a checkbox has neither hint nor error: {id}"
    );
    if !notes.is_empty() {
        let ids: Vec<&str> = notes.iter().map(|(id, _)| id.as_str()).collect();
        control[line].insert_str(end, &format!(r#" aria-describedby="{}""#, ids.join(" ")));
    }
    let mut div = format!(
        r#"<div class="field{}""#,
        if checkbox { " check" } else { "" }
    );
    for (name, value) in e.attrs.iter().filter(|(n, _)| ["id", "hidden"].contains(n)) {
        div.push_str(&match value {
            Some(value) => format!(r#" {name}="{value}""#),
            None => format!(" {name}"),
        });
    }
    div.push('>');
    let label_id = e
        .get("label-id")
        .map(|l| format!(r#" id="{l}""#))
        .unwrap_or_default();
    let label = format!(
        r#"  <label for="{id}"{label_id}>{}</label>"#,
        e.expect("label")
    );
    let mut lines = vec![div];
    if checkbox {
        lines.extend(control);
        lines.push(label);
    } else {
        lines.push(label);
        lines.extend(control);
        lines.extend(notes.into_iter().map(|(_, p)| format!("  {p}")));
    }
    lines.push("</div>".into());
    e.write(&lines)
}

/// What a [`form_field`] labels: the first of these in it.
const CONTROLS: [&str; 3] = ["<input ", "<select ", "<textarea "];

/// `<item-form>`: see [`ELEMENTS`].
fn item_form(e: &Element) -> String {
    e.only(&[
        "id",
        "heading",
        "heading-id",
        "submit",
        "submit-id",
        "cancel-id",
    ]);
    let (heading, heading_id) = (e.expect("heading"), e.expect("heading-id"));
    let mut lines = vec![
        format!(
            r#"<form id="{}" class="card form" novalidate>"#,
            e.expect("id")
        ),
        format!(r#"  <h2 id="{heading_id}">{heading}</h2>"#),
        r#"  <p class="form-error error" role="alert" hidden></p>"#.into(),
    ];
    let mut inner = e.inner();
    let fields = inner
        .iter()
        .rposition(|l| !l.starts_with("  <button "))
        .map_or(0, |n| n + 1);
    let buttons = inner.split_off(fields);
    lines.extend(inner);
    lines.push(r#"  <div class="actions">"#.into());
    lines.extend(buttons.into_iter().map(|b| format!("  {b}")));
    let (submit, submit_id) = (e.expect("submit"), e.expect("submit-id"));
    lines.push(format!(
        r#"    <button id="{submit_id}" class="button" type="submit">{submit}</button>"#
    ));
    let cancel_id = e.expect("cancel-id");
    lines.push(format!(r#"    <button id="{cancel_id}" class="button secondary" type="button" hidden>Cancel</button>"#));
    lines.extend(["  </div>".into(), "</form>".into()]);
    e.write(&lines)
}

/// `<list-table>`: see [`ELEMENTS`].
fn list_table(e: &Element) -> String {
    e.only(&["id", "columns", "actions", "message", "empty"]);
    let mut lines = Vec::new();
    if let Some(message) = e.get("message") {
        lines.push(format!(
            r#"<p id="{message}" class="list-message" role="status" hidden></p>"#
        ));
    }
    let mut head = String::new();
    for column in e.expect("columns").split(", ") {
        head.push_str(&format!(r#"<th scope="col">{column}</th>"#));
    }
    if e.get("actions").is_some() {
        head.push_str(r#"<th scope="col"><span class="visually-hidden">Actions</span></th>"#);
    }
    lines.extend([
        format!(r#"<table id="{}" class="table">"#, e.expect("id")),
        format!("  <thead><tr>{head}</tr></thead>"),
        "  <tbody></tbody>".into(),
        "</table>".into(),
    ]);
    match e.get("empty") {
        Some(empty) => lines.push(format!(
            r#"<p id="{empty}" class="muted" hidden>{}</p>"#,
            e.content
        )),
        None => assert!(
            e.content.is_empty(),
            "a note without `empty`: {}",
            e.content
        ),
    }
    e.write(&lines)
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

/// `GET /logout`: the button that logs out, by a form's POST, which the same-origin check
/// guards; a link or an image on another page of the same site cannot end a session.
pub fn logout(_app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let Some(s) = &call.session else {
        return Ok(super::redirect("/login"));
    };
    let html = Page::Logout
        .html()
        .replace("{{username}}", &escape(&s.user.username));
    Ok(page(StatusCode::OK, &html))
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

/// 200 `ok`, or 503 with `degraded` or `database unavailable` and the `reason`.
pub fn healthz(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    let verdict = app.health.verdict();
    let status = if verdict == Verdict::Ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::json!({ "status": verdict.word(), "version": crate::VERSION });
    if let Some(why) = verdict.reason() {
        body["reason"] = why.into();
    }
    Ok(Response::json(status, &body))
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

    /// The pages' own elements leave plain HTML whose references hold: each label is for an
    /// element of its page, and all that a control is described by or a section labelled by
    /// is there.
    #[test]
    fn every_page_element_is_expanded_and_its_references_hold() {
        for page in Page::ALL {
            let html = page.html();
            for (name, _) in ELEMENTS {
                assert!(!html.contains(&format!("<{name}")), "{page:?}: <{name}>");
            }
            let value = |part: &'static str| part.split('"').next().unwrap_or("");
            let ids: Vec<&str> = html.split(" id=\"").skip(1).map(value).collect();
            for attr in [" for=\"", " aria-describedby=\"", " aria-labelledby=\""] {
                for part in html.split(attr).skip(1) {
                    for id in value(part).split(' ') {
                        assert!(ids.contains(&id), "{page:?}:{attr}{id} names nothing");
                    }
                }
            }
        }
    }

    #[test]
    fn a_field_expands_to_its_label_control_hint_and_error_line() {
        let field = r#"
    <form-field id="f" hidden label="Name" label-id="l" hint="As <i>shown</i>." error>
      <input id="n" name="name" maxlength="64">
    </form-field>
    <form-field label="On"><input id="on" name="on" type="checkbox" checked></form-field>
"#;
        let expanded = r#"
    <div class="field" id="f" hidden>
      <label for="n" id="l">Name</label>
      <input id="n" name="name" maxlength="64" aria-describedby="n-hint n-error">
      <p class="hint" id="n-hint">As <i>shown</i>.</p>
      <p class="field-error" id="n-error" data-for="name" hidden></p>
    </div>
    <div class="field check">
      <input id="on" name="on" type="checkbox" checked>
      <label for="on">On</label>
    </div>
"#;
        assert_eq!(expand(field), expanded);
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
