//! `fork` + child set-up + `exec`, for supervise (`trystart`), svscan
//! (`start`), fghack and multilog's processor. Everything the child needs is prepared by the parent, so the
//! child only makes async-signal-safe system calls and never allocates.
//!
//! On a child-side failure the child writes `"{prefix}{djb errno text}\n"`
//! to fd 2 in one `writev` and exits 111, as `strerr_die4sys(111, ...)` does;
//! the prefixes are built by the parent with [`crate::error::prefix`].

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;

use super::pathexec::CStrArray;
use crate::error::{self, EXIT_TEMP};

/// Most descriptors [`ChildPlan::install`] can place.
pub(crate) const MAX_INSTALL: usize = 8;

/// `(to, from)`: put descriptor `from` on number `to`.
pub(crate) type FdPlace = (RawFd, RawFd);

/// What a forked child does before exec'ing, in field order.
pub(crate) struct ChildPlan<'a> {
    /// `setsid()` first: a new session and process group led by the child
    /// (supervise's `process-group` file), with its failure prefix.
    pub(crate) setsid: Option<&'a [u8]>,
    /// `setpgid(0, 0)`: a process group of its own in the same session
    /// (svinit's `prog`); with `Some(tty)`, that group is also made the
    /// foreground group of the terminal on `tty`
    /// ([`super::init::set_foreground`]). Failures are ignored: the parent
    /// does the same after `fork`, whichever comes first.
    pub(crate) new_pgrp: Option<Option<RawFd>>,
    /// Reset SIGCHLD to default and unblock it (supervise's child).
    pub(crate) reset_sigchld: bool,
    /// Reset these signals to their default disposition and clear the signal
    /// mask (multilog's processor, as std's `Command` does).
    pub(crate) reset_signals: Option<&'a [libc::c_int]>,
    /// `fchdir(fd)` and its failure prefix (multilog's processor).
    pub(crate) fchdir: Option<(RawFd, &'a [u8])>,
    /// `fd_move(to, from)`: dup `from` onto `to` and close `from`; the message
    /// prefix used if that fails.
    pub(crate) fd_move: Option<(RawFd, RawFd, &'a [u8])>,
    /// `(to, from)` pairs: each `from` ends up on `to` (not close-on-exec),
    /// however the numbers overlap; `from` itself is left as it is. At most
    /// [`MAX_INSTALL`] pairs. The prefix is used if that fails.
    pub(crate) install: Option<(&'a [FdPlace], &'a [u8])>,
    /// Close this descriptor (fghack: the pipe's read end).
    pub(crate) close: Option<RawFd>,
    /// `dup(fd)` this many times, ignoring failures (fghack: the write end).
    pub(crate) dup: Option<(RawFd, usize)>,
    /// `chdir(dir)` and its failure prefix.
    pub(crate) chdir: Option<(&'a CStr, &'a [u8])>,
    /// Names to try with `execv`, in order (see [`super::pathexec`]).
    pub(crate) exec: &'a [CString],
    /// The arguments.
    pub(crate) argv: &'a CStrArray,
    /// The environment.
    pub(crate) envp: &'a CStrArray,
    /// Failure prefix if no exec succeeds.
    pub(crate) exec_err: &'a [u8],
}

impl<'a> ChildPlan<'a> {
    /// A plan that only execs (trying each of `exec`), reporting a failure
    /// with `exec_err`; set the other fields for more set-up.
    #[must_use]
    pub(crate) fn new(
        exec: &'a [CString],
        argv: &'a CStrArray,
        envp: &'a CStrArray,
        exec_err: &'a [u8],
    ) -> Self {
        ChildPlan {
            setsid: None,
            new_pgrp: None,
            reset_sigchld: false,
            reset_signals: None,
            fchdir: None,
            fd_move: None,
            install: None,
            close: None,
            dup: None,
            chdir: None,
            exec,
            argv,
            envp,
            exec_err,
        }
    }
}

/// `fork()` and run `plan` in the child. Returns the child's pid.
///
/// # Errors
/// The errno of `fork`.
///
/// # Panics
/// If `plan.install` has more than [`MAX_INSTALL`] pairs (checked before
/// the fork).
pub(crate) fn spawn(plan: &ChildPlan<'_>) -> io::Result<i32> {
    if let Some((pairs, _)) = plan.install {
        assert!(
            pairs.len() <= MAX_INSTALL,
            "too many descriptors to install"
        );
    }
    // SAFETY: after fork the child only calls async-signal-safe functions
    // (setsid, setpgid, tcsetpgrp, getpid, dup, dup2, fcntl, close, chdir, fchdir, sigaction, sigprocmask,
    // execve, writev, _exit) on data prepared by the parent; it never returns into Rust code.
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
    if let Some(msg) = plan.setsid {
        // SAFETY: setsid takes no arguments and cannot break memory safety.
        if unsafe { libc::setsid() } == -1 {
            die(msg, errno());
        }
    }
    if let Some(tty) = plan.new_pgrp {
        // SAFETY: setpgid and getpid on plain integers cannot break memory
        // safety.
        unsafe {
            libc::setpgid(0, 0);
            if let Some(fd) = tty {
                super::init::set_foreground(fd, libc::getpid());
            }
        }
    }
    if plan.reset_sigchld {
        super::signals::child_reset_sigchld();
    }
    if let Some(sigs) = plan.reset_signals {
        super::signals::child_reset(sigs);
    }
    if let Some((dir, msg)) = plan.fchdir {
        // SAFETY: fchdir on a plain integer cannot break memory safety.
        if unsafe { libc::fchdir(dir) } == -1 {
            die(msg, errno());
        }
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
    if let Some((pairs, msg)) = plan.install {
        if let Err(e) = install(pairs) {
            die(msg, e);
        }
    }
    if let Some(fd) = plan.close {
        // SAFETY: closing a descriptor in the child, which never returns
        // into Rust code that could own it, cannot break memory safety.
        unsafe { libc::close(fd) };
    }
    if let Some((fd, n)) = plan.dup {
        for _ in 0..n {
            // SAFETY: dup on a plain integer cannot break memory safety.
            unsafe { libc::dup(fd) };
        }
    }
    if let Some((dir, msg)) = plan.chdir {
        // SAFETY: `dir` is a valid C string.
        if unsafe { libc::chdir(dir.as_ptr()) } == -1 {
            die(msg, errno());
        }
    }
    let e = super::pathexec::exec_candidates(plan.exec, plan.argv, plan.envp);
    die(plan.exec_err, e);
}

/// Put each `from` on its `to`: first every `from` is copied above all the
/// targets (so no `dup2` can clobber a source still to be placed), then the
/// copies are `dup2`ed into place and closed. Allocation-free.
fn install(pairs: &[FdPlace]) -> Result<(), i32> {
    let above = pairs.iter().map(|&(to, _)| to + 1).max().unwrap_or(0);
    let mut tmp = [-1; MAX_INSTALL];
    for (t, &(_, from)) in tmp.iter_mut().zip(pairs) {
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a plain integer cannot break
        // memory safety.
        *t = unsafe { libc::fcntl(from, libc::F_DUPFD_CLOEXEC, above) };
        if *t == -1 {
            return Err(errno());
        }
    }
    for (&t, &(to, _)) in tmp.iter().zip(pairs) {
        // SAFETY: dup2/close on plain integers cannot break memory safety.
        if unsafe { libc::dup2(t, to) } == -1 {
            return Err(errno());
        }
        // SAFETY: as above; `t` is this function's own copy.
        unsafe { libc::close(t) };
    }
    Ok(())
}

fn die(prefix: &[u8], e: i32) -> ! {
    let iov = error::with_errno(prefix, e).map(|p| libc::iovec {
        iov_base: p.as_ptr() as *mut libc::c_void,
        iov_len: p.len(),
    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::pathexec::candidates_env;
    use std::ffi::OsStr;
    use std::io::Read;
    use std::os::fd::{AsRawFd, OwnedFd};

    fn wait(pid: i32) -> i32 {
        let pid = rustix::process::Pid::from_raw(pid).unwrap();
        let (_, st) = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
            .unwrap()
            .unwrap();
        st.exit_status().unwrap()
    }

    fn read_all(fd: OwnedFd) -> Vec<u8> {
        let mut out = Vec::new();
        std::fs::File::from(fd).read_to_end(&mut out).unwrap();
        out
    }

    /// The child gets exactly the owned argv and envp of the plan, not the
    /// parent's environment, and `$PATH` is searched in that environment.
    #[test]
    fn child_execs_with_the_plans_argv_and_envp() {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let env = [
            c"PATH=/nonexistent:/usr/bin:/bin".to_owned(),
            c"ONLY=1".to_owned(),
        ];
        let exec = candidates_env(OsStr::new("env"), &env);
        assert_eq!(exec[0].as_c_str(), c"/nonexistent/env");
        let argv = CStrArray::new(vec![c"env".to_owned()]);
        let envp = CStrArray::new(env.to_vec());
        let pid = spawn(&ChildPlan {
            fd_move: Some((1, w.as_raw_fd(), b"setup: ")),
            ..ChildPlan::new(&exec, &argv, &envp, b"exec: ")
        })
        .unwrap();
        drop(w);
        assert_eq!(read_all(r), b"PATH=/nonexistent:/usr/bin:/bin\nONLY=1\n");
        assert_eq!(wait(pid), 0);
    }

    /// fghack's child set-up: the read end is closed and the write end is
    /// duplicated, so the descriptors survive into the exec'd program.
    #[test]
    fn child_closes_and_dups() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let (rr, rw) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let ino = rustix::fs::fstat(&w).unwrap().st_ino;
        // Both ends of a pipe show as the same `pipe:[inode]`.
        let script = format!(
            "for f in /proc/self/fd/*; do readlink $f; done | grep -c '^pipe:\\[{ino}\\]$'"
        );
        let exec = [c"/bin/sh".to_owned()];
        let argv = CStrArray::from_bytes([&b"sh"[..], b"-c", script.as_bytes()]).unwrap();
        let envp = CStrArray::new(Vec::new());
        let pid = spawn(&ChildPlan {
            fd_move: Some((1, rw.as_raw_fd(), b"setup: ")),
            close: Some(r.as_raw_fd()),
            dup: Some((w.as_raw_fd(), 3)),
            ..ChildPlan::new(&exec, &argv, &envp, b"exec: ")
        })
        .unwrap();
        drop(rw);
        drop(w);
        let out = read_all(rr);
        assert_eq!(wait(pid), 0);
        // The write end and its 3 dups; the read end was closed.
        assert_eq!(out, b"4\n");
        drop(r);
    }

    /// multilog's processor set-up: descriptors placed on overlapping
    /// numbers, the directory entered by descriptor, the signals reset.
    #[test]
    fn child_installs_fds_fchdirs_and_resets_signals() {
        let dir = std::env::temp_dir();
        let dfd =
            rustix::fs::open(&dir, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()).unwrap();
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let (r2, w2) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        // fd 5 gets what is on fd 4 and the reverse.
        let a = rustix::io::fcntl_dupfd_cloexec(&w, 20).unwrap();
        let b = rustix::io::fcntl_dupfd_cloexec(&w2, 21).unwrap();
        let script = "pwd; echo four >&4; echo five >&5; \
                      grep -E '^(SigBlk|SigIgn)' /proc/self/status";
        let exec = [c"/bin/sh".to_owned()];
        let argv = CStrArray::from_bytes([&b"sh"[..], b"-c", script.as_bytes()]).unwrap();
        let envp = CStrArray::new(Vec::new());
        let pairs = [(1, a.as_raw_fd()), (4, b.as_raw_fd()), (5, a.as_raw_fd())];
        let pid = spawn(&ChildPlan {
            reset_signals: Some(&[libc::SIGPIPE]),
            fchdir: Some((dfd.as_raw_fd(), b"fchdir: ")),
            install: Some((&pairs, b"install: ")),
            ..ChildPlan::new(&exec, &argv, &envp, b"exec: ")
        })
        .unwrap();
        drop((w, w2, a, b));
        let out = String::from_utf8(read_all(r)).unwrap();
        assert_eq!(wait(pid), 0);
        let cwd = std::fs::canonicalize(&dir).unwrap();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(cwd.to_str().unwrap()));
        assert_eq!(lines.next(), Some("five"));
        assert_eq!(lines.next(), Some("SigBlk:\t0000000000000000"));
        // The test harness ignores SIGPIPE; the child does not.
        let ign = lines.next().unwrap().strip_prefix("SigIgn:\t").unwrap();
        let ign = u64::from_str_radix(ign, 16).unwrap();
        assert_eq!(ign & (1 << (libc::SIGPIPE - 1)), 0);
        assert_eq!(read_all(r2), b"four\n");
    }

    /// `setsid`: the child leads its own session and process group.
    #[test]
    fn child_setsid_leads_its_own_group() {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let exec = [c"/bin/sh".to_owned()];
        let script = "set -- $(cut -d' ' -f5,6 /proc/self/stat); echo $$ $1 $2";
        let argv = CStrArray::from_bytes([&b"sh"[..], b"-c", script.as_bytes()]).unwrap();
        let envp = CStrArray::new(Vec::new());
        let pid = spawn(&ChildPlan {
            setsid: Some(b"setsid: "),
            fd_move: Some((1, w.as_raw_fd(), b"setup: ")),
            ..ChildPlan::new(&exec, &argv, &envp, b"exec: ")
        })
        .unwrap();
        drop(w);
        let out = String::from_utf8(read_all(r)).unwrap();
        assert_eq!(wait(pid), 0);
        assert_eq!(out, format!("{pid} {pid} {pid}\n"));
    }

    /// A failed exec reports `{prefix}{djb errno text}` and exits 111.
    #[test]
    fn failed_exec_reports_and_exits_111() {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let exec = [c"/nonexistent/prog".to_owned()];
        let argv = CStrArray::new(vec![c"prog".to_owned()]);
        let envp = CStrArray::new(Vec::new());
        let pid = spawn(&ChildPlan {
            fd_move: Some((2, w.as_raw_fd(), b"setup: ")),
            ..ChildPlan::new(&exec, &argv, &envp, b"unable to run prog: ")
        })
        .unwrap();
        drop(w);
        assert_eq!(read_all(r), b"unable to run prog: file does not exist\n");
        assert_eq!(wait(pid), 111);
    }
}
