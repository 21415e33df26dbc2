//! Helpers shared by the chain-loading tools: argv, byte-exact fatal and
//! usage messages (`strerr_die*` with the caller's pieces), and the final
//! "exec or die" step.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;

use crate::error::{self, Kind, EXIT_TEMP};
use crate::sys::pathexec::{self, EnvEdits};

/// Undo the Rust runtime's start-up changes to fds 0–2
/// ([`pathexec::restore_startup_fds`]) before anything else.
pub(crate) fn start() {
    pathexec::restore_startup_fds();
}

/// `strerr_die`: print `"{prog}: fatal: "`, the pieces, and (with `err`) the
/// errno text, as one write; return `code`. As in daemontools, the caller's
/// last piece carries the `": "` before the errno text.
pub(crate) fn die(prog: &str, pieces: &[&[u8]], err: Option<&io::Error>, code: u8) -> u8 {
    error::say(prog, Kind::Fatal, pieces, err.map(error::reason));
    code
}

/// `strerr_die4sys(111, FATAL, "unable to run ", child, ": ")`.
pub(crate) fn die_run(prog: &str, child: &OsStr, err: &io::Error) -> u8 {
    die(
        prog,
        &[b"unable to run ", child.as_bytes(), b": "],
        Some(err),
        EXIT_TEMP,
    )
}

/// Print the usage line `"{prog}: usage: {text}"` and return `code`.
pub(crate) fn usage(prog: &str, text: &str, code: u8) -> u8 {
    error::usage(prog, text);
    code
}

/// Exec `argv` through `$PATH` with `edits` applied to the environment the
/// program started with ([`pathexec::environ`]), or die with
/// `unable to run CHILD: ERR` (111).
pub(crate) fn exec_or_die(prog: &str, argv: &[OsString], edits: &EnvEdits) -> u8 {
    let err = pathexec::pathexec(argv, pathexec::environ(), edits);
    die_run(prog, &argv[0], &err)
}

/// The common start of `setuidgid` and `envuidgid`: check for an account
/// and a child (else print the usage line, exit 100), then look the account
/// up (else `unknown account NAME`, exit 111).
///
/// # Errors
/// The exit code to return when the program cannot go on.
pub(crate) fn account_or_die(
    prog: &str,
    usage_text: &str,
    args: &[OsString],
) -> Result<crate::sys::account::Account, u8> {
    if args.len() < 3 {
        return Err(usage(prog, usage_text, crate::error::EXIT_USAGE));
    }
    let name = &args[1];
    crate::sys::account::getpwnam(name).ok_or_else(|| {
        die(
            prog,
            &[b"unknown account ", name.as_bytes()],
            None,
            crate::error::EXIT_TEMP,
        )
    })
}
