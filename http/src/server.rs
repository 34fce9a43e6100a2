//! Accepting connections: a thread per connection under a cap, room made by closing the
//! connection that has waited longest on its client, accept errors survived with a pause, and
//! a listener that never ends without saying so.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http::StatusCode;

use crate::conn::{self, Handler};
use crate::limits::Limits;
use crate::registry::{Admission, Shared, Slot};
use crate::request::Request;
use crate::response::Response;

/// A bound listener, not yet serving.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    limits: Limits,
}

/// `addr` could not be bound, in words for the person who chose it.
pub fn describe_bind_error(addr: &str, e: &io::Error) -> String {
    let hint = match e.kind() {
        io::ErrorKind::AddrInUse => " (the port is in use: is another instance running?)",
        io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        io::ErrorKind::AddrNotAvailable => " (no interface has that address)",
        _ => "",
    };
    format!("cannot listen on {addr}: {e}{hint}")
}

impl Server {
    /// Binds `addr` ("0.0.0.0:8000", "127.0.0.1:0", "[::]:8000").
    pub fn bind(addr: &str, limits: Limits) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        // Inherited by every accepted socket on Linux; set again on each below for the rest.
        let addr = listener.local_addr()?;
        Ok(Server {
            listener,
            addr,
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening socket, for options std does not set (the accept backlog).
    pub fn listener(&self) -> &TcpListener {
        &self.listener
    }

    /// Serves `handler` from an accept thread. `on_failure` is called, once, if that thread
    /// ever ends other than by [`Running::stop`]: the process should then exit non-zero so
    /// its service manager restarts it, rather than run without serving.
    pub fn serve<H, F>(self, handler: H, on_failure: F) -> io::Result<Running>
    where
        H: Fn(&mut Request<'_>) -> Response + Send + Sync + 'static,
        F: FnOnce(String) + Send + 'static,
    {
        let shared = Arc::new(Shared::new(self.limits));
        let handler: Arc<Handler> = Arc::new(handler);
        let (listener, s) = (self.listener, shared.clone());
        let accept = std::thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || {
                let mut watch = Watch {
                    shared: s.clone(),
                    on_failure: Some(Box::new(on_failure)),
                };
                let why =
                    match catch_unwind(AssertUnwindSafe(|| accept_loop(&listener, &s, &handler))) {
                        Ok(()) => "the accept loop ended",
                        Err(_) => "the accept thread panicked",
                    };
                watch.report(why);
            })?;
        Ok(Running {
            shared,
            addr: self.addr,
            accept: Some(accept),
        })
    }
}

/// Calls `on_failure` when the accept thread ends while the server is not stopping, whether it
/// returned or unwound.
struct Watch {
    shared: Arc<Shared>,
    on_failure: Option<Box<dyn FnOnce(String) + Send>>,
}

impl Watch {
    fn report(&mut self, why: &str) {
        if !self.shared.is_stopping()
            && let Some(f) = self.on_failure.take()
        {
            f(why.to_string());
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.report("the accept thread ended");
    }
}

/// A serving server. Dropping it leaves it serving; [`Running::stop`] ends it.
pub struct Running {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections open now (each one a thread).
    pub fn connections(&self) -> usize {
        self.shared.connections()
    }

    /// Stops accepting, closes idle connections, lets requests in hand finish (their answers
    /// say `Connection: close`) for up to `grace`, and returns.
    pub fn stop_within(mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        self.shared.begin_stop();
        // accept() has no timeout: a connection of our own wakes it to see the flag.
        let wake = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                SocketAddr::from(([127, 0, 0, 1], a.port()))
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port()))
            }
            a => a,
        };
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok();
        if let Some(t) = self.accept.take()
            && woke
        {
            let _ = t.join();
        }
        // Connections that went idle while the accept thread was stopping.
        self.shared.begin_stop();
        self.shared.wait_empty(deadline);
    }

    /// [`Running::stop_within`] five seconds.
    pub fn stop(self) {
        self.stop_within(Duration::from_secs(5));
    }
}

/// Logs the first of a run of failures and, when they end, how many there were: a burst of
/// EMFILE must not flood the journal.
#[derive(Default)]
struct Burst {
    count: u64,
}

impl Burst {
    fn fail(&mut self, event: &str, detail: &dyn std::fmt::Display) {
        if self.count == 0 {
            eprintln!("event={event} {detail}");
        }
        self.count += 1;
    }

    fn ok(&mut self, event: &str) {
        if self.count > 0 {
            eprintln!("event={event} failures={}", self.count);
            self.count = 0;
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, handler: &Arc<Handler>) {
    let mut accept_errors = Burst::default();
    let mut spawn_errors = Burst::default();
    let mut full = Burst::default();
    let mut pause = Duration::ZERO;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if shared.is_stopping() {
                    return;
                }
                accept_errors.ok("accept_recovered");
                pause = Duration::ZERO;
                admit(stream, peer, shared, handler, &mut spawn_errors, &mut full);
            }
            Err(e) => {
                if shared.is_stopping() {
                    return;
                }
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Out of descriptors or buffers: wait for some to free up, longer each time,
                // and go on. The process recovers by itself.
                pause = (pause * 2).clamp(Duration::from_millis(10), Duration::from_millis(500));
                accept_errors.fail(
                    "accept_failed",
                    &format_args!("error={:?} action=pause", e.to_string()),
                );
                std::thread::sleep(pause);
            }
        }
    }
}

/// Gives a new connection a slot and a thread, making room or refusing it when full.
fn admit(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    handler: &Arc<Handler>,
    spawn_errors: &mut Burst,
    full: &mut Burst,
) {
    let _ = stream.set_nodelay(true);
    let stream = Arc::new(stream);
    let slot = match shared.admit(&stream) {
        Admission::In { slot, made_room } => {
            if made_room {
                full.fail(
                    "connections_full",
                    &format_args!(
                        "max={} action=close_oldest_waiting",
                        shared.limits.max_connections
                    ),
                );
            } else {
                full.ok("connections_available");
            }
            slot
        }
        Admission::Full => {
            full.fail(
                "connections_full",
                &format_args!("max={} action=refuse", shared.limits.max_connections),
            );
            refuse_busy(stream);
            return;
        }
    };
    let id = slot.id();
    let (s, h) = (shared.clone(), handler.clone());
    let spawned = std::thread::Builder::new()
        .name("http".into())
        .stack_size(shared.limits.stack_size)
        .spawn(move || {
            // Leaves the registry even if the connection code itself panics.
            struct Leave<'a>(&'a Shared, &'a Slot);
            impl Drop for Leave<'_> {
                fn drop(&mut self) {
                    self.0.leave(self.1);
                }
            }
            let _leave = Leave(&s, &slot);
            conn::serve(stream, peer, &s, &slot, &*h);
        });
    match spawned {
        Ok(_) => spawn_errors.ok("connection_threads_recovered"),
        Err(e) => {
            // The stream moved into the closure that never ran and is closed with it.
            shared.leave(&Slot::from_id(id));
            spawn_errors.fail(
                "connection_thread_failed",
                &format_args!("error={:?} action=close", e.to_string()),
            );
        }
    }
}

/// Every connection is busy: a short 503 without blocking the accept thread, then close.
fn refuse_busy(stream: Arc<TcpStream>) {
    let mut stream = &*stream;
    let answer = Response::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        "too many connections",
    )
    .with_header(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    let (head, body) = answer.encode(http::Version::HTTP_11, false, false, &crate::date::now());
    let _ = stream.set_nonblocking(true);
    let mut whole = head;
    whole.extend_from_slice(body);
    let _ = stream.write_all(&whole);
    let _ = stream.shutdown(Shutdown::Write);
    // Drop what already arrived so closing does not reset the answer away.
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(Limits::default()))
    }

    #[test]
    fn an_accept_thread_that_ends_unasked_is_reported_once() {
        let (tx, rx) = mpsc::channel();
        let mut watch = Watch {
            shared: shared(),
            on_failure: Some(Box::new(move |why| tx.send(why).unwrap())),
        };
        watch.report("the accept thread panicked");
        drop(watch);
        assert_eq!(rx.try_recv().unwrap(), "the accept thread panicked");
        assert!(rx.try_recv().is_err(), "reported twice");

        // Dropped without a word, as when its thread unwinds: still reported.
        let (tx, rx) = mpsc::channel();
        drop(Watch {
            shared: shared(),
            on_failure: Some(Box::new(move |why| tx.send(why).unwrap())),
        });
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn a_stopping_server_reports_nothing() {
        let (tx, rx) = mpsc::channel::<String>();
        let s = shared();
        s.begin_stop();
        drop(Watch {
            shared: s,
            on_failure: Some(Box::new(move |why| tx.send(why).unwrap())),
        });
        assert!(rx.try_recv().is_err());
    }
}
