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

use std::ffi::OsString;
use std::io;
use std::os::fd::IntoRawFd;
use std::process::ExitCode;

use rustix::process::{Pid, WaitOptions};

use super::chain::{die, die_run, start, usage};
use crate::error::{EXIT_TEMP, EXIT_USAGE};
use crate::sys::pathexec::{self, EnvEdits, Exec};

const PROG: &str = "fghack";

/// Number of `dup`s of the write end made in the child.
pub const DUPS: usize = 30;

/// Program entry point.
#[must_use]
pub fn main() -> ExitCode {
    run(&start())
}

/// Run with a full `argv`.
#[must_use]
pub fn run(args: &[OsString]) -> ExitCode {
    if args.len() < 2 {
        return usage("fghack: usage: fghack child", EXIT_USAGE);
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
    let prepared = Exec::new(&args[1..], &EnvEdits::new());
    let pid = match pathexec::fork() {
        Err(e) => return die(PROG, &[b"unable to fork: "], Some(&e), EXIT_TEMP),
        Ok(None) => {
            drop(rd);
            for _ in 0..DUPS {
                if let Ok(fd) = rustix::io::dup(&wr) {
                    let _ = fd.into_raw_fd();
                }
            }
            let _ = wr.into_raw_fd();
            let err = match &prepared {
                Ok(exec) => exec.exec(),
                Err(e) => io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EINVAL)),
            };
            return die_run(PROG, &args[1], &err);
        }
        Ok(Some(pid)) => pid,
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
    ExitCode::from(status.exit_status().map_or(0, |c| (c & 0xff) as u8))
}
