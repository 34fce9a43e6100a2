//! User management for admins: list, add (with a chosen or generated password), change a
//! role, delete, reset a password. The last admin can be neither deleted nor demoted.

use lanstat_http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::Web;
use super::input::{Field, Text};
use super::{ApiError, Call};
use crate::domain;
use crate::model::Role;
use crate::model::values::{NewPassword, Username};

fn role(text: Option<String>) -> domain::Result<Option<Role>> {
    text.map(|r| {
        Role::parse(r.trim())
            .ok_or_else(|| domain::Error::invalid("role", "role must be admin or viewer"))
    })
    .transpose()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserBody {
    username: Field<Text>,
    role: Field<Text>,
    password: Field<Text>,
}

pub fn list(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(Response::json(StatusCode::OK, &app.accounts.users()?))
}

/// `POST /api/users` with `username`, `role` and an optional `password`; without one a random
/// password is made, returned once, and must be changed at first login.
pub fn create(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let b: UserBody = call.input()?;
    let username = match b.username.text("username")? {
        Some(n) => Username::parse(&n)?,
        None => return Err(domain::Error::invalid("username", "username is required").into()),
    };
    let role = role(b.role.text("role")?)?.unwrap_or(Role::Viewer);
    let password = match b.password.text("password")? {
        Some(p) if !p.is_empty() => Some(NewPassword::parse(&p)?),
        _ => None,
    };
    let (user, generated) = app.accounts.add_user(username, role, password)?;
    let mut body = serde_json::to_value(&user).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(password) = generated {
        body["password"] = json!(password);
    }
    Ok(Response::json(StatusCode::CREATED, &body))
}

/// `PUT`/`PATCH /api/users/<id>` with `role`.
pub fn update(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let b: UserBody = call.input()?;
    let role = role(b.role.text("role")?)?
        .ok_or_else(|| domain::Error::invalid("role", "role is required"))?;
    Ok(Response::json(
        StatusCode::OK,
        &app.accounts.set_role(call.id(), role)?,
    ))
}

pub fn delete(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    app.accounts.delete_user(call.id())?;
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": call.id() }),
    ))
}

/// `POST /api/users/<id>/reset_password`: a new random password, shown once; the user must
/// change it at next login and their sessions end.
pub fn reset_password(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let (user, password) = app.accounts.reset_password(call.id())?;
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": user.id, "username": user.username, "password": password }),
    ))
}
