//! The things lanstat knows about, as plain types: computers, accounts, tokens, stored
//! figures and alerts, and the checked values they are made of. Every layer uses them; they
//! use nothing of lanstat's but each other.

pub mod account;
pub mod alert;
pub mod computer;
pub mod history;
pub mod kind;
pub mod patch;
pub mod token;
pub mod values;

pub use account::{Role, SessionUser, User};
pub use alert::{
    Channel, ChannelInput, Event, EventKind, Firing, Rule, RuleInput, State, StateRow,
};
pub use computer::{Computer, ComputerEdit, Kind, NewComputer, PollFailure, PollOutcome, Status};
pub use history::{HistoryPoint, Retention, Sample, Tier};
pub use kind::{ChannelKind, RuleKind};
pub use patch::Patch;
pub use token::ApiToken;
pub use values::Invalid;
