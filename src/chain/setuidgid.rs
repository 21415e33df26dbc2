//! `setuidgid ACCOUNT CHILD...`: run CHILD as ACCOUNT's uid and gid, with
//! ACCOUNT's primary group as the only supplementary group.
//!
//! Ports `setuidgid.c` (and `prot.c`). The environment is left alone.
//!
//! # Differences from daemontools
//! None known.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

use super::prologue::{account_or_die, die, exec_or_die, start};
use crate::error::EXIT_TEMP;
use crate::sys::account;
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "setuidgid";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    let pw = match account_or_die(PROG, "setuidgid account child", args) {
        Ok(pw) => pw,
        Err(code) => return code,
    };
    if let Err(e) = account::prot_gid(pw.gid) {
        return die(PROG, &[b"unable to setgid: "], Some(&e), EXIT_TEMP);
    }
    if let Err(e) = account::prot_uid(pw.uid) {
        return die(PROG, &[b"unable to setuid: "], Some(&e), EXIT_TEMP);
    }
    exec_or_die(PROG, &args[2..], &EnvEdits::new())
}
