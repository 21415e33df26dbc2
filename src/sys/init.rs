//! What a process needs to be an init (svinit): signalling every process
//! (`kill(-1, sig)`, which rustix does not offer), and handing the
//! terminal's foreground to a process group and taking it back.

use std::os::fd::RawFd;

/// `kill(-1, sig)`: `sig` to every process this one may signal, except
/// itself (and, outside a PID namespace, init). As PID 1 of a namespace,
/// that is every other process of the namespace. Returns whether any was
/// signalled.
pub(crate) fn kill_all(sig: libc::c_int) -> bool {
    // SAFETY: kill on plain integers cannot break memory safety.
    unsafe { libc::kill(-1, sig) == 0 }
}

/// `isatty(fd)`.
pub(crate) fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty on a plain integer cannot break memory safety.
    unsafe { libc::isatty(fd) == 1 }
}

/// `tcsetpgrp(fd, pgrp)` with `SIGTTOU` blocked for the call, so that a
/// caller in a background group (svinit taking the terminal back, `prog`
/// taking it before exec) is not stopped by it, and nothing blocked or
/// ignored is passed on to what is exec'd later. Returns whether it
/// worked. Async-signal-safe (called in a forked child).
pub(crate) fn set_foreground(fd: RawFd, pgrp: libc::pid_t) -> bool {
    // SAFETY: sigprocmask with stack-allocated, initialised sets and
    // tcsetpgrp on plain integers are async-signal-safe and cannot break
    // memory safety; the old mask is restored before returning.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGTTOU);
        libc::sigprocmask(libc::SIG_BLOCK, &raw const set, &raw mut old);
        let r = libc::tcsetpgrp(fd, pgrp);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut());
        r == 0
    }
}
