//! Flags and environment, read and checked once into a [`Command`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lanstat_agent::cli::{
    Arg, Args, parse_listen, parse_max_connections, parse_seconds, unknown_flag,
};

use crate::model::Retention;
use crate::model::values::{NewPassword, Username};

/// Flags or environment that cannot be used; the flag reader is the agent's, shared.
pub use lanstat_agent::cli::Usage;

type Error = Usage;

pub const HELP: &str = "\
lanstat-server: polls lanstat agents, keeps their history and serves the dashboard

Usage:
  lanstat-server [serve] [OPTIONS]        run the server
  lanstat-server backup FILE [--db PATH]  copy the database to FILE, safely, while it runs
  lanstat-server reset-password USER [--db PATH]
                                          give USER a new random password and end their sessions
  lanstat-server token create NAME [--db PATH]
                                          make a read-only API token (shown once)
  lanstat-server token list [--db PATH]   list API tokens
  lanstat-server token revoke NAME|ID [--db PATH]
                                          revoke an API token at once

Options:
  --listen ADDR:PORT       where to listen [env LANSTAT_LISTEN; default 0.0.0.0:8001]
  --db PATH                the SQLite database [env DATABASE_PATH; default stats.db, or
                           $STATE_DIRECTORY/stats.db under systemd]
  --poll-interval SECONDS  how often to poll every agent [env LANSTAT_POLL_INTERVAL; default 30]
  --keep-raw DURATION      keep every sample this long [env LANSTAT_KEEP_RAW; default 48h]
  --keep-5m DURATION       keep 5-minute averages, minima and maxima this long [default 30d]
  --keep-1h DURATION       keep hourly averages, minima and maxima this long [default 365d]
  --keep-1d DURATION       keep daily averages, minima and maxima this long [default 5y]
                           (durations: a number and m, h, d, w or y; each tier keeps at
                           least as long as the finer one before it)
  --no-local               do not monitor this server's own host
  --trust-proxy            behind a reverse proxy: take the client's address from
                           X-Forwarded-For and the scheme from X-Forwarded-Proto, when the
                           request comes from a trusted proxy [env LANSTAT_TRUST_PROXY=1]
  --trusted-proxies LIST   the proxies whose forwarded headers count: IP addresses or CIDR
                           ranges, comma-separated [env LANSTAT_TRUSTED_PROXIES; default
                           127.0.0.0/8,::1]
  --max-connections N      connections served at once, one thread each [default 128]
  --public-url URL         the dashboard's address in alert messages [env LANSTAT_PUBLIC_URL;
                           default: the address the admin used when saving the channel]
  --notify-retry SECS,...  waits before retrying a failed alert delivery [default 2,10,60]
  -h, --help               show this help
  -V, --version            show the version

Environment:
  ADMIN_USERNAME           the first admin's name when the database has no user [default admin]
  ADMIN_PASSWORD           the first admin's password; unset: a random one is printed once

There is no secret key to set: sessions are random server-side ids.
";

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub db: PathBuf,
    pub poll_interval: Duration,
    pub local: bool,
    /// Whether forwarded headers are read at all (from `trusted_proxies` only).
    pub trust_proxy: bool,
    /// The peers whose `X-Forwarded-For` and `X-Forwarded-Proto` count.
    pub trusted_proxies: TrustedProxies,
    /// Connections served at once (the HTTP layer's cap).
    pub max_connections: usize,
    pub admin_username: String,
    pub admin_password: Option<String>,
    pub retention: Retention,
    /// The dashboard's address for links in alert messages.
    pub public_url: Option<String>,
    /// Waits before the 2nd, 3rd, … attempt of a failed alert delivery.
    pub notify_retry: Vec<Duration>,
}

impl Config {
    /// The settings that need no checking: the defaults, with what the environment sets.
    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Config {
        let default_db =
            match env("STATE_DIRECTORY").and_then(|s| s.split(':').next().map(str::to_string)) {
                Some(dir) if !dir.is_empty() => Path::new(&dir).join("stats.db"),
                _ => PathBuf::from("stats.db"),
            };
        Config {
            listen: env("LANSTAT_LISTEN").unwrap_or_else(|| "0.0.0.0:8001".into()),
            db: env("DATABASE_PATH")
                .map(PathBuf::from)
                .unwrap_or(default_db),
            poll_interval: Duration::from_secs(30),
            local: true,
            trust_proxy: env("LANSTAT_TRUST_PROXY").is_some_and(|v| v == "1" || v == "true"),
            trusted_proxies: TrustedProxies::default(),
            max_connections: 128,
            admin_username: env("ADMIN_USERNAME").unwrap_or_else(|| "admin".into()),
            admin_password: env("ADMIN_PASSWORD"),
            retention: Retention::default(),
            public_url: None,
            notify_retry: [2, 10, 60].map(Duration::from_secs).to_vec(),
        }
    }

    /// What the offline commands (backup, reset-password, token) open `db` with: every other
    /// setting at its default, whatever the environment says, since they only reach the store.
    pub fn offline(db: PathBuf) -> Config {
        Config {
            db,
            ..Config::from_env(&|_| None)
        }
    }
}

#[derive(Debug)]
pub enum Command {
    Serve(Config),
    Backup { db: PathBuf, dest: PathBuf },
    ResetPassword { db: PathBuf, user: String },
    Token { db: PathBuf, action: TokenAction },
    Help,
    Version,
}

/// What `lanstat-server token` does.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenAction {
    Create(String),
    List,
    Revoke(String),
}

/// Reads flags (`argv` without the program name) and the environment (`env`).
pub fn from_args(
    argv: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, Error> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let mut c = Config::from_env(&env);
    if let Some(v) = env("LANSTAT_PUBLIC_URL") {
        c.public_url = Some(parse_public_url("public-url (LANSTAT_PUBLIC_URL)", &v)?);
    }
    for (var, flag) in [
        ("LANSTAT_KEEP_RAW", "keep-raw"),
        ("LANSTAT_KEEP_5M", "keep-5m"),
        ("LANSTAT_KEEP_1H", "keep-1h"),
        ("LANSTAT_KEEP_1D", "keep-1d"),
    ] {
        if let Some(v) = env(var) {
            set_retention(&mut c.retention, flag, &format!("{flag} ({var})"), &v)?;
        }
    }
    if let Some(v) = env("LANSTAT_TRUSTED_PROXIES") {
        c.trusted_proxies = TrustedProxies::parse("trusted-proxies (LANSTAT_TRUSTED_PROXIES)", &v)?;
    }
    if let Some(v) = env("LANSTAT_POLL_INTERVAL") {
        c.poll_interval =
            Duration::from_secs(parse_seconds("poll-interval (LANSTAT_POLL_INTERVAL)", &v)?);
    }
    let mut words = Vec::new();
    let mut args = Args::new(argv);
    while let Some(arg) = args.next_arg() {
        match arg {
            Arg::Flag(f) => match f.as_str() {
                "help" => return Ok(Command::Help),
                "version" => return Ok(Command::Version),
                "listen" => c.listen = parse_listen(&f, &args.value(&f)?)?,
                "db" => c.db = PathBuf::from(args.value(&f)?),
                "poll-interval" => {
                    c.poll_interval = Duration::from_secs(parse_seconds(&f, &args.value(&f)?)?)
                }
                "keep-raw" | "keep-5m" | "keep-1h" | "keep-1d" => {
                    let v = args.value(&f)?;
                    set_retention(&mut c.retention, &f, &f, &v)?;
                }
                "no-local" => c.local = false,
                "public-url" => c.public_url = Some(parse_public_url(&f, &args.value(&f)?)?),
                "notify-retry" => c.notify_retry = parse_retry(&args.value(&f)?)?,
                "trust-proxy" => c.trust_proxy = true,
                "trusted-proxies" => {
                    c.trusted_proxies = TrustedProxies::parse(&f, &args.value(&f)?)?
                }
                "max-connections" => {
                    c.max_connections = parse_max_connections(&args.value(&f)?, 4096)?
                }
                _ => return Err(unknown_flag(&f)),
            },
            Arg::Word(w) => words.push(w),
        }
    }
    c.listen = parse_listen("listen (LANSTAT_LISTEN)", &c.listen)?;
    let r = c.retention;
    if r.five_minutes < r.raw || r.hour < r.five_minutes || r.day < r.hour {
        return Err(Usage(
            "retention must not shrink from tier to tier: --keep-raw <= --keep-5m <= --keep-1h <= --keep-1d"
                .into(),
        ));
    }
    if c.db.as_os_str().is_empty() {
        return Err(Usage("--db must name a file".into()));
    }
    if let Some(pw) = &c.admin_password {
        NewPassword::parse(pw)
            .map_err(|why| Usage(format!("ADMIN_PASSWORD is not usable: {why}")))?;
    }
    Username::parse(&c.admin_username)
        .map_err(|why| Usage(format!("ADMIN_USERNAME is not usable: {why}")))?;
    let mut words = words.into_iter();
    match words.next().as_deref() {
        None | Some("serve") => {
            if let Some(extra) = words.next() {
                return Err(Usage(format!("unexpected argument {extra:?} (see --help)")));
            }
            Ok(Command::Serve(c))
        }
        Some("backup") => {
            let dest = words
                .next()
                .ok_or_else(|| Usage("backup needs a destination FILE".into()))?;
            Ok(Command::Backup {
                db: c.db,
                dest: PathBuf::from(dest),
            })
        }
        Some("reset-password") => {
            let user = words
                .next()
                .ok_or_else(|| Usage("reset-password needs a USER".into()))?;
            Ok(Command::ResetPassword { db: c.db, user })
        }
        Some("token") => {
            let action = match (words.next().as_deref(), words.next()) {
                (Some("create"), Some(name)) => TokenAction::Create(name),
                (Some("list"), None) => TokenAction::List,
                (Some("revoke"), Some(which)) => TokenAction::Revoke(which),
                _ => {
                    return Err(Usage(
                        "use: token create NAME | token list | token revoke NAME|ID".into(),
                    ));
                }
            };
            if let Some(extra) = words.next() {
                return Err(Usage(format!("unexpected argument {extra:?} (see --help)")));
            }
            Ok(Command::Token { db: c.db, action })
        }
        Some(other) => Err(Usage(format!("unknown command {other:?} (see --help)"))),
    }
}

fn set_retention(r: &mut Retention, flag: &str, shown: &str, value: &str) -> Result<(), Error> {
    let secs = parse_duration(value)
        .filter(|s| (3600..=10 * 366 * 86_400).contains(s))
        .ok_or_else(|| {
            Usage(format!(
                "--{shown} must be a duration from 1h to 10y such as 48h, 30d or 1y, not {value:?}"
            ))
        })?;
    match flag {
        "keep-raw" => r.raw = secs,
        "keep-5m" => r.five_minutes = secs,
        "keep-1h" => r.hour = secs,
        _ => r.day = secs,
    }
    Ok(())
}

/// An http(s) address without a trailing slash.
fn parse_public_url(flag: &str, v: &str) -> Result<String, Error> {
    let v = v.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .filter(|r| !r.is_empty() && !r.contains(char::is_whitespace));
    match rest {
        Some(_) => Ok(v.to_string()),
        None => Err(Usage(format!(
            "--{flag} must be an http:// or https:// address such as http://dashboard.lan:8001, not {v:?}"
        ))),
    }
}

/// The reverse proxies whose forwarded headers are believed: IP addresses and CIDR ranges.
/// Loopback unless configured, so a proxy on the same host works with `--trust-proxy` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl Default for TrustedProxies {
    fn default() -> TrustedProxies {
        TrustedProxies(vec![
            IpRange::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
            IpRange::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        ])
    }
}

impl TrustedProxies {
    /// "10.0.0.0/8, 192.168.1.2, fd00::/8": each an address or a range, at least one.
    pub fn parse(flag: &str, list: &str) -> Result<TrustedProxies, Error> {
        let ranges: Option<Vec<IpRange>> = list.split(',').map(IpRange::parse).collect();
        match ranges {
            Some(r) if !r.is_empty() => Ok(TrustedProxies(r)),
            _ => Err(Usage(format!(
                "--{flag} must be IP addresses or CIDR ranges separated by commas, such as \
                 127.0.0.1,10.0.0.0/8,fd00::/8, not {list:?}"
            ))),
        }
    }

    /// Whether `ip` is one of them (an IPv4 address written as IPv6, `::ffff:a.b.c.d`, as the
    /// IPv4 address it is).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|r| r.contains(ip))
    }
}

/// An IP address range: the first `prefix` bits of `net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    net: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// The range, its host bits cleared; an IPv4 range written as IPv6 (`::ffff:10.0.0.0/104`)
    /// is kept as the IPv4 one.
    fn new(net: IpAddr, prefix: u8) -> IpRange {
        let (net, prefix) = match net {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
                (net.to_canonical(), prefix - 96)
            }
            _ => (net, prefix),
        };
        let net = match net {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from_bits(
                a.to_bits() & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0),
            )),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from_bits(
                a.to_bits() & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0),
            )),
        };
        IpRange { net, prefix }
    }

    /// "10.0.0.0/8", "fd00::/8", or one address ("192.168.1.2", "::1").
    pub fn parse(s: &str) -> Option<IpRange> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
        };
        Some(IpRange::new(net, prefix))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                IpRange::new(ip, self.prefix).net == self.net
            }
            _ => false,
        }
    }
}

/// "2,10,60" (seconds, fractions allowed, at most 10 of them) into waits; "0" means no retry.
fn parse_retry(v: &str) -> Result<Vec<Duration>, Error> {
    if v.trim() == "0" {
        return Ok(Vec::new());
    }
    let waits: Option<Vec<Duration>> = v
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
                .map(Duration::from_secs_f64)
        })
        .collect();
    match waits {
        Some(w) if !w.is_empty() && w.len() <= 10 => Ok(w),
        _ => Err(Usage(format!(
            "--notify-retry must be up to 10 waits in seconds such as 2,10,60, or 0, not {v:?}"
        ))),
    }
}

/// "90m", "48h", "30d", "2w", "1y" in seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()]
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)?;
    let mult = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str, env: &[(&str, &str)]) -> Result<Command, Error> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_args(args.split_whitespace().map(String::from), |k| {
            env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone())
        })
    }

    fn serve(args: &str, env: &[(&str, &str)]) -> Config {
        match parse(args, env).unwrap() {
            Command::Serve(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_original() {
        let c = serve("", &[]);
        assert_eq!(c.listen, "0.0.0.0:8001");
        assert_eq!(c.db, PathBuf::from("stats.db"));
        assert_eq!(c.poll_interval, Duration::from_secs(30));
        assert_eq!(c.admin_username, "admin");
        assert!(c.local);
    }

    #[test]
    fn env_then_flags() {
        let env = [
            ("DATABASE_PATH", "/x/a.db"),
            ("LANSTAT_LISTEN", "127.0.0.1:9000"),
            ("ADMIN_USERNAME", "root"),
        ];
        let c = serve("", &env);
        assert_eq!(
            (
                c.db.to_str().unwrap(),
                c.listen.as_str(),
                c.admin_username.as_str()
            ),
            ("/x/a.db", "127.0.0.1:9000", "root")
        );
        let c = serve(
            "--db /y/b.db --listen 127.0.0.1:0 --poll-interval 1 --no-local",
            &env,
        );
        assert_eq!(
            (c.db.to_str().unwrap(), c.listen.as_str()),
            ("/y/b.db", "127.0.0.1:0")
        );
        assert_eq!(c.poll_interval, Duration::from_secs(1));
        assert!(!c.local);
    }

    #[test]
    fn systemd_state_directory_holds_the_database() {
        let c = serve("", &[("STATE_DIRECTORY", "/var/lib/lanstat")]);
        assert_eq!(c.db, PathBuf::from("/var/lib/lanstat/stats.db"));
        let c = serve(
            "",
            &[
                ("STATE_DIRECTORY", "/var/lib/lanstat"),
                ("DATABASE_PATH", "/d.db"),
            ],
        );
        assert_eq!(c.db, PathBuf::from("/d.db"));
    }

    #[test]
    fn subcommands() {
        assert!(matches!(
            parse("backup /tmp/b.db --db x.db", &[]).unwrap(),
            Command::Backup { .. }
        ));
        assert!(
            matches!(parse("reset-password ann", &[]).unwrap(), Command::ResetPassword { user, .. } if user == "ann")
        );
        assert!(matches!(parse("--help", &[]).unwrap(), Command::Help));
        assert!(matches!(
            parse("token create grafana --db x.db", &[]).unwrap(),
            Command::Token { action: TokenAction::Create(n), db } if n == "grafana" && db == Path::new("x.db")
        ));
        assert!(matches!(
            parse("token list", &[]).unwrap(),
            Command::Token {
                action: TokenAction::List,
                ..
            }
        ));
        assert!(matches!(
            parse("token revoke 3", &[]).unwrap(),
            Command::Token { action: TokenAction::Revoke(w), .. } if w == "3"
        ));
    }

    #[test]
    fn offline_commands_get_the_defaults_with_their_database() {
        let env = [("ADMIN_PASSWORD", "short"), ("LANSTAT_POLL_INTERVAL", "7")];
        assert_eq!(
            format!("{:?}", Config::offline(PathBuf::from("/x/a.db"))),
            format!("{:?}", serve("--db /x/a.db", &[])),
            "as --db alone, and the environment (even a bad value in it) plays no part"
        );
        assert!(parse("backup b.db --db /x/a.db", &env).is_err());
    }

    #[test]
    fn retention_flags() {
        let c = serve(
            "--keep-raw 24h --keep-5m 2w --keep-1h 2y --keep-1d 10y",
            &[],
        );
        assert_eq!(c.retention.day, 10 * 365 * 86_400);
        assert_eq!(
            (c.retention.raw, c.retention.five_minutes, c.retention.hour),
            (86_400, 14 * 86_400, 2 * 365 * 86_400)
        );
        let c = serve("", &[("LANSTAT_KEEP_RAW", "72h")]);
        assert_eq!(c.retention.raw, 72 * 3600);
        assert_eq!(
            c.retention,
            Retention {
                raw: 72 * 3600,
                ..Retention::default()
            }
        );
        for bad in [
            "--keep-raw 10m",
            "--keep-raw 48",
            "--keep-raw x",
            "--keep-5m 1h",
            "--keep-1h 20y",
            "--keep-raw 0h",
        ] {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("-1d"), None);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            "--poll-interval 0",
            "--listen x",
            "--bogus",
            "backup",
            "reset-password",
            "token",
            "token create",
            "token list extra",
            "token revoke",
            "token frob x",
            "frob",
            "--max-connections 0",
            "--max-connections 5000",
            "--workers 16",
        ] {
            assert!(parse(args, &[]).is_err(), "{args}");
        }
        assert!(parse("", &[("ADMIN_PASSWORD", "short")]).is_err());
        assert!(parse("", &[("LANSTAT_POLL_INTERVAL", "soon")]).is_err());
        for args in [
            "--public-url ftp://x",
            "--notify-retry x",
            "--notify-retry 1,,2",
        ] {
            assert!(parse(args, &[]).is_err(), "{args}");
        }
    }

    #[test]
    fn trusted_proxies_are_loopback_unless_listed() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let c = serve("", &[]);
        assert!(!c.trust_proxy, "forwarded headers are off by default");
        for yes in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(c.trusted_proxies.contains(ip(yes)), "{yes}");
        }
        for no in ["10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1"] {
            assert!(!c.trusted_proxies.contains(ip(no)), "{no}");
        }
        let c = serve(
            "--trust-proxy --trusted-proxies 10.1.0.0/16,192.168.1.5,fd00::/8,::ffff:172.16.0.0/108",
            &[],
        );
        assert!(c.trust_proxy);
        for yes in [
            "10.1.255.255",
            "10.1.0.0",
            "192.168.1.5",
            "fd12::1",
            "::ffff:10.1.2.3",
            "172.16.9.9",
        ] {
            assert!(c.trusted_proxies.contains(ip(yes)), "{yes}");
        }
        for no in [
            "10.2.0.1",
            "192.168.1.6",
            "127.0.0.1",
            "::1",
            "fe80::1",
            "172.32.0.1",
        ] {
            assert!(!c.trusted_proxies.contains(ip(no)), "{no}");
        }
        let c = serve(
            "",
            &[
                ("LANSTAT_TRUST_PROXY", "1"),
                ("LANSTAT_TRUSTED_PROXIES", " 10.0.0.1 , 0.0.0.0/0 "),
            ],
        );
        assert!(c.trust_proxy && c.trusted_proxies.contains(ip("203.0.113.9")));
        assert!(
            !c.trusted_proxies.contains(ip("2001:db8::1")),
            "an IPv4 range holds no IPv6"
        );
        assert_eq!(
            IpRange::parse("10.1.2.3/8"),
            IpRange::parse("10.0.0.0/8"),
            "host bits are cleared"
        );
        assert_eq!(IpRange::parse("::/0").map(|r| r.prefix), Some(0));
        for bad in [
            "",
            ",",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0",
            "localhost",
            "10.0.0.1,,10.0.0.2",
            "[::1]",
            "10.0.0.1:80",
        ] {
            assert!(
                parse(&format!("--trusted-proxies={bad}"), &[]).is_err(),
                "{bad:?}"
            );
        }
        assert!(parse("", &[("LANSTAT_TRUSTED_PROXIES", "nope")]).is_err());
    }

    #[test]
    fn alert_options() {
        let c = serve("", &[]);
        assert_eq!(c.public_url, None);
        assert_eq!(c.notify_retry.len(), 3);
        let c = serve(
            "--notify-retry 0.2,0.5",
            &[("LANSTAT_PUBLIC_URL", "https://dash.lan/")],
        );
        assert_eq!(c.public_url.as_deref(), Some("https://dash.lan"));
        assert_eq!(
            c.notify_retry,
            vec![Duration::from_millis(200), Duration::from_millis(500)]
        );
        assert!(serve("--notify-retry 0", &[]).notify_retry.is_empty());
    }
}
