//! `svok DIR`: exit 0 if supervise is running in DIR (ports `svok.c`).
//!
//! Exit 0 running; 100 not running, no `supervise/ok`, or usage; 111 when DIR
//! cannot be entered or `supervise/ok` cannot be opened for another reason.
//!
//! Differences from daemontools: none.

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

use rustix::io::Errno;

use crate::error::{usage, Fatal, EXIT_USAGE};

const PROG: &str = "svok";

/// Entry point of the `svok` binary.
#[must_use]
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Some(dir) = args.get(1) else {
        return usage(PROG, "svok dir");
    };
    let name = dir.to_string_lossy();
    let errno_io = |e: Errno| io::Error::from_raw_os_error(e.raw_os_error());
    if let Err(e) = rustix::process::chdir(dir.as_os_str()) {
        return Fatal::new(format!("unable to chdir to {name}"), errno_io(e)).report(PROG);
    }
    match super::svstat::open_ok() {
        Ok(_) => ExitCode::SUCCESS,
        Err(Errno::NOENT | Errno::NXIO) => ExitCode::from(EXIT_USAGE),
        Err(e) => {
            Fatal::new(format!("unable to open {name}/supervise/ok"), errno_io(e)).report(PROG)
        }
    }
}
