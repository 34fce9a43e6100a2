//! Serving a handler for both programs on the project's bounded HTTP layer (`lanstat-http`):
//! bind with a clear error, a deep accept queue, and whatever should end the process (a stop
//! signal, a listener that died) delivered to `main` as one [`Event`].

use std::net::SocketAddr;
use std::sync::mpsc::Sender;

pub use lanstat_http::{
    HeaderValue, Limits, Method, Request, Response, Running, Server, StatusCode, header,
};

use crate::Error;

/// Why the process should stop.
#[derive(Debug)]
pub enum Event {
    /// A stop signal arrived (SIGTERM, SIGINT, SIGHUP).
    Signal(&'static str),
    /// The listener died; the service manager should restart us.
    ListenerFailed(String),
}

/// Binds `addr` ("0.0.0.0:8000", "127.0.0.1:0", "[::]:8000") with `limits`; nothing is
/// served until [`serve`].
pub fn bind(addr: &str, limits: Limits) -> Result<(Server, SocketAddr), Error> {
    let server = Server::bind(addr, limits)
        .map_err(|e| Error::Listen(lanstat_http::describe_bind_error(addr, &e)))?;
    // std listens with a backlog of 128: a burst of new connections would have its SYNs
    // dropped and retried seconds later.
    crate::sys::raise_backlog(server.listener(), 1024);
    let local = server.local_addr();
    Ok((server, local))
}

/// Serves `handler`; if the listener ever dies, [`Event::ListenerFailed`] goes to `events`.
pub fn serve<H>(server: Server, handler: H, events: Sender<Event>) -> Result<Running, Error>
where
    H: Fn(&mut Request<'_>) -> Response + Send + Sync + 'static,
{
    server
        .serve(handler, move |why| {
            let _ = events.send(Event::ListenerFailed(why));
        })
        .map_err(|e| Error::Listen(format!("cannot start the listener thread: {e}")))
}

/// Waits for a stop signal in a named thread and reports it on `events`.
pub fn forward_signals(events: Sender<Event>) {
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
        let (_s, addr) = bind("127.0.0.1:0", Limits::default()).unwrap();
        let err = bind(&addr.to_string(), Limits::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("in use"), "{err}");
    }
}
