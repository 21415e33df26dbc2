//! Signal plumbing for supervise: the SIGCHLD self-pipe (ports `sig_catch`
//! plus `supervise.c:sigchild_handler`/`trigger`) and the child-side reset.
//!
//! The handler writes one byte to a non-blocking pipe whose write end is
//! stored in a static; it touches nothing else, so it is async-signal-safe.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

static SELFPIPE_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_sig: libc::c_int) {
    let fd = SELFPIPE_W.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: errno location is thread-local and valid; write(2) on a
        // valid fd with a 1-byte stack buffer is async-signal-safe. errno is
        // saved and restored so the interrupted code does not see it change.
        unsafe {
            let e = *libc::__errno_location();
            let b = 0u8;
            libc::write(fd, std::ptr::from_ref(&b).cast(), 1);
            *libc::__errno_location() = e;
        }
    }
}

/// `sigaction(sig, handler)`: make `sig` write a byte to `selfpipe_w`
/// (non-blocking, close-on-exec), and unblock `sig`. The fd is kept for the
/// life of the process.
///
/// # Errors
/// The errno of `sigaction`.
pub fn selfpipe_catch(sig: libc::c_int, selfpipe_w: OwnedFd) -> io::Result<()> {
    let fd = selfpipe_w.as_raw_fd();
    std::mem::forget(selfpipe_w);
    SELFPIPE_W.store(fd, Ordering::Relaxed);
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the
    // handler only performs async-signal-safe operations.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&raw mut sa.sa_mask);
        if libc::sigaction(sig, &raw const sa, std::ptr::null_mut()) == -1 {
            return Err(io::Error::last_os_error());
        }
        // daemontools unblocks SIGCHLD around its poll; this loop polls the
        // self-pipe, so the signal must never stay blocked (a parent may
        // have passed on a mask with it blocked).
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
    }
    Ok(())
}

/// Write one byte to the self-pipe (`trigger`), waking the main loop.
pub fn selfpipe_trigger() {
    on_signal(0);
}

/// In a forked child: SIGCHLD back to default and unblocked
/// (`sig_uncatch(sig_child); sig_unblock(sig_child)`). Async-signal-safe.
pub fn child_reset_sigchld() {
    // SAFETY: sigaction/sigprocmask with stack-allocated, initialised sets
    // are async-signal-safe and cannot violate memory safety.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&raw mut sa.sa_mask);
        libc::sigaction(libc::SIGCHLD, &raw const sa, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
    }
}

/// `signal(SIGPIPE, SIG_IGN)` (svc's `sig_ignore(sig_pipe)`).
pub fn ignore_sigpipe() {
    // SAFETY: setting a disposition to SIG_IGN has no memory-safety impact.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}
