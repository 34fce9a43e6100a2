//! The few operating-system calls std does not offer: the open-files limit, `statvfs`, and
//! waiting for SIGTERM/SIGINT. This is the only module of the crate with `unsafe`.
#![allow(unsafe_code)]

/// Raises the soft RLIMIT_NOFILE to the hard limit, so a burst of connections does not hit
/// EMFILE (which the HTTP layer survives, but only by pausing its accepts). Returns the new
/// soft limit.
#[cfg(unix)]
pub fn raise_nofile_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass, which lives on
    // our stack for the duration of the call.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
        Some(lim.rlim_cur as u64)
    }
}

#[cfg(not(unix))]
pub fn raise_nofile_limit() -> Option<u64> {
    None
}

/// Raises a listening socket's accept backlog (std listens with 128), so a burst of new
/// connections waits in the kernel's queue instead of having its SYNs dropped and retried
/// seconds later. The kernel caps it at net.core.somaxconn.
#[cfg(unix)]
pub fn raise_backlog(listener: &std::net::TcpListener, backlog: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor belongs to a live, bound, listening socket; listen() on it
    // again only changes the queue length.
    unsafe {
        libc::listen(listener.as_raw_fd(), backlog);
    }
}

#[cfg(not(unix))]
pub fn raise_backlog(_listener: &std::net::TcpListener, _backlog: i32) {}

/// Sizes of the filesystem holding `path`, as `df` computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSpace {
    pub total: u64,
    /// Free blocks, including those reserved for root.
    pub free: u64,
    /// Free blocks an unprivileged user may use.
    pub available: u64,
}

#[cfg(unix)]
pub fn statvfs(path: &std::path::Path) -> Option<FsSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c_path` is a valid NUL-terminated string and `st` is a zeroed plain C struct
    // that statvfs fills in; both outlive the call.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c_path.as_ptr(), &mut st) != 0 {
            return None;
        }
        st
    };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    let frsize = if st.f_frsize > 0 {
        st.f_frsize as u64
    } else {
        st.f_bsize as u64
    };
    #[allow(clippy::unnecessary_cast)]
    Some(FsSpace {
        total: (st.f_blocks as u64).saturating_mul(frsize),
        free: (st.f_bfree as u64).saturating_mul(frsize),
        available: (st.f_bavail as u64).saturating_mul(frsize),
    })
}

#[cfg(not(unix))]
pub fn statvfs(_path: &std::path::Path) -> Option<FsSpace> {
    None
}

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it spawns
/// afterwards. Call it first in `main`, then [`wait_for_stop_signal`] in one thread.
#[cfg(unix)]
pub fn block_stop_signals() {
    // SAFETY: the sigset is initialised by sigemptyset before use; pthread_sigmask only
    // changes this thread's mask.
    unsafe {
        let set = stop_signal_set();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
pub fn block_stop_signals() {}

/// Waits until SIGTERM, SIGINT or SIGHUP arrives and returns its name. The signals must have
/// been blocked with [`block_stop_signals`] before any thread was started.
#[cfg(unix)]
pub fn wait_for_stop_signal() -> &'static str {
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is initialised, `sig` is a valid out-pointer for the call.
        let rc = unsafe {
            let set = stop_signal_set();
            libc::sigwait(&set, &mut sig)
        };
        if rc == 0 {
            return match sig {
                libc::SIGTERM => "SIGTERM",
                libc::SIGINT => "SIGINT",
                _ => "SIGHUP",
            };
        }
    }
}

#[cfg(not(unix))]
pub fn wait_for_stop_signal() -> &'static str {
    // Windows: Ctrl-C ends the process through the default handler.
    loop {
        std::thread::park();
    }
}

#[cfg(unix)]
unsafe fn stop_signal_set() -> libc::sigset_t {
    // SAFETY: the caller is in an unsafe block; sigemptyset initialises the set fully.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
        set
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn statvfs_of_root_is_sane() {
        let s = statvfs(std::path::Path::new("/")).expect("statvfs /");
        assert!(s.total > 0);
        assert!(s.free <= s.total);
        assert!(s.available <= s.free);
    }

    #[test]
    fn statvfs_of_missing_path_is_none() {
        assert!(statvfs(std::path::Path::new("/no/such/path/here")).is_none());
    }

    #[test]
    fn nofile_limit_is_reported() {
        assert!(raise_nofile_limit().unwrap_or(0) > 0);
    }
}
