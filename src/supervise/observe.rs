//! Reading a service's state from outside, relative to an open service
//! directory: the status record, the extended record, the `down` file and
//! whether supervise runs. Used by `svwait` and `svmetrics`, which look at
//! many directories and so use `openat` instead of svstat's `chdir`; svstat
//! and svstat-json build the same [`Observed`].
//!
//! The rules that combine the two records live here once, for every
//! reader: [`Observed::ready`] (readiness) and [`Observed::finishing`].

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::extstatus::{ExtStatus, EXTSTATUS_CPATH, EXTSTATUS_LEN};
use super::servicedir::{DOWN, NOTIFICATION_FD, OK, STATUS};
use super::status::Status;
use crate::tai64::Tai64N;

/// What the two records of one service say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The 18-byte record.
    pub(crate) status: Status,
    /// The 32-byte record, `None` when absent or unreadable (daemontools'
    /// supervise writes none).
    pub(crate) ext: Option<ExtStatus>,
    /// The service directory has a `notification-fd` file (see
    /// [`Observed::ready`] for the one use of it).
    pub(crate) notifies: bool,
}

impl Observed {
    /// Is the service up (a pid in the status record)?
    #[must_use]
    pub(crate) fn up(&self) -> bool {
        self.status.pid != 0
    }

    /// Up and ready: the one definition of readiness, for `svwait -U`,
    /// svstat, svstat-json and svmetrics alike.
    ///
    /// * Without `extstatus` (daemontools' supervise, which knows nothing
    ///   of readiness), up counts as ready.
    /// * Otherwise the record's ready flag says. Our supervise sets it at
    ///   the service's newline on its `notification-fd`, and at the start
    ///   itself for a `./run` it gave no readiness pipe (no
    ///   `notification-fd` file then).
    /// * A record that says not ready while the directory has no
    ///   `notification-fd` file comes from a supervise older than that rule
    ///   (one still running after an upgrade): up counts as ready there too,
    ///   or `svwait -U` would wait for a newline nobody can write.
    ///
    /// No clock is compared (a backward step between the start and the
    /// newline must not hide readiness): supervise renames `extstatus`
    /// into place before `status` at a start, and every reader reads
    /// `status` first, so the `extstatus` read is never older than the
    /// start `status` shows.
    #[must_use]
    pub(crate) fn ready(&self) -> bool {
        if !self.up() {
            return false;
        }
        match &self.ext {
            Some(e) => e.ready.is_some() || !self.notifies,
            None => true,
        }
    }

    /// When the service became ready, if [`Observed::ready`] and the record
    /// has the moment.
    #[must_use]
    pub(crate) fn ready_at(&self) -> Option<Tai64N> {
        self.ext.and_then(|e| e.ready).filter(|_| self.ready())
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

/// An observation of a service up since a fixed moment with `pid` (0:
/// down), for the tests of the readers of [`Observed`].
#[cfg(test)]
pub(crate) fn test_observed(pid: u32, ext: Option<ExtStatus>) -> Observed {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(pid: u32, ext: Option<ExtStatus>) -> Observed {
        test_observed(pid, ext)
    }

    #[test]
    fn readiness_rules() {
        assert!(obs(5, None).ready(), "no extstatus: up counts as ready");
        assert!(!obs(0, None).ready());
        assert_eq!(obs(5, None).ready_at(), None);
        let ready_at = |unix| ExtStatus {
            ready: Some(Tai64N::from_unix(unix, 500)),
            ..ExtStatus::default()
        };
        assert!(obs(5, Some(ready_at(1001))).ready());
        assert!(obs(5, Some(ready_at(1000))).ready());
        // The clock stepped back between the start and the newline.
        assert!(obs(5, Some(ready_at(999))).ready(), "no clock comparison");
        assert_eq!(
            obs(5, Some(ready_at(999))).ready_at(),
            Some(Tai64N::from_unix(999, 500))
        );
        assert!(!obs(5, Some(ExtStatus::default())).ready());
        assert!(!obs(0, Some(ready_at(1001))).ready());
        assert_eq!(obs(0, Some(ready_at(1001))).ready_at(), None);
        let legacy = Observed {
            notifies: false,
            ..obs(5, Some(ExtStatus::default()))
        };
        assert!(legacy.ready(), "no notification-fd, no flag: up is ready");
        assert_eq!(legacy.ready_at(), None);
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
