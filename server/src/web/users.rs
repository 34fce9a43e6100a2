//! User management for admins: list, add (with a chosen or generated password), change a
//! role, delete, reset a password. The last admin can be neither deleted nor demoted.

use lanstat_http::{Response, StatusCode};
use serde_json::json;

use super::{ApiError, Call};
use crate::App;
use crate::auth;
use crate::model::Role;
use crate::store::{self, Durability};

fn check_username(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::Invalid(
            "username".into(),
            "the user name must be 1 to 64 characters".into(),
        ));
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::Invalid(
            "username".into(),
            "the user name cannot hold spaces or control characters".into(),
        ));
    }
    Ok(name.to_string())
}

fn role_field(text: Option<String>) -> Result<Option<Role>, ApiError> {
    text.map(|r| {
        Role::parse(r.trim())
            .ok_or_else(|| ApiError::Invalid("role".into(), "role must be admin or viewer".into()))
    })
    .transpose()
}

pub fn list(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let users = app.store.read(store::users::list_users)?;
    Ok(Response::json(StatusCode::OK, &users))
}

/// `POST /api/users` with `username`, `role` and an optional `password`; without one a random
/// password is made, returned once, and must be changed at first login.
pub fn create(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let username = check_username(&fields.required("username")?)?;
    let role = role_field(fields.text("role")?)?.unwrap_or(Role::Viewer);
    let given = fields.text("password")?.filter(|p| !p.is_empty());
    if let Some(p) = &given {
        auth::check_new_password(p).map_err(|why| ApiError::Invalid("password".into(), why))?;
    }
    let generated = given.is_none();
    let password = given.unwrap_or_else(auth::random_password);
    let hash = app.passwords.hash(&password);
    let now = app.clock.now();
    let name = username.clone();
    let user = app.store.write(Durability::Durable, move |tx| {
        store::users::create_user(tx, &name, &hash, role, generated, now)
    })?;
    println!(
        "event=user_added user_id={} role={}",
        user.id,
        role.as_str()
    );
    let mut body = serde_json::to_value(&user).map_err(|e| ApiError::Internal(e.to_string()))?;
    if generated {
        body["password"] = json!(password);
    }
    Ok(Response::json(StatusCode::CREATED, &body))
}

/// `PUT`/`PATCH /api/users/<id>` with `role`.
pub fn update(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let role = role_field(fields.text("role")?)?
        .ok_or_else(|| ApiError::Invalid("role".into(), "role is required".into()))?;
    let id = call.id();
    let user = app.store.write(Durability::Durable, move |tx| {
        store::users::set_role(tx, id, role)
    })?;
    Ok(Response::json(StatusCode::OK, &user))
}

pub fn delete(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    app.store.write(Durability::Durable, move |tx| {
        store::users::delete_user(tx, id)
    })?;
    println!("event=user_removed user_id={id}");
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": id }),
    ))
}

/// `POST /api/users/<id>/reset_password`: a new random password, shown once; the user must
/// change it at next login and their sessions end.
pub fn reset_password(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    let user = app.store.read(|c| store::users::get_user(c, id))?;
    let password = auth::random_password();
    let hash = app.passwords.hash(&password);
    let now = app.clock.now();
    app.store.write(Durability::Durable, move |tx| {
        store::users::set_password(tx, id, &hash, true, now)?;
        store::users::delete_user_sessions(tx, id, None).map(|_| ())
    })?;
    println!("event=password_reset user_id={id}");
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": id, "username": user.username, "password": password }),
    ))
}
