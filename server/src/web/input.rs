//! What a request sends, read into serde-derived structs: a JSON object or a urlencoded form
//! (the original's pages post forms) becomes the same fields; queries and cookies too.
//!
//! Field types are lenient on purpose: a [`Text`] takes a string or a number, a [`Flag`] a
//! boolean or a form's "on"/"true"/"1", and anything else is kept as wrong rather than failing
//! the whole body, so each field's refusal names the field ("token must be text").
//! [`Field`] tells a missing field (keep it) from a null one (clear it).

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::{Map, Value};

use super::ApiError;
use crate::domain;
use crate::model::Patch;

/// Reads a body as `T`: JSON for `application/json`, a form for
/// `application/x-www-form-urlencoded` (or no content type, as curl sends one).
pub fn parse_body<T: DeserializeOwned>(content_type: &str, body: &[u8]) -> Result<T, ApiError> {
    let ctype = content_type.to_ascii_lowercase();
    let object = if ctype.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        match value {
            Value::Object(o) => o,
            _ => {
                return Err(ApiError::BadRequest(
                    "the body must be a JSON object".into(),
                ));
            }
        }
    } else if ctype.is_empty() || ctype.starts_with("application/x-www-form-urlencoded") {
        if std::str::from_utf8(body).is_err() {
            return Err(ApiError::BadRequest("the form is not UTF-8".into()));
        }
        form(body)
    } else {
        return Err(ApiError::BadRequest(
            "send JSON (application/json) or a form (application/x-www-form-urlencoded)".into(),
        ));
    };
    from_object(object)
}

/// Reads a query string as `T`, every value text.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    from_object(form(query.unwrap_or("").as_bytes()))
}

/// `a=1&b=x%20y` as an object of strings (a repeated key keeps its last value; `+` is a
/// space).
fn form(bytes: &[u8]) -> Map<String, Value> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

fn from_object<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::BadRequest(format!("the request cannot be read: {e}")))
}

/// A cookie's value from a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// A field as sent: absent, null, or a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Missing,
    Null,
    Given(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field<T>, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Field::Null, Field::Given))
    }
}

/// A field's value as the lenient reading of its kind took it, or `Wrong` when the client
/// sent something that kind cannot be read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose<T> {
    Given(T),
    Wrong,
}

/// A text field's value: a string, or a number written as text (not an array, an object or
/// a boolean).
pub type Text = Loose<String>;

/// A yes/no field's value: JSON true/false, or a form's "on", "true", "1", "yes" (and "off",
/// "false", "0", "no" or empty).
pub type Flag = Loose<bool>;

/// How a kind of field is read from what a client sent.
pub trait Lenient: Sized {
    /// What the field must be, for the error: "text", "true or false".
    const WANTED: &'static str;
    fn read(v: Value) -> Option<Self>;
}

impl Lenient for String {
    const WANTED: &'static str = "text";
    fn read(v: Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

impl Lenient for bool {
    const WANTED: &'static str = "true or false";
    fn read(v: Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(b),
            Value::String(s) => match s.as_str() {
                "on" | "true" | "1" | "yes" => Some(true),
                "off" | "false" | "0" | "no" | "" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

impl<'de, T: Lenient> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Loose<T>, D::Error> {
        Ok(T::read(Value::deserialize(d)?).map_or(Loose::Wrong, Loose::Given))
    }
}

impl<T: Lenient> Field<Loose<T>> {
    /// The value, if one was given (a null counts as none).
    fn value(self, field: &'static str) -> domain::Result<Option<T>> {
        match self {
            Field::Missing | Field::Null => Ok(None),
            Field::Given(Loose::Given(v)) => Ok(Some(v)),
            Field::Given(Loose::Wrong) => Err(domain::Error::invalid(
                field,
                format!("{field} must be {}", T::WANTED),
            )),
        }
    }
}

impl Field<Text> {
    /// The text, if one was given (a null counts as none).
    pub fn text(self, field: &'static str) -> domain::Result<Option<String>> {
        self.value(field)
    }

    /// A field that must be there: checked by `parse`, as empty text when missing, so the
    /// person is told what to enter.
    pub fn required<T, E>(
        self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> domain::Result<T>
    where
        domain::Error: From<E>,
    {
        Ok(parse(&self.text(field)?.unwrap_or_default())?)
    }

    /// An edit of the field: left alone when missing or null, else checked by `parse`.
    pub fn patch<T, E>(
        self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> domain::Result<Patch<T>>
    where
        domain::Error: From<E>,
    {
        match self.text(field)? {
            Some(t) => Ok(Patch::Set(parse(&t)?)),
            None => Ok(Patch::Keep),
        }
    }

    /// Blank text as if the field were missing: a secret's form field is shown empty, so
    /// sending it back empty keeps the stored secret.
    pub fn blank_keeps(self) -> Field<Text> {
        match self {
            Field::Given(Text::Given(t)) if t.trim().is_empty() => Field::Missing,
            other => other,
        }
    }

    /// A number, if given (empty text counts as none).
    pub fn number(self, field: &'static str) -> domain::Result<Option<f64>> {
        match self.text(field)? {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| domain::Error::invalid(field, format!("{field} must be a number"))),
        }
    }
}

impl Field<Flag> {
    pub fn flag(self, field: &'static str) -> domain::Result<Option<bool>> {
        self.value(field)
    }

    pub fn patch(self, field: &'static str) -> domain::Result<Patch<bool>> {
        Ok(self.flag(field)?.map_or(Patch::Keep, Patch::Set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default)]
        name: Field<Text>,
        #[serde(default)]
        enabled: Field<Flag>,
        #[serde(default)]
        n: Field<Text>,
        #[serde(default)]
        x: Field<Text>,
        #[serde(default)]
        gone: Field<Text>,
    }

    fn json(body: &str) -> Probe {
        parse_body("application/json", body.as_bytes()).unwrap()
    }

    #[test]
    fn json_and_form_fields() {
        let p = json(r#"{"name":"pi","enabled":false,"n":3,"x":[1],"gone":null}"#);
        assert_eq!(p.name.text("name").unwrap().as_deref(), Some("pi"));
        assert_eq!(p.enabled.flag("enabled").unwrap(), Some(false));
        assert_eq!(p.n.text("n").unwrap().as_deref(), Some("3"));
        assert!(p.x.text("x").is_err());
        assert_eq!(p.gone, Field::Null);
        let p: Probe = parse_body(
            "application/x-www-form-urlencoded",
            b"enabled=on&name=a%20b+c",
        )
        .unwrap();
        assert_eq!(p.enabled.flag("enabled").unwrap(), Some(true));
        assert_eq!(p.name.text("name").unwrap().as_deref(), Some("a b c"));
        assert_eq!(p.n, Field::Missing);
    }

    #[test]
    fn patches_keep_what_is_missing_and_check_what_is_given() {
        let p = json(r#"{"name":"  ","x":"7"}"#);
        let keep = p
            .gone
            .patch("gone", |t| domain::Result::Ok(t.to_string()))
            .unwrap();
        assert_eq!(keep, Patch::Keep);
        assert_eq!(
            p.name
                .blank_keeps()
                .patch("name", |t| domain::Result::Ok(t.to_string()))
                .unwrap(),
            Patch::Keep,
            "a blank secret keeps the stored one"
        );
        assert_eq!(p.x.number("x").unwrap(), Some(7.0));
        let p = json(r#"{"n":"seven"}"#);
        assert!(p.n.number("n").is_err());
    }

    #[test]
    fn urlencoded_values_decode_like_browsers_send_them() {
        let m = form(b"username=ann&password=a%20b%2Bc+d&empty=&flag&bad=%zz&pct=100%");
        assert_eq!(m["username"], "ann");
        assert_eq!(m["password"], "a b+c d");
        assert_eq!(m["empty"], "");
        assert_eq!(m["flag"], "");
        assert_eq!(m["bad"], "%zz", "a broken escape is kept literally");
        assert_eq!(m["pct"], "100%");
    }

    #[test]
    fn bad_bodies_are_clear_errors() {
        for (ctype, body) in [
            ("application/json", &b"{"[..]),
            ("application/json", b"[1,2]"),
            ("text/xml", b"<a/>"),
            ("application/x-www-form-urlencoded", b"\xff\xfe"),
        ] {
            assert!(
                matches!(
                    parse_body::<Probe>(ctype, body),
                    Err(ApiError::BadRequest(_))
                ),
                "{ctype} {body:?}"
            );
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = Some("a=1; lanstat_session=abc ; b=\"2\"");
        assert_eq!(cookie(h, "lanstat_session"), Some("abc"));
        assert_eq!(cookie(h, "b"), Some("2"));
        assert_eq!(cookie(h, "c"), None);
        assert_eq!(cookie(None, "a"), None);
    }
}
