//! The offline subcommands' answers as a person reads them: `token create|list|revoke`. They
//! call the same domain functions as the dashboard.

use std::fmt::Write;

use crate::config::TokenAction;
use crate::domain::{self, tokens};
use crate::{App, Error};

/// Runs `lanstat-server token …` and returns what to print.
pub fn token(app: &App, action: TokenAction) -> Result<String, Error> {
    let usage = |e: domain::Error| match e {
        domain::Error::Invalid { message, .. } => Error::Usage(message),
        e => Error::Other(e.to_string()),
    };
    match action {
        TokenAction::Create(name) => {
            let name = tokens::name(&name).map_err(|e| Error::Usage(e.message))?;
            let (record, token) = app.tokens.create(name, None).map_err(usage)?;
            Ok(format!(
                "{token}\nThis is the read-only API token {:?} (id {}). It is shown only this once:\n\
                 keep it in your Prometheus, script or Home Assistant configuration.\n",
                record.name, record.id
            ))
        }
        TokenAction::List => {
            let list = app.tokens.list().map_err(usage)?;
            if list.is_empty() {
                return Ok("no API tokens\n".into());
            }
            let width = list
                .iter()
                .map(|t| t.name.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let mut out = format!(
                "{:>4}  {:<width$}  {:<12}  {:<17}  {:<17}  by\n",
                "id", "name", "prefix", "created (UTC)", "last used (UTC)"
            );
            for t in list {
                let _ = writeln!(
                    out,
                    "{:>4}  {:<width$}  {:<12}  {:<17}  {:<17}  {}",
                    t.id,
                    t.name,
                    format!("{}…", t.prefix),
                    utc(t.created_at),
                    t.last_used_at.map(utc).unwrap_or_else(|| "never".into()),
                    t.created_by.as_deref().unwrap_or("(command line)")
                );
            }
            Ok(out)
        }
        TokenAction::Revoke(which) => {
            let t = app
                .tokens
                .find(&which)
                .map_err(usage)?
                .ok_or_else(|| Error::Other(format!("no API token named {which:?}")))?;
            app.tokens.revoke(t.id).map_err(usage)?;
            Ok(format!(
                "revoked the API token {:?} (id {}); it no longer works\n",
                t.name, t.id
            ))
        }
    }
}

/// Unix seconds as `2025-01-31 23:59` in UTC.
fn utc(secs: i64) -> String {
    let u = crate::clock::UtcTime::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        u.year, u.month, u.day, u.hour, u.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_utc() {
        for (secs, shown) in [
            (0, "1970-01-01 00:00"),
            (951_782_400, "2000-02-29 00:00"),
            (1_735_689_599, "2024-12-31 23:59"),
        ] {
            assert_eq!(utc(secs), shown, "{secs}");
        }
    }
}
