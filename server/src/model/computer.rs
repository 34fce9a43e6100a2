//! Computers: what is polled (an agent, or the server's own host), its status, and a poll's
//! outcome.

use serde::Serialize;

use super::history::Sample;
use super::patch::Patch;
use super::values::{AgentToken, AgentUrl, Name};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A lanstat (or original Python) agent polled over HTTP.
    Agent,
    /// The server's own host, read with the agent library's sampler.
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Online,
    /// Unreachable: refused, timed out, no route, unknown host.
    Offline,
    /// Reachable but wrong: 401, bad JSON, oversize, invalid values.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Online => "online",
            Status::Offline => "offline",
            Status::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Status {
        match s {
            "online" => Status::Online,
            "error" => Status::Error,
            _ => Status::Offline,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Computer {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub token: String,
    pub kind: Kind,
    pub enabled: bool,
    pub status: Status,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<i64>,
    pub last_seen: Option<i64>,
    pub created_at: Option<i64>,
}

/// An agent to poll, every value checked.
#[derive(Debug, Clone)]
pub struct NewComputer {
    pub name: Name,
    pub url: AgentUrl,
    pub token: AgentToken,
    pub enabled: bool,
}

/// What a computer's name field asks for when it is empty.
pub const ASK_NAME: &str = "give the computer a name";

impl NewComputer {
    /// Checks each value, as the dashboard's form does; enabled.
    pub fn new(name: &str, url: &str, token: &str) -> Result<NewComputer, super::Invalid> {
        Ok(NewComputer {
            name: Name::parse(name, ASK_NAME)?,
            url: AgentUrl::parse(url)?,
            token: AgentToken::parse(token)?,
            enabled: true,
        })
    }

    /// A new computer from an edit that sets every value (a missing one is refused as an
    /// empty one is); enabled unless the edit says otherwise.
    pub fn from_edit(edit: ComputerEdit) -> Result<NewComputer, super::Invalid> {
        Ok(NewComputer {
            name: edit.name.or_parse(None, |n| Name::parse(n, ASK_NAME))?,
            url: edit.url.or_parse(None, AgentUrl::parse)?,
            token: edit.token.or_parse(None, AgentToken::parse)?,
            enabled: edit.enabled.or(true),
        })
    }
}

/// An edit of a computer: each field kept or set. What is kept is not checked again (a
/// computer of the original design may carry a name we would refuse today).
#[derive(Debug, Clone, Default)]
pub struct ComputerEdit {
    pub name: Patch<Name>,
    pub url: Patch<AgentUrl>,
    pub token: Patch<AgentToken>,
    pub enabled: Patch<bool>,
}

/// Why a poll brought no figures: the agent could not be reached (`Offline`) or answered
/// wrongly (`Error`), with the reason in words a user understands.
#[derive(Debug, Clone, PartialEq)]
pub struct PollFailure {
    pub status: Status,
    pub reason: String,
}

impl PollFailure {
    pub fn offline(reason: impl Into<String>) -> PollFailure {
        PollFailure {
            status: Status::Offline,
            reason: reason.into(),
        }
    }

    pub fn error(reason: impl Into<String>) -> PollFailure {
        PollFailure {
            status: Status::Error,
            reason: reason.into(),
        }
    }
}

/// The result of polling one computer.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    pub computer_id: i64,
    pub at: i64,
    pub result: std::result::Result<Sample, PollFailure>,
}
