//! `pgrphack CHILD...`: run CHILD as a session and process-group leader.
//!
//! Ports `pgrphack.c`: `setsid()` (its result ignored), then exec.
//!
//! # Differences from daemontools
//! None known.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

use super::prologue::{exec_or_die, start, usage};
use crate::error::EXIT_USAGE;
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "pgrphack";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    if args.len() < 2 {
        return usage(PROG, "pgrphack child", EXIT_USAGE);
    }
    let _ = rustix::process::setsid();
    exec_or_die(PROG, &args[1..], &EnvEdits::new())
}
