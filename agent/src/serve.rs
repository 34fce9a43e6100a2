//! Serving a handler for both programs on the project's bounded HTTP layer (`lanstat-http`):
//! bind with a clear error, a deep accept queue, and the one shutdown path both `main`s
//! take: whatever should end the process (a stop signal, a listener that died) arrives as
//! one event, and [`Serving::wait`] logs it, stops serving and gives the exit code.
//!
//! ```no_run
//! use lanstat_agent::serve::{self, Response, StatusCode};
//!
//! let bound = serve::bind("127.0.0.1:0", 16, 128 * 1024).unwrap();
//! let serving = serve::start(bound.server, |_req| Response::json(StatusCode::OK, &"hi")).unwrap();
//! println!("listening on {}", bound.addr);
//! let code = serving.wait(); // until SIGTERM (0) or a dead listener (1)
//! // stop the background threads here, then exit with `code`
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};

pub use lanstat_http::{
    HeaderValue, Limits, Method, Request, Response, Running, Server, StatusCode, header,
};

use crate::Error;

/// Why the process should stop.
#[derive(Debug)]
enum Event {
    /// A stop signal arrived (SIGTERM, SIGINT, SIGHUP).
    Signal(&'static str),
    /// The listener died; the service manager should restart us.
    ListenerFailed(String),
}

/// A bound listener, not yet serving.
pub struct Bound {
    pub server: Server,
    pub addr: SocketAddr,
    /// The open-files limit raised for it, where the OS says.
    pub nofile: Option<u64>,
}

/// Binds `addr` ("0.0.0.0:8000", "127.0.0.1:0", "[::]:8000") for `max_connections`
/// connections at once, each on a thread with `stack_size` bytes of stack; nothing is served
/// until [`start`]. Every connection is a file, so the open-files limit is raised first.
pub fn bind(addr: &str, max_connections: usize, stack_size: usize) -> Result<Bound, Error> {
    let nofile = crate::sys::raise_nofile_limit();
    let limits = Limits {
        max_connections,
        stack_size,
        ..Limits::default()
    };
    let server = Server::bind(addr, limits)
        .map_err(|e| Error::Listen(lanstat_http::describe_bind_error(addr, &e)))?;
    // std listens with a backlog of 128: a burst of new connections would have its SYNs
    // dropped and retried seconds later.
    crate::sys::raise_backlog(server.listener(), 1024);
    let addr = server.local_addr();
    Ok(Bound {
        server,
        addr,
        nofile,
    })
}

/// A handler being served, until [`Serving::wait`] sees a reason to stop.
pub struct Serving {
    running: Running,
    events: Receiver<Event>,
}

/// Serves `handler` and starts waiting for stop signals (blocked with
/// [`crate::sys::block_stop_signals`] first thing in `main`).
pub fn start<H>(server: Server, handler: H) -> Result<Serving, Error>
where
    H: Fn(&mut Request<'_>) -> Response + Send + Sync + 'static,
{
    let (events, rx) = mpsc::channel();
    forward_signals(events.clone());
    let running = server
        .serve(handler, move |why| {
            let _ = events.send(Event::ListenerFailed(why));
        })
        .map_err(|e| Error::Listen(format!("cannot start the listener thread: {e}")))?;
    Ok(Serving {
        running,
        events: rx,
    })
}

impl Serving {
    /// Blocks until a stop signal arrives or the listener dies, logs which, and stops
    /// serving. The exit code is 0 after a signal, 1 when the listener died (so the service
    /// manager restarts us). The caller stops its own threads after this.
    pub fn wait(self) -> ExitCode {
        let code = stopping(self.events.recv().ok());
        self.running.stop();
        code
    }
}

/// Logs why the process stops and gives its exit code.
fn stopping(event: Option<Event>) -> ExitCode {
    match event {
        Some(Event::Signal(sig)) => {
            println!("event=stopping signal={sig}");
            ExitCode::SUCCESS
        }
        Some(Event::ListenerFailed(why)) => {
            eprintln!("event=listener_failed error={why:?} action=exit");
            ExitCode::from(1)
        }
        // Cannot happen while the signal thread holds its sender; if it never started, stop.
        None => ExitCode::from(1),
    }
}

/// Waits for a stop signal in a named thread and reports it on `events`.
fn forward_signals(events: Sender<Event>) {
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let sig = crate::sys::wait_for_stop_signal();
            let _ = events.send(Event::Signal(sig));
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_in_use_is_a_clear_error() {
        let first = bind("127.0.0.1:0", 4, 64 * 1024).unwrap();
        assert!(first.nofile.unwrap_or(1) > 0);
        let err = bind(&first.addr.to_string(), 4, 64 * 1024)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("in use"), "{err}");
    }

    #[test]
    fn a_signal_exits_0_and_a_dead_listener_1() {
        assert_eq!(stopping(Some(Event::Signal("SIGTERM"))), ExitCode::SUCCESS);
        assert_eq!(
            stopping(Some(Event::ListenerFailed("gone".into()))),
            ExitCode::from(1)
        );
        assert_eq!(stopping(None), ExitCode::from(1));
    }
}
