//! `lanstat-server`: flags, subcommands (serve, backup, reset-password, token), start.

use std::process::ExitCode;
use std::sync::Arc;

use lanstat_agent::serve;
use lanstat_server::clock::Clock;
use lanstat_server::config::{self, Command, Config, TokenAction};
use lanstat_server::{App, Error, FirstAdmin, maintenance, poller, web};

fn main() -> ExitCode {
    lanstat_agent::sys::block_stop_signals();
    let command = match config::from_args(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lanstat-server: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{}", config::HELP);
            Ok(ExitCode::SUCCESS)
        }
        Command::Version => {
            println!("lanstat-server {}", lanstat_server::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(c) => serve(c),
        Command::Backup { db, dest } => backup(&db, &dest),
        Command::ResetPassword { db, user } => reset_password(&db, &user),
        Command::Token { db, action } => token(&db, action),
    };
    result.unwrap_or_else(|e| {
        eprintln!("lanstat-server: {e}");
        ExitCode::from(1)
    })
}

fn existing_db(db: &std::path::Path) -> Result<(), Error> {
    if db.is_file() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "no database at {} (use --db or DATABASE_PATH)",
            db.display()
        )))
    }
}

fn offline_app(db: &std::path::Path) -> Result<App, Error> {
    existing_db(db)?;
    App::open(Config::offline(db.to_path_buf()), Clock::system())
}

fn backup(db: &std::path::Path, dest: &std::path::Path) -> Result<ExitCode, Error> {
    let app = offline_app(db)?;
    app.backup_to(dest)?;
    println!(
        "backed up {} to {} (integrity check ok)",
        db.display(),
        dest.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn reset_password(db: &std::path::Path, user: &str) -> Result<ExitCode, Error> {
    let app = offline_app(db)?;
    let password = app.reset_password(user)?;
    println!("New password for {user}: {password}");
    println!(
        "It is shown only this once; {user} must choose a new one at the next login. Their sessions have ended."
    );
    Ok(ExitCode::SUCCESS)
}

fn token(db: &std::path::Path, action: TokenAction) -> Result<ExitCode, Error> {
    let app = offline_app(db)?;
    print!("{}", lanstat_server::commands::token(&app, action)?);
    Ok(ExitCode::SUCCESS)
}

fn serve(c: Config) -> Result<ExitCode, Error> {
    // Handlers run SQLite queries and, for "Test connection", a TLS handshake.
    let bound = serve::bind(&c.listen, c.max_connections, 1024 * 1024)?;
    let (server, addr, nofile) = (bound.server, bound.addr, bound.nofile);
    let mut app = App::open(c, Clock::system())?;
    let sampler = if app.config.local {
        // Sample at least as often as we poll, so each poll sees fresh counters.
        let every = app
            .config
            .poll_interval
            .min(std::time::Duration::from_secs(5));
        let s = lanstat_agent::Sampler::start(every)?;
        app = app.with_local(s.latest());
        Some(s)
    } else {
        None
    };
    let hostname = sampler
        .as_ref()
        .map(|s| s.latest().get().info.hostname.clone())
        .unwrap_or_default();
    app.ensure_local_computer(&hostname)?;
    app.set_fallback_url(format!(
        "http://{}:{}",
        if hostname.is_empty() {
            "localhost"
        } else {
            &hostname
        },
        addr.port()
    ));
    let first = app.ensure_first_admin()?;
    let app = Arc::new(app);

    let web = web::Web::new(app.clone());
    let http = serve::start(server, move |req| web.handle(req))?;
    // Before the background threads start, so nothing they log comes first.
    println!("listening on {addr}");
    println!(
        "event=started version={} listen={addr} db={:?} poll_interval_secs={} local={} nofile_limit={}",
        lanstat_server::VERSION,
        app.config.db.display().to_string(),
        app.config.poll_interval.as_secs(),
        app.config.local,
        nofile
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    app.health.check_in_background();
    let poller = poller::Poller::start(app.clone())
        .map_err(|e| Error::Other(format!("cannot start the poller: {e}")))?;
    let upkeep = maintenance::Maintenance::start(app.clone())
        .map_err(|e| Error::Other(format!("cannot start the maintenance thread: {e}")))?;
    let notify = app
        .start_notify()
        .map_err(|e| Error::Other(format!("cannot start the notify thread: {e}")))?;

    let shown = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    let url = format!(
        "http://{}:{}",
        if shown.contains(':') {
            format!("[{shown}]")
        } else {
            shown
        },
        addr.port()
    );
    match first {
        FirstAdmin::Generated { username, password } => {
            println!("==================== FIRST START ====================");
            println!("Dashboard: {url}");
            println!("Log in as: {username}");
            println!("Password:  {password}");
            println!("This password is shown only once; you will choose your own at first login.");
            println!("=====================================================");
        }
        FirstAdmin::FromEnv(username) => {
            println!("Dashboard: {url} (log in as {username} with ADMIN_PASSWORD)")
        }
        FirstAdmin::Existing => {
            println!("Dashboard: {url}");
            println!(
                "Forgot the password? Stop the server and run: lanstat-server reset-password <user>"
            );
        }
    }

    let code = http.wait();
    poller.stop();
    upkeep.stop();
    notify.stop();
    drop(sampler);
    app.close();
    Ok(code)
}
