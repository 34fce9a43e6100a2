//! Request bodies (JSON objects or urlencoded forms) and cookies.

use std::collections::HashMap;

use super::ApiError;

/// The fields of a form or of a JSON object, as text.
#[derive(Debug, Default)]
pub struct Fields {
    map: HashMap<String, FieldValue>,
}

#[derive(Debug, Clone, PartialEq)]
enum FieldValue {
    Text(String),
    Bool(bool),
    Null,
    Other,
}

impl Fields {
    /// Parses by content type: JSON for `application/json`, a form otherwise.
    pub fn parse(content_type: &str, body: &[u8]) -> Result<Fields, ApiError> {
        if content_type.starts_with("application/json") {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
            let serde_json::Value::Object(obj) = value else {
                return Err(ApiError::BadRequest(
                    "the body must be a JSON object".into(),
                ));
            };
            let map = obj
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => FieldValue::Text(s),
                        serde_json::Value::Bool(b) => FieldValue::Bool(b),
                        serde_json::Value::Null => FieldValue::Null,
                        serde_json::Value::Number(n) => FieldValue::Text(n.to_string()),
                        _ => FieldValue::Other,
                    };
                    (k, v)
                })
                .collect();
            return Ok(Fields { map });
        }
        if content_type.is_empty() || content_type.starts_with("application/x-www-form-urlencoded")
        {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::BadRequest("the form is not UTF-8".into()))?;
            let map = parse_urlencoded(text)
                .into_iter()
                .map(|(k, v)| (k, FieldValue::Text(v)))
                .collect();
            return Ok(Fields { map });
        }
        Err(ApiError::BadRequest(
            "send JSON (application/json) or a form (application/x-www-form-urlencoded)".into(),
        ))
    }

    /// A text field, if present.
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.map.get(name) {
            None | Some(FieldValue::Null) => Ok(None),
            Some(FieldValue::Text(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::Invalid(
                name.into(),
                format!("{name} must be text"),
            )),
        }
    }

    /// A text field that must be present (it may still be empty).
    pub fn required(&self, name: &str) -> Result<String, ApiError> {
        self.text(name)?
            .ok_or_else(|| ApiError::Invalid(name.into(), format!("{name} is required")))
    }

    /// A yes/no field: JSON true/false, or a form's "on", "true", "1".
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.map.get(name) {
            None | Some(FieldValue::Null) => Ok(None),
            Some(FieldValue::Bool(b)) => Ok(Some(*b)),
            Some(FieldValue::Text(s)) => match s.as_str() {
                "on" | "true" | "1" | "yes" => Ok(Some(true)),
                "off" | "false" | "0" | "no" | "" => Ok(Some(false)),
                _ => Err(ApiError::Invalid(
                    name.into(),
                    format!("{name} must be true or false"),
                )),
            },
            Some(FieldValue::Other) => Err(ApiError::Invalid(
                name.into(),
                format!("{name} must be true or false"),
            )),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// `a=1&b=x%20y` into a map (later keys win); `+` is a space.
pub fn parse_urlencoded(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cookie's value from a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_forms_decode() {
        let m = parse_urlencoded("username=ann&password=a%20b%2Bc+d&empty=&flag");
        assert_eq!(m["username"], "ann");
        assert_eq!(m["password"], "a b+c d");
        assert_eq!(m["empty"], "");
        assert_eq!(m["flag"], "");
    }

    #[test]
    fn broken_escapes_are_kept_literally() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn json_and_form_fields() {
        let f = Fields::parse(
            "application/json",
            br#"{"name":"pi","enabled":false,"n":3,"x":[1]}"#,
        )
        .unwrap();
        assert_eq!(f.required("name").unwrap(), "pi");
        assert_eq!(f.flag("enabled").unwrap(), Some(false));
        assert_eq!(f.text("n").unwrap().as_deref(), Some("3"));
        assert!(f.text("x").is_err());
        assert!(f.required("url").is_err());
        let f = Fields::parse("application/x-www-form-urlencoded", b"enabled=on").unwrap();
        assert_eq!(f.flag("enabled").unwrap(), Some(true));
    }

    #[test]
    fn bad_bodies_are_clear_errors() {
        assert!(matches!(
            Fields::parse("application/json", b"{"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Fields::parse("application/json", b"[1,2]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Fields::parse("text/xml", b"<a/>"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Fields::parse("application/x-www-form-urlencoded", b"\xff\xfe"),
            Err(ApiError::BadRequest(_))
        ));
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
