//! What a handler answers: a status, header fields and a body. The connection adds `Date`,
//! `Content-Length` and `Connection` itself and writes head and body in one go.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version, header};

/// An answer. Header fields are typed: a name or value with CR, LF, NUL or another control
/// character cannot be built, so no handler can split a response.
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Cow<'static, [u8]>,
}

/// A header field that cannot be sent: its name is not a token, or its value holds a control
/// character (CR, LF, NUL, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    name: String,
}

impl std::fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid header field {:?}", self.name)
    }
}

impl std::error::Error for InvalidHeader {}

/// Fields the connection writes itself; a handler's own are dropped.
const OWNED_BY_CONNECTION: [HeaderName; 4] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::DATE,
];

impl Response {
    /// A response without a body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Cow::Borrowed(b""),
        }
    }

    /// A body with its content type (a constant of ours, such as `"application/json"`).
    pub fn bytes(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Response {
        let mut r = Response::new(status);
        r.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r.body = body.into();
        r
    }

    /// `value` as JSON.
    pub fn json<T: serde::Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|_| b"{\"error\":\"cannot encode response\"}".to_vec());
        Response::bytes(status, "application/json", body)
    }

    /// `{"error": message, "code": code}`: the message for people, the code (stable, such as
    /// `not_found`) for programs.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
        Response::json(
            status,
            &serde_json::json!({ "error": message, "code": code }),
        )
    }

    /// Adds a header field (beside any of the same name).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Response {
        self.headers.append(name, value);
        self
    }

    /// Adds a header field given as text, refusing what cannot be sent.
    pub fn try_header(self, name: &str, value: &str) -> Result<Response, InvalidHeader> {
        let invalid = || InvalidHeader {
            name: name.chars().take(64).collect(),
        };
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let v = HeaderValue::from_str(value).map_err(|_| invalid())?;
        Ok(self.with_header(n, v))
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether the handler asked for the connection to close after this answer.
    pub(crate) fn asks_to_close(&self) -> bool {
        self.headers.get_all(header::CONNECTION).iter().any(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .any(|o| o.trim_ascii().eq_ignore_ascii_case(b"close"))
        })
    }

    /// Whether this status carries no body (RFC 9110 §6.4.1): 1xx, 204, 304.
    fn bodiless(&self) -> bool {
        self.status.is_informational()
            || self.status == StatusCode::NO_CONTENT
            || self.status == StatusCode::NOT_MODIFIED
    }

    /// The head as sent, and the body to send after it (empty for HEAD and bodiless statuses).
    /// `request` is the request's version: an HTTP/1.0 client that keeps the connection is
    /// told so explicitly.
    pub(crate) fn encode(
        &self,
        request: Version,
        keep_alive: bool,
        head_only: bool,
        date: &str,
    ) -> (Vec<u8>, &[u8]) {
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(b"HTTP/1.1 ");
        head.extend_from_slice(self.status.as_str().as_bytes());
        head.push(b' ');
        head.extend_from_slice(self.status.canonical_reason().unwrap_or("").as_bytes());
        head.extend_from_slice(b"\r\nDate: ");
        head.extend_from_slice(date.as_bytes());
        head.extend_from_slice(b"\r\n");
        let bodiless = self.bodiless();
        if !(self.status.is_informational() || self.status == StatusCode::NO_CONTENT) {
            let len = if bodiless { 0 } else { self.body.len() };
            head.extend_from_slice(b"Content-Length: ");
            head.extend_from_slice(len.to_string().as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        if !keep_alive {
            head.extend_from_slice(b"Connection: close\r\n");
        } else if request == Version::HTTP_10 {
            head.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        for (name, value) in &self.headers {
            if OWNED_BY_CONNECTION.contains(name) {
                continue;
            }
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let body: &[u8] = if head_only || bodiless {
            b""
        } else {
            &self.body
        };
        (head, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bodiless answer with `status`, as sent.
    fn empty(status: StatusCode, version: Version, keep: bool) -> String {
        text(&Response::new(status), version, keep, false)
    }

    fn text(r: &Response, version: Version, keep: bool, head_only: bool) -> String {
        let (head, body) = r.encode(version, keep, head_only, "Thu, 01 Jan 1970 00:00:00 GMT");
        format!(
            "{}{}",
            String::from_utf8(head).unwrap(),
            String::from_utf8(body.to_vec()).unwrap()
        )
    }

    #[test]
    fn header_values_with_cr_lf_or_nul_cannot_be_built() {
        for bad in ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\0b", "a\x1bb"] {
            let r = Response::new(StatusCode::OK).try_header("X-Name", bad);
            assert!(r.is_err(), "{bad:?} was accepted");
        }
        for bad in ["X\r\nY", "X Y", "X:Y", "", "X\0"] {
            let r = Response::new(StatusCode::OK).try_header(bad, "v");
            assert!(r.is_err(), "name {bad:?} was accepted");
        }
        assert!(
            HeaderValue::from_str("a\r\nb").is_err(),
            "the typed constructor refuses too"
        );
        let ok = Response::new(StatusCode::OK)
            .try_header("Location", "/login?next=%2F")
            .unwrap();
        assert_eq!(ok.headers()["location"], "/login?next=%2F");
    }

    #[test]
    fn every_response_has_a_date_and_a_length() {
        let r = Response::bytes(StatusCode::OK, "text/plain", &b"hello"[..]);
        assert_eq!(
            text(&r, Version::HTTP_11, true, false),
            "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 5\r\ncontent-type: text/plain\r\n\r\nhello"
        );
        let closing = empty(StatusCode::NOT_FOUND, Version::HTTP_11, false);
        assert!(closing.contains("\r\nContent-Length: 0\r\n"), "{closing}");
        assert!(closing.contains("\r\nConnection: close\r\n"), "{closing}");
    }

    #[test]
    fn head_answers_keep_the_length_and_drop_the_body() {
        let r = Response::bytes(StatusCode::OK, "text/plain", &b"hello"[..]);
        let t = text(&r, Version::HTTP_11, true, true);
        assert!(t.contains("Content-Length: 5\r\n"), "{t}");
        assert!(t.ends_with("\r\n\r\n"), "{t}");
    }

    #[test]
    fn http_1_0_keep_alive_is_said() {
        let t = empty(StatusCode::OK, Version::HTTP_10, true);
        assert!(t.contains("Connection: keep-alive\r\n"), "{t}");
    }

    #[test]
    fn framing_fields_of_the_handler_are_replaced() {
        let r = Response::bytes(StatusCode::OK, "text/plain", &b"abc"[..])
            .try_header("Content-Length", "999")
            .unwrap()
            .try_header("Transfer-Encoding", "chunked")
            .unwrap()
            .try_header("Connection", "close")
            .unwrap();
        assert!(r.asks_to_close());
        let t = text(&r, Version::HTTP_11, false, false);
        assert_eq!(
            t.matches("Content-Length").count() + t.matches("content-length").count(),
            1,
            "{t}"
        );
        assert!(!t.to_ascii_lowercase().contains("transfer-encoding"), "{t}");
        assert!(t.contains("Content-Length: 3\r\n"), "{t}");
    }

    #[test]
    fn no_content_has_no_length_and_no_body() {
        let mut r = Response::new(StatusCode::NO_CONTENT);
        r.body = Cow::Borrowed(b"ignored");
        let t = text(&r, Version::HTTP_11, true, false);
        assert!(!t.contains("Content-Length"), "{t}");
        assert!(t.ends_with("\r\n\r\n"), "{t}");
    }
}
