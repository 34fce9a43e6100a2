//! Starting, stopping, flags and the token file, through the real binary.

mod util;

use std::path::Path;
use std::time::Duration;
use util::*;

/// A person at a terminal gets the original banner, token and all: the agent runs here on
/// a terminal of its own that `script` (util-linux) gives it.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_gets_the_original_banner_with_the_token() {
    let dir = TempDir::new("agent-tty");
    let command = format!(
        "'{}' --listen 127.0.0.1:0 --sample-interval 1",
        bin().display()
    );
    let script = Path::new("/usr/bin/script");
    assert!(script.exists(), "the test needs script(1), from util-linux");
    let p = Proc::start(
        script,
        &["-q", "-e", "-c", &command, "/dev/null"],
        dir.path(),
        &[],
    );
    let banner = p.wait_for(Duration::from_secs(60), |l| {
        l.trim_end() == "======================"
    });
    // A terminal ends its lines with CR LF.
    let out = p.output().replace('\r', "");
    assert!(banner.is_some(), "{out}");
    let token = std::fs::read_to_string(dir.join("client_token.txt")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "=== CLIENT STARTED ===")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(lines[start + 1].starts_with("Computer: "), "{out}");
    assert_eq!(
        lines[start + 2..start + 6],
        [
            &format!("Token: {}", token.trim()),
            "Add this computer to the dashboard using the above token",
            &format!("Dashboard should connect to: http://{}", p.addr),
            "======================",
        ],
        "{out}"
    );
}

/// Without a terminal (systemd, whose journal keeps every start's lines) the banner names where
/// the token is kept and its last four characters, never the whole token.
#[test]
fn without_a_terminal_the_banner_shows_where_the_token_is_and_its_last_four() {
    let agent = Agent::start(&[]);
    let banner = agent
        .proc
        .wait_for(Duration::from_secs(60), |l| l == "======================");
    let out = agent.proc.output();
    assert!(banner.is_some(), "{out}");
    assert!(!agent.token.is_empty());
    assert!(
        !out.contains(&agent.token),
        "the token is in the output: {out}"
    );
    assert!(out.contains("=== CLIENT STARTED ==="), "{out}");
    assert!(out.contains("\nComputer: "), "{out}");
    let file = std::fs::canonicalize(agent.dir.join("client_token.txt")).unwrap();
    let tail = &agent.token[agent.token.len() - 4..];
    assert!(
        out.contains(&format!(
            "\nToken: …{tail} (kept in {}; not shown in full outside a terminal)\n",
            file.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "using the whole token: lanstat-agent token --token-file {}",
            file.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Dashboard should connect to: http://127.0.0.1:{}",
            agent.proc.addr.port()
        )),
        "{out}"
    );
}

#[test]
fn the_token_flag_warns_and_points_to_the_file_or_the_environment() {
    let dir = TempDir::new("agent-flag-token");
    let token = made_up_secret("flag-token");
    let p = Proc::start(
        bin(),
        &["--listen", "127.0.0.1:0", "--token", &token],
        dir.path(),
        &[],
    );
    p.wait_for(Duration::from_secs(60), |l| l == "======================");
    let out = p.output();
    assert!(
        out.contains(
            "lanstat-agent: warning: --token shows the token to every user of this machine"
        ),
        "{out}"
    );
    assert!(
        out.contains("--token-file") && out.contains("LANSTAT_TOKEN"),
        "{out}"
    );
    assert!(!out.contains(&token), "{out}");
    assert!(
        out.contains(&format!(
            "Token: …{} (from --token;",
            &token[token.len() - 4..]
        )),
        "{out}"
    );
    assert_eq!(
        get_as(p.addr, "/systeminfo", &format!("Bearer {token}")).status,
        200
    );

    let q = Proc::start(
        bin(),
        &["--listen", "127.0.0.1:0"],
        dir.path(),
        &[("LANSTAT_TOKEN", &token)],
    );
    q.wait_for(Duration::from_secs(60), |l| l == "======================");
    let out = q.output();
    assert!(!out.contains("warning"), "{out}");
    assert!(!out.contains(&token), "{out}");
    assert!(
        out.contains("(from the LANSTAT_TOKEN environment variable;"),
        "{out}"
    );
}

#[cfg(unix)]
#[test]
fn token_is_kept_across_restart_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mut agent = Agent::start(&[]);
    let first = agent.token.clone();
    let path = agent.dir.join("client_token.txt");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(agent.proc.signal_and_wait("TERM"), Some(0));
    let again = Agent::start_in(agent.dir, &[]);
    assert_eq!(again.token, first);
    assert_eq!(again.get("/systeminfo").status, 200);
}

#[cfg(unix)]
#[test]
fn world_readable_token_file_is_refused() {
    let dir = TempDir::new("agent-perm");
    let token = "6f1c0b8e-4f7e-4c1a-9d9e-2b1f3c4d5e6f\n";
    write_with_mode(&dir.join("client_token.txt"), token, 0o644);
    let err = refused(dir.path(), &["--listen", "127.0.0.1:0"]);
    assert!(
        err.contains("readable by others") && err.contains("chmod 600"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[cfg(unix)]
#[test]
fn corrupt_token_file_is_refused() {
    let dir = TempDir::new("agent-corrupt");
    write_with_mode(&dir.join("client_token.txt"), b"\x00\x01garbage\xff", 0o600);
    let err = refused(dir.path(), &["--listen", "127.0.0.1:0"]);
    assert!(err.contains("token"), "{err}");
}

#[test]
fn token_file_flag_and_state_directory_are_honoured() {
    let dir = TempDir::new("agent-state");
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    let p = Proc::start(
        bin(),
        &["--listen", "127.0.0.1:0"],
        dir.path(),
        &[("STATE_DIRECTORY", state.to_str().unwrap())],
    );
    drop(p);
    assert!(state.join("token").exists());
    assert!(!dir.join("client_token.txt").exists());
    let custom = dir.join("custom.tok");
    let p = Proc::start(
        bin(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            custom.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    drop(p);
    assert!(custom.exists());
}

#[test]
fn provisioned_token_is_used_and_no_file_is_written() {
    let dir = TempDir::new("agent-fixed");
    let token = made_up_secret("fixed-token");
    let p = Proc::start(
        bin(),
        &["--listen", "127.0.0.1:0"],
        dir.path(),
        &[("LANSTAT_TOKEN", &token)],
    );
    let auth = format!("Bearer {token}");
    assert_eq!(get_as(p.addr, "/systeminfo", &auth).status, 200);
    assert!(!dir.join("client_token.txt").exists());
}

#[test]
fn token_and_rotate_token_commands() {
    let agent = Agent::start(&[]);
    let (code, out, _) = run(bin(), &["token"], agent.dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), agent.token);
    let (code, out, err) = run(bin(), &["rotate-token"], agent.dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let new = out.trim().to_string();
    assert_ne!(new, agent.token);
    let (_, out, _) = run(bin(), &["token"], agent.dir.path(), &[]);
    assert_eq!(out.trim(), new);
}

#[test]
fn token_command_without_a_file_fails_clearly() {
    let dir = TempDir::new("agent-notoken");
    let err = refused(dir.path(), &["token"]);
    assert!(err.contains("client_token.txt"), "{err}");
}

#[test]
fn bad_flags_give_one_line_and_exit_2() {
    let dir = TempDir::new("agent-flags");
    for args in [
        &["--nope"][..],
        &["--listen", "nonsense"],
        &["--sample-interval", "0"],
        &["--sample-interval", "abc"],
        &["--listen"],
        &["frobnicate"],
        &["--token", "short"],
    ] {
        let (code, _, err) = run(bin(), args, dir.path(), &[]);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("lanstat-agent: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn help_and_version() {
    let dir = TempDir::new("agent-help");
    let (code, out, _) = run(bin(), &["--help"], dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(out.contains("--sample-interval"));
    let (code, out, _) = run(bin(), &["--version"], dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("lanstat-agent {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn port_in_use_gives_one_clear_line() {
    let agent = Agent::start(&[]);
    let listen = agent.proc.addr.to_string();
    let err = refused(agent.dir.path(), &["--listen", &listen]);
    assert!(err.contains("in use"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_stop_cleanly() {
    for sig in ["TERM", "INT"] {
        let mut agent = Agent::start(&[]);
        assert_eq!(agent.proc.signal_and_wait(sig), Some(0), "{sig}");
    }
}

#[test]
fn listen_env_is_honoured() {
    let dir = TempDir::new("agent-env");
    let p = Proc::start(
        bin(),
        &[],
        dir.path(),
        &[("LANSTAT_AGENT_LISTEN", "127.0.0.1:0")],
    );
    assert!(p.addr.ip().is_loopback());
}
