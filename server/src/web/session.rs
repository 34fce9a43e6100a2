//! Login, logout, password change and the session behind each request. The forms post
//! here from the pages (answered with a page or a redirect), scripts post JSON (answered
//! with JSON).

use lanstat_http::{Response, StatusCode};
use serde::Deserialize;

use super::Web;
use super::input::{Field, Text, cookie};
use super::{ApiError, Call, pages, redirect};
use crate::domain::{
    self,
    accounts::{DEVICE_COOKIE_SECS, SESSION_MAX_SECS},
};
use crate::model::SessionUser;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lanstat_session";
/// The device cookie's name: a browser that has logged in as a user before (see
/// `Accounts::login`). Only the login form needs it, so only `/login` gets it; `Lax`, as it
/// identifies no session and is sent with nothing but a login.
pub const DEVICE_COOKIE: &str = "lanstat_device";

/// The live session named by the request's cookie.
pub fn resolve(app: &Web, call: &Call) -> Option<SessionUser> {
    app.accounts
        .session(cookie(call.header("Cookie"), SESSION_COOKIE)?)
}

fn session_cookie(call: &Call, value: &str, max_age: i64) -> String {
    let secure = if call.https { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

fn device_cookie(call: &Call, value: &str) -> String {
    let secure = if call.https { "; Secure" } else { "" };
    format!(
        "{DEVICE_COOKIE}={value}; Path=/login; HttpOnly; SameSite=Lax; Max-Age={DEVICE_COOKIE_SECS}{secure}"
    )
}

fn with_cookie(reply: Response, cookie: &str) -> Result<Response, ApiError> {
    reply
        .try_header("Set-Cookie", cookie)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginBody {
    username: Field<Text>,
    password: Field<Text>,
}

/// `POST /login` with `username` and `password`, as a form (the original's) or JSON.
pub fn login(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let b: LoginBody = call.input()?;
    let username = b.username.text("username")?.unwrap_or_default();
    let password = b.password.text("password")?.unwrap_or_default();
    let device = cookie(call.header("Cookie"), DEVICE_COOKIE);
    let logged_in = match app
        .accounts
        .login(&username, &password, &call.client, device)
    {
        Ok(l) => l,
        Err(e) if call.wants_json() => return Err(e.into()),
        // The page shows the form again, with the name as typed and the message.
        Err(domain::Error::BadCredentials) => {
            let e = ApiError::Domain(domain::Error::invalid(
                "password",
                "wrong username or password",
            ));
            return Ok(pages::login_page(e.status(), &e.message(), &username));
        }
        Err(e) => {
            let e = ApiError::Domain(e);
            return Ok(pages::login_page(e.status(), &e.message(), &username));
        }
    };
    let user = &logged_in.user;
    let next = if user.must_change_password {
        "/change_password"
    } else {
        "/"
    };
    let cookie = session_cookie(call, &logged_in.session_id, SESSION_MAX_SECS);
    let reply = if call.wants_json() {
        Response::json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true, "must_change_password": user.must_change_password, "redirect": next }),
        )
    } else {
        redirect(next)
    };
    // The session's cookie last: simple clients that keep one Set-Cookie keep the last.
    let device = device_cookie(call, &logged_in.device_cookie);
    with_cookie(with_cookie(reply, &device)?, &cookie)
}

/// `POST /logout`: ends this session. Only a POST, which the same-origin check guards: a
/// `GET` shows the page with the button (`pages::logout`).
pub fn logout(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    if let Some(s) = &call.session {
        app.accounts.logout(s)?;
    }
    let cookie = session_cookie(call, "", 0);
    let reply = if call.wants_json() {
        Response::json(StatusCode::OK, &serde_json::json!({ "ok": true }))
    } else {
        redirect("/login")
    };
    with_cookie(reply, &cookie)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordBody {
    current_password: Field<Text>,
    new_password: Field<Text>,
    confirm_password: Field<Text>,
}

/// `POST /change_password` with `current_password`, `new_password` and `confirm_password`
/// (optional in JSON). Ends the user's other sessions.
pub fn change_password(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let b: PasswordBody = call.input()?;
    let s = call.user()?.clone();
    let current = b
        .current_password
        .text("current_password")?
        .unwrap_or_default();
    let new = b.new_password.text("new_password")?.unwrap_or_default();
    let confirm = b.confirm_password.text("confirm_password")?;
    let changed = app
        .accounts
        .change_password(&s, &current, &new, confirm.as_deref());
    match (changed, call.wants_json()) {
        (Ok(()), true) => Ok(Response::json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true }),
        )),
        (Ok(()), false) => Ok(redirect("/")),
        (Err(e), true) => Err(e.into()),
        (Err(e), false) => {
            let e = ApiError::Domain(e);
            Ok(pages::change_password_page(
                e.status(),
                &e.message(),
                s.user.must_change_password,
            ))
        }
    }
}

/// `GET /api/me`: who is logged in, and the poll interval the dashboard refreshes at.
pub fn me(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let s = call.user()?;
    Ok(Response::json(
        StatusCode::OK,
        &serde_json::json!({
            "id": s.user.id,
            "username": s.user.username,
            "role": s.user.role,
            "must_change_password": s.user.must_change_password,
            "poll_interval_secs": app.config.poll_interval.as_secs(),
            "version": crate::VERSION,
            // What the dashboard's banner says; no database query, unlike /healthz.
            "troubles": app.health.troubles(),
        }),
    ))
}
