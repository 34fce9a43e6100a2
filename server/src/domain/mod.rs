//! The domain layer: one module per noun, each the only place that checks its input, decides,
//! writes through the store and tells the rest (alert judging, the live map, the notifier)
//! what changed. It knows nothing of HTTP: it takes checked values ([`values`]) and edits
//! ([`Patch`]) and returns model types or an [`Error`].

mod error;
mod patch;
pub mod values;

pub use error::{Error, Result};
pub use patch::Patch;
