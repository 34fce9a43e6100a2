//! A small command-line reader shared by both binaries: `--flag value`, `--flag=value`,
//! boolean `--flag`, and positional words. Unknown flags are errors, never ignored.

/// A flag or value that cannot be used, with what is wrong in words for the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub struct Args {
    items: std::vec::IntoIter<String>,
    pending: Option<String>,
}

/// One item of the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Arg {
    Flag(String),
    Word(String),
}

impl Args {
    pub fn new(argv: impl IntoIterator<Item = String>) -> Args {
        Args {
            items: argv.into_iter().collect::<Vec<_>>().into_iter(),
            pending: None,
        }
    }

    pub fn next_arg(&mut self) -> Option<Arg> {
        let item = self.items.next()?;
        if let Some(flag) = item.strip_prefix("--") {
            if let Some((name, value)) = flag.split_once('=') {
                self.pending = Some(value.to_string());
                return Some(Arg::Flag(name.to_string()));
            }
            self.pending = None;
            return Some(Arg::Flag(flag.to_string()));
        }
        self.pending = None;
        if item == "-h" {
            return Some(Arg::Flag("help".into()));
        }
        if item == "-V" {
            return Some(Arg::Flag("version".into()));
        }
        if item.starts_with('-') && item.len() > 1 {
            return Some(Arg::Flag(item));
        }
        Some(Arg::Word(item))
    }

    /// The value of the flag just returned.
    pub fn value(&mut self, flag: &str) -> Result<String, Usage> {
        if let Some(v) = self.pending.take() {
            return Ok(v);
        }
        match self.items.next() {
            Some(v) if !v.starts_with("--") => Ok(v),
            _ => Err(Usage(format!("--{flag} needs a value"))),
        }
    }
}

/// The error for a flag the program does not know. `--workers`, which both programs once
/// had, says what replaced it.
pub fn unknown_flag(flag: &str) -> Usage {
    if flag == "workers" {
        Usage("--workers is now --max-connections (one thread per connection)".into())
    } else {
        Usage(format!("unknown option --{flag} (see --help)"))
    }
}

/// Parses a number of seconds for `flag`: a positive integer up to a day.
pub fn parse_seconds(flag: &str, value: &str) -> Result<u64, Usage> {
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=86_400).contains(&n) => Ok(n),
        _ => Err(Usage(format!(
            "--{flag} must be a whole number of seconds from 1 to 86400, not {value:?}"
        ))),
    }
}

/// Parses `--max-connections`: connections served at once, from 1 to `max`.
pub fn parse_max_connections(value: &str, max: usize) -> Result<usize, Usage> {
    value
        .parse()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            Usage(format!(
                "--max-connections must be from 1 to {max}, not {value:?}"
            ))
        })
}

/// Checks that a listen address has the form host:port.
pub fn parse_listen(flag: &str, value: &str) -> Result<String, Usage> {
    use std::net::ToSocketAddrs;
    let ok = value
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    if !ok
        || value
            .to_socket_addrs()
            .map(|mut a| a.next().is_none())
            .unwrap_or(true)
    {
        return Err(Usage(format!(
            "--{flag} must be an address and port such as 0.0.0.0:8000, not {value:?}"
        )));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Args {
        Args::new(s.split_whitespace().map(String::from))
    }

    #[test]
    fn flags_values_and_words() {
        let mut a = args("serve --listen 1.2.3.4:5 --x=y --bool word");
        assert_eq!(a.next_arg(), Some(Arg::Word("serve".into())));
        assert_eq!(a.next_arg(), Some(Arg::Flag("listen".into())));
        assert_eq!(a.value("listen").unwrap(), "1.2.3.4:5");
        assert_eq!(a.next_arg(), Some(Arg::Flag("x".into())));
        assert_eq!(a.value("x").unwrap(), "y");
        assert_eq!(a.next_arg(), Some(Arg::Flag("bool".into())));
        assert_eq!(a.next_arg(), Some(Arg::Word("word".into())));
        assert_eq!(a.next_arg(), None);
    }

    #[test]
    fn missing_value_is_an_error() {
        let mut a = args("--listen");
        a.next_arg();
        assert!(a.value("listen").is_err());
        let mut a = args("--listen --other");
        a.next_arg();
        assert!(a.value("listen").is_err());
    }

    #[test]
    fn seconds_and_listen_are_checked() {
        assert_eq!(parse_seconds("i", "1").unwrap(), 1);
        for bad in ["0", "-1", "x", "1.5", "100000"] {
            assert!(parse_seconds("i", bad).is_err(), "{bad}");
        }
        assert!(parse_listen("l", "127.0.0.1:0").is_ok());
        assert!(parse_listen("l", "[::1]:8000").is_ok());
        for bad in ["127.0.0.1", "nohost:99999", ":", "1.2.3.4:x"] {
            assert!(parse_listen("l", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_connections_is_checked_against_its_cap() {
        assert_eq!(parse_max_connections("1", 16).unwrap(), 1);
        assert_eq!(parse_max_connections("16", 16).unwrap(), 16);
        for bad in ["0", "17", "-1", "x", ""] {
            assert!(parse_max_connections(bad, 16).is_err(), "{bad}");
        }
        assert_eq!(
            parse_max_connections("5000", 4096).unwrap_err().to_string(),
            "--max-connections must be from 1 to 4096, not \"5000\""
        );
    }
}
