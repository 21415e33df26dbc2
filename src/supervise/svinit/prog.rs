//! The main program, `prog [arg...]`: run in the foreground, as a shell
//! runs a job. It gets a process group of its own; when svinit's standard
//! input is a terminal, that group becomes the terminal's foreground group
//! (`tcsetpgrp`), so the keyboard's ^C, ^\ and ^Z and window-size changes
//! reach `prog` and not the services, and svinit takes the terminal back
//! when `prog` has exited. It runs in the directory svinit was started in
//! (a container's working directory), not in the scan directory. Signals svinit forwards go to the whole group,
//! as the terminal's would. Its exit status becomes svinit's
//! ([`exit_code`]).

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::process::{Pid, Signal, WaitStatus};

use super::PROG;
use crate::error::{self, Kind, EXIT_TEMP};
use crate::supervise::svscan::Svscan;
use crate::sys::init;
use crate::sys::pathexec::{self, CStrArray};
use crate::sys::spawn;

/// Standard input, the terminal handed to `prog` if it is one.
const TTY: i32 = 0;

/// `prog` and its state.
pub(super) struct Prog {
    name: Vec<u8>,
    argv: CStrArray,
    envp: CStrArray,
    candidates: Vec<CString>,
    /// Pid while running, 0 before and after.
    pub(super) pid: i32,
    /// How it ended: svinit's exit code ([`exit_code`]).
    pub(super) status: Option<u8>,
    /// It got the terminal.
    tty: bool,
    /// The directory svinit started in, where `prog` runs (svinit itself
    /// runs in the scan directory).
    cwd: OwnedFd,
}

impl Prog {
    /// `args` is `prog [arg...]` (not empty), run with `envp` in `cwd`.
    pub(super) fn new(args: &[OsString], envp: &[CString], cwd: OwnedFd) -> Option<Prog> {
        let name = args.first()?.as_bytes().to_vec();
        let argv = CStrArray::from_bytes(args.iter().map(|a| a.as_bytes())).ok()?;
        Some(Prog {
            candidates: pathexec::candidates_env(args.first()?, envp),
            name,
            argv,
            envp: CStrArray::new(envp.to_vec()),
            pid: 0,
            status: None,
            tty: false,
            cwd,
        })
    }

    /// Start it (once); `sv` keeps its exit status when reaping.
    pub(super) fn start(&mut self, sv: &mut Svscan) {
        let tty = init::isatty(TTY);
        let err = error::prefix(PROG, Kind::Fatal, &[b"unable to run ", &self.name, b": "]);
        let back = error::prefix(
            PROG,
            Kind::Fatal,
            &[
                b"unable to switch back to the starting directory for ",
                &self.name,
                b": ",
            ],
        );
        let plan = spawn::ChildPlan {
            new_pgrp: Some(tty.then_some(TTY)),
            fchdir: Some((self.cwd.as_raw_fd(), &back)),
            ..spawn::ChildPlan::new(&self.candidates, &self.argv, &self.envp, &err)
        };
        match spawn::spawn(&plan) {
            Ok(pid) => {
                self.pid = pid;
                sv.keep(pid);
                // The child does the same: whichever runs first wins, so
                // neither a signal to the group nor the terminal's input
                // can reach it before it is set.
                if let Some(p) = Pid::from_raw(pid) {
                    let _ = rustix::process::setpgid(Some(p), Some(p));
                }
                self.tty = tty && init::set_foreground(TTY, pid);
            }
            Err(e) => {
                error::say(
                    PROG,
                    Kind::Warning,
                    &[b"unable to fork for ", &self.name, b": "],
                    Some(error::reason(&e)),
                );
                // As if it had failed to run: the shutdown follows.
                self.status = Some(EXIT_TEMP);
            }
        }
    }

    /// It was reaped with `st`: take the terminal back.
    pub(super) fn exited(&mut self, st: WaitStatus) {
        self.pid = 0;
        self.status = Some(exit_code(st.as_raw()));
        if self.tty {
            init::set_foreground(TTY, rustix::process::getpgrp().as_raw_nonzero().get());
            self.tty = false;
        }
    }

    /// Forward `sig` to its process group (if it runs).
    pub(super) fn signal(&self, sig: Signal) {
        if let Some(p) = Pid::from_raw(self.pid) {
            if rustix::process::kill_process_group(p, sig).is_err() {
                let _ = rustix::process::kill_process(p, sig);
            }
        }
    }
}

/// svinit's exit code for `prog`'s status: its exit code, or 128 plus the
/// number of the signal that killed it (as shells report it).
/// (`raw` is `wait`'s status word.)
pub(super) fn exit_code(raw: i32) -> u8 {
    if libc::WIFEXITED(raw) {
        return u8::try_from(libc::WEXITSTATUS(raw) & 0xff).unwrap_or(EXIT_TEMP);
    }
    if libc::WIFSIGNALED(raw) {
        return u8::try_from(128 + (libc::WTERMSIG(raw) & 0x7f)).unwrap_or(EXIT_TEMP);
    }
    EXIT_TEMP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_to_exit_code() {
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(9), 137);
        assert_eq!(exit_code(15 | 0x80), 143);
        assert_eq!(exit_code(255 << 8), 255);
    }
}
