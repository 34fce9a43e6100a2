//! Flags, environment and exit codes of the real binary.

mod util;

use util::*;

#[test]
fn bad_values_give_one_line_and_exit_2() {
    let dir = TempDir::new("server-flags");
    for (args, env) in [
        (&["--nope"][..], &[][..]),
        (&["--listen", "nowhere"], &[]),
        (&["--poll-interval", "0"], &[]),
        (&["--poll-interval", "fast"], &[]),
        (&["frobnicate"], &[]),
        (&["backup"], &[]),
        (&[], &[("ADMIN_PASSWORD", "short")]),
        (&[], &[("LANSTAT_LISTEN", "1.2.3.4")]),
    ] {
        let (code, _, err) = run(server_bin(), args, dir.path(), env);
        assert_eq!(code, 2, "{args:?} {env:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.starts_with("lanstat-server: "), "{err}");
    }
}

#[test]
fn help_and_version() {
    let dir = TempDir::new("server-help");
    let (code, out, _) = run_server(&["--help"], dir.path());
    assert_eq!(code, 0);
    for flag in [
        "--listen",
        "--db",
        "--poll-interval",
        "--no-local",
        "ADMIN_PASSWORD",
        "backup",
        "reset-password",
        "token create NAME",
        "token revoke NAME|ID",
    ] {
        assert!(out.contains(flag), "{flag}");
    }
    let (code, out, _) = run_server(&["--version"], dir.path());
    assert_eq!(
        (code, out.trim()),
        (
            0,
            format!("lanstat-server {}", env!("CARGO_PKG_VERSION")).as_str()
        )
    );
}

#[test]
fn database_path_from_the_environment() {
    let dir = TempDir::new("server-envdb");
    let db = dir.join("custom.db");
    let p = Proc::start(
        server_bin(),
        &["--no-local"],
        dir.path(),
        &[
            ("DATABASE_PATH", db.to_str().unwrap()),
            ("LANSTAT_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert!(p.addr.ip().is_loopback());
    assert!(db.exists());
    assert!(!dir.join("stats.db").exists());
}

#[test]
fn a_missing_database_folder_is_a_clear_error() {
    let dir = TempDir::new("server-nodir");
    assert_fails(
        &["--listen", "127.0.0.1:0", "--db", "/no/such/dir/stats.db"],
        dir.path(),
        "does not exist",
    );
}

#[test]
fn port_in_use_is_one_clear_line() {
    let s = Server::start(&["--no-local"], &[]);
    let listen = s.addr().to_string();
    assert_fails(
        &["--listen", &listen, "--db", "x.db"],
        s.dir.path(),
        "in use",
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_it_cleanly() {
    let s = Server::start(&[], &[]);
    let mut proc = s.proc;
    assert_eq!(proc.signal_and_wait("TERM"), Some(0));
}
