//! Login, logout, password change and the session behind each request.

use lanstat_http::{Response, StatusCode};

use super::forms::cookie;
use super::{ApiError, Call, pages, redirect};
use crate::App;
use crate::auth::{self, SESSION_COOKIE, Verdict};
use crate::model::SessionUser;
use crate::store::{self, Durability};

/// The live session named by the request's cookie, touching its last-seen time now and then.
pub fn resolve(app: &App, call: &Call) -> Option<SessionUser> {
    let hash = auth::session_hash(cookie(call.header("Cookie"), SESSION_COOKIE)?)?;
    live_session(app, hash)
}

/// The session stored under `hash`, unless it has been idle or alive too long.
pub fn live_session(app: &App, hash: Vec<u8>) -> Option<SessionUser> {
    let s = app
        .store
        .read(|c| store::users::session_user(c, &hash))
        .ok()??;
    let now = app.clock.now();
    if now - s.last_seen_at > auth::SESSION_IDLE_SECS || now - s.created_at > auth::SESSION_MAX_SECS
    {
        return None;
    }
    if now - s.last_seen_at > auth::SESSION_TOUCH_SECS {
        let h = hash.clone();
        let _ = app.store.write(Durability::Relaxed, move |tx| {
            store::users::touch_session(tx, &h, now)
        });
    }
    Some(s)
}

fn session_cookie(call: &Call, value: &str, max_age: i64) -> String {
    let secure = if call.https { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

/// `POST /login` with `username` and `password`, as a form (the original's) or JSON.
pub fn login(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let username = fields.text("username")?.unwrap_or_default();
    let password = fields.text("password")?.unwrap_or_default();
    let json = call.wants_json();
    let fail = |err: ApiError, username: &str| -> Result<Response, ApiError> {
        if json {
            return Err(err);
        }
        Ok(pages::login_page(err.status(), &err.message(), username))
    };
    if username.is_empty() || password.is_empty() {
        return fail(
            ApiError::Invalid("username".into(), "enter a username and a password".into()),
            &username,
        );
    }
    if password.len() > auth::MAX_PASSWORD_BYTES || username.len() > 256 {
        return fail(ApiError::BadCredentials, &username);
    }
    let ip_key = format!("ip:{}", call.client);
    let user_key = format!("user:{}", username.to_lowercase());
    let keys = [ip_key.as_str(), user_key.as_str()];
    if let Err(wait) = app.throttle.reserve(&keys) {
        return fail(ApiError::TooManyAttempts(wait), &username);
    }
    let found = app.store.read(|c| store::users::find_login(c, &username))?;
    let verdict = app
        .passwords
        .verify(&password, found.as_ref().map(|(_, h)| h.as_str()));
    let (user, old_hash) = match (found, &verdict) {
        (Some((user, hash)), Verdict::Right | Verdict::RightUpgrade(_)) => (user, hash),
        _ => {
            println!("event=login_failed client={} ", call.client);
            let err = ApiError::Invalid("password".into(), "wrong username or password".into());
            return if json {
                Err(ApiError::BadCredentials)
            } else {
                fail(err, &username)
            };
        }
    };
    app.throttle.succeed(&keys);
    let (id, hash) = auth::new_session_id();
    let now = app.clock.now();
    let upgrade = match verdict {
        Verdict::RightUpgrade(h) => Some(h),
        _ => None,
    };
    let user_id = user.id;
    app.store.write(Durability::Durable, move |tx| {
        if let Some(new_hash) = upgrade {
            store::users::upgrade_hash(tx, user_id, &old_hash, &new_hash)?;
        }
        store::users::create_session(tx, &hash, user_id, now)
    })?;
    println!("event=login user_id={} client={}", user.id, call.client);
    let next = if user.must_change_password {
        "/change_password"
    } else {
        "/"
    };
    let cookie = session_cookie(call, &id, auth::SESSION_MAX_SECS);
    let reply = if json {
        Response::json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true, "must_change_password": user.must_change_password, "redirect": next }),
        )
    } else {
        redirect(next)
    };
    with_cookie(reply, &cookie)
}

/// `GET` or `POST /logout`: ends this session.
pub fn logout(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    if let Some(s) = &call.session {
        let hash = s.id_hash.clone();
        app.store.write(Durability::Durable, move |tx| {
            store::users::delete_session(tx, &hash)
        })?;
    }
    let cookie = session_cookie(call, "", 0);
    let reply = if call.wants_json() {
        Response::json(StatusCode::OK, &serde_json::json!({ "ok": true }))
    } else {
        redirect("/login")
    };
    with_cookie(reply, &cookie)
}

fn with_cookie(reply: Response, cookie: &str) -> Result<Response, ApiError> {
    reply
        .try_header("Set-Cookie", cookie)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `POST /change_password` with `current_password`, `new_password` and `confirm_password`
/// (optional in JSON). Ends the user's other sessions.
pub fn change_password(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let s = call.user()?.clone();
    let json = call.wants_json();
    let fail = |err: ApiError| -> Result<Response, ApiError> {
        if json {
            Err(err)
        } else {
            Ok(pages::change_password_page(
                err.status(),
                &err.message(),
                s.user.must_change_password,
            ))
        }
    };
    let current = fields.text("current_password")?.unwrap_or_default();
    let new = fields.text("new_password")?.unwrap_or_default();
    if let Some(confirm) = fields.text("confirm_password")?
        && confirm != new
    {
        return fail(ApiError::Invalid(
            "confirm_password".into(),
            "the two new passwords differ".into(),
        ));
    }
    if let Err(why) = auth::check_new_password(&new) {
        return fail(ApiError::Invalid("new_password".into(), why));
    }
    if new == current {
        return fail(ApiError::Invalid(
            "new_password".into(),
            "choose a password different from the current one".into(),
        ));
    }
    let user_key = format!("user:{}", s.user.username.to_lowercase());
    if let Err(wait) = app.throttle.reserve(&[&user_key]) {
        return fail(ApiError::TooManyAttempts(wait));
    }
    let stored = app
        .store
        .read(|c| store::users::find_login(c, &s.user.username))?
        .map(|(_, h)| h);
    if matches!(
        app.passwords.verify(&current, stored.as_deref()),
        Verdict::Wrong
    ) {
        return fail(ApiError::Invalid(
            "current_password".into(),
            "the current password is wrong".into(),
        ));
    }
    app.throttle.succeed(&[&user_key]);
    let hash = app.passwords.hash(&new);
    let (now, user_id, keep) = (app.clock.now(), s.user.id, s.id_hash.clone());
    app.store.write(Durability::Durable, move |tx| {
        store::users::set_password(tx, user_id, &hash, false, now)?;
        store::users::delete_user_sessions(tx, user_id, Some(&keep)).map(|_| ())
    })?;
    println!("event=password_changed user_id={user_id}");
    if json {
        Ok(Response::json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true }),
        ))
    } else {
        Ok(redirect("/"))
    }
}

/// `GET /api/me`: who is logged in, and the poll interval the dashboard refreshes at.
pub fn me(app: &App, call: &mut Call) -> Result<Response, ApiError> {
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
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::{self, Command};
    use crate::model::Role;

    #[test]
    fn sessions_expire_when_idle_and_at_their_absolute_limit() {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let dir = std::env::temp_dir().join(format!("lanstat-sess-{}", u64::from_le_bytes(b)));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("stats.db").display().to_string();
        let Command::Serve(cfg) = config::from_args(["--db".into(), db], |_| None).unwrap() else {
            unreachable!()
        };
        let clock = Clock::fake(1_800_000_000);
        let app = App::open(cfg, clock.clone()).unwrap();
        let t0 = clock.now();
        let uid = app
            .store
            .write(Durability::Durable, move |tx| {
                store::users::create_user(tx, "ann", "h", Role::Admin, false, t0)
            })
            .unwrap()
            .id;
        let new_session = || {
            let (_, hash) = auth::new_session_id();
            let (h, now) = (hash.clone(), clock.now());
            app.store
                .write(Durability::Durable, move |tx| {
                    store::users::create_session(tx, &h, uid, now)
                })
                .unwrap();
            hash
        };
        // Idle: alive while used at least once a week, gone after a week without use.
        let a = new_session();
        clock.advance(auth::SESSION_IDLE_SECS - 60);
        assert!(
            live_session(&app, a.clone()).is_some(),
            "used just in time: touched"
        );
        clock.advance(auth::SESSION_IDLE_SECS - 60);
        assert!(live_session(&app, a.clone()).is_some());
        clock.advance(auth::SESSION_IDLE_SECS + 1);
        assert!(live_session(&app, a).is_none(), "a week idle");
        // Absolute: even a session in constant use ends after its maximum age.
        let b = new_session();
        for _ in 0..(auth::SESSION_MAX_SECS / 86_400) {
            clock.advance(86_400);
            let _ = live_session(&app, b.clone());
        }
        clock.advance(3600);
        assert!(live_session(&app, b).is_none(), "past the absolute limit");
        app.store.close();
        let _ = std::fs::remove_dir_all(dir);
    }
}
