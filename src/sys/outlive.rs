//! Keep the last close of a descriptor out of this process's exit.
//!
//! Closing an inotify instance that has watches waits for an SRCU grace
//! period in the kernel (`fsnotify_destroy_group` waits until the marks
//! are destroyed): 8–20 ms measured on Linux 6.18, against microseconds
//! for the rest of `svwait`. Exit closes it the same way, before the
//! parent is told, so a wait that ended at once would be seen to end that
//! much later.
//!
//! [`hand_over`] (through [`hand_over_if_single_threaded`], which checks
//! its precondition) forks a child that keeps only that descriptor (it closes
//! every other one, so it holds no pipe of its caller open) and is killed
//! when its parent exits (`PR_SET_PDEATHSIG`). The parent's own close then
//! only drops a reference; the last close, and its wait, happen in the
//! child after the parent's exit has been reported. The child is reaped by
//! whoever inherits orphans (init or a subreaper), as with any daemon's
//! double fork.

use std::os::fd::{AsRawFd, BorrowedFd};

/// [`hand_over`] if this process has a single thread, which is checked
/// (`Threads:` in `/proc/self/status`); otherwise, or when that cannot be
/// read, nothing is forked and `false` returned: the caller then pays for
/// the close itself, which is only slower. Call it right before exiting.
pub(crate) fn hand_over_if_single_threaded(fd: BorrowedFd<'_>) -> bool {
    if !single_threaded() {
        return false;
    }
    // SAFETY: the process has one thread (checked just above), and only
    // that thread, which is running this call, could start another.
    unsafe { hand_over(fd) }
}

/// Does `/proc/self/status` say `Threads: 1`?
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .is_some_and(|n| n.trim() == "1")
    })
}

/// Fork the holder of `fd` described above. Returns whether it was forked
/// (if not, the caller just pays for the close itself).
///
/// # Safety
///
/// The calling process must have exactly one thread, and should exit soon
/// after. `fork` copies only the calling thread: with others running, the
/// child would be a copy of memory they were in the middle of changing,
/// with their locks held for ever; the holder is written for a copy of a
/// single-threaded process. And the parent-death signal it relies on
/// (`PR_SET_PDEATHSIG`) follows the thread that forked, not the process:
/// with other threads the holder could outlive or undercut its purpose.
/// [`hand_over_if_single_threaded`] checks the first condition.
pub(crate) unsafe fn hand_over(fd: BorrowedFd<'_>) -> bool {
    let keep = fd.as_raw_fd();
    let Ok(keep_u) = libc::c_uint::try_from(keep) else {
        return false;
    };
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the caller is single-threaded (this function's contract), so
    // the child is a full copy; the child calls only async-signal-safe
    // functions (syscall, prctl, getppid, pause, _exit) and never returns
    // into Rust code.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn nothing_is_forked_with_a_second_thread() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            let _ = rx.recv();
        });
        assert!(!single_threaded());
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert!(!hand_over_if_single_threaded(r.as_fd()));
        drop(tx);
        other.join().unwrap();
    }
}
