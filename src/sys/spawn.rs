//! `fork` + child set-up + `exec`, for supervise (`trystart`) and svscan
//! (`start`). Everything the child needs is prepared by the parent, so the
//! child only makes async-signal-safe system calls and never allocates.
//!
//! On a child-side failure the child writes `"{prefix}{djb errno text}\n"`
//! to fd 2 in one `writev` and exits 111, as `strerr_die4sys(111, ...)` does.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;

use crate::error::{errno_str, EXIT_TEMP};

/// What a forked child does before exec'ing.
pub struct ChildPlan<'a> {
    /// `fd_move(to, from)`: dup `from` onto `to` and close `from`; the message
    /// prefix used if that fails.
    pub fd_move: Option<(RawFd, RawFd, &'a [u8])>,
    /// `chdir(dir)` and its failure prefix.
    pub chdir: Option<(&'a CStr, &'a [u8])>,
    /// Reset SIGCHLD to default and unblock it (supervise's child).
    pub reset_sigchld: bool,
    /// Names to try with `execv`, in order (see [`super::pathexec`]).
    pub exec: &'a [CString],
    /// NULL-terminated argv.
    pub argv: &'a [*const libc::c_char],
    /// Failure prefix if no exec succeeds.
    pub exec_err: &'a [u8],
}

/// `fork()` and run `plan` in the child. Returns the child's pid.
///
/// # Errors
/// The errno of `fork`.
pub fn spawn(plan: &ChildPlan<'_>) -> io::Result<i32> {
    assert!(plan.argv.last().is_some_and(|p| p.is_null()));
    // SAFETY: after fork the child only calls async-signal-safe functions
    // (dup2, close, chdir, sigaction, sigprocmask, execv, writev, _exit) on
    // data prepared by the parent; it never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        child(plan);
    }
    Ok(pid)
}

fn child(plan: &ChildPlan<'_>) -> ! {
    if plan.reset_sigchld {
        super::signals::child_reset_sigchld();
    }
    if let Some((to, from, msg)) = plan.fd_move {
        if to != from {
            // SAFETY: dup2/close on plain integers cannot break memory safety.
            if unsafe { libc::dup2(from, to) } == -1 {
                die(msg, errno());
            }
            // SAFETY: as above.
            unsafe { libc::close(from) };
        }
    }
    if let Some((dir, msg)) = plan.chdir {
        // SAFETY: `dir` is a valid C string.
        if unsafe { libc::chdir(dir.as_ptr()) } == -1 {
            die(msg, errno());
        }
    }
    let e = super::pathexec::exec_candidates(plan.exec, plan.argv);
    die(plan.exec_err, e);
}

fn die(prefix: &[u8], e: i32) -> ! {
    let text = errno_str(e).as_bytes();
    let iov = [
        libc::iovec {
            iov_base: prefix.as_ptr() as *mut libc::c_void,
            iov_len: prefix.len(),
        },
        libc::iovec {
            iov_base: text.as_ptr() as *mut libc::c_void,
            iov_len: text.len(),
        },
        libc::iovec {
            iov_base: b"\n".as_ptr() as *mut libc::c_void,
            iov_len: 1,
        },
    ];
    // SAFETY: the iovecs point at live buffers of the stated lengths (writev
    // only reads them); _exit never returns.
    unsafe {
        libc::writev(2, iov.as_ptr(), 3);
        libc::_exit(i32::from(EXIT_TEMP));
    }
}

fn errno() -> i32 {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}
