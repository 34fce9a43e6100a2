//! API tokens for admins: list, create (the token is in the answer once), revoke. And the
//! rule for a request that presents a token instead of a session.

use lanstat_http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::Web;
use super::input::{Field, Text};
use super::{Access, ApiError, Call};
use crate::domain::tokens;

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
pub fn admit(app: &Web, method: &str, access: Access, given: &str) -> Result<(), ApiError> {
    let token = app.tokens.authenticate(given).ok_or(ApiError::BadToken)?;
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

pub fn list(app: &Web, _call: &mut Call) -> Result<Response, ApiError> {
    Ok(Response::json(StatusCode::OK, &app.tokens.list()?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenBody {
    name: Field<Text>,
}

/// `POST /api/tokens` with `name`: 201 with the record and `token`, shown this once.
pub fn create(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let b: TokenBody = call.input()?;
    let name = b.name.required("name", tokens::name)?;
    let by = call.user()?.user.id;
    let (record, token) = app.tokens.create(name, Some(by))?;
    println!(
        "event=api_token_created token_id={} by_user_id={by}",
        record.id
    );
    let mut body = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["token"] = json!(token);
    Ok(Response::json(StatusCode::CREATED, &body))
}

/// `DELETE /api/tokens/<id>`: the token stops working at once.
pub fn revoke(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let gone = app.tokens.revoke(call.id())?;
    println!("event=api_token_revoked token_id={}", call.id());
    Ok(Response::json(
        StatusCode::OK,
        &json!({ "ok": true, "id": call.id(), "name": gone.name }),
    ))
}
