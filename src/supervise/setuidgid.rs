//! `setuidgid ACCOUNT CHILD...`: run CHILD as ACCOUNT's uid and gid, with
//! ACCOUNT's primary group as the only supplementary group.
//!
//! Ports `setuidgid.c` (and `prot.c`). The environment is left alone.
//!
//! # Differences from daemontools
//! None known.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use super::chain::{die, exec_or_die, start, usage};
use crate::error::{EXIT_TEMP, EXIT_USAGE};
use crate::sys::account;
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "setuidgid";

/// Program entry point.
#[must_use]
pub fn main() -> ExitCode {
    run(&start())
}

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(args: &[OsString]) -> ExitCode {
    if args.len() < 3 {
        return usage("setuidgid: usage: setuidgid account child", EXIT_USAGE);
    }
    let name = &args[1];
    let Some(pw) = account::getpwnam(name) else {
        return die(
            PROG,
            &[b"unknown account ", name.as_bytes()],
            None,
            EXIT_TEMP,
        );
    };
    if let Err(e) = account::prot_gid(pw.gid) {
        return die(PROG, &[b"unable to setgid: "], Some(&e), EXIT_TEMP);
    }
    if let Err(e) = account::prot_uid(pw.uid) {
        return die(PROG, &[b"unable to setuid: "], Some(&e), EXIT_TEMP);
    }
    exec_or_die(PROG, &args[2..], &EnvEdits::new())
}
