//! Spawning multilog's processor (`multilog.c:startprocessor`): `/bin/sh -c
//! PROC` with the log directory as cwd and descriptors 0, 1, 4, 5 set up.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};

/// `fork` + `execve("/bin/sh", ["sh", "-c", PROC])` and wait for it.
///
/// # Errors
/// When the shell cannot be started or waited for.
pub fn run(
    dir: BorrowedFd<'_>,
    processor: &[u8],
    stdin: OwnedFd,
    stdout: OwnedFd,
    state: OwnedFd,
    newstate: OwnedFd,
) -> io::Result<ExitStatus> {
    let dirfd = dir.as_raw_fd();
    let statefd = state.as_raw_fd();
    let newstatefd = newstate.as_raw_fd();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg0("sh")
        .arg("-c")
        .arg(OsStr::from_bytes(processor))
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout));
    // SAFETY: the closure runs in the forked child before exec and calls
    // only async-signal-safe functions (fchdir, fcntl, dup2, close) on
    // descriptors that stay open in the parent until `spawn` returns.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fchdir(dirfd) == -1 {
                return Err(io::Error::last_os_error());
            }
            // Move both out of the way first so neither clobbers the other.
            let s = libc::fcntl(statefd, libc::F_DUPFD, 6);
            let n = libc::fcntl(newstatefd, libc::F_DUPFD, 6);
            if s == -1 || n == -1 {
                return Err(io::Error::last_os_error());
            }
            if libc::dup2(s, 4) == -1 || libc::dup2(n, 5) == -1 {
                return Err(io::Error::last_os_error());
            }
            libc::close(s);
            libc::close(n);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    drop(state);
    drop(newstate);
    child.wait()
}
