//! `svc [-udopchaitkx] DIR...`: send control bytes to supervise (ports `svc.c`).
//!
//! Each letter is kept once, at its first occurrence; all letters go to each
//! directory's `supervise/control` in a single `write(2)`. Failures per
//! directory are warnings and the exit code stays 0.
//!
//! Differences from daemontools: none known.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::control::{Letters, SVC_LETTERS, SVC_OPTIONS};
use super::servicedir;
use crate::djb::getopt::Getopt;
use crate::error::{self, emit, reason_errno, Fatal, Kind, EXIT_USAGE};
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

const PROG: &str = "svc";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Ignore;

/// Entry point of the `svc` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args: Vec<OsString> = main.argv;
    let optstring = std::str::from_utf8(SVC_LETTERS).unwrap_or_default();
    let mut g = Getopt::new(&args, optstring);
    let mut letters = Letters::default();
    while let Some(o) = g.next_opt() {
        match o {
            Ok((c, _)) => letters.push(c),
            Err(e) => {
                e.print(&args);
                emit(format!("{SVC_OPTIONS}\n").as_bytes());
                return EXIT_USAGE;
            }
        }
    }
    let operands = args.get(g.optind()..).unwrap_or_default();
    match svc_dirs(letters.as_bytes(), operands) {
        Ok(()) => 0,
        Err(f) => f.report(PROG),
    }
}

fn warn_dir(what: &str, dir: &[u8], tail: &str, e: Option<Errno>) {
    error::say(
        PROG,
        Kind::Warning,
        &[what.as_bytes(), dir, tail.as_bytes()],
        e.map(reason_errno),
    );
}

fn svc_dirs(data: &[u8], dirs: &[OsString]) -> Result<(), Fatal> {
    let orig = rustix::fs::open(
        c".",
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Fatal::new("unable to open current directory", e))?;
    for dir in dirs {
        let d = dir.as_bytes();
        match rustix::process::chdir(dir.as_os_str()) {
            Err(e) => warn_dir("unable to chdir to ", d, ": ", Some(e)),
            Ok(()) => control(data, d),
        }
        rustix::process::fchdir(&orig).map_err(|e| Fatal::new("unable to set directory", e))?;
    }
    Ok(())
}

fn control(data: &[u8], d: &[u8]) {
    match servicedir::open_control_for_write() {
        Err(Errno::NXIO) => warn_dir("unable to control ", d, ": supervise not running", None),
        Err(e) => warn_dir("unable to control ", d, ": ", Some(e)),
        Ok(fd) => {
            if let Ok(fl) = rustix::fs::fcntl_getfl(&fd) {
                let _ = rustix::fs::fcntl_setfl(&fd, fl - OFlags::NONBLOCK);
            }
            if !data.is_empty() {
                if let Err(e) = write_all(&fd, data) {
                    warn_dir("error writing commands to ", d, ": ", Some(e));
                }
            }
        }
    }
}

fn write_all(fd: &std::os::fd::OwnedFd, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
