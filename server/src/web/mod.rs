//! HTTP: one route table, a [`Call`] per request, errors mapped to statuses in one place,
//! and the security headers added to every response.

mod alerts;
mod computers;
mod history;
mod input;
mod pages;
mod prometheus;
mod session;
mod tokens;
mod users;

use lanstat_http::{BodyError, HeaderValue, Request, Response, StatusCode, header};

use crate::model::{Role, SessionUser};
use crate::{App, domain};
use Access::{Admin, Pending, Public, Reader, User};

use std::net::IpAddr;
use std::sync::Arc;

/// Largest request body we read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone.
    Public,
    /// A logged-in user, even one who must still change the password.
    Pending,
    /// A logged-in user whose password is settled.
    User,
    /// An admin whose password is settled.
    Admin,
    /// What `User` may, and also a read-only API token (`GET` only).
    Reader,
}

type Handler = fn(&Web, &mut Call) -> Result<Response, ApiError>;

struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: Handler,
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: Handler,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

const fn get(path: &'static str, access: Access, handler: Handler) -> Route {
    route("GET", path, access, handler)
}

const fn post(path: &'static str, access: Access, handler: Handler) -> Route {
    route("POST", path, access, handler)
}

const fn put(path: &'static str, access: Access, handler: Handler) -> Route {
    route("PUT", path, access, handler)
}

const fn patch(path: &'static str, access: Access, handler: Handler) -> Route {
    route("PATCH", path, access, handler)
}

const fn delete(path: &'static str, access: Access, handler: Handler) -> Route {
    route("DELETE", path, access, handler)
}

/// The whole HTTP surface. `:id` matches a positive integer, `:file` any one segment.
const ROUTES: &[Route] = &[
    get("/", User, pages::dashboard),
    get("/login", Public, pages::login),
    post("/login", Public, session::login),
    get("/logout", Public, pages::logout),
    post("/logout", Public, session::logout),
    get("/change_password", Pending, pages::change_password),
    post("/change_password", Pending, session::change_password),
    get("/manage", Admin, pages::manage),
    get("/users", Admin, pages::users),
    get("/static/:file", Public, pages::asset),
    get("/healthz", Public, pages::healthz),
    get("/api/me", Pending, session::me),
    get("/api/computers", Reader, computers::list),
    post("/api/computers", Admin, computers::add),
    post("/api/add_computer", Admin, computers::add),
    post("/api/test_connection", Admin, computers::test_connection),
    get("/api/computers/:id", Reader, computers::get),
    put("/api/computers/:id", Admin, computers::update),
    patch("/api/computers/:id", Admin, computers::update),
    delete("/api/computers/:id", Admin, computers::delete),
    get("/api/stats/:id", Reader, history::latest),
    get("/api/history/:id", Reader, history::history),
    get("/api/network_graph/:id", Reader, history::network_graph),
    get("/api/users", Admin, users::list),
    post("/api/users", Admin, users::create),
    put("/api/users/:id", Admin, users::update),
    patch("/api/users/:id", Admin, users::update),
    delete("/api/users/:id", Admin, users::delete),
    post(
        "/api/users/:id/reset_password",
        Admin,
        users::reset_password,
    ),
    get("/metrics", Reader, prometheus::metrics),
    get("/api/prometheus/targets", Reader, prometheus::targets),
    get("/api/tokens", Admin, tokens::list),
    post("/api/tokens", Admin, tokens::create),
    delete("/api/tokens/:id", Admin, tokens::revoke),
    get("/alerts", Admin, pages::alerts),
    get("/api/alerts/rules", Reader, alerts::rules),
    post("/api/alerts/rules", Admin, alerts::add_rule),
    put("/api/alerts/rules/:id", Admin, alerts::update_rule),
    patch("/api/alerts/rules/:id", Admin, alerts::update_rule),
    delete("/api/alerts/rules/:id", Admin, alerts::delete_rule),
    get("/api/alerts/channels", Admin, alerts::channels),
    post("/api/alerts/channels", Admin, alerts::add_channel),
    put("/api/alerts/channels/:id", Admin, alerts::update_channel),
    patch("/api/alerts/channels/:id", Admin, alerts::update_channel),
    delete("/api/alerts/channels/:id", Admin, alerts::delete_channel),
    post("/api/alerts/channels/:id/test", Admin, alerts::test_channel),
    get("/api/alerts/events", Reader, alerts::events),
];

/// An error as the client sees it: what the HTTP side refuses, or what the domain refused.
/// [`ApiError::status`] and [`ApiError::code`] are the one place each is chosen.
#[derive(Debug)]
pub enum ApiError {
    /// No valid session.
    Unauthorized,
    /// A bearer token that is malformed, unknown or revoked.
    BadToken,
    /// Logged in, but the password must be changed first.
    PasswordChangeRequired,
    /// A viewer on an admin route, or an API token beyond reading.
    Forbidden(String),
    CrossOrigin,
    /// No such route or file.
    NotFound(String),
    MethodNotAllowed(String),
    /// The request body was too large, too slow or malformed.
    Body(BodyError),
    /// The body is not JSON or a form this server reads.
    BadRequest(String),
    /// An answer could not be made (never expected).
    Internal(String),
    /// What the domain layer refused or failed at.
    Domain(domain::Error),
}

impl From<domain::Error> for ApiError {
    fn from(e: domain::Error) -> ApiError {
        ApiError::Domain(e)
    }
}

impl From<crate::model::Invalid> for ApiError {
    fn from(e: crate::model::Invalid) -> ApiError {
        ApiError::Domain(e.into())
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::PasswordChangeRequired | ApiError::CrossOrigin => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Body(e) => e.status(),
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Domain(e) => match e {
                domain::Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                domain::Error::NotFound(_) => StatusCode::NOT_FOUND,
                domain::Error::Conflict { .. } => StatusCode::CONFLICT,
                domain::Error::Forbidden(_) => StatusCode::FORBIDDEN,
                domain::Error::BadCredentials => StatusCode::UNAUTHORIZED,
                domain::Error::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
                domain::Error::SecretForAnotherHost { .. } => StatusCode::BAD_REQUEST,
                domain::Error::DiskFull => StatusCode::SERVICE_UNAVAILABLE,
                domain::Error::Storage => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// Stable and machine-readable, beside the message in every error body: what the
    /// dashboard's scripts decide on, never the message's words.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "login_required",
            ApiError::BadToken => "bad_token",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::PasswordChangeRequired => "password_change_required",
            ApiError::CrossOrigin => "cross_origin",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Body(e) => e.code(),
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Internal(_) => "internal",
            ApiError::Domain(e) => match e {
                domain::Error::Invalid { .. } => "invalid",
                domain::Error::NotFound(_) => "not_found",
                domain::Error::Conflict { .. } => "conflict",
                domain::Error::Forbidden(_) => "forbidden",
                domain::Error::BadCredentials => "bad_credentials",
                domain::Error::TooManyAttempts(_) => "too_many_attempts",
                domain::Error::SecretForAnotherHost { .. } => "secret_for_another_host",
                domain::Error::DiskFull => "unavailable",
                domain::Error::Storage => "internal",
            },
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized => "login required".into(),
            ApiError::BadToken => "unknown or revoked API token".into(),
            ApiError::PasswordChangeRequired => "change your password first".into(),
            ApiError::MethodNotAllowed(_) => "method not allowed".into(),
            ApiError::Body(e) => e.to_string(),
            ApiError::CrossOrigin => "cross-origin request refused".into(),
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::BadRequest(m)
            | ApiError::Internal(m) => m.clone(),
            ApiError::Domain(e) => e.to_string(),
        }
    }

    /// The field a refusal blames, for the form to show it there.
    fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::Domain(domain::Error::Invalid { field, .. }) => Some(field),
            ApiError::Domain(domain::Error::Conflict { field, .. }) => *field,
            ApiError::Domain(domain::Error::SecretForAnotherHost { field }) => Some(field),
            _ => None,
        }
    }

    fn to_reply(&self) -> Response {
        let mut body = serde_json::json!({ "error": self.message(), "code": self.code() });
        if let Some(field) = self.field() {
            body["field"] = serde_json::Value::String(field.into());
        }
        let reply = Response::json(self.status(), &body);
        match self {
            ApiError::MethodNotAllowed(allow) => match HeaderValue::from_str(allow) {
                Ok(v) => reply.with_header(header::ALLOW, v),
                Err(_) => reply,
            },
            ApiError::Domain(domain::Error::TooManyAttempts(secs)) => {
                reply.with_header(header::RETRY_AFTER, HeaderValue::from(*secs))
            }
            ApiError::BadToken => reply.with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lanstat\", error=\"invalid_token\""),
            ),
            _ => reply,
        }
    }
}

/// One request being handled.
pub struct Call<'a, 'r> {
    pub req: &'a mut Request<'r>,
    pub path: String,
    /// Numeric path parameters in order.
    pub ids: Vec<i64>,
    /// The `:file` parameter.
    pub file: Option<String>,
    pub session: Option<SessionUser>,
    /// The client's address: the TCP peer's, or with --trust-proxy and a trusted peer, the
    /// one [`forwarded_client`] finds in X-Forwarded-For.
    pub client: String,
    /// Whether the browser reached us over HTTPS, as a trusted proxy says (X-Forwarded-Proto).
    pub https: bool,
    /// The API token sent as `Authorization: Bearer`; such a request has no session.
    pub bearer: Option<String>,
}

impl Call<'_, '_> {
    pub fn header(&self, name: &'static str) -> Option<&str> {
        self.req.header(name)
    }

    /// Whether the client wants JSON rather than a page. Scripts and scrapers (a token, or
    /// `/metrics`) never get a page or a redirect.
    pub fn wants_json(&self) -> bool {
        self.path.starts_with("/api/")
            || self.path == "/metrics"
            || self.bearer.is_some()
            || self
                .header("Accept")
                .is_some_and(|a| a.contains("application/json"))
            || self
                .header("Content-Type")
                .is_some_and(|c| c.starts_with("application/json"))
    }

    pub fn user(&self) -> Result<&SessionUser, ApiError> {
        self.session.as_ref().ok_or(ApiError::Unauthorized)
    }

    pub fn id(&self) -> i64 {
        self.ids.first().copied().unwrap_or(0)
    }

    /// The request's body (a JSON object or a form, at most [`MAX_BODY_BYTES`]) as `T`.
    pub fn input<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        let ctype = self.header("Content-Type").unwrap_or("").to_string();
        let body = self.req.body(MAX_BODY_BYTES).map_err(ApiError::Body)?;
        input::parse_body(&ctype, &body)
    }

    /// The query string as `T`.
    pub fn query_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        input::parse_query(self.req.query())
    }
}

/// The web layer's state: the services it calls, and what it keeps of its own (the last
/// `/api/computers` body). Built once in `main`; every connection thread shares it.
pub struct Web {
    app: Arc<App>,
    computers_list: computers::ListCache,
}

impl Web {
    pub fn new(app: Arc<App>) -> Web {
        Web {
            app,
            computers_list: computers::ListCache::default(),
        }
    }

    /// Answers one request. HEAD arrives as GET: the HTTP layer drops the body it answers.
    pub fn handle(&self, req: &mut Request<'_>) -> Response {
        handle(self, req)
    }
}

/// `200 OK` with a JSON array of `items`, each as `view` shows it.
fn json_list<T, V: serde::Serialize>(items: &[T], view: impl Fn(&T) -> V) -> Response {
    Response::json(StatusCode::OK, &items.iter().map(view).collect::<Vec<_>>())
}

impl std::ops::Deref for Web {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

fn handle(app: &Web, req: &mut Request<'_>) -> Response {
    let path = req.path().to_string();
    let method = req.method().as_str().to_ascii_uppercase();
    let (client, https) = client_of(app, req);
    let mut call = Call {
        req,
        path,
        ids: Vec::new(),
        file: None,
        session: None,
        client,
        https,
        bearer: None,
    };
    call.bearer = tokens::presented(&call);
    let reply = dispatch(app, &mut call, &method);
    finish(reply, &call)
}

/// Who sent the request, and whether the browser used HTTPS. Forwarded headers count only
/// with --trust-proxy and from a peer in --trusted-proxies: anyone else could write them.
fn client_of(app: &Web, req: &Request<'_>) -> (String, bool) {
    let peer = req.peer().ip().to_canonical();
    let proxies = &app.config.trusted_proxies;
    if !(app.config.trust_proxy && proxies.contains(peer)) {
        return (peer.to_string(), false);
    }
    let forwarded = req.headers().get_all("X-Forwarded-For").iter();
    // A field that is not text is malformed like a bad entry: it stops the walk.
    let entries = forwarded.flat_map(|v| v.to_str().unwrap_or(",").split(','));
    let client = forwarded_client(peer, entries, |ip| proxies.contains(ip));
    // The left-most scheme is the one the browser used, at the first proxy of a chain.
    let https = req.header("X-Forwarded-Proto").is_some_and(|p| {
        let first = p.split(',').next().unwrap_or("");
        first.trim().eq_ignore_ascii_case("https")
    });
    (client.to_string(), https)
}

/// The client behind a trusted `peer`, from the X-Forwarded-For entries (every such header
/// field, in order), as nginx's `real_ip_recursive` finds it: walking from the right, each
/// proxy appended the address it was reached from, so the first that is not `trusted` is the
/// client; every entry to its left may be the client's own invention. When all are trusted,
/// the left-most. An entry that is not a bare IP address (a port, brackets, `unknown`, an
/// empty one) stops the walk, and the last address read before it is the client.
fn forwarded_client<'a>(
    peer: IpAddr,
    entries: impl DoubleEndedIterator<Item = &'a str>,
    trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    let mut last = peer;
    for entry in entries.rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            return last;
        };
        last = ip.to_canonical();
        if !trusted(last) {
            break;
        }
    }
    last
}

fn dispatch(app: &Web, call: &mut Call, method: &str) -> Response {
    let mut allowed: Vec<&str> = Vec::new();
    let mut found = None;
    for r in ROUTES {
        if let Some((ids, file)) = match_path(r.path, &call.path) {
            if r.method == method {
                found = Some((r, ids, file));
                break;
            }
            if !allowed.contains(&r.method) {
                allowed.push(r.method);
            }
        }
    }
    let Some((route, ids, file)) = found else {
        let err = if allowed.is_empty() {
            ApiError::NotFound("not found".into())
        } else {
            if allowed.contains(&"GET") {
                allowed.push("HEAD");
            }
            ApiError::MethodNotAllowed(allowed.join(", "))
        };
        return error_reply(call, err);
    };
    call.ids = ids;
    call.file = file;
    match run(app, call, route, method) {
        Ok(r) => r,
        Err(e) => error_reply(call, e),
    }
}

fn run(app: &Web, call: &mut Call, route: &Route, method: &str) -> Result<Response, ApiError> {
    if let Some(given) = &call.bearer {
        tokens::admit(app, method, route.access, given)?;
        return (route.handler)(app, call);
    }
    if method != "GET"
        && !same_origin(
            call.header("Sec-Fetch-Site"),
            call.header("Origin"),
            call.header("Host"),
        )
    {
        return Err(ApiError::CrossOrigin);
    }
    if route.access != Access::Public || route.path == "/login" || route.path == "/logout" {
        call.session = session::resolve(app, call);
    }
    match route.access {
        Access::Public => {}
        Access::Pending => {
            call.user()?;
        }
        Access::User | Access::Admin | Access::Reader => {
            let s = call.user()?;
            if s.user.must_change_password {
                return Err(ApiError::PasswordChangeRequired);
            }
            if route.access == Access::Admin && s.user.role != Role::Admin {
                return Err(ApiError::Forbidden("this needs an admin account".into()));
            }
        }
    }
    (route.handler)(app, call)
}

/// Whether a state-changing request comes from our own pages: `Sec-Fetch-Site` must be
/// same-origin (or none: typed by the user) and `Origin`, when sent, must name the host the
/// request was sent to. Requests with neither header come from scripts, not browsers.
pub fn same_origin(sec_fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> bool {
    if let Some(site) = sec_fetch_site
        && !matches!(site.trim(), "same-origin" | "none")
    {
        return false;
    }
    match origin {
        None => true,
        Some(o) => {
            let Some(host) = host else { return false };
            let o = o.trim();
            let authority = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"));
            matches!(authority, Some(a) if a.trim_end_matches('/').eq_ignore_ascii_case(host.trim()))
        }
    }
}

/// Pages answer errors a person can act on: the login page when logged out, the password
/// page when a change is due, a page saying why when an admin page is refused. API calls get
/// JSON.
fn error_reply(call: &Call, err: ApiError) -> Response {
    if !call.wants_json() {
        match err {
            ApiError::Unauthorized => return redirect("/login"),
            ApiError::PasswordChangeRequired => return redirect("/change_password"),
            ApiError::Forbidden(_) => return pages::forbidden_page(),
            _ => {}
        }
    }
    err.to_reply()
}

pub fn redirect(to: &'static str) -> Response {
    Response::bytes(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        Vec::new(),
    )
    .with_header(header::LOCATION, HeaderValue::from_static(to))
}

/// Matches `/api/computers/:id` against a path, giving the numeric ids and the file name.
fn match_path(pattern: &str, path: &str) -> Option<(Vec<i64>, Option<String>)> {
    let mut ids = Vec::new();
    let mut file = None;
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some((ids, file)),
            (Some(":id"), Some(seg)) => {
                let id: i64 = seg
                    .parse()
                    .ok()
                    .filter(|n| *n > 0 && seg.bytes().all(|b| b.is_ascii_digit()))?;
                ids.push(id);
            }
            (Some(":file"), Some(seg)) if !seg.is_empty() => file = Some(seg.to_string()),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

/// The Content-Security-Policy: our own origin only, no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers (and no-store for anything but static assets).
fn finish(reply: Response, call: &Call) -> Response {
    let fixed = |v: &'static str| HeaderValue::from_static(v);
    let mut reply = reply
        .with_header(header::CONTENT_SECURITY_POLICY, fixed(CSP))
        .with_header(header::X_CONTENT_TYPE_OPTIONS, fixed("nosniff"))
        .with_header(header::X_FRAME_OPTIONS, fixed("DENY"))
        // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on form posts,
        // which the same-origin check must refuse.
        .with_header(header::REFERRER_POLICY, fixed("same-origin"))
        .with_header(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            fixed("same-origin"),
        )
        .with_header(
            header::HeaderName::from_static("permissions-policy"),
            fixed("camera=(), microphone=(), geolocation=()"),
        );
    if !call.path.starts_with("/static/") {
        reply = reply.with_header(header::CACHE_CONTROL, fixed("no-store"));
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_ids_and_files() {
        assert_eq!(
            match_path("/api/computers/:id", "/api/computers/12"),
            Some((vec![12], None))
        );
        assert_eq!(match_path("/api/computers/:id", "/api/computers/0"), None);
        assert_eq!(match_path("/api/computers/:id", "/api/computers/-1"), None);
        assert_eq!(match_path("/api/computers/:id", "/api/computers/+1"), None);
        assert_eq!(match_path("/api/computers/:id", "/api/computers/1/x"), None);
        assert_eq!(
            match_path("/api/computers/:id", "/api/computers/99999999999999999999"),
            None
        );
        assert_eq!(
            match_path("/static/:file", "/static/app.js"),
            Some((vec![], Some("app.js".into())))
        );
        assert_eq!(match_path("/static/:file", "/static/"), None);
        assert_eq!(match_path("/", "/"), Some((vec![], None)));
        assert_eq!(match_path("/", ""), None);
    }

    #[test]
    fn same_origin_rules() {
        assert!(same_origin(
            Some("same-origin"),
            Some("http://pi:8001"),
            Some("pi:8001")
        ));
        assert!(same_origin(None, None, Some("pi:8001")));
        assert!(same_origin(Some("none"), None, Some("pi:8001")));
        assert!(!same_origin(Some("cross-site"), None, Some("pi:8001")));
        assert!(!same_origin(
            Some("same-site"),
            Some("http://pi:8001"),
            Some("pi:8001")
        ));
        assert!(!same_origin(
            None,
            Some("http://evil.example"),
            Some("pi:8001")
        ));
        assert!(!same_origin(None, Some("null"), Some("pi:8001")));
        assert!(!same_origin(None, Some("http://pi:8001"), None));
        assert!(!same_origin(None, Some("http://pi:8002"), Some("pi:8001")));
    }

    #[test]
    fn the_client_is_the_right_most_forwarded_address_that_is_not_a_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Trusted: loopback and 10.0.0.0/8.
        let trusted =
            |a: IpAddr| a.is_loopback() || matches!(a, IpAddr::V4(v) if v.octets()[0] == 10);
        let client = |fields: &[&str]| {
            let entries = fields.iter().flat_map(|f| f.split(','));
            forwarded_client(ip("127.0.0.1"), entries, trusted).to_string()
        };
        for (fields, want) in [
            (&[][..], "127.0.0.1"),
            (&["203.0.113.5"], "203.0.113.5"),
            (&["198.51.100.1, 203.0.113.5"], "203.0.113.5"),
            (
                &["198.51.100.1, 203.0.113.5, 10.0.0.2, 127.0.0.1"],
                "203.0.113.5",
            ),
            (&["198.51.100.1", "203.0.113.5", "10.0.0.2"], "203.0.113.5"),
            (&["2001:db8::7,10.0.0.2"], "2001:db8::7"),
            (&["::ffff:203.0.113.5"], "203.0.113.5"),
            (&["10.0.0.3, 127.0.0.2, 10.0.0.2"], "10.0.0.3"),
            (&[" 203.0.113.5 ,10.0.0.2 "], "203.0.113.5"),
            (&["203.0.113.5, garbage, 10.0.0.2"], "10.0.0.2"),
            (&["203.0.113.5, 198.51.100.1:4433"], "127.0.0.1"),
            (&["203.0.113.5, [2001:db8::7]"], "127.0.0.1"),
            (&["203.0.113.5,,10.0.0.2"], "10.0.0.2"),
            (&["unknown, 10.0.0.2"], "10.0.0.2"),
            (&[""], "127.0.0.1"),
            (&["garbage, 203.0.113.5"], "203.0.113.5"),
        ] {
            assert_eq!(client(fields), want, "{fields:?}");
        }
    }

    #[test]
    fn every_route_is_reachable_and_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
