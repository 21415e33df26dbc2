//! Keep the last close of a descriptor out of this process's exit.
//!
//! Closing an inotify instance that has watches waits for an SRCU grace
//! period in the kernel (`fsnotify_destroy_group` waits until the marks
//! are destroyed): 8–20 ms measured on Linux 6.18, against microseconds
//! for the rest of `svwait`. Exit closes it the same way, before the
//! parent is told, so a wait that ended at once would be seen to end that
//! much later.
//!
//! [`hand_over`] forks a child that keeps only that descriptor (it closes
//! every other one, so it holds no pipe of its caller open) and is killed
//! when its parent exits (`PR_SET_PDEATHSIG`). The parent's own close then
//! only drops a reference; the last close, and its wait, happen in the
//! child after the parent's exit has been reported. The child is reaped by
//! whoever inherits orphans (init or a subreaper), as with any daemon's
//! double fork.

use std::os::fd::{AsRawFd, BorrowedFd};

/// Fork the holder of `fd` described above. Returns whether it was forked
/// (if not, the caller just pays for the close itself).
///
/// Call it only from a single-threaded process, right before exiting.
pub(crate) fn hand_over(fd: BorrowedFd<'_>) -> bool {
    let keep = fd.as_raw_fd();
    let Ok(keep_u) = libc::c_uint::try_from(keep) else {
        return false;
    };
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the caller is single-threaded, so the child is a full copy;
    // the child calls only async-signal-safe functions (syscall, prctl,
    // getppid, pause, _exit) and never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid != 0 {
        return pid > 0;
    }
    // SAFETY: plain system calls on descriptor numbers and the process's
    // own attributes; `_exit` ends the child without running destructors.
    unsafe {
        if keep_u > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, keep_u - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, keep_u + 1, libc::c_uint::MAX, 0u32);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The parent may be gone already: then the signal never comes.
        if libc::getppid() == parent {
            libc::pause();
        }
        libc::_exit(0)
    }
}
