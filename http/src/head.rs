//! A request head (request line and header fields) read from a buffer within limits, and what
//! it says about the body and the connection (RFC 9112). Pure functions: the connection code
//! feeds them bytes, the tests feed them hostile ones.

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};

use crate::limits::Limits;

/// Header fields httparse may hold; `Limits::max_headers` above this is capped.
pub(crate) const HEADER_SLOTS: usize = 128;

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// Whether the client lets the connection stay open after the answer.
    pub keep_alive: bool,
    /// `Expect: 100-continue` on a request with a body.
    pub expect_continue: bool,
}

/// How the request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes (never 0: that is `Empty`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a request is refused before a handler sees it: the status and a short reason, sent
/// as the answer before the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    /// Stable and machine-readable, for the answer's `code`.
    pub code: &'static str,
    pub reason: &'static str,
}

const fn refuse(status: StatusCode, reason: &'static str) -> Refusal {
    let code = match status.as_u16() {
        408 => "head_timeout",
        414 => "request_line_too_long",
        417 => "expectation_failed",
        431 => "head_too_large",
        501 => "unsupported_transfer_encoding",
        505 => "http_version_not_supported",
        _ => "bad_request",
    };
    Refusal {
        status,
        code,
        reason,
    }
}

/// The refusal of a head that did not arrive before its deadline.
pub(crate) const TIMED_OUT: Refusal = refuse(
    StatusCode::REQUEST_TIMEOUT,
    "the request head did not arrive in time",
);

/// Decides when a growing buffer is worth parsing: when a line has ended, when the buffer is
/// full, or when the request line is already too long. Parsing after every byte of a
/// trickled head would cost time quadratic in its size.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    scanned: usize,
    /// Bytes of the request line seen so far (leading empty lines aside).
    line: usize,
    line_ended: bool,
}

impl Scan {
    /// Looks at what `buf` gained since the last call and parses it when that can tell
    /// something new. `buf` only grows between calls (the connection consumes the head
    /// only once it is complete).
    pub fn feed(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<(Head, usize)>, Refusal> {
        let mut new = &buf[self.scanned.min(buf.len())..];
        self.scanned = buf.len();
        let ended_a_line = new.contains(&b'\n');
        while !self.line_ended && !new.is_empty() {
            let lf = new.iter().position(|b| *b == b'\n');
            let part = &new[..lf.unwrap_or(new.len())];
            self.line += part.iter().filter(|b| **b != b'\r').count();
            match lf {
                Some(i) => {
                    self.line_ended = self.line > 0;
                    new = &new[i + 1..];
                }
                None => break,
            }
        }
        let line_too_long = !self.line_ended && self.line > limits.max_request_line;
        if ended_a_line || line_too_long || buf.len() >= limits.max_head {
            parse(buf, limits)
        } else {
            Ok(None)
        }
    }
}

/// Parses the head at the start of `buf`. `Ok(None)`: not complete yet, read more.
/// `Ok(Some((head, n)))`: the head took `n` bytes; what follows is the body or the next
/// request. `Err`: refuse the request and close.
pub(crate) fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(Head, usize)>, Refusal> {
    // The request line is bounded on its own, before the rest: a client must not make us
    // buffer a whole head's worth of URL (httparse skips empty lines before it, so do we).
    let start = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    let line_len = buf[start..]
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(buf.len() - start);
    if line_len > limits.max_request_line {
        return Err(refuse(StatusCode::URI_TOO_LONG, "request line too long"));
    }

    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let max_headers = limits.max_headers.clamp(1, HEADER_SLOTS);
    let mut req = httparse::Request::new(&mut slots[..max_headers]);
    let n = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() >= limits.max_head {
                return Err(refuse(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request head too large",
                ));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(refuse(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            ));
        }
        Err(httparse::Error::Version) => {
            let line = &buf[start..start + line_len];
            return Err(if names_http_version(line) {
                refuse(
                    StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                    "only HTTP/1.0 and HTTP/1.1 are spoken here",
                )
            } else {
                refuse(StatusCode::BAD_REQUEST, "malformed request line")
            });
        }
        Err(httparse::Error::HeaderName) => {
            return Err(refuse(StatusCode::BAD_REQUEST, "malformed header field"));
        }
        Err(httparse::Error::HeaderValue) => {
            return Err(refuse(StatusCode::BAD_REQUEST, "invalid header value"));
        }
        Err(httparse::Error::NewLine) => {
            return Err(refuse(StatusCode::BAD_REQUEST, "malformed line ending"));
        }
        Err(_) => return Err(refuse(StatusCode::BAD_REQUEST, "malformed request line")),
    };
    if n > limits.max_head {
        return Err(refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request head too large",
        ));
    }

    let bad_line = refuse(StatusCode::BAD_REQUEST, "malformed request line");
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes()).map_err(|_| bad_line)?;
    let uri: Uri = req
        .path
        .unwrap_or("")
        .parse()
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "invalid request target"))?;
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(bad_line),
    };
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "malformed header field"))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "invalid header value"))?;
        headers.append(name, value);
    }

    let framing = framing(&headers, version)?;
    check_host(&headers, version)?;
    let (close, keep) = connection_options(&headers);
    let keep_alive = !close && (version == Version::HTTP_11 || keep);
    let expect_continue = expects_continue(&headers)? && framing != Framing::Empty;
    Ok(Some((
        Head {
            method,
            uri,
            version,
            headers,
            framing,
            keep_alive,
            expect_continue: expect_continue && version == Version::HTTP_11,
        },
        n,
    )))
}

/// Whether a request line's third word is an HTTP version at all (then an unknown one is a
/// 505, not a 400).
fn names_http_version(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let words: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
    matches!(words.as_slice(), [_, _, v] if v.starts_with(b"HTTP/") && v.len() > 5)
}

/// RFC 9112 §6: exactly one valid Content-Length, or chunked alone, or no body.
fn framing(headers: &HeaderMap, version: Version) -> Result<Framing, Refusal> {
    let te: Vec<&HeaderValue> = headers.get_all(header::TRANSFER_ENCODING).iter().collect();
    let cl: Vec<&HeaderValue> = headers.get_all(header::CONTENT_LENGTH).iter().collect();
    if !te.is_empty() {
        if !cl.is_empty() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding and Content-Length together",
            ));
        }
        if version == Version::HTTP_10 {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        let mut codings = te
            .iter()
            .flat_map(|v| v.as_bytes().split(|b| *b == b','))
            .map(|c| c.trim_ascii())
            .filter(|c| !c.is_empty());
        return match (codings.next(), codings.next()) {
            (Some(c), None) if c.eq_ignore_ascii_case(b"chunked") => Ok(Framing::Chunked),
            _ => Err(refuse(
                StatusCode::NOT_IMPLEMENTED,
                "only Transfer-Encoding: chunked is understood",
            )),
        };
    }
    match cl.as_slice() {
        [] => Ok(Framing::Empty),
        [one] => match content_length(one.as_bytes()) {
            Some(0) => Ok(Framing::Empty),
            Some(n) => Ok(Framing::Length(n)),
            None => Err(refuse(StatusCode::BAD_REQUEST, "invalid Content-Length")),
        },
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "more than one Content-Length",
        )),
    }
}

/// Decimal digits only: no sign, no list, no hex, no overflow.
fn content_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// RFC 9112 §3.2: an HTTP/1.1 request names exactly one Host; none may name two.
fn check_host(headers: &HeaderMap, version: Version) -> Result<(), Refusal> {
    match headers.get_all(header::HOST).iter().count() {
        0 if version == Version::HTTP_11 => {
            Err(refuse(StatusCode::BAD_REQUEST, "missing Host header"))
        }
        0 | 1 => Ok(()),
        _ => Err(refuse(StatusCode::BAD_REQUEST, "more than one Host header")),
    }
}

/// The `close` and `keep-alive` options of the Connection header fields.
fn connection_options(headers: &HeaderMap) -> (bool, bool) {
    let (mut close, mut keep) = (false, false);
    for v in headers.get_all(header::CONNECTION) {
        for option in v.as_bytes().split(|b| *b == b',').map(|o| o.trim_ascii()) {
            close |= option.eq_ignore_ascii_case(b"close");
            keep |= option.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    (close, keep)
}

/// `Expect: 100-continue` is the only expectation there is; anything else is a 417.
fn expects_continue(headers: &HeaderMap) -> Result<bool, Refusal> {
    let mut any = false;
    for v in headers.get_all(header::EXPECT) {
        if !v
            .as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b"100-continue")
        {
            return Err(refuse(
                StatusCode::EXPECTATION_FAILED,
                "only Expect: 100-continue is understood",
            ));
        }
        any = true;
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    fn head(raw: &str) -> Result<Option<(Head, usize)>, Refusal> {
        parse(raw.as_bytes(), &limits())
    }

    fn refused(raw: &str) -> u16 {
        match head(raw) {
            Err(r) => r.status.as_u16(),
            Ok(Some((h, _))) => panic!("accepted {raw:?} as {h:?}"),
            Ok(None) => panic!("{raw:?} is incomplete"),
        }
    }

    /// A POST head with `name: value` besides its Host.
    fn post_with(name: &str, value: &str) -> String {
        format!("POST / HTTP/1.1\r\nHost: x\r\n{name}: {value}\r\n\r\n")
    }

    fn framing_of(raw: &str) -> Framing {
        head(raw).unwrap().unwrap().0.framing
    }

    // Malformed input first: each head below is refused with its status, and says why.
    #[rustfmt::skip]
    const REFUSED: &[(&str, u16, &str)] = &[
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2 in an HTTP/1 head"),
        ("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, "no such version"),
        ("GET / HTTP/3\r\n\r\n", 505, "HTTP/3 in an HTTP/1 head"),
        ("GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9"),
        ("GET / FTP/1.1\r\n\r\n", 400, "not HTTP"),
        ("GET / HTTP/\r\n\r\n", 400, "no version number"),
        ("\x00\x01\x02\r\n\r\n", 400, "binary"),
        ("GET\r\n\r\n", 400, "no target"),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "two spaces"),
        ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400, "a fourth word"),
        ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a method that is not a token"),
        ("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a space in the target"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400, "obs-fold, space"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n", 400, "obs-fold, tab"),
        ("GET / HTTP/1.1\rHost: x\r\n\r\n", 400, "a bare CR after the request line"),
        ("GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n", 400, "a bare CR between fields"),
        ("GET / HTTP/1.1\r\nX-A: a\rb\r\nHost: x\r\n\r\n", 400, "a bare CR in a value"),
        ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "a field without a colon"),
        ("GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400, "a field without a name"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n", 400, "a space in a name"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", 400, "a space before the colon"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "NUL in a value"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x1bb\r\n\r\n", 400, "ESC in a value"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400, "DEL in a value"),
    ];

    #[test]
    fn malformed_heads_are_refused_with_their_status() {
        for (raw, status, why) in REFUSED {
            assert_eq!(refused(raw), *status, "{why}: {raw:?}");
        }
    }

    #[test]
    fn the_request_line_is_bounded_even_before_it_ends() {
        let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
        assert_eq!(refused(&long), 414);
        // No newline yet, but already too long: refuse without waiting for the rest.
        let partial = format!("GET /{}", "a".repeat(8200));
        assert_eq!(refused(&partial), 414);
        let fits = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(8000));
        assert!(head(&fits).unwrap().is_some());
    }

    #[test]
    fn the_head_is_bounded_in_bytes_and_fields() {
        let mut big = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        while big.len() < 17 * 1024 {
            big.push_str("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(refused(&big), 431, "incomplete and over the limit");
        big.push_str("\r\n");
        assert_eq!(refused(&big), 431);

        let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for i in 0..100 {
            many.push_str(&format!("X-{i}: 1\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(refused(&many), 431, "101 fields");
        let mut hundred = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for i in 0..99 {
            hundred.push_str(&format!("X-{i}: 1\r\n"));
        }
        hundred.push_str("\r\n");
        assert!(head(&hundred).unwrap().is_some(), "100 fields are fine");
    }

    #[test]
    fn content_length_must_be_one_plain_number() {
        // Not a plain decimal number, or one past u64.
        #[rustfmt::skip]
        let lengths = [
            "0x2f", "+5", "-1", "5,5", "5, 5", " ", "1e3", "５",
            "18446744073709551616", "99999999999999999999", "1 2",
        ];
        for cl in lengths {
            assert_eq!(refused(&post_with("Content-Length", cl)), 400, "{cl:?}");
        }
        assert_eq!(
            refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            400,
            "duplicates, even equal ones"
        );
        assert_eq!(
            framing_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000000000000\r\n\r\n"),
            Framing::Length(9_000_000_000_000_000_000),
            "a huge length parses; the body limit refuses it later without allocating"
        );
        assert_eq!(
            framing_of(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n"
            ),
            Framing::Length(u64::MAX)
        );
    }

    #[test]
    fn transfer_encoding_is_chunked_alone_or_refused() {
        assert_eq!(
            refused(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            400
        );
        assert_eq!(
            refused(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            ),
            400
        );
        // Codings we do not decode, and chunked that is not last and alone.
        #[rustfmt::skip]
        let codings = ["gzip", "gzip, chunked", "chunked, chunked", "identity", "xchunked", ""];
        for te in codings {
            assert_eq!(refused(&post_with("Transfer-Encoding", te)), 501, "{te:?}");
        }
        assert_eq!(
            refused(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            501
        );
        assert_eq!(
            refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
        assert_eq!(
            framing_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\n\r\n"),
            Framing::Chunked
        );
    }

    #[test]
    fn host_is_required_once_in_1_1() {
        assert_eq!(refused("GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        assert!(head("GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
    }

    #[test]
    fn unknown_expectations_get_417() {
        assert_eq!(
            refused("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n"),
            417
        );
    }

    #[test]
    fn invalid_targets_are_refused() {
        assert_eq!(refused("GET /a<b HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(refused("GET /a`b HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    }

    #[test]
    fn scanning_parses_only_when_it_can_tell_something() {
        let raw = b"GET /x HTTP/1.1\r\nHost: y\r\n\r\n";
        let mut scan = Scan::default();
        let mut done = None;
        for end in 1..=raw.len() {
            if let Some(found) = scan.feed(&raw[..end], &limits()).unwrap() {
                done = Some((end, found.1));
                break;
            }
        }
        assert_eq!(done, Some((raw.len(), raw.len())));

        // A request line trickled byte by byte is refused once it passes the limit.
        let mut scan = Scan::default();
        let long = format!("\r\nGET /{}", "a".repeat(9000));
        let mut refused_at = None;
        for end in 1..=long.len() {
            if let Err(r) = scan.feed(&long.as_bytes()[..end], &limits()) {
                refused_at = Some((end, r.status.as_u16()));
                break;
            }
        }
        assert_eq!(refused_at, Some((8 * 1024 + 3, 414)));
    }

    // Then what is accepted.

    #[test]
    fn incomplete_heads_ask_for_more() {
        for raw in [
            "",
            "GE",
            "GET / HTTP/1.1\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n",
        ] {
            assert!(head(raw).unwrap().is_none(), "{raw:?}");
        }
    }

    #[test]
    fn a_complete_head_reports_its_length_and_leaves_the_rest() {
        let raw = "POST /api/x?y=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET";
        let (h, n) = head(raw).unwrap().unwrap();
        assert_eq!(&raw[n..], "abcGET");
        assert_eq!(h.method, Method::POST);
        assert_eq!(h.uri.path(), "/api/x");
        assert_eq!(h.uri.query(), Some("y=1"));
        assert_eq!(h.framing, Framing::Length(3));
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_options() {
        let ka = |raw: &str| head(raw).unwrap().unwrap().0.keep_alive;
        assert!(ka("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, Close\r\n\r\n"
        ));
        assert!(!ka("GET / HTTP/1.0\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn expect_continue_only_with_a_body_in_1_1() {
        let ec = |raw: &str| head(raw).unwrap().unwrap().0.expect_continue;
        assert!(ec(
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        ));
        assert!(!ec(
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"
        ));
        assert!(!ec(
            "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        ));
    }

    #[test]
    fn leading_empty_lines_and_bare_lf_line_ends_are_tolerated() {
        let (h, _) = head("\r\n\r\nGET /x HTTP/1.1\nHost: y\n\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.uri.path(), "/x");
        assert_eq!(h.headers[header::HOST], "y");
    }

    #[test]
    fn absolute_form_targets_give_their_path() {
        let (h, _) = head("GET http://pi:8000/metrics?a=b HTTP/1.1\r\nHost: pi:8000\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.uri.path(), "/metrics");
        assert_eq!(h.uri.query(), Some("a=b"));
    }
}
