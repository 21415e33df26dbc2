//! Waiting for the services before `prog` starts: every service directory
//! found by the first scan that is normally up (no `down` file), and its
//! `log` when that is a directory, must be up, and ready when it has a
//! `notification-fd` file ([`Observed::ready`], the one definition of
//! readiness that `svwait -U` and `svstat` use too).
//!
//! Looked at every [`POLL`]: the wait lasts only until the services are up,
//! and their `supervise` directories do not exist yet when it begins, so
//! there is nothing to watch at first. A service still not ready after
//! [`PATIENCE`] is named in a warning, once; svinit keeps waiting (a stop
//! signal ends the wait).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::fs::CWD;

use super::PROG;
use crate::error::{self, Kind};
use crate::supervise::observe::{self, Observed};
use crate::supervise::servicedir::LOG;

/// How often the services are looked at while `prog` waits.
pub(super) const POLL: Duration = Duration::from_millis(10);
/// How long before svinit says which services it is still waiting for.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

/// The services `prog` waits for.
pub(super) struct Awaited {
    dirs: Vec<OsString>,
    since: Instant,
    warned: bool,
}

/// A directory (following symlinks) with no `down` file?
fn normally_up_dir(path: &[u8]) -> bool {
    let Ok(fd) = observe::open_dir_at(CWD, path) else {
        return false;
    };
    observe::normally_up_at(&fd).unwrap_or(true)
}

fn is_ready(dir: &OsString) -> bool {
    let Ok(fd) = observe::open_dir_at(CWD, dir.as_bytes()) else {
        return false;
    };
    observe::observe(&fd).is_ok_and(|o: Observed| o.ready())
}

impl Awaited {
    /// The services of the current directory (the scan directory).
    pub(super) fn list() -> Awaited {
        let mut dirs = Vec::new();
        if let Ok(rd) = std::fs::read_dir(".") {
            for ent in rd.flatten() {
                let name = ent.file_name();
                if name.as_bytes().first() == Some(&b'.') {
                    continue;
                }
                if normally_up_dir(name.as_bytes()) {
                    dirs.push(name.clone());
                }
                let log = [name.as_bytes(), b"/", LOG.text.as_bytes()].concat();
                if normally_up_dir(&log) {
                    dirs.push(OsString::from(std::ffi::OsStr::from_bytes(&log)));
                }
            }
        }
        dirs.sort();
        Awaited {
            dirs,
            since: Instant::now(),
            warned: false,
        }
    }

    /// Are they all ready now? Forgets those that are.
    pub(super) fn all_ready(&mut self) -> bool {
        self.dirs.retain(|d| !is_ready(d));
        if !self.dirs.is_empty() && !self.warned && self.since.elapsed() >= PATIENCE {
            self.warned = true;
            let names: Vec<&[u8]> = self.dirs.iter().map(|d| d.as_bytes()).collect();
            error::say(
                PROG,
                Kind::Warning,
                &[
                    b"still waiting for services to be ready: ",
                    &names.join(&b", "[..]),
                ],
                None,
            );
        }
        self.dirs.is_empty()
    }
}
