//! `svok DIR`: exit 0 if supervise is running in DIR (ports `svok.c`).
//!
//! Exit 0 running; 100 not running, no `supervise/ok`, or usage; 111 when DIR
//! cannot be entered or `supervise/ok` cannot be opened for another reason.
//!
//! Differences from daemontools: none.

use std::ffi::OsString;

use rustix::io::Errno;

use super::servicedir;
use crate::error::{usage, Fatal, EXIT_USAGE};
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

const PROG: &str = "svok";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Entry point of the `svok` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args: Vec<OsString> = main.argv;
    let Some(dir) = args.get(1) else {
        return usage(PROG, "svok dir");
    };
    let name = dir.to_string_lossy();
    if let Err(e) = rustix::process::chdir(dir.as_os_str()) {
        return Fatal::new(format!("unable to chdir to {name}"), e).report(PROG);
    }
    match servicedir::open_ok_for_write() {
        Ok(_) => 0,
        Err(Errno::NOENT | Errno::NXIO) => EXIT_USAGE,
        Err(e) => {
            let ok = servicedir::OK.text;
            Fatal::new(format!("unable to open {name}/{ok}"), e).report(PROG)
        }
    }
}
