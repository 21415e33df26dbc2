//! `svstat DIR...`: print one status line per directory (ports `svstat.c`).
//!
//! Line: `DIR: up (pid P) S seconds` or `DIR: down S seconds`, then the
//! suffixes `, normally down|up`, `, paused`, `, want up|down` in that order.
//! S is whole seconds from `time()`, clamped at 0 for future stamps; "1
//! seconds" stays plural. Records longer than 18 bytes are accepted.
//!
//! When `supervise/extstatus` ([`super::extstatus`]) says the service uses
//! an extension file, facts in s6-svstat's wording follow (`describe_ext`);
//! otherwise the line is daemontools' to the byte. `svstat-json`
//! ([`super::svstat_json`]) prints the same facts as JSON.
//!
//! Differences from daemontools: the extension facts.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::extfiles::signal_name;
use super::extstatus::{Death, ExtStatus, EXTSTATUS_CPATH, EXTSTATUS_LEN};
use super::observe::Observed;
use super::servicedir::{self, DOWN, OK, STATUS};
use super::status::{Status, STATUS_LEN};
use crate::error::{reason_errno, Fatal};
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use crate::tai64::Tai64N;

const PROG: &str = "svstat";

/// The text after `DIR: ` for a readable status record. `now` is the TAI64
/// seconds label of the current time; `normally_up` means no `down` file.
#[must_use]
pub(crate) fn describe(st: &Status, now: u64, normally_up: bool) -> String {
    let secs = now.saturating_sub(st.when.secs);
    let up = st.pid != 0;
    let mut s = if up {
        format!("up (pid {}) {secs} seconds", st.pid)
    } else {
        format!("down {secs} seconds")
    };
    if up && !normally_up {
        s.push_str(", normally down");
    }
    if !up && normally_up {
        s.push_str(", normally up");
    }
    if up && st.paused {
        s.push_str(", paused");
    }
    if !up && st.want == b'u' {
        s.push_str(", want up");
    }
    if up && st.want == b'd' {
        s.push_str(", want down");
    }
    s
}

/// The extension facts appended to [`describe`]'s text, in this order:
/// `, ready S seconds` (ready as [`Observed::ready`] says; S since the
/// moment the record gives), `, finishing`, `, permanent failure`,
/// `, back-off D ms` (waiting D ms from the last start before restarting),
/// and when down after a death `, exitcode N` or `, signal SIGNAME`. Empty
/// unless the service uses an extension file.
#[must_use]
pub(crate) fn describe_ext(obs: &Observed, now: u64) -> String {
    let mut s = String::new();
    let Some(ext) = obs.ext.filter(|e| e.extended) else {
        return s;
    };
    let up = obs.up();
    if let Some(t) = obs.ready_at() {
        s.push_str(&format!(", ready {} seconds", now.saturating_sub(t.secs)));
    }
    if ext.finishing {
        s.push_str(", finishing");
    }
    if ext.permanent_failure {
        s.push_str(", permanent failure");
    }
    if ext.backoff_wait {
        s.push_str(&format!(", back-off {} ms", ext.delay_ms));
    }
    if !up {
        match ext.last_death {
            Death::Exited(c) => s.push_str(&format!(", exitcode {c}")),
            Death::Killed(sig) => s.push_str(&format!(", signal {}", signal_name(i32::from(sig)))),
            Death::None => {}
        }
    }
    s
}

/// What svstat learns about one directory.
pub(crate) enum Report {
    /// The text after `DIR: ` when the status cannot be read.
    Error(String),
    /// The records and the `down` file.
    Status {
        /// `supervise/status`, `supervise/extstatus` (if there is a valid
        /// one) and the `notification-fd` file.
        obs: Observed,
        /// No `down` file.
        normally_up: bool,
        /// Now, as a TAI64 seconds label.
        now: u64,
    },
}

/// Read the state of the service in the current directory, as `svstat.c`'s
/// `doit` does, plus `supervise/extstatus`.
pub(crate) fn inspect_here() -> Report {
    let (down, ok, status) = (DOWN.text, OK.text, STATUS.text);
    let normally_up = match servicedir::normally_up() {
        Ok(up) => up,
        Err(e) => return Report::Error(format!("unable to stat {down}: {}", reason_errno(e))),
    };
    match servicedir::open_ok_for_write() {
        Ok(_) => {}
        Err(Errno::NXIO) => return Report::Error("supervise not running".into()),
        Err(e) => return Report::Error(format!("unable to open {ok}: {}", reason_errno(e))),
    }
    let fd = match servicedir::open_status_for_read() {
        Ok(fd) => fd,
        Err(e) => return Report::Error(format!("unable to open {status}: {}", reason_errno(e))),
    };
    let mut buf = [0u8; STATUS_LEN];
    let st = match read_fd(&fd, &mut buf) {
        Err(e) => return Report::Error(format!("unable to read {status}: {}", reason_errno(e))),
        Ok(n) => match Status::decode(&buf[..n]) {
            Some(st) => st,
            None => return Report::Error(format!("unable to read {status}: bad format")),
        },
    };
    let now = Tai64N::from_unix(unix_now(), 0).secs;
    // `status` was read first (see `Observed::ready`).
    let obs = Observed {
        status: st,
        ext: read_ext(),
        notifies: servicedir::exists(servicedir::NOTIFICATION_FD),
    };
    Report::Status {
        obs,
        normally_up,
        now,
    }
}

fn read_fd(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Err(Errno::INTR) => {}
            r => return r,
        }
    }
}

/// `supervise/extstatus`, if it exists and is valid (daemontools'
/// supervise writes none).
fn read_ext() -> Option<ExtStatus> {
    let fd = rustix::fs::open(
        EXTSTATUS_CPATH,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut buf = [0u8; EXTSTATUS_LEN];
    let n = read_fd(&fd, &mut buf).ok()?;
    ExtStatus::decode(&buf[..n])
}

/// The line for one directory, with the cwd already changed to it.
fn doit_here() -> String {
    match inspect_here() {
        Report::Error(e) => e,
        Report::Status {
            obs,
            normally_up,
            now,
        } => {
            let mut s = describe(&obs.status, now, normally_up);
            s.push_str(&describe_ext(&obs, now));
            s
        }
    }
}

fn unix_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Entry point of the `svstat` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    for_each_dir(PROG, &main.argv, |dir, out| {
        out.extend_from_slice(dir);
        out.extend_from_slice(b": ");
        match rustix::process::chdir(OsStr::from_bytes(dir)) {
            Err(e) => {
                out.extend_from_slice(b"unable to chdir: ");
                out.extend_from_slice(reason_errno(e).as_bytes());
            }
            Ok(()) => out.extend_from_slice(doit_here().as_bytes()),
        }
        out.push(b'\n');
    })
}

/// svstat's loop over its arguments (all of them directories): `each`
/// appends the output for one directory (it may `chdir`; the original
/// directory is restored after it), printed at the end in one write.
pub(crate) fn for_each_dir(
    prog: &str,
    args: &[OsString],
    mut each: impl FnMut(&[u8], &mut Vec<u8>),
) -> u8 {
    let orig = match rustix::fs::open(
        c".",
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return Fatal::new("unable to open current directory", e).report(prog),
    };
    let mut out = Vec::with_capacity(1024);
    for dir in args.iter().skip(1) {
        each(dir.as_bytes(), &mut out);
        if let Err(e) = rustix::process::fchdir(&orig) {
            let _ = io::stdout().write_all(&out);
            let _ = io::stdout().flush();
            return Fatal::new("unable to set directory", e).report(prog);
        }
    }
    let mut so = io::stdout().lock();
    let _ = so.write_all(&out);
    let _ = so.flush();
    0
}

#[cfg(test)]
#[path = "svstat_tests.rs"]
mod tests;
