//! Spawning multilog's processor (`multilog.c:startprocessor`): `/bin/sh -c
//! PROC` with the log directory as cwd and descriptors 0, 1, 4, 5 set up,
//! through [`super::spawn::spawn`].

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use rustix::process::{Pid, WaitOptions};

use super::pathexec::{self, CStrArray};
use super::spawn::{self, ChildPlan};

/// The descriptors of the processor: fd 0, 1, 4 and 5.
pub(crate) struct Fds {
    /// fd 0: `previous`.
    pub(crate) stdin: OwnedFd,
    /// fd 1: `processed`.
    pub(crate) stdout: OwnedFd,
    /// fd 4: `state`.
    pub(crate) state: OwnedFd,
    /// fd 5: `newstate`.
    pub(crate) newstate: OwnedFd,
}

/// `fork` + `execve("/bin/sh", ["sh", "-c", PROC])` in `dir` with `fds`
/// installed, and wait for it. In the child, SIGPIPE, SIGTERM and SIGALRM
/// are reset to default and the signal mask is cleared; a failure there is
/// reported as `{err}{djb errno text}` and exits 111.
///
/// # Errors
/// When the shell cannot be forked or waited for, or `PROC` holds a NUL.
pub(crate) fn run(
    dir: BorrowedFd<'_>,
    processor: &[u8],
    fds: Fds,
    err: &[u8],
) -> io::Result<ExitStatus> {
    let argv = CStrArray::from_bytes([&b"sh"[..], b"-c", processor])?;
    let envp = CStrArray::new(pathexec::environ().to_vec());
    let exec = [c"/bin/sh".to_owned()];
    let pairs = [
        (0, fds.stdin.as_raw_fd()),
        (1, fds.stdout.as_raw_fd()),
        (4, fds.state.as_raw_fd()),
        (5, fds.newstate.as_raw_fd()),
    ];
    let plan = ChildPlan {
        reset_signals: Some(&[libc::SIGPIPE, libc::SIGTERM, libc::SIGALRM]),
        fchdir: Some((dir.as_raw_fd(), err)),
        install: Some((&pairs, err)),
        ..ChildPlan::new(&exec, &argv, &envp, err)
    };
    let pid = spawn::spawn(&plan)?;
    drop(fds);
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, st))) => return Ok(ExitStatus::from_raw(st.as_raw())),
            Ok(None) => return Err(io::Error::from_raw_os_error(libc::ECHILD)),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}
