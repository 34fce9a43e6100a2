//! Password checks through the real server binary: memory bounded by the hashes that may run
//! at once however many logins there are, and one guess per open throttle window.

mod util;

use std::sync::Barrier;
use std::time::Duration;

use util::*;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[test]
fn many_logins_keep_memory_bounded_by_the_concurrent_hashes() {
    let pw = made_up_secret("rss");
    // The first start hashes the admin's password; a second start over the same database
    // hashes nothing, so its idle figure holds no hash memory.
    let first = Server::with_admin_password(&pw);
    let mut proc = first.proc;
    assert_eq!(proc.signal_and_wait("TERM"), Some(0));
    let s = Server::start_in(first.dir, &["--no-local"], &[]);
    let pid = s.proc.pid();
    let idle = raw::proc_status(pid, "VmRSS:");

    let mut c = s.client();
    for _ in 0..200 {
        assert_eq!(c.login("admin", &pw).status, 200);
    }
    let statuses: Vec<u16> = std::thread::scope(|t| {
        let s = &s;
        let handles: Vec<_> = (0..50)
            .map(|i| {
                t.spawn(move || {
                    let name = if i % 2 == 0 { "admin" } else { "nobody" };
                    s.client().login(name, "wrong-wrong").status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&401), "some were checked: {statuses:?}");

    let peak = raw::peak_rss_kib(pid);
    eprintln!(
        "server memory: idle VmRSS {:.1} MiB, peak VmHWM {:.1} MiB after 200 logins and 50 parallel wrong ones",
        mib(idle),
        mib(peak)
    );
    assert!(
        peak <= idle + 64 * 1024,
        "peak {:.1} MiB is more than 64 MiB over idle {:.1} MiB",
        mib(peak),
        mib(idle)
    );
    assert_eq!(c.get("/api/me").status, 200, "the server still answers");
}

#[test]
fn an_open_window_admits_one_of_sixteen_parallel_guesses() {
    let pw = made_up_secret("window");
    let s = Server::with_admin_password(&pw);
    s.five_wrong_logins("admin");
    // The sixth attempt waits a second after the fifth arrived, which was before its answer:
    // a second after that answer the window is open however busy the machine (a sleep that
    // only ever waits longer than needed). Nothing the test could ask tells it sooner: any
    // attempt in an open window is counted.
    std::thread::sleep(Duration::from_millis(1100));
    let start = Barrier::new(16);
    let answers: Vec<Resp> = std::thread::scope(|t| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                t.spawn(|| {
                    start.wait();
                    s.client().login("admin", "wrong-wrong")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    for r in answers.iter().filter(|r| r.status == 429) {
        assert!(r.header("retry-after").is_some(), "{:?}", r.all_headers);
    }
}
