//! Values checked once, where they enter: a name, an agent's or a channel's address, a token,
//! a threshold, a password. Each is a type that can only be built by its check, so a value the
//! store receives has passed it. The messages are for the person who typed the value.

use std::fmt;

use super::kind::{ChannelKind, RuleKind};

/// A value refused: the field it came from and why, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Invalid {
        Invalid {
            field,
            message: message.into(),
        }
    }

    /// The same refusal, blamed on another field (a new password is `password` in one form
    /// and `new_password` in another).
    pub fn in_field(self, field: &'static str) -> Invalid {
        Invalid { field, ..self }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

pub type Result<T> = std::result::Result<T, Invalid>;

/// The kind a form names (trimmed), or the refusal that lists the kinds there are.
pub fn kind<K>(s: &str, parse: fn(&str) -> Option<K>, expected: fn() -> String) -> Result<K> {
    parse(s.trim()).ok_or_else(|| Invalid::new("kind", expected()))
}

/// Implements `Deref<Target = str>`, `Display` and `into_string` for a checked text.
macro_rules! text_value {
    ($name:ident) => {
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $name {
            pub fn into_string(self) -> String {
                self.0
            }
        }
    };
}

/// The name of a computer, rule, channel or API token: 1 to 64 characters, trimmed, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);
text_value!(Name);

impl Name {
    /// `ask` is what an empty name is told ("give the computer a name").
    pub fn parse(s: &str, ask: &str) -> Result<Name> {
        let name = s.trim();
        let n = name.chars().count();
        if n == 0 {
            return Err(Invalid::new("name", ask));
        }
        if n > 64 {
            return Err(Invalid::new(
                "name",
                "the name must be at most 64 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new(
                "name",
                "the name cannot hold control characters",
            ));
        }
        Ok(Name(name.to_string()))
    }
}

/// An http(s) address as the `http` crate parses it, with the refusals every address shares:
/// a scheme of ours, a host, no user name or password, a port that is a port.
fn web_address(url: &str) -> std::result::Result<http::Uri, &'static str> {
    let scheme_ok = ["http://", "https://"].iter().any(|p| {
        url.get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    });
    if !scheme_ok {
        return Err("the address must start with http:// or https://");
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|_| "the address needs a host name or IP address, and no spaces")?;
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    if authority.contains('@') {
        return Err("the address must not hold a user name or password");
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the address needs a host name or IP address");
    }
    // `http` leaves out a port it cannot read rather than refusing the address.
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => authority.find(':').map_or("", |i| &authority[i..]),
    };
    if after_host.starts_with(':') && !matches!(uri.port_u16(), Some(p) if p > 0) {
        return Err("the port must be a number from 1 to 65535");
    }
    Ok(uri)
}

/// Where an agent answers: http or https, a host, an optional port and path, nothing else.
/// Kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentUrl(String);
text_value!(AgentUrl);

impl AgentUrl {
    pub fn parse(s: &str) -> Result<AgentUrl> {
        let bad = |m: &str| Invalid::new("url", m);
        let url = s.trim();
        if url.is_empty() {
            return Err(bad(
                "enter the agent's address, such as http://raspberrypi.local:8000",
            ));
        }
        if url.len() > 2048 {
            return Err(bad("the address is too long"));
        }
        if url.contains(['?', '#']) {
            return Err(bad("the address must not have a query or fragment"));
        }
        web_address(url).map_err(|why| match why {
            "the address must not hold a user name or password" => {
                bad("the address must not hold a user name or password; the token is entered apart")
            }
            why => bad(why),
        })?;
        Ok(AgentUrl(url.trim_end_matches('/').to_string()))
    }
}

/// Where Prometheus should scrape an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    pub scheme: &'static str,
    /// `host:port`, with the scheme's default port written out.
    pub address: String,
    pub metrics_path: String,
}

impl AgentUrl {
    /// Splits an agent's address (`http://pi:8000`, `https://proxy/pi/`,
    /// `http://pi:8000/systeminfo`) into what Prometheus needs. `None` for an address the
    /// dashboard would not accept (a stored one of the original design may be anything).
    pub fn scrape_target(url: &str) -> Option<ScrapeTarget> {
        let url = url.trim();
        if url.contains(['?', '#']) {
            return None;
        }
        let uri = web_address(url).ok()?;
        let https = uri.scheme_str() == Some("https");
        let authority = uri.authority()?.as_str();
        let address = if uri.port().is_some() {
            authority.to_string()
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        let path = uri.path().trim_end_matches('/');
        let base = path.strip_suffix("/systeminfo").unwrap_or(path);
        Some(ScrapeTarget {
            scheme: if https { "https" } else { "http" },
            address,
            metrics_path: format!("{base}/metrics"),
        })
    }
}

/// An agent's token, as the agent printed it: one word of at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentToken(String);
text_value!(AgentToken);

impl AgentToken {
    pub fn parse(s: &str) -> Result<AgentToken> {
        if s.trim().is_empty() {
            return Err(Invalid::new(
                "token",
                "enter the token the agent printed when it started",
            ));
        }
        one_word(s, 256, |c| !c.is_control() && !c.is_whitespace()).map(AgentToken)
    }
}

/// Where a channel delivers: http or https with a host and no credentials; for ntfy, a
/// topic's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelUrl(String);
text_value!(ChannelUrl);

impl ChannelUrl {
    pub fn parse(s: &str, kind: ChannelKind) -> Result<ChannelUrl> {
        let bad = |m: &str| Invalid::new("url", m);
        let url = s.trim();
        if url.is_empty() {
            return Err(bad("enter the channel's address"));
        }
        if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "the address must be at most 2048 characters, without spaces",
            ));
        }
        let uri = web_address(url).map_err(|why| match why {
            "the address must not hold a user name or password" => {
                bad("the address must not hold a user name or password; use the token field")
            }
            why => bad(why),
        })?;
        if kind == ChannelKind::Ntfy {
            let topic = uri.path().trim_end_matches('/').rsplit('/').next();
            if url.contains(['?', '#']) || topic.is_none_or(str::is_empty) {
                return Err(bad(
                    "give the topic's address, such as https://ntfy.sh/my-lab-alerts",
                ));
            }
        }
        Ok(ChannelUrl(url.to_string()))
    }
}

/// A channel's token (a Gotify app token, a bearer token): one printable word of at most 512
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelToken(String);
text_value!(ChannelToken);

impl ChannelToken {
    pub fn parse(s: &str) -> Result<ChannelToken> {
        one_word(s, 512, |c| c.is_ascii_graphic()).map(ChannelToken)
    }
}

/// A token field's value trimmed, when it is one word of at most `max` bytes of characters
/// `allowed` lets through.
fn one_word(s: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<String> {
    let word = s.trim();
    if word.len() > max || !word.chars().all(allowed) {
        return Err(Invalid::new(
            "token",
            format!("the token must be one word of at most {max} characters"),
        ));
    }
    Ok(word.to_string())
}

/// A rule's threshold, in the unit and range of its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold(f64);

impl Threshold {
    pub fn new(kind: RuleKind, value: f64) -> Result<Threshold> {
        let (lo, hi, words) = kind.threshold_range();
        if !value.is_finite() || !(lo..=hi).contains(&value) {
            return Err(Invalid::new(
                "threshold",
                format!("the threshold must be {words}"),
            ));
        }
        Ok(Threshold(value))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// What a rule may wait before it fires: whole seconds, up to a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleDuration(i64);

impl RuleDuration {
    pub fn new(secs: f64) -> Result<RuleDuration> {
        if !(0.0..=7.0 * 86_400.0).contains(&secs) || secs.fract() != 0.0 {
            return Err(Invalid::new(
                "duration_secs",
                "the duration must be whole seconds from 0 to 7 days",
            ));
        }
        Ok(RuleDuration(secs as i64))
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

/// The one mount point, sensor or interface a rule watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTarget(String);
text_value!(RuleTarget);

impl RuleTarget {
    /// An empty target is `None`: every mount point, sensor or interface.
    pub fn parse(s: &str) -> Result<Option<RuleTarget>> {
        let t = s.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.chars().count() > 255 || t.chars().any(char::is_control) {
            return Err(Invalid::new(
                "target",
                "the target must be at most 255 characters, without control characters",
            ));
        }
        Ok(Some(RuleTarget(t.to_string())))
    }
}

/// A user name: 1 to 64 characters, no spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);
text_value!(Username);

impl Username {
    pub fn parse(s: &str) -> Result<Username> {
        let name = s.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Invalid::new(
                "username",
                "the user name must be 1 to 64 characters",
            ));
        }
        if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Invalid::new(
                "username",
                "the user name cannot hold spaces or control characters",
            ));
        }
        Ok(Username(name.to_string()))
    }
}

/// A password someone chose: 8 to 1024 bytes. Never shown, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

pub const MIN_PASSWORD_BYTES: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

impl NewPassword {
    /// Refused in the field `password`; see [`Invalid::in_field`] for another.
    pub fn parse(s: &str) -> Result<NewPassword> {
        if s.len() < MIN_PASSWORD_BYTES {
            return Err(Invalid::new(
                "password",
                format!("the password must be at least {MIN_PASSWORD_BYTES} characters"),
            ));
        }
        if s.len() > MAX_PASSWORD_BYTES {
            return Err(Invalid::new(
                "password",
                format!("the password must be at most {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        Ok(NewPassword(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<impl fmt::Debug>) -> &'static str {
        match r {
            Err(Invalid { field, .. }) => field,
            Ok(v) => panic!("not refused: {v:?}"),
        }
    }

    #[test]
    fn agent_urls_are_checked() {
        for ok in [
            "http://pi:8000",
            "https://nas.lan",
            "http://192.168.1.5:8000/",
            "http://[fe80::1]:8000",
            "http://pi:8000/systeminfo",
        ] {
            assert!(AgentUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "pi:8000",
            "ftp://pi",
            "http://",
            "http://:8000",
            "http://user:pw@pi",
            "http://pi:99999",
            "http://pi:0",
            "http://pi:80x",
            "http://p i",
            "http://pi?x=1",
            "http://pi#x",
            "http://[::1",
            "javascript:alert(1)",
        ] {
            assert_eq!(field(AgentUrl::parse(bad)), "url", "{bad}");
        }
        assert_eq!(
            &*AgentUrl::parse(" http://pi:8000/ ").unwrap(),
            "http://pi:8000"
        );
    }

    #[test]
    fn scrape_targets_from_agent_urls() {
        let target =
            |url: &str| AgentUrl::scrape_target(url).map(|t| (t.scheme, t.address, t.metrics_path));
        let t = |s: &'static str, a: &str, p: &str| Some((s, a.to_string(), p.to_string()));
        assert_eq!(target("http://pi:8000"), t("http", "pi:8000", "/metrics"));
        assert_eq!(target("http://pi:8000/"), t("http", "pi:8000", "/metrics"));
        assert_eq!(target("http://pi"), t("http", "pi:80", "/metrics"));
        assert_eq!(
            target("https://gw.example/lab/pi/"),
            t("https", "gw.example:443", "/lab/pi/metrics")
        );
        assert_eq!(
            target("http://pi:8000/systeminfo"),
            t("http", "pi:8000", "/metrics")
        );
        assert_eq!(
            target("http://[fe80::1]:8000"),
            t("http", "[fe80::1]:8000", "/metrics")
        );
        assert_eq!(target("https://[::1]"), t("https", "[::1]:443", "/metrics"));
        for bad in [
            "local",
            "",
            "ftp://pi",
            "http://",
            "http://:80",
            "http://u:p@pi",
            "http://pi?x",
            "http://[::1",
        ] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_are_checked() {
        let ask = "give the computer a name";
        assert!(Name::parse("", ask).is_err());
        assert!(Name::parse("   ", ask).is_err());
        assert!(Name::parse(&"x".repeat(65), ask).is_err());
        assert!(Name::parse("a\u{7}b", ask).is_err());
        assert_eq!(
            &*Name::parse(" Living-room Pi ", ask).unwrap(),
            "Living-room Pi"
        );
        assert!(Name::parse(&"é".repeat(64), ask).is_ok());
        assert_eq!(Name::parse("", ask).unwrap_err().message, ask);
    }

    #[test]
    fn agent_tokens_are_one_word() {
        assert_eq!(field(AgentToken::parse("")), "token");
        assert_eq!(field(AgentToken::parse("two words")), "token");
        assert_eq!(field(AgentToken::parse(&"x".repeat(257))), "token");
        assert!(AgentToken::parse("a79a6575-3178-44fa-8ed0-48581ae5caec").is_ok());
    }

    #[test]
    fn channel_urls_are_checked() {
        for ok in [
            "https://discord.com/api/webhooks/1/abc",
            "http://127.0.0.1:8080/hook?key=1",
            "https://[::1]:9/x",
        ] {
            assert!(ChannelUrl::parse(ok, ChannelKind::Webhook).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://u:p@h/x",
            "https://h/a b",
        ] {
            assert_eq!(
                field(ChannelUrl::parse(bad, ChannelKind::Webhook)),
                "url",
                "{bad}"
            );
        }
        assert!(ChannelUrl::parse("https://ntfy.sh/lab", ChannelKind::Ntfy).is_ok());
        assert!(ChannelUrl::parse("https://ntfy.sh/", ChannelKind::Ntfy).is_err());
        assert!(ChannelUrl::parse("https://ntfy.sh", ChannelKind::Ntfy).is_err());
    }

    #[test]
    fn channel_tokens_are_one_printable_word() {
        assert!(ChannelToken::parse("AbC.d-e_f").is_ok());
        assert!(ChannelToken::parse("two words").is_err());
        assert!(ChannelToken::parse("é").is_err());
    }

    #[test]
    fn thresholds_follow_their_kind() {
        assert!(Threshold::new(RuleKind::Cpu, 90.0).is_ok());
        assert_eq!(field(Threshold::new(RuleKind::Cpu, 101.0)), "threshold");
        assert_eq!(field(Threshold::new(RuleKind::Cpu, f64::NAN)), "threshold");
        assert!(Threshold::new(RuleKind::Temperature, -10.0).is_ok());
        assert!(Threshold::new(RuleKind::Network, 5000.0).is_ok());
    }

    #[test]
    fn durations_are_whole_seconds_up_to_a_week() {
        assert_eq!(RuleDuration::new(300.0).unwrap().secs(), 300);
        assert!(RuleDuration::new(1.5).is_err());
        assert!(RuleDuration::new(-1.0).is_err());
        assert!(RuleDuration::new(8.0 * 86_400.0).is_err());
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(Username::parse("ann").is_ok());
        assert_eq!(field(Username::parse("a b")), "username");
        assert_eq!(field(Username::parse("")), "username");
        assert!(NewPassword::parse("1234567").is_err());
        assert!(NewPassword::parse("12345678").is_ok());
        assert!(NewPassword::parse(&"x".repeat(1024)).is_ok());
        assert!(NewPassword::parse(&"x".repeat(1025)).is_err());
        assert_eq!(
            field(NewPassword::parse("short").map_err(|e| e.in_field("new_password"))),
            "new_password"
        );
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret-pw").unwrap()),
            "NewPassword(…)"
        );
    }
}
