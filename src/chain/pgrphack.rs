//! `pgrphack CHILD...`: run CHILD as a session and process-group leader.
//!
//! Ports `pgrphack.c`: `setsid()` (its result ignored), then exec.
//!
//! # Differences from daemontools
//! None known.

use std::ffi::OsString;
use std::process::ExitCode;

use super::prologue::{exec_or_die, start, usage};
use crate::error::EXIT_USAGE;
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "pgrphack";

/// Program entry point.
#[must_use]
pub fn main() -> ExitCode {
    run(&start())
}

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(args: &[OsString]) -> ExitCode {
    if args.len() < 2 {
        return usage(PROG, "pgrphack child", EXIT_USAGE);
    }
    let _ = rustix::process::setsid();
    exec_or_die(PROG, &args[1..], &EnvEdits::new())
}
