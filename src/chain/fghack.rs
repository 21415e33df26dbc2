//! `fghack CHILD...`: run CHILD and wait until it and everything it started
//! have closed their copies of a pipe — an anti-backgrounding tool.
//!
//! Ports `fghack.c`. The pipe's write end is duplicated 30 times in the
//! child (normally fds 3–33 then hold it) before CHILD is exec'd; the parent
//! reads the pipe until end of file, then waits for CHILD. A CHILD killed
//! by a signal gives `child crashed` (111); otherwise CHILD's exit code.
//!
//! # Differences from daemontools
//! None known. (The parent reads the pipe in larger chunks than djb's one
//! byte at a time; only speed differs.)

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

use rustix::process::{Pid, WaitOptions};

use super::prologue::{die, die_run, start, usage};
use crate::error::{self, Kind, EXIT_TEMP, EXIT_USAGE};
use crate::sys::pathexec::{self, CStrArray};
use crate::sys::spawn::{self, ChildPlan};

const PROG: &str = "fghack";

/// Number of `dup`s of the write end made in the child.
pub(crate) const DUPS: usize = 30;

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    if args.len() < 2 {
        return usage(PROG, "fghack child", EXIT_USAGE);
    }
    let (rd, wr) = match rustix::pipe::pipe() {
        Ok(p) => p,
        Err(e) => {
            return die(
                PROG,
                &[b"unable to create pipe: "],
                Some(&e.into()),
                EXIT_TEMP,
            )
        }
    };
    let env = pathexec::environ();
    let argv = match CStrArray::from_bytes(args[1..].iter().map(|a| a.as_bytes())) {
        Ok(a) => a,
        Err(e) => return die_run(PROG, &args[1], &e),
    };
    let envp = CStrArray::new(env.to_vec());
    let exec_err = error::prefix(
        PROG,
        Kind::Fatal,
        &[b"unable to run ", args[1].as_bytes(), b": "],
    );
    let exec = pathexec::candidates_env(&args[1], env);
    let plan = ChildPlan {
        close: Some(rd.as_raw_fd()),
        dup: Some((wr.as_raw_fd(), DUPS)),
        ..ChildPlan::new(&exec, &argv, &envp, &exec_err)
    };
    let pid = match spawn::spawn(&plan) {
        Err(e) => return die(PROG, &[b"unable to fork: "], Some(&e), EXIT_TEMP),
        Ok(pid) => pid,
    };
    drop(wr);
    let mut buf = [0u8; 4096];
    loop {
        match rustix::io::read(&rd, &mut buf) {
            Ok(0) => break,
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    let Some(pid) = Pid::from_raw(pid) else {
        return die(
            PROG,
            &[b"wait failed: "],
            Some(&io::Error::from_raw_os_error(libc::ECHILD)),
            EXIT_TEMP,
        );
    };
    let status = loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, st))) => break st,
            Err(rustix::io::Errno::INTR) => {}
            Ok(None) => {
                return die(
                    PROG,
                    &[b"wait failed: "],
                    Some(&io::Error::from_raw_os_error(libc::ECHILD)),
                    EXIT_TEMP,
                )
            }
            Err(e) => return die(PROG, &[b"wait failed: "], Some(&e.into()), EXIT_TEMP),
        }
    };
    if status.terminating_signal().is_some() {
        return die(PROG, &[b"child crashed"], None, EXIT_TEMP);
    }
    // wait_exitcode: bits 8-15 of the status.
    status.exit_status().map_or(0, |c| (c & 0xff) as u8)
}
