//! `lanstat-agent`: flags, banner, start. Everything else lives in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lanstat_agent::cli::{
    Arg, Args, parse_listen, parse_max_connections, parse_seconds, unknown_flag,
};
use lanstat_agent::history::{self, History};
use lanstat_agent::serve;
use lanstat_agent::{Error, Sampler, http, token};

const HELP: &str = "\
lanstat-agent: serves this machine's figures to a lanstat server and to Prometheus

Usage:
  lanstat-agent [OPTIONS]             run the agent
  lanstat-agent token [OPTIONS]       print the current token
  lanstat-agent rotate-token [OPTIONS]
                                      replace the token (restart the agent to use it)

Options:
  --listen ADDR:PORT         where to listen [env LANSTAT_AGENT_LISTEN; default 0.0.0.0:8000]
  --sample-interval SECONDS  how often to sample the system [default 5]
  --token-file PATH          the token file [default $STATE_DIRECTORY/token under systemd,
                             else client_token.txt in the working directory]
  --token TOKEN              use this token instead of the file; any user can read it in
                             `ps`, so prefer the file or the environment [env LANSTAT_TOKEN]
  --scrape-token-file PATH   a second token that opens /metrics only, for Prometheus
  --signed-only              accept the token only in signed requests (Lanstat-HMAC-SHA256),
                             never as a bearer token [env LANSTAT_SIGNED_ONLY=1]
  --max-connections N        connections served at once, one thread each [default 16]
  -h, --help                 show this help
  -V, --version              show the version

Endpoints: GET /systeminfo, GET /history?since=UNIX_SECONDS&limit=N and GET /metrics with
`Authorization: Bearer <token>` or signed with it; GET /healthz without. The recent samples /history serves are
kept in agent_history.bin beside the token file, saved every 5 minutes and on stopping. Serve it on a LAN or VPN only; put a TLS proxy in front for anything wider.
";

enum Command {
    Run,
    PrintToken,
    RotateToken,
}

struct Config {
    command: Command,
    listen: String,
    sample_interval: Duration,
    token_file: PathBuf,
    token: Option<String>,
    /// Whether `token` came from `--token` (else from `LANSTAT_TOKEN`).
    token_from_flag: bool,
    scrape_token_file: Option<PathBuf>,
    signed_only: bool,
    max_connections: usize,
}

fn main() -> ExitCode {
    lanstat_agent::sys::block_stop_signals();
    match parse(std::env::args().skip(1)) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(config)) => match run(config) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("lanstat-agent: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("lanstat-agent: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse(argv: impl Iterator<Item = String>) -> Result<Option<Config>, Error> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut c = Config {
        command: Command::Run,
        listen: env("LANSTAT_AGENT_LISTEN").unwrap_or_else(|| "0.0.0.0:8000".into()),
        sample_interval: Duration::from_secs(5),
        token_file: token::default_path(env("STATE_DIRECTORY").as_deref()),
        token: env("LANSTAT_TOKEN"),
        token_from_flag: false,
        scrape_token_file: None,
        signed_only: env("LANSTAT_SIGNED_ONLY").is_some_and(|v| v == "1"),
        max_connections: 16,
    };
    let mut args = Args::new(argv);
    let mut listen_from_flag = false;
    while let Some(arg) = args.next_arg() {
        match arg {
            Arg::Flag(f) => match f.as_str() {
                "help" => {
                    print!("{HELP}");
                    return Ok(None);
                }
                "version" => {
                    println!("lanstat-agent {}", lanstat_agent::VERSION);
                    return Ok(None);
                }
                "listen" => {
                    c.listen = args.value(&f)?;
                    listen_from_flag = true;
                }
                "sample-interval" => {
                    c.sample_interval = Duration::from_secs(parse_seconds(&f, &args.value(&f)?)?)
                }
                "token-file" => c.token_file = PathBuf::from(args.value(&f)?),
                "token" => {
                    c.token = Some(args.value(&f)?);
                    c.token_from_flag = true;
                }
                "scrape-token-file" => c.scrape_token_file = Some(PathBuf::from(args.value(&f)?)),
                "signed-only" => c.signed_only = true,
                "max-connections" => {
                    c.max_connections = parse_max_connections(&args.value(&f)?, 1024)?
                }
                _ => return Err(unknown_flag(&f).into()),
            },
            Arg::Word(w) => match w.as_str() {
                "token" => c.command = Command::PrintToken,
                "rotate-token" => c.command = Command::RotateToken,
                "run" => c.command = Command::Run,
                _ => return Err(Error::Usage(format!("unknown command {w:?} (see --help)"))),
            },
        }
    }
    let flag = if listen_from_flag {
        "listen"
    } else {
        "listen (LANSTAT_AGENT_LISTEN)"
    };
    c.listen = parse_listen(flag, &c.listen)?;
    if let Some(t) = &c.token {
        token::validate(t)
            .map_err(|why| Error::Usage(format!("the given token is not valid: {why}")))?;
    }
    if c.token_from_flag {
        eprintln!("lanstat-agent: {}", token::FLAG_WARNING);
    }
    Ok(Some(c))
}

fn run(c: Config) -> Result<ExitCode, Error> {
    match c.command {
        Command::PrintToken => {
            let t = match c.token {
                Some(t) => t,
                None => token::load(&c.token_file)?,
            };
            println!("{t}");
            return Ok(ExitCode::SUCCESS);
        }
        Command::RotateToken => {
            if c.token.is_some() {
                return Err(Error::Usage(
                    "the token is set by --token or LANSTAT_TOKEN; change it there".into(),
                ));
            }
            let t = token::rotate(&c.token_file)?;
            println!("{t}");
            eprintln!(
                "New token written to {}. Restart the agent, then update the token in the dashboard.",
                c.token_file.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Command::Run => {}
    }

    let (token, source) = match c.token {
        Some(t) if c.token_from_flag => (t, token::Source::Flag),
        Some(t) => (t, token::Source::Env),
        None => (
            token::load_or_create(&c.token_file)?,
            token::Source::File(c.token_file.clone()),
        ),
    };
    let scrape_token = c
        .scrape_token_file
        .as_deref()
        .map(token::load)
        .transpose()?;
    // The agent's handlers only copy a rendered snapshot: a small stack is plenty.
    let serve::Bound {
        server,
        addr,
        nofile,
    } = serve::bind(&c.listen, c.max_connections, 128 * 1024)?;
    let (history, history_line) = History::open(
        history::default_path(&c.token_file),
        c.sample_interval,
        history::unix_now(),
    );
    let history = Arc::new(history);
    let sampler = Sampler::start_with_history(c.sample_interval, Some(history.clone()))?;
    let saver = history::Saver::start(history.clone(), history::SAVE_EVERY)
        .map_err(|e| Error::Collect(format!("cannot start the history saver thread: {e}")))?;
    let hostname = sampler.latest().get().info.hostname.clone();

    let app = http::App {
        latest: sampler.latest(),
        history: history.clone(),
        token: token.clone(),
        scrape_token,
        signed_only: c.signed_only,
        verifier: lanstat_agent::signing::Verifier::default(),
    };
    let serving = serve::start(server, move |req| http::handle(&app, req))?;

    let shown_host = if addr.ip().is_unspecified() {
        hostname.clone()
    } else {
        addr.ip().to_string()
    };
    let url_host = if shown_host.contains(':') {
        format!("[{shown_host}]")
    } else {
        shown_host
    };
    println!("listening on {addr}");
    print!(
        "{}",
        token::banner(
            &hostname,
            &format!("http://{url_host}:{}", addr.port()),
            &token,
            &source,
            std::io::stdout().is_terminal(),
        )
    );
    println!(
        "event=started version={} listen={addr} sample_interval_secs={} nofile_limit={}",
        lanstat_agent::VERSION,
        c.sample_interval.as_secs(),
        nofile
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unknown".into())
    );

    println!("{history_line}");

    let code = serving.wait();
    drop(sampler);
    drop(saver);
    // The last save, after the last sample: a restart loses nothing of the buffer.
    match history.save() {
        Ok(n) => println!(
            "event=history_saved samples={n} path={}",
            history.path().display()
        ),
        Err(e) => eprintln!(
            "event=history_save_failed error=\"{e}\" path={}",
            history.path().display()
        ),
    }
    Ok(code)
}
