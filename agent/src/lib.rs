//! lanstat-agent: a machine's CPU, memory, disk, network and sensor figures, sampled in the
//! background and served over HTTP as the original JSON (`/systeminfo`) and as Prometheus
//! text (`/metrics`).
//!
//! The server uses this library too: the wire types in [`snapshot`], a [`Sampler`] to
//! monitor its own host, the periodic [`worker`] behind its background loops, the flag
//! reader in [`cli`], and the serving and shutdown path in [`serve`].
//!
//! ```no_run
//! let sampler = lanstat_agent::Sampler::start(std::time::Duration::from_secs(5)).unwrap();
//! let snapshot = sampler.latest().get();
//! println!("{} uses {}% CPU", snapshot.info.hostname, snapshot.info.cpu_percent);
//! ```

pub mod cli;
pub mod collect;
mod error;
mod file;
pub mod history;
pub mod http;
pub mod metrics;
pub mod published;
pub mod sampler;
pub mod serve;
pub mod signing;
pub mod snapshot;
pub mod sys;
pub mod token;
pub mod worker;

pub use error::Error;
pub use published::Snapshot;
pub use sampler::{Latest, Sampler};
pub use snapshot::SystemInfo;

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod testkit;
