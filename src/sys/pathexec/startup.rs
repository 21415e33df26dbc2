//! Undoing the Rust runtime's start-up changes: a constructor run before
//! `main` records which of fds 0–2 were closed, whether `SIGPIPE` was
//! ignored, and copies the environment ([`super::env`]).

use std::sync::atomic::{AtomicU8, Ordering};

use super::env::{read_environ, STARTUP_ENV};

const CAPTURED: u8 = 0x80;
const SIGPIPE_IGNORED: u8 = 0x08;

/// Bits 0–2: fd 0–2 was closed at start-up. [`SIGPIPE_IGNORED`]: SIGPIPE was
/// ignored. [`CAPTURED`]: the constructor ran.
static STARTUP: AtomicU8 = AtomicU8::new(0);

extern "C" fn capture_startup() {
    let mut state = CAPTURED;
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            state |= 1 << fd;
        }
    }
    // SAFETY: a zeroed sigaction is a valid out-parameter, and a null `act`
    // makes sigaction only report the current disposition.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &raw mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
        {
            state |= SIGPIPE_IGNORED;
        }
    }
    STARTUP.store(state, Ordering::Relaxed);
    // SAFETY: `.init_array` functions run before `main`, before any Rust code
    // of this program could start a thread or change the environment.
    let _ = STARTUP_ENV.set(unsafe { read_environ() });
}

/// Runs [`capture_startup`] before Rust's runtime initialises (glibc calls
/// `.init_array` entries before `main`), so it sees the inherited state.
#[used]
#[link_section = ".init_array"]
pub(super) static CAPTURE_STARTUP: extern "C" fn() = capture_startup;

/// Was `SIGPIPE` ignored when the process started (before Rust's runtime
/// set it so)? `false` if the start-up state was not captured. Used by
/// [`crate::sys::signals::sigpipe`].
#[must_use]
pub(crate) fn startup_sigpipe_ignored() -> bool {
    // Referencing the constructor keeps its object file in the link.
    let _ = std::hint::black_box(CAPTURE_STARTUP);
    STARTUP.load(Ordering::Relaxed) & SIGPIPE_IGNORED != 0
}

/// Close again the descriptors 0–2 that were closed when this process
/// started (std's runtime opens `/dev/null` on them). Call it first thing in
/// a program that execs, so that descriptors it opens get the numbers djb's
/// program would get and the child inherits the original state. (The
/// `SIGPIPE` disposition is restored by the entry point,
/// [`crate::sys::signals::Sigpipe::Inherit`].)
///
/// Descriptors are closed by the first call only.
pub(crate) fn restore_startup_fds() {
    // Referencing the constructor keeps its object file in the link.
    let _ = std::hint::black_box(CAPTURE_STARTUP);
    // Take the fd bits: a second call must not close descriptors that have
    // been reused (and may be owned) since the first.
    let state = STARTUP.fetch_and(!0b111, Ordering::Relaxed);
    if state & CAPTURED != 0 {
        for fd in 0..3 {
            if state & (1 << fd) != 0 {
                // SAFETY: the fd was closed when the process started, so
                // this descriptor is the runtime's /dev/null placeholder,
                // owned by no Rust value (it kept the number from being
                // reused, and this is the only call that sees the bit);
                // std's stdio handles EBADF on it gracefully.
                unsafe {
                    libc::close(fd);
                }
            }
        }
    }
}
