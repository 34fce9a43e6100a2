//! Stored secrets (an agent's token, a channel's token) go only to the host they were saved
//! with. An edit or a test that points one at another scheme, host or port must give the
//! secret again: otherwise whoever may change an address could have every secret the API
//! shows masked sent to a host of theirs and read it there.

use crate::domain::{Error, Result};

/// Where a URL sends what it carries: its scheme, host and port (the scheme's own when none
/// is written), in lower case.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    Some((scheme, host, uri.port_u16().or(default)?))
}

/// Whether `url` reaches the same scheme, host and port as `saved`; an address that cannot
/// be read reaches nothing the same.
pub fn same_host(saved: &str, url: &str) -> bool {
    matches!((origin(saved), origin(url)), (Some(a), Some(b)) if a == b)
}

/// Refuses to send the secret saved with `saved_url` to `url` on another host: it must be
/// given again, in `field`.
pub fn stays_with_its_host(saved_url: &str, url: &str, field: &'static str) -> Result<()> {
    if same_host(saved_url, url) {
        Ok(())
    } else {
        Err(Error::SecretForAnotherHost { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_its_scheme_name_and_port() {
        let saved = "http://pi.lan:8000";
        for same in [
            "http://pi.lan:8000",
            "HTTP://Pi.LAN:8000/",
            "http://pi.lan:8000/systeminfo",
        ] {
            assert!(same_host(saved, same), "{same}");
        }
        for other in [
            "https://pi.lan:8000",
            "http://pi.lan:8001",
            "http://pi.lan",
            "http://pi.lan.:8000",
            "http://evil.example:8000",
            "http://pi.lan.evil.example:8000",
            "not an address",
            "",
        ] {
            assert!(!same_host(saved, other), "{other}");
        }
        assert!(same_host(
            "https://ntfy.sh/alerts",
            "https://ntfy.sh:443/other"
        ));
        assert!(same_host("http://[::1]:9/h", "http://[::1]:9/x"));
        assert!(
            !same_host("garbage", "garbage"),
            "an unreadable address matches nothing"
        );
        assert!(matches!(
            stays_with_its_host(saved, "http://evil.example:8000", "token"),
            Err(Error::SecretForAnotherHost { field: "token" })
        ));
        assert!(stays_with_its_host(saved, "http://pi.lan:8000/x", "token").is_ok());
    }
}
