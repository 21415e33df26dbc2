//! The service-directory layout (daemontools 0.76 §6.2): every name that
//! `supervise`, `svc`, `svstat` and `svok` use inside a service directory,
//! and the opens of those files with the flags daemontools uses.
//!
//! ```text
//! DIR/run                 executable, started as ./run
//! DIR/down                if it exists, the service is normally down
//! DIR/log/                a second service fed by DIR's output (svscan)
//! DIR/supervise/          made by supervise, mode 0700
//!     lock                regular, 0600: flock held by supervise
//!     control             FIFO, 0600: command bytes from svc
//!     ok                  FIFO, 0600: held open for reading by supervise
//!     status              regular, 0644: the 18-byte record (super::status)
//!     status.new          written, then renamed over status
//!     extstatus           regular, 0644: the 32-byte record (super::extstatus)
//!     extstatus.new       written, then renamed over extstatus
//! ```
//!
//! Extension files, all optional (see [`super::extfiles`]): `notification-fd`,
//! `finish`, `down-signal`, `timeout-kill`, `timeout-finish`,
//! `process-group`, `backoff`.
//!
//! Every path is relative: the callers `chdir` into DIR first, as the C
//! programs do. Each [`Name`] carries the C path for the system call and
//! the same text for messages.
//!
//! # Differences from daemontools
//! None known.

use std::ffi::CStr;
use std::os::fd::OwnedFd;

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// A name inside the service directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    /// The path for system calls, relative to the service directory.
    pub(crate) path: &'static CStr,
    /// The same path as text, for messages.
    pub(crate) text: &'static str,
}

/// `concat!(name, "\0")` as a `&CStr`, checked at compile time.
const fn c_path(with_nul: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(with_nul.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("a service-directory name must not contain NUL"),
    }
}

macro_rules! names {
    ($($(#[$doc:meta])* $id:ident = $text:literal;)*) => {
        $(
            $(#[$doc])*
            pub(crate) const $id: Name = Name {
                path: c_path(concat!($text, "\0")),
                text: $text,
            };
        )*
    };
}

names! {
    /// The program supervise starts (exec'd as [`RUN_EXEC`]).
    RUN = "run";
    /// Its presence means "normally down": supervise starts with want down.
    DOWN = "down";
    /// The log service directory, supervised by svscan with a pipe from DIR.
    LOG = "log";
    /// supervise's own directory.
    SUPERVISE = "supervise";
    /// The lock file held by a running supervise.
    LOCK = "supervise/lock";
    /// The FIFO svc writes command bytes to.
    CONTROL = "supervise/control";
    /// The FIFO supervise holds open for reading while it runs.
    OK = "supervise/ok";
    /// The 18-byte status record.
    STATUS = "supervise/status";
    /// The status record being written, renamed over [`STATUS`].
    STATUS_NEW = "supervise/status.new";
    /// Extension (s6): the descriptor `./run` reports readiness on.
    NOTIFICATION_FD = "notification-fd";
    /// Extension (s6): run as `./finish EXITCODE SIGNAL DIR PGID` after `./run` dies.
    FINISH = "finish";
    /// Extension (s6): the signal `svc -d` sends instead of TERM.
    DOWN_SIGNAL = "down-signal";
    /// Extension (s6): ms after the down signal before SIGKILL.
    TIMEOUT_KILL = "timeout-kill";
    /// Extension (s6): ms before a running `./finish` is killed.
    TIMEOUT_FINISH = "timeout-finish";
    /// Extension: `./run` leads its own process group, signalled as a whole.
    PROCESS_GROUP = "process-group";
    /// Extension: `MIN MAX RESET` (ms), capped exponential restart back-off.
    BACKOFF = "backoff";
}

/// `./finish` as supervise passes it to `execve`.
pub(crate) const FINISH_EXEC: &CStr = c"./finish";

/// `./run` as supervise passes it to `execve` (the `./` keeps it from a
/// `$PATH` search).
pub(crate) const RUN_EXEC: &CStr = c"./run";

/// The mode of the FIFOs and of the lock file.
const PRIVATE: u32 = 0o600;
/// The mode of the `supervise` directory.
const SUPERVISE_DIR_MODE: u32 = 0o700;
/// The mode of the status file.
const STATUS_MODE: u32 = 0o644;

/// `stat("down")`: `Ok(true)` when there is no `down` file (ENOENT),
/// `Ok(false)` when there is one.
///
/// # Errors
/// Any other errno of `stat`.
pub(crate) fn normally_up() -> Result<bool, Errno> {
    match rustix::fs::stat(DOWN.path) {
        Ok(_) => Ok(false),
        Err(Errno::NOENT) => Ok(true),
        Err(e) => Err(e),
    }
}

/// `mkdir("supervise", 0700)`, errors ignored, plus Debian's patch: when
/// `supervise` is a dangling symlink, create its target (one level only).
pub(crate) fn make_supervise_dir() {
    let mode = Mode::from_raw_mode(SUPERVISE_DIR_MODE);
    if rustix::fs::mkdir(SUPERVISE.path, mode) != Err(Errno::EXIST) {
        return;
    }
    if let Ok(target) = std::fs::read_link(SUPERVISE.text) {
        if std::fs::metadata(SUPERVISE.text).is_err() {
            let _ = rustix::fs::mkdir(target.as_os_str(), mode);
        }
    }
}

/// `mkfifo(name, 0600)`, errors ignored (an existing FIFO is reused).
pub(crate) fn make_fifo(name: Name) {
    let _ = rustix::fs::mkfifoat(rustix::fs::CWD, name.path, Mode::from_raw_mode(PRIVATE));
}

/// `open_append("supervise/lock")` (mode 0600, close-on-exec) and
/// `flock(LOCK_EX | LOCK_NB)` on it.
///
/// # Errors
/// The errno of `open` or `flock` (EWOULDBLOCK: another supervise runs).
pub(crate) fn open_lock() -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        LOCK.path,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC,
        Mode::from_raw_mode(PRIVATE),
    )
    .and_then(|fd| rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).map(|()| fd))
}

/// `open_read(name)`: read-only, non-blocking, close-on-exec. supervise
/// reads `control` and holds `ok` this way.
fn open_fifo_for_read(name: Name) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        name.path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// `open_write(name)`: write-only, non-blocking, close-on-exec. On a FIFO
/// nobody holds open for reading this fails with ENXIO.
fn open_fifo_for_write(name: Name) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        name.path,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// `open_read("supervise/control")`: supervise's end for commands.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_control_for_read() -> Result<OwnedFd, Errno> {
    open_fifo_for_read(CONTROL)
}

/// `open_write("supervise/control")`: svc's end, and the one supervise
/// keeps so that it never reads end of file. ENXIO when no supervise runs.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_control_for_write() -> Result<OwnedFd, Errno> {
    open_fifo_for_write(CONTROL)
}

/// `open_read("supervise/ok")`: held by supervise for its whole life.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_ok_for_read() -> Result<OwnedFd, Errno> {
    open_fifo_for_read(OK)
}

/// `open_write("supervise/ok")`: succeeds only while supervise holds the
/// FIFO open for reading (ENXIO otherwise; ENOENT if supervise never ran
/// here). svok and svstat test liveness this way.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_ok_for_write() -> Result<OwnedFd, Errno> {
    open_fifo_for_write(OK)
}

/// `open_read("supervise/status")`, as svstat reads it.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn open_status_for_read() -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        STATUS.path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// `open_trunc("supervise/status.new")` (mode 0644), the first step of
/// supervise's `announce`.
///
/// # Errors
/// The errno of `open`.
pub(crate) fn create_status_new() -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        STATUS_NEW.path,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::TRUNC | OFlags::CREATE | OFlags::CLOEXEC,
        Mode::from_raw_mode(STATUS_MODE),
    )
}

/// `rename("supervise/status.new", "supervise/status")`, the last step of
/// `announce`.
///
/// # Errors
/// The errno of `rename`.
pub(crate) fn publish_status_new() -> Result<(), Errno> {
    rustix::fs::rename(STATUS_NEW.path, STATUS.path)
}

/// Write `supervise/extstatus.new` (mode 0644) and rename it over
/// `supervise/extstatus` ([`super::extstatus`]).
///
/// # Errors
/// The errno of `open`, `write` (EIO for a short write) or `rename`.
pub(crate) fn write_extstatus(rec: &[u8]) -> Result<(), Errno> {
    use super::extstatus::{EXTSTATUS_CPATH, EXTSTATUS_NEW_CPATH};
    let fd = rustix::fs::open(
        EXTSTATUS_NEW_CPATH,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::TRUNC | OFlags::CREATE | OFlags::CLOEXEC,
        Mode::from_raw_mode(STATUS_MODE),
    )?;
    if rustix::io::write(&fd, rec)? != rec.len() {
        return Err(Errno::IO);
    }
    drop(fd);
    rustix::fs::rename(EXTSTATUS_NEW_CPATH, EXTSTATUS_CPATH)
}

/// Why [`read_small`] read nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SmallError {
    /// `open`, `fstat` or `read` failed.
    Sys(Errno),
    /// It is not a regular file (a FIFO, a directory, a device).
    NotRegular,
}

/// Read a small service-directory file (at most `buf.len()` bytes) into
/// `buf`: `Ok(None)` if it does not exist, `Ok(Some(n))` bytes otherwise.
///
/// The open never blocks (`O_NONBLOCK`: a FIFO without a writer would hang
/// supervise before every start) and what is not a regular file is
/// refused before any read. Symbolic links are followed, as for `run`:
/// a service directory's files are its administrator's, and linking them
/// to shared ones is common.
///
/// # Errors
/// Any other errno of `open`, `fstat` or `read`; [`SmallError::NotRegular`].
pub(crate) fn read_small(name: Name, buf: &mut [u8]) -> Result<Option<usize>, SmallError> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(name.path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(SmallError::Sys(e)),
    };
    let st = rustix::fs::fstat(&fd).map_err(SmallError::Sys)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(SmallError::NotRegular);
    }
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::read(&fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(SmallError::Sys(e)),
        }
    }
    Ok(Some(n))
}

/// Does `name` exist (any type; `stat` follows symlinks)?
pub(crate) fn exists(name: Name) -> bool {
    rustix::fs::stat(name.path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_texts_agree() {
        for n in [
            RUN,
            DOWN,
            LOG,
            SUPERVISE,
            LOCK,
            CONTROL,
            OK,
            STATUS,
            STATUS_NEW,
            NOTIFICATION_FD,
            FINISH,
            DOWN_SIGNAL,
            TIMEOUT_KILL,
            TIMEOUT_FINISH,
            PROCESS_GROUP,
            BACKOFF,
        ] {
            assert_eq!(n.path.to_bytes(), n.text.as_bytes());
        }
        assert_eq!(RUN_EXEC.to_bytes(), format!("./{}", RUN.text).as_bytes());
        assert_eq!(
            FINISH_EXEC.to_bytes(),
            format!("./{}", FINISH.text).as_bytes()
        );
        assert_eq!(CONTROL.text, format!("{}/control", SUPERVISE.text));
    }
}
