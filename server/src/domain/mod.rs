//! The domain layer: one module per noun, each the only place that checks its input, decides,
//! writes through the store and tells the rest (alert judging, the live map, the notifier)
//! what changed. It knows nothing of HTTP: it takes checked values ([`values`]) and edits
//! (`model::Patch`) and returns model types or an [`Error`].

pub mod accounts;
pub mod alerts;
pub mod computers;
mod error;
pub mod health;
pub mod history;
mod secrets;
pub mod tokens;

pub use error::{Error, Result};
