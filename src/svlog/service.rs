//! Which log directory a DIR argument stands for, and the service name
//! its lines are prefixed with when several are merged.
//!
//! DIR is a log directory if it has `current`. Otherwise it is a service
//! directory, and the log directory is the one its running logger writes:
//! the logger is the process `DIR/log/supervise/status` names (supervise's
//! 18-byte record, [`crate::supervise::status`]); if its
//! `/proc/PID/cmdline` is multilog's, the log directory is multilog's last
//! directory argument (one starting with `.` or `/`), a relative one taken
//! from the logger's working directory (`/proc/PID/cwd`, else `DIR/log`,
//! where supervise starts it). If there is no running logger, or it is not
//! multilog, or its directory has no `current`, the log directory is
//! `DIR/log/main`.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Fatal;
use crate::supervise::status::Status;

/// The log directory of service directory `svc` its running multilog
/// writes, if that can be found.
#[must_use]
pub(crate) fn logger_dir(svc: &Path) -> Option<PathBuf> {
    let log = svc.join("log");
    let st = Status::decode(&std::fs::read(log.join("supervise/status")).ok()?)?;
    if st.pid == 0 {
        return None;
    }
    let proc = PathBuf::from(format!("/proc/{}", st.pid));
    let cmdline = std::fs::read(proc.join("cmdline")).ok()?;
    let mut args = cmdline.split(|&c| c == 0);
    let prog = args.next()?;
    if !prog.rsplit(|&c| c == b'/').next()?.ends_with(b"multilog") {
        return None;
    }
    let dir = args.rfind(|a| matches!(a.first(), Some(b'.' | b'/')))?;
    let dir = Path::new(std::ffi::OsStr::from_bytes(dir));
    if dir.is_absolute() {
        return Some(dir.to_path_buf());
    }
    let cwd = std::fs::read_link(proc.join("cwd")).unwrap_or(log);
    Some(cwd.join(dir))
}

/// The log directory DIR stands for (see the module).
///
/// # Errors
/// DIR missing, or no log directory with `current` found.
pub(crate) fn resolve(dir: &Path) -> Result<PathBuf, Fatal> {
    resolve_named(dir).map(|(p, _)| p)
}

/// [`resolve`], and the name of DIR's service: the service directory's
/// name when DIR is one, else [`service_name`] of the log directory.
///
/// # Errors
/// As [`resolve`].
pub(crate) fn resolve_named(dir: &Path) -> Result<(PathBuf, String), Fatal> {
    std::fs::metadata(dir)
        .map_err(|e| Fatal::new(format!("unable to open directory {}", dir.display()), e))?;
    if dir.join("current").exists() {
        return Ok((dir.to_path_buf(), service_name(dir)));
    }
    let name = || last_name(dir);
    if let Some(d) = logger_dir(dir).filter(|d| d.join("current").exists()) {
        return Ok((d, name()));
    }
    let main = dir.join("log/main");
    if main.join("current").exists() {
        return Ok((main, name()));
    }
    let e = io::Error::from_raw_os_error(libc::ENOENT);
    Err(Fatal::new(
        format!("unable to open {}/current", dir.display()),
        e,
    ))
}

/// The last component of `p` after resolving links.
fn last_name(p: &Path) -> String {
    let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The service name of a log directory: the service directory's name if
/// it is `…/log/main` (after resolving links), else its last component.
#[must_use]
pub(crate) fn service_name(dir: &Path) -> String {
    let p = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let names: Vec<String> = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let n = names.len();
    if n >= 3 && names[n - 1] == "main" && names[n - 2] == "log" {
        return names[n - 3].clone();
    }
    names.last().cloned().unwrap_or_default()
}
