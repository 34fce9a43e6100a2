//! API tokens for admins: list, create (the token is in the answer once), revoke. And the
//! rule for a request that presents a token instead of a session.

use lanstat_http::{Response, StatusCode};
use serde_json::json;

use super::{Access, ApiError, Call};
use crate::App;
use crate::store::{self, StoreError};
use crate::tokens::{self, CreateError};

/// The token of a request that sends `Authorization: Bearer …` (empty when the header names
/// the scheme and nothing else). Such a request is judged by its token alone: its cookie is
/// not read, so it can neither use nor touch a session.
pub fn presented(call: &Call) -> Option<String> {
    let v = call.header("Authorization")?.trim();
    if v.eq_ignore_ascii_case("bearer") {
        return Some(String::new());
    }
    call.req.bearer().map(str::to_string)
}

/// Lets a token request through to a `Reader` route read with `GET`, and nothing else.
pub fn admit(app: &App, method: &str, access: Access, given: &str) -> Result<(), ApiError> {
    let token = tokens::authenticate(app, given).ok_or(ApiError::BadToken)?;
    if method != "GET" || access != Access::Reader {
        println!(
            "event=api_token_refused token_id={} method={method}",
            token.id
        );
        return Err(ApiError::Forbidden(
            "API tokens are read-only: they may GET the /api/ reads and /metrics, nothing else"
                .into(),
        ));
    }
    Ok(())
}

pub fn list(app: &App, _call: &mut Call) -> Result<Response, ApiError> {
    let list = app.store.read(store::tokens::list)?;
    Ok(Response::json(StatusCode::OK, &list))
}

/// `POST /api/tokens` with `name`: 201 with the record and `token`, shown this once.
pub fn create(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let fields = call.fields()?;
    let name = fields.required("name")?;
    let by = call.user()?.user.id;
    let (record, token) = tokens::create(app, &name, Some(by)).map_err(|e| match e {
        CreateError::Name(why) => ApiError::Invalid("name".into(), why),
        CreateError::Store(StoreError::Taken(m) | StoreError::Refused(m)) => ApiError::Conflict(m),
        CreateError::Store(e) => e.into(),
    })?;
    println!(
        "event=api_token_created token_id={} by_user_id={by}",
        record.id
    );
    let mut body = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["token"] = json!(token);
    Ok(Response::json(StatusCode::CREATED, &body))
}

/// `DELETE /api/tokens/<id>`: the token stops working at once.
pub fn revoke(app: &App, call: &mut Call) -> Result<Response, ApiError> {
    let id = call.id();
    let gone = tokens::revoke(app, id).map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no token with id {id}")),
        e => e.into(),
    })?;
    println!("event=api_token_revoked token_id={id}");
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": id, "name": gone.name }),
    ))
}
