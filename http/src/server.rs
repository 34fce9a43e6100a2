//! Accepting connections: a thread per connection under a cap, room made by closing the
//! connection that has waited longest on its client, accept errors survived with a pause, and
//! a listener that never ends without saying so.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http::StatusCode;

use crate::{Limits, Request, Response, conn};

/// A request handler.
pub(crate) type Handler = dyn Fn(&mut Request<'_>) -> Response + Send + Sync;

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
        let shared = Arc::new(Shared {
            limits: self.limits,
            stopping: AtomicBool::new(false),
            conns: Mutex::new(Registry::default()),
            freed: Condvar::new(),
        });
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
        self.shared.lock().entries.len()
    }

    /// Stops accepting, closes idle connections, lets requests in hand finish (their answers
    /// say `Connection: close`) for up to `grace`, and returns.
    pub fn stop_within(mut self, grace: Duration) {
        self.shared.stopping.store(true, Ordering::SeqCst);
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
        let deadline = Instant::now() + grace;
        let mut reg = self.shared.lock();
        for e in reg.entries.iter().filter(|e| e.waiting_since.is_some()) {
            let _ = e.stream.shutdown(Shutdown::Both);
        }
        while !reg.entries.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            reg = self
                .shared
                .freed
                .wait_timeout(reg, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// [`Running::stop_within`] five seconds.
    pub fn stop(self) {
        self.stop_within(Duration::from_secs(5));
    }
}

/// What the accept thread and the connection threads share.
pub(crate) struct Shared {
    pub limits: Limits,
    stopping: AtomicBool,
    conns: Mutex<Registry>,
    freed: Condvar,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    entries: Vec<Entry>,
}

struct Entry {
    id: u64,
    /// The socket, shared with its thread, to close it from outside (no second descriptor).
    stream: Arc<TcpStream>,
    /// `Some` while the connection waits for a head (or lingers before closing): it may be
    /// closed to make room.
    waiting_since: Option<Instant>,
    evicted: bool,
}

/// A connection's place in the registry.
pub(crate) struct Slot {
    id: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn set_waiting(&self, slot: &Slot, since: Instant) {
        if let Some(e) = self.lock().entries.iter_mut().find(|e| e.id == slot.id) {
            e.waiting_since = Some(since);
        }
    }

    /// Marks the connection busy; false if it was closed to make room meanwhile.
    pub fn set_busy(&self, slot: &Slot) -> bool {
        match self.lock().entries.iter_mut().find(|e| e.id == slot.id) {
            Some(e) if !e.evicted => {
                e.waiting_since = None;
                true
            }
            _ => false,
        }
    }

    fn leave(&self, slot: &Slot) {
        self.lock().entries.retain(|e| e.id != slot.id);
        self.freed.notify_all();
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
    let mut reg = shared.lock();
    if reg.entries.len() >= shared.limits.max_connections {
        full.fail(
            "connections_full",
            &format_args!("max={}", shared.limits.max_connections),
        );
        reg = make_room(shared, reg);
        if reg.entries.len() >= shared.limits.max_connections {
            drop(reg);
            refuse_busy(stream);
            return;
        }
    } else {
        full.ok("connections_available");
    }
    let id = reg.next_id;
    reg.next_id += 1;
    reg.entries.push(Entry {
        id,
        stream: stream.clone(),
        waiting_since: Some(Instant::now()),
        evicted: false,
    });
    drop(reg);
    let (s, h) = (shared.clone(), handler.clone());
    let spawned = std::thread::Builder::new()
        .name("http".into())
        .stack_size(shared.limits.stack_size)
        .spawn(move || {
            let slot = Slot { id };
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
            shared.leave(&Slot { id });
            spawn_errors.fail(
                "connection_thread_failed",
                &format_args!("error={:?} action=close", e.to_string()),
            );
        }
    }
}

/// Closes the connection that has waited longest on its client (for a head or a body), and waits
/// (briefly) for its thread to leave.
fn make_room<'a>(
    shared: &'a Shared,
    mut reg: MutexGuard<'a, Registry>,
) -> MutexGuard<'a, Registry> {
    let oldest = reg
        .entries
        .iter_mut()
        .filter(|e| !e.evicted)
        .filter_map(|e| e.waiting_since.map(|t| (t, e)))
        .min_by_key(|(t, _)| *t);
    let Some((_, victim)) = oldest else {
        return reg;
    };
    victim.evicted = true;
    let _ = victim.stream.shutdown(Shutdown::Both);
    let deadline = Instant::now() + Duration::from_secs(1);
    while reg.entries.len() >= shared.limits.max_connections {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        reg = shared
            .freed
            .wait_timeout(reg, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    reg
}

/// Every connection is busy: a short 503 without blocking the accept thread, then close.
fn refuse_busy(stream: Arc<TcpStream>) {
    let mut stream = &*stream;
    let answer = Response::error(StatusCode::SERVICE_UNAVAILABLE, "too many connections")
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
        Arc::new(Shared {
            limits: Limits::default(),
            stopping: AtomicBool::new(false),
            conns: Mutex::new(Registry::default()),
            freed: Condvar::new(),
        })
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
        s.stopping.store(true, Ordering::SeqCst);
        drop(Watch {
            shared: s,
            on_failure: Some(Box::new(move |why| tx.send(why).unwrap())),
        });
        assert!(rx.try_recv().is_err());
    }
}
