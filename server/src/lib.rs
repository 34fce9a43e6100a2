//! lanstat-server: polls lanstat agents, keeps their history in SQLite and serves the
//! dashboard and its JSON API, all on synchronous threads.
//!
//! ```no_run
//! use lanstat_server::{config, App};
//! let cmd = config::from_args(["--db".to_string(), "stats.db".to_string()], |_| None).unwrap();
//! if let config::Command::Serve(cfg) = cmd {
//!     let app = App::open(cfg, lanstat_server::clock::Clock::system()).unwrap();
//!     lanstat_server::poller::round(&app);
//! }
//! ```

pub mod agents;
pub mod alerts;
pub mod auth;
pub mod clock;
pub mod commands;
pub mod config;
pub mod domain;
pub mod live;
pub mod maintenance;
pub mod model;
pub mod poller;
/// Simulated machines for the examples, benchmarks and tests; not in a release build.
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod store;
pub mod tls;
pub mod web;

use std::sync::Arc;

use lanstat_agent::Latest;

use crate::clock::Clock;
use crate::config::Config;
use crate::live::Live;
use crate::poller::InFlight;
use crate::store::{Store, StoreError};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether `LANSTAT_LOG=debug` asks for a line per poll round (read once).
pub fn debug_enabled() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG
        .get_or_init(|| std::env::var("LANSTAT_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("debug")))
}

/// Every way the server can fail to start or a command can fail.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    Usage(String),
    Store(StoreError),
    Agent(lanstat_agent::Error),
    Other(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Other(m) => f.write_str(m),
            Error::Store(e) => write!(f, "{e}"),
            Error::Agent(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        Error::Store(e)
    }
}

impl From<lanstat_agent::Error> for Error {
    fn from(e: lanstat_agent::Error) -> Error {
        Error::Agent(e)
    }
}

/// Everything a request handler or background thread needs, built once in `main`.
pub struct App {
    pub config: Config,
    pub store: Arc<Store>,
    pub clock: Clock,
    /// Users, sessions, logins and passwords.
    pub accounts: domain::accounts::Accounts,
    pub live: Arc<Live>,
    /// The last `/api/computers` answer, while nothing it shows has changed.
    pub computers_list: web::ListCache,
    /// The server's own host, when it monitors it.
    pub local: Option<Latest>,
    pub poll_client: ureq::Agent,
    pub in_flight: Arc<InFlight>,
    pub metrics: Arc<domain::health::Counters>,
    /// Rules, channels, history, and each round's judging.
    pub alerts: Arc<domain::alerts::Alerts>,
    /// Computers: cards, edits, tests.
    pub computers: domain::computers::Computers,
    /// Read-only API tokens.
    pub tokens: domain::tokens::Tokens,
    /// Newest figures and charts.
    pub history: domain::history::History,
    /// The server's own health.
    pub health: domain::health::Health,
    /// The queue to the `notify` thread.
    pub notifier: Arc<alerts::notify::Notifier>,
}

pub use domain::accounts::FirstAdmin;

impl App {
    /// Opens the database (migrating it) and builds the shared state. The local sampler is
    /// attached by the caller with [`App::with_local`].
    pub fn open(config: Config, clock: Clock) -> Result<App, Error> {
        if let Some(dir) = config.db.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(Error::Other(format!(
                "the database folder {} does not exist",
                dir.display()
            )));
        }
        let store = Store::open(&config.db).map_err(|e| match e {
            StoreError::Sqlite(inner) => Error::Other(format!(
                "cannot open the database {}: {inner}",
                config.db.display()
            )),
            e => Error::Store(e),
        })?;
        let poll_client = agents::client(poller::timeouts(config.poll_interval));
        let notifier = Arc::new(alerts::notify::Notifier::new(
            store.clone(),
            clock.clone(),
            config.public_url.clone(),
            config.notify_retry.clone(),
        ));
        let live = Arc::new(Live::default());
        let metrics = Arc::new(domain::health::Counters::default());
        let alerts = Arc::new(domain::alerts::Alerts::new(
            store.clone(),
            notifier.clone(),
            live.clone(),
            clock.clone(),
            config.local,
        ));
        let computers = domain::computers::Computers::new(
            store.clone(),
            live.clone(),
            alerts.clone(),
            clock.clone(),
            config.local,
            poll_client.clone(),
        );
        Ok(App {
            computers,
            tokens: domain::tokens::Tokens::new(store.clone(), clock.clone()),
            history: domain::history::History::new(
                store.clone(),
                live.clone(),
                clock.clone(),
                config.local,
                config.poll_interval.as_secs() as i64,
                config.retention,
            ),
            health: domain::health::Health::new(store.clone(), metrics.clone()),
            accounts: domain::accounts::Accounts::new(store.clone(), clock.clone()),
            config,
            store,
            clock,
            live,
            computers_list: Default::default(),
            local: None,
            poll_client,
            in_flight: Arc::new(InFlight::default()),
            metrics,
            alerts,
            notifier,
        })
    }

    pub fn with_local(mut self, latest: Latest) -> App {
        self.computers.set_local_sampler(latest.clone());
        self.local = Some(latest);
        self
    }

    /// Creates the first admin when there is no user yet.
    pub fn ensure_first_admin(&self) -> Result<FirstAdmin, Error> {
        self.accounts
            .ensure_first_admin(
                &self.config.admin_username,
                self.config.admin_password.as_deref(),
            )
            .map_err(|e| Error::Other(e.to_string()))
    }

    /// Makes sure the server's own host has its row, when it is monitored.
    pub fn ensure_local_computer(&self, hostname: &str) -> Result<Option<i64>, Error> {
        self.computers
            .ensure_local(hostname)
            .map_err(|e| Error::Other(e.to_string()))
    }

    /// Gives `username` a new random password, forces a change at next login and ends their
    /// sessions. Returns the password, to be shown once.
    pub fn reset_password(&self, username: &str) -> Result<String, Error> {
        self.accounts
            .reset_password_of(username)
            .map_err(|e| Error::Other(e.to_string()))
    }
}
