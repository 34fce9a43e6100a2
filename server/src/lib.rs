//! lanstat-server: polls lanstat agents, keeps their history in SQLite and serves the
//! dashboard and its JSON API, all on synchronous threads.
//!
//! ```no_run
//! use lanstat_server::{config, App};
//! let cmd = config::from_args(["--db".to_string(), "stats.db".to_string()], |_| None).unwrap();
//! if let config::Command::Serve(cfg) = cmd {
//!     let app = std::sync::Arc::new(App::open(cfg, lanstat_server::clock::Clock::system()).unwrap());
//!     let polling = lanstat_server::poller::Polling::new(app.config.poll_interval);
//!     lanstat_server::poller::round(&app, &polling);
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

use crate::alerts::notify::{Notifier, NotifyThread};
use crate::clock::Clock;
use crate::config::Config;
use crate::live::Live;
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

impl From<config::Usage> for Error {
    fn from(e: config::Usage) -> Error {
        Error::Usage(e.0)
    }
}

impl From<lanstat_agent::Error> for Error {
    fn from(e: lanstat_agent::Error) -> Error {
        Error::Agent(e)
    }
}

/// The server, built once in `main`: the domain services the web layer and the background
/// workers call, one per noun. The store and the notifier behind them are the server's own:
/// nothing outside the domain layer writes or queues directly.
pub struct App {
    pub config: Config,
    pub clock: Clock,
    /// Computers: cards, edits, tests, each round's answers.
    pub computers: domain::computers::Computers,
    /// Users, sessions, logins and passwords.
    pub accounts: domain::accounts::Accounts,
    /// Rules, channels, history, and each round's judging.
    pub alerts: Arc<domain::alerts::Alerts>,
    /// Read-only API tokens.
    pub tokens: domain::tokens::Tokens,
    /// Newest figures, charts, and the history's upkeep.
    pub history: domain::history::History,
    /// The server's own health.
    pub health: domain::health::Health,
    store: Arc<Store>,
    notifier: Arc<Notifier>,
}

pub use domain::accounts::FirstAdmin;

impl App {
    /// Opens the database (migrating it) and builds the services. The local sampler is
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
        let notifier = Arc::new(Notifier::new(
            store.clone(),
            clock.clone(),
            config.public_url.clone(),
            config.notify_retry.clone(),
        ));
        let live = Arc::new(Live::default());
        let counters = Arc::new(domain::health::Counters::default());
        let alerts = Arc::new(domain::alerts::Alerts::new(
            store.clone(),
            notifier.clone(),
            live.clone(),
            clock.clone(),
            &config,
        ));
        Ok(App {
            computers: domain::computers::Computers::new(
                store.clone(),
                live.clone(),
                alerts.clone(),
                clock.clone(),
                counters.clone(),
                &config,
            ),
            accounts: domain::accounts::Accounts::new(store.clone(), clock.clone()),
            tokens: domain::tokens::Tokens::new(store.clone(), clock.clone()),
            history: domain::history::History::new(store.clone(), live, clock.clone(), &config),
            health: domain::health::Health::new(store.clone(), counters),
            alerts,
            config,
            clock,
            store,
            notifier,
        })
    }

    /// Attaches the sampler of the server's own host.
    pub fn with_local(self, latest: Latest) -> App {
        self.computers.set_local_sampler(latest);
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

    /// Where alert messages link to when neither `--public-url` nor the channel says: this
    /// host's name and the port it listens on.
    pub fn set_fallback_url(&self, url: String) {
        self.notifier.set_fallback_url(url);
    }

    /// Starts the thread that delivers alert messages.
    pub fn start_notify(&self) -> std::io::Result<NotifyThread> {
        NotifyThread::start(self.notifier.clone())
    }

    /// Copies the database to `dest` while it may be in use; checked before it is reported.
    pub fn backup_to(&self, dest: &std::path::Path) -> Result<(), Error> {
        Ok(self.store.backup_to(dest)?)
    }

    /// Ends the database's writer after the writes queued, and closes it.
    pub fn close(&self) {
        self.store.close();
    }
}
