//! `envuidgid ACCOUNT CHILD...`: run CHILD with `$GID` and `$UID` set to
//! ACCOUNT's ids (decimal), without changing any ids.
//!
//! Ports `envuidgid.c`. `GID` is queued before `UID`, and each replaces an
//! existing variable by djb's swap-remove rule (see
//! [`EnvEdits::apply`](crate::sys::pathexec::EnvEdits::apply)), so the
//! environment order matches daemontools'.
//!
//! # Differences from daemontools
//! None known.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use std::ffi::OsStr;

use super::prologue::{account_or_die, exec_or_die, start};
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "envuidgid";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    let pw = match account_or_die(PROG, "envuidgid account child", args) {
        Ok(pw) => pw,
        Err(code) => return code,
    };
    let mut edits = EnvEdits::new();
    edits.set(OsStr::new("GID"), OsStr::new(&pw.gid.to_string()));
    edits.set(OsStr::new("UID"), OsStr::new(&pw.uid.to_string()));
    exec_or_die(PROG, &args[2..], &edits)
}
