//! Reading a service's state from outside, relative to an open service
//! directory: the status record, the extended record, the `down` file and
//! whether supervise runs. Used by `svwait` and `svmetrics`, which look at
//! many directories and so use `openat` instead of svstat's `chdir`.
//!
//! The rules that combine the two records live here once:
//! [`Observed::ready`] and [`Observed::finishing`].

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::extstatus::{ExtStatus, EXTSTATUS_CPATH, EXTSTATUS_LEN};
use super::servicedir::{DOWN, NOTIFICATION_FD, OK, STATUS};
use super::status::Status;

/// What the two records of one service say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The 18-byte record.
    pub(crate) status: Status,
    /// The 32-byte record, `None` when absent or unreadable (daemontools'
    /// supervise writes none).
    pub(crate) ext: Option<ExtStatus>,
    /// The service directory has a `notification-fd` file: readiness
    /// comes from the service's newline, not from being up.
    pub(crate) notifies: bool,
}

impl Observed {
    /// Is the service up (a pid in the status record)?
    #[must_use]
    pub(crate) fn up(&self) -> bool {
        self.status.pid != 0
    }

    /// Up and ready. Ready needs the ready flag **and** a ready stamp no
    /// older than the last pid change in `status`: the two files are
    /// renamed one after the other, so a reader may see a new `status`
    /// with the previous start's `extstatus`, and must not take the old
    /// readiness for the new process's. Without `extstatus` (daemontools'
    /// supervise) or without `notification-fd` up counts as ready, as s6
    /// does for a service without `notification-fd`.
    #[must_use]
    pub(crate) fn ready(&self) -> bool {
        if !self.up() {
            return false;
        }
        match &self.ext {
            Some(e) if self.notifies => e.ready.is_some_and(|t| t >= self.status.when),
            _ => true,
        }
    }

    /// Is `./finish` running? Unknown (false) without `extstatus`.
    #[must_use]
    pub(crate) fn finishing(&self) -> bool {
        self.ext.is_some_and(|e| e.finishing)
    }

    /// Down for good: `finish` exited 125 and the service is down.
    #[must_use]
    pub(crate) fn permanent_failure(&self) -> bool {
        !self.up() && self.ext.is_some_and(|e| e.permanent_failure)
    }
}

/// Open a directory for the `*_at` calls below (`O_DIRECTORY`).
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_dir_at(base: impl AsFd, path: impl rustix::path::Arg) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        base,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Read a small file at `dir`/`path` into `buf`; the byte count. One
/// `read`: a regular file gives all it has up to `buf`'s length at once
/// (svstat reads its record the same way).
fn read_small(dir: impl AsFd, path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = rustix::fs::openat(
        dir,
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    loop {
        match rustix::io::read(&fd, &mut *buf) {
            Err(Errno::INTR) => {}
            r => return r,
        }
    }
}

/// Why the status record could not be had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusError {
    /// `open` or `read` failed.
    Sys(Errno),
    /// Shorter than 18 bytes.
    BadFormat,
}

/// Read `supervise/status` (and `supervise/extstatus` if present) of the
/// service directory `dir`.
///
/// # Errors
/// The status record cannot be read or is too short.
pub(crate) fn observe(dir: impl AsFd) -> Result<Observed, StatusError> {
    let mut buf = [0u8; 64];
    let n = read_small(dir.as_fd(), STATUS.path, &mut buf).map_err(StatusError::Sys)?;
    let status = Status::decode(&buf[..n]).ok_or(StatusError::BadFormat)?;
    let mut eb = [0u8; EXTSTATUS_LEN];
    let ext = match read_small(dir.as_fd(), EXTSTATUS_CPATH, &mut eb) {
        Ok(n) => ExtStatus::decode(&eb[..n]),
        Err(_) => None,
    };
    let notifies = rustix::fs::statat(dir, NOTIFICATION_FD.path, AtFlags::empty()).is_ok();
    Ok(Observed {
        status,
        ext,
        notifies,
    })
}

/// `open_write("supervise/ok")` relative to `dir`: succeeds only while
/// supervise holds the FIFO open for reading (ENXIO otherwise, ENOENT if
/// supervise never ran there). The descriptor is write-only and
/// non-blocking; `poll` reports `POLLERR` on it once supervise is gone.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_ok_at(dir: impl AsFd) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        dir,
        OK.path,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// No `down` file in `dir`: the service is normally up.
///
/// # Errors
/// Any errno of `stat` but ENOENT.
pub(crate) fn normally_up_at(dir: impl AsFd) -> Result<bool, Errno> {
    match rustix::fs::statat(dir, DOWN.path, AtFlags::empty()) {
        Ok(_) => Ok(false),
        Err(Errno::NOENT) => Ok(true),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tai64::Tai64N;

    fn obs(pid: u32, ext: Option<ExtStatus>) -> Observed {
        Observed {
            status: Status {
                when: Tai64N::from_unix(1000, 500),
                pid,
                paused: false,
                want: b'u',
            },
            ext,
            notifies: true,
        }
    }

    #[test]
    fn readiness_rules() {
        assert!(obs(5, None).ready(), "no extstatus: up counts as ready");
        assert!(!obs(0, None).ready());
        let ready_at = |unix| ExtStatus {
            ready: Some(Tai64N::from_unix(unix, 500)),
            ..ExtStatus::default()
        };
        assert!(obs(5, Some(ready_at(1001))).ready());
        assert!(obs(5, Some(ready_at(1000))).ready());
        assert!(
            !obs(5, Some(ready_at(999))).ready(),
            "stale: previous start"
        );
        assert!(!obs(5, Some(ExtStatus::default())).ready());
        assert!(!obs(0, Some(ready_at(1001))).ready());
        let plain = Observed {
            notifies: false,
            ..obs(5, Some(ExtStatus::default()))
        };
        assert!(plain.ready(), "no notification-fd: up counts as ready");
        assert!(!Observed {
            notifies: false,
            ..obs(0, None)
        }
        .ready());
        let pf = ExtStatus {
            permanent_failure: true,
            finishing: true,
            ..ExtStatus::default()
        };
        assert!(obs(0, Some(pf)).permanent_failure());
        assert!(!obs(7, Some(pf)).permanent_failure());
        assert!(obs(0, Some(pf)).finishing());
        assert!(!obs(0, None).finishing());
    }
}
