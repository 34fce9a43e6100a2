//! What a client sends never sizes what the server allocates: the process's peak heap is
//! measured by a counting allocator while hostile requests run. One test in this file, so
//! nothing else allocates in the process meanwhile.

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use util::*;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

static FILLER: [u8; 64 * 1024] = [b'a'; 64 * 1024];

fn send_then_read(
    addr: std::net::SocketAddr,
    head: &[u8],
    then: &[u8],
    times: usize,
) -> Option<u16> {
    let mut s = connect(addr);
    let _ = s.write_all(head);
    for _ in 0..times {
        if s.write_all(then).is_err() {
            break;
        }
    }
    let mut first = [0u8; 12];
    s.read_exact(&mut first).ok()?;
    status_of(&first)
}

#[test]
fn peak_heap_does_not_grow_with_what_clients_send() {
    let srv = start(limits());
    srv.assert_serving();
    until("the serving check's connection ended", || {
        srv.connections() == 0
    });
    let baseline = CURRENT.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);

    // A 64 MiB header line.
    let status = send_then_read(
        srv.addr,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: ",
        &FILLER,
        1024,
    );
    assert_eq!(status, Some(431));
    // 100,000 header fields.
    let status = send_then_read(
        srv.addr,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n",
        b"X: y\r\n",
        100_000,
    );
    assert_eq!(status, Some(431));
    // Huge declared lengths, with a body that keeps coming.
    for head in [
        &b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 9000000000000000000\r\n\r\n"[..],
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551615\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
    ] {
        assert!(send_then_read(srv.addr, head, &FILLER, 256).is_some());
    }
    // A URL as long as a head may be.
    assert_eq!(send_then_read(srv.addr, b"GET /", &FILLER, 16), Some(414));
    srv.assert_serving();

    let growth = PEAK.load(Ordering::SeqCst).saturating_sub(baseline);
    eprintln!("peak heap growth while hostile clients ran: {growth} bytes");
    // A few connection buffers (16 KiB each) and their threads' bookkeeping, never the
    // megabytes the clients sent or announced.
    assert!(growth < 1024 * 1024, "peak heap grew by {growth} bytes");
}
