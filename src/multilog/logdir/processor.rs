//! The `!processor` protocol of daemontools, kept exactly (ports the
//! processor branch of `multilog.c:fullcurrent` and `startprocessor`):
//! `previous` is fed to the processor, whose output becomes `processed`
//! (0744 once complete) and whose fd 5 becomes `state` via `newstate`.

use std::io;
use std::os::fd::AsFd;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::{Shared, APPEND, READ, TRUNC};
use crate::error;
use crate::logdir::names::{Kind, NEWSTATE, PREVIOUS, PROCESSED, STATE};
use crate::multilog::retry::{self, complain, retry};
use crate::sys::processor::Fds;

impl Shared {
    /// The processor branch of `fullcurrent` (steps 8a–8h). Returns the
    /// name of the `@….s` made from `processed`.
    pub(super) fn process(&self, processor: &[u8]) -> Option<String> {
        let name = &self.name;
        let d = &self.dirfd;
        let shown = String::from_utf8_lossy(processor);
        // Built before the fork: the child reports its own failures with it.
        let unable = error::prefix(
            "multilog",
            error::Kind::Fatal,
            &[b"unable to run ", shown.as_bytes(), b": "],
        );
        loop {
            match self.run_processor(processor, &unable) {
                Ok(status) if status.success() => break,
                Ok(status) if status.code().is_none() => {
                    // Killed by a signal: daemontools prints a stale errno here.
                    complain(
                        &format!("processor crashed in {name}"),
                        &io::Error::from_raw_os_error(libc::ENOENT),
                    );
                }
                Ok(_) => {}
                Err(e) => error::emit(&error::finish(unable.clone(), Some(error::reason(&e)))),
            }
            error::warn(
                "multilog",
                &format!("processor failed in {name}, pausing"),
                None,
            );
            retry::pause();
        }
        let f = retry(
            || format!("unable to create {name}/processed"),
            || rustix::fs::openat(d, PROCESSED, APPEND, Mode::from_raw_mode(0o600)),
        );
        retry(
            || format!("unable to write {name}/processed to disk"),
            || rustix::fs::fsync(&f),
        );
        retry(
            || format!("unable to set mode of {name}/processed"),
            || rustix::fs::fchmod(&f, Mode::from_raw_mode(0o744)),
        );
        drop(f);
        let f = retry(
            || format!("unable to create {name}/newstate"),
            || rustix::fs::openat(d, NEWSTATE, APPEND, Mode::from_raw_mode(0o600)),
        );
        retry(
            || format!("unable to write {name}/newstate to disk"),
            || rustix::fs::fsync(&f),
        );
        drop(f);
        retry(
            || format!("unable to remove {name}/previous"),
            || match rustix::fs::unlinkat(d, PREVIOUS, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io::Error::from(e)),
            },
        );
        retry(
            || format!("unable to rename newstate to state in directory {name}"),
            || rustix::fs::renameat(d, NEWSTATE, d, STATE),
        );
        self.finish(PROCESSED, Kind::S)
    }

    /// Run the processor once: `/bin/sh -c PROC` in the directory with
    /// fd 0 = previous, 1 = processed, 4 = state, 5 = newstate; `unable`
    /// prefixes a failure to start it.
    fn run_processor(
        &self,
        processor: &[u8],
        unable: &[u8],
    ) -> io::Result<std::process::ExitStatus> {
        let d = &self.dirfd;
        let open =
            |f: &str, flags: OFlags| rustix::fs::openat(d, f, flags, Mode::from_raw_mode(0o644));
        let fds = Fds {
            stdin: open(PREVIOUS, READ)?,
            stdout: open(PROCESSED, TRUNC)?,
            state: open(STATE, READ)?,
            newstate: open(NEWSTATE, TRUNC)?,
        };
        crate::sys::processor::run(d.as_fd(), processor, fds, unable)
    }
}
