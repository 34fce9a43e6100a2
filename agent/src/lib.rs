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
pub mod http;
pub mod metrics;
pub mod published;
pub mod sampler;
pub mod serve;
pub mod snapshot;
pub mod sys;
pub mod token;
pub mod worker;

pub use published::Snapshot;
pub use sampler::{Latest, Sampler};
pub use snapshot::SystemInfo;

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every way the agent can fail to start. Once running, failures become HTTP responses.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A bad flag or value.
    Usage(String),
    /// The token file cannot be made, read or trusted.
    Token(String),
    /// The listening socket cannot be opened.
    Listen(String),
    /// The OS cannot be read.
    Collect(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Token(m) | Error::Listen(m) | Error::Collect(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod testkit;
