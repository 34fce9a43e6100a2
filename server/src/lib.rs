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
pub mod tokens;
pub mod web;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use lanstat_agent::Latest;

use crate::auth::{Passwords, Throttle};
use crate::clock::Clock;
use crate::config::Config;
use crate::live::Live;
use crate::model::Role;
use crate::poller::InFlight;
use crate::store::{Durability, Store, StoreError};

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

/// Counters for the server's own health.
#[derive(Default)]
pub struct Metrics {
    pub rounds: AtomicU64,
    pub polls_ok: AtomicU64,
    pub polls_failed: AtomicU64,
    pub last_round_ms: AtomicU64,
    pub db_write_errors: AtomicU64,
}

/// Everything a request handler or background thread needs, built once in `main`.
pub struct App {
    pub config: Config,
    pub store: Arc<Store>,
    pub clock: Clock,
    pub passwords: Passwords,
    pub throttle: Throttle,
    pub live: Live,
    /// The last `/api/computers` answer, while nothing it shows has changed.
    pub computers_list: web::ListCache,
    /// The server's own host, when it monitors it.
    pub local: Option<Latest>,
    pub poll_client: ureq::Agent,
    pub in_flight: Arc<InFlight>,
    pub metrics: Metrics,
    /// What alert evaluation keeps between rounds.
    pub alerts: alerts::Alerts,
    /// The queue to the `notify` thread.
    pub notifier: alerts::notify::Notifier,
    /// The dashboard's address in messages when neither `--public-url` nor the channel
    /// gives one; `main` sets it from the host name and port.
    pub fallback_url: String,
}

/// What the first start printed or did about the first admin.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    /// Users exist already.
    Existing,
    /// Made with ADMIN_PASSWORD.
    FromEnv(String),
    /// Made with this random password, to be shown once.
    Generated { username: String, password: String },
}

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
        let notifier = alerts::notify::Notifier::new(config.notify_retry.clone());
        Ok(App {
            throttle: Throttle::new(clock.clone()),
            config,
            store,
            clock,
            passwords: Passwords::new(),
            live: Live::default(),
            computers_list: Default::default(),
            local: None,
            poll_client,
            in_flight: Arc::new(InFlight::default()),
            metrics: Metrics::default(),
            alerts: alerts::Alerts::default(),
            notifier,
            fallback_url: "http://localhost:8001".into(),
        })
    }

    pub fn with_local(mut self, latest: Latest) -> App {
        self.local = Some(latest);
        self
    }

    /// Creates the first admin when there is no user yet.
    pub fn ensure_first_admin(&self) -> Result<FirstAdmin, Error> {
        if self.store.read(store::users::count_users)? > 0 {
            return Ok(FirstAdmin::Existing);
        }
        let username = self.config.admin_username.clone();
        let (password, generated) = match &self.config.admin_password {
            Some(p) => (p.clone(), false),
            None => (auth::random_password(), true),
        };
        let hash = self.passwords.hash(&password);
        let now = self.clock.now();
        let name = username.clone();
        self.store.write(Durability::Durable, move |tx| {
            // Another process may have made one meanwhile: only the first wins.
            if store::users::count_users(tx)? > 0 {
                return Ok(());
            }
            store::users::create_user(tx, &name, &hash, Role::Admin, generated, now).map(|_| ())
        })?;
        Ok(if generated {
            FirstAdmin::Generated { username, password }
        } else {
            FirstAdmin::FromEnv(username)
        })
    }

    /// Makes sure the server's own host has its row, when it is monitored.
    pub fn ensure_local_computer(&self, hostname: &str) -> Result<Option<i64>, Error> {
        if !self.config.local {
            return Ok(None);
        }
        let (host, now) = (hostname.to_string(), self.clock.now());
        Ok(Some(self.store.write(Durability::Durable, move |tx| {
            store::computers::ensure_local(tx, &host, now)
        })?))
    }

    /// Gives `username` a new random password, forces a change at next login and ends their
    /// sessions. Returns the password, to be shown once.
    pub fn reset_password(&self, username: &str) -> Result<String, Error> {
        let user = self
            .store
            .read(|c| store::users::find_by_name(c, username))?
            .ok_or_else(|| Error::Other(format!("no user named {username:?}")))?;
        let password = auth::random_password();
        let hash = self.passwords.hash(&password);
        let now = self.clock.now();
        self.store.write(Durability::Durable, move |tx| {
            store::users::set_password(tx, user.id, &hash, true, now)?;
            store::users::delete_user_sessions(tx, user.id, None).map(|_| ())
        })?;
        Ok(password)
    }
}
