//! `setlock [-nNxX] FILE CHILD...`: run CHILD holding an exclusive `flock`
//! on FILE.
//!
//! Ports `setlock.c`. FILE is opened with `open_append` (`O_WRONLY |
//! O_NONBLOCK | O_APPEND | O_CREAT`, mode 0600) and the descriptor is **not**
//! close-on-exec: CHILD inherits it, and the lock lasts as long as CHILD (or
//! anything it passes the descriptor to) keeps it open.
//!
//! * `-n`: fail at once if the lock is held; `-N`: wait (default).
//! * `-x`: exit 0 silently if FILE cannot be opened or locked; `-X`:
//!   complain (default). `-x` does not cover `unable to run`.
//!
//! # Differences from daemontools
//! None known.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{FlockOperation, Mode, OFlags};

use super::prologue::{die, exec_or_die, start, usage};
use crate::djb::getopt::Getopt;
use crate::error::{EXIT_TEMP, EXIT_USAGE};
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "setlock";
const USAGE: &str = "setlock [ -nNxX ] file program [ arg ... ]";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`; returns only on failure, usage or `-x` exit.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    let mut ndelay = false;
    let mut quiet = false;
    let mut g = Getopt::new(args, "nNxX");
    while let Some(opt) = g.next_opt() {
        match opt {
            Ok((b'n', _)) => ndelay = true,
            Ok((b'N', _)) => ndelay = false,
            Ok((b'x', _)) => quiet = true,
            Ok((b'X', _)) => quiet = false,
            Ok(_) => return usage(PROG, USAGE, EXIT_USAGE),
            Err(e) => {
                e.print(args);
                return usage(PROG, USAGE, EXIT_USAGE);
            }
        }
    }
    let rest = args.get(g.optind()..).unwrap_or_default();
    if rest.len() < 2 {
        return usage(PROG, USAGE, EXIT_USAGE);
    }
    let file = &rest[0];
    let fd = match rustix::fs::open(
        file.as_os_str(),
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::APPEND | OFlags::CREATE,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(fd) => fd,
        Err(_) if quiet => return 0,
        Err(e) => {
            return die(
                PROG,
                &[b"unable to open ", file.as_bytes(), b": "],
                Some(&e.into()),
                EXIT_TEMP,
            )
        }
    };
    let op = if ndelay {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::LockExclusive
    };
    if let Err(e) = rustix::fs::flock(&fd, op) {
        if quiet {
            return 0;
        }
        return die(
            PROG,
            &[b"unable to lock ", file.as_bytes(), b": "],
            Some(&e.into()),
            EXIT_TEMP,
        );
    }
    // `fd` stays open (and inheritable) across the exec.
    let code = exec_or_die(PROG, &rest[1..], &EnvEdits::new());
    drop(fd);
    code
}
