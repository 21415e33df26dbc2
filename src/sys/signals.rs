//! Signal plumbing: the SIGCHLD self-pipe of supervise (ports `sig_catch`
//! plus `supervise.c:sigchild_handler`/`trigger`), the child-side reset, and
//! every program's `SIGPIPE` policy ([`Sigpipe`], [`sigpipe`]).
//!
//! The one self-pipe of the process (supervise: SIGCHLD; multilog: SIGTERM
//! and SIGALRM): the handler records the signal in an atomic bit set
//! ([`caught`]) and writes one byte to a non-blocking pipe whose write end is
//! stored in a static; it touches nothing else, so it is async-signal-safe.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

static SELFPIPE_W: AtomicI32 = AtomicI32::new(-1);
/// Bit `sig` is set when `sig` arrived and [`caught`] has not yet seen it.
static PENDING: AtomicU64 = AtomicU64::new(0);

fn bit(sig: libc::c_int) -> u64 {
    u32::try_from(sig)
        .ok()
        .and_then(|s| 1u64.checked_shl(s))
        .unwrap_or(0)
}

extern "C" fn on_signal(sig: libc::c_int) {
    PENDING.fetch_or(bit(sig), Ordering::SeqCst);
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

/// `sigaction(sig, handler)` for each of `sigs`: make each write a byte to
/// `selfpipe_w` (non-blocking, close-on-exec) and record it for [`caught`],
/// and unblock it. The fd is kept for the life of the process.
///
/// # Errors
/// The errno of `sigaction`.
pub(crate) fn selfpipe_catch(sigs: &[libc::c_int], selfpipe_w: OwnedFd) -> io::Result<()> {
    let fd = selfpipe_w.as_raw_fd();
    std::mem::forget(selfpipe_w);
    SELFPIPE_W.store(fd, Ordering::Relaxed);
    for &sig in sigs {
        catch(sig)?;
    }
    Ok(())
}

/// Has `sig` arrived since the last call? Clears the record.
pub(crate) fn caught(sig: libc::c_int) -> bool {
    PENDING.fetch_and(!bit(sig), Ordering::SeqCst) & bit(sig) != 0
}

fn catch(sig: libc::c_int) -> io::Result<()> {
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
        // daemontools unblocks its signals around its poll or read; the
        // loops here poll the self-pipe, so a signal must never stay blocked (a parent may
        // have passed on a mask with it blocked).
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
    }
    Ok(())
}

/// Write one byte to the self-pipe (`trigger`), waking the main loop.
pub(crate) fn selfpipe_trigger() {
    on_signal(0);
}

/// In a forked child: SIGCHLD back to default and unblocked
/// (`sig_uncatch(sig_child); sig_unblock(sig_child)`). Async-signal-safe.
pub(crate) fn child_reset_sigchld() {
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

/// In a forked child: each of `sigs` back to its default disposition and
/// the signal mask cleared, as std's `Command` leaves a child.
/// Async-signal-safe.
pub(crate) fn child_reset(sigs: &[libc::c_int]) {
    // SAFETY: sigaction/sigprocmask with stack-allocated, initialised values
    // are async-signal-safe and cannot violate memory safety.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&raw mut sa.sa_mask);
        for &sig in sigs {
            libc::sigaction(sig, &raw const sa, std::ptr::null_mut());
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const set, std::ptr::null_mut());
    }
}

/// What a program does with `SIGPIPE`; each program module states its
/// policy as `pub const SIGPIPE: Sigpipe`, and the entry point
/// ([`c_main!`](crate::c_main), [`std_main!`](crate::std_main)) applies it
/// with [`sigpipe`] before the program's `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sigpipe {
    /// Keep the disposition the process inherited, as daemontools' C
    /// programs do (and pass it on to what they exec): std's start-up
    /// `SIG_IGN` is undone. The chain-loading tools and the supervision
    /// programs.
    Inherit,
    /// Die of `SIGPIPE` when the reader of a pipe goes away, as C programs
    /// writing with stdio do: the filters.
    Default,
    /// Ignore it, so a write to a vanished reader fails with `EPIPE`: `svc`
    /// (`sig_ignore(sig_pipe)` in svc.c), `multilog` (a closed stderr must
    /// not kill it) and `svscanboot` (as under std's runtime).
    Ignore,
}

/// Apply a program's [`Sigpipe`] policy; the one place that sets the
/// `SIGPIPE` disposition. [`Sigpipe::Inherit`] restores what the process
/// had at start-up (as captured before std's runtime ran,
/// [`super::pathexec::startup_sigpipe_ignored`]; default if unknown).
pub fn sigpipe(policy: Sigpipe) {
    let ignore = match policy {
        Sigpipe::Inherit => super::pathexec::startup_sigpipe_ignored(),
        Sigpipe::Default => false,
        Sigpipe::Ignore => true,
    };
    let disposition = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: installing SIG_DFL or SIG_IGN runs no handler code and touches
    // no memory; the call is valid at any time.
    unsafe {
        libc::signal(libc::SIGPIPE, disposition);
    }
}
