//! Which log directory a DIR argument stands for, and the service name
//! its lines are prefixed with when several are merged.
//!
//! DIR is a log directory if it has `current`. Otherwise it is a service
//! directory (`SERVICE`) or a log service directory (`SERVICE/log`), and
//! the log directory is the one its running logger writes every line to:
//! the logger is the process `SERVICE/log/supervise/status` names
//! (supervise's 18-byte record, [`crate::supervise::status`]); if its
//! `/proc/PID/cmdline` is multilog's, the log directory is the first of
//! multilog's directories ([`full_dir`]: one starting with `.` or `/`) that
//! no `-` or `~-` action before it keeps lines from, else simply the first
//! (with `multilog t ./main '-*' '+*ERR*' ./errors`, `./main`; the later
//! directories get a selection), a relative one taken from the logger's
//! working directory (`/proc/PID/cwd`, else `SERVICE/log`, where supervise
//! starts it). If there is no running logger, or it is not multilog, or
//! its directory has no `current`, the log directory is
//! `SERVICE/log/main`.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Fatal;
use crate::logdir::names::CURRENT;
use crate::supervise::status::Status;

/// Of multilog's script `args` (its argv after the program name), the
/// directory that receives every line: the first directory (an argument
/// starting with `.` or `/`) before which every line is selected, else
/// the first directory. Multilog selects every line at first; a `-`
/// pattern (or the regex extension's `~-`) may deselect some, and only
/// `+*` (`*` matches any line, `match.c`) selects all of them again.
#[must_use]
pub(crate) fn full_dir<'a>(args: &[&'a [u8]]) -> Option<&'a [u8]> {
    let mut all = true;
    let mut first = None;
    for &a in args {
        match a.first() {
            Some(b'.' | b'/') => {
                if all {
                    return Some(a);
                }
                first = first.or(Some(a));
            }
            Some(b'-') => all = false,
            Some(b'~') if a.get(1) == Some(&b'-') => all = false,
            Some(b'+') if a == b"+*" => all = true,
            _ => {}
        }
    }
    first
}

/// The log directory that the running multilog of log service directory
/// `log` writes every line to, if that can be found.
#[must_use]
pub(crate) fn logger_dir(log: &Path) -> Option<PathBuf> {
    let st = Status::decode(&std::fs::read(log.join("supervise/status")).ok()?)?;
    if st.pid == 0 {
        return None;
    }
    let proc = PathBuf::from(format!("/proc/{}", st.pid));
    let cmdline = std::fs::read(proc.join("cmdline")).ok()?;
    let cmdline = cmdline.strip_suffix(b"\0").unwrap_or(&cmdline);
    let mut args = cmdline.split(|&c| c == 0);
    let prog = args.next()?;
    if !prog.rsplit(|&c| c == b'/').next()?.ends_with(b"multilog") {
        return None;
    }
    let script: Vec<&[u8]> = args.collect();
    let dir = Path::new(std::ffi::OsStr::from_bytes(full_dir(&script)?));
    if dir.is_absolute() {
        return Some(dir.to_path_buf());
    }
    let cwd = std::fs::read_link(proc.join("cwd")).unwrap_or_else(|_| log.to_path_buf());
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
/// name when DIR is one (or is its `log`), else [`service_name`] of the
/// log directory.
///
/// # Errors
/// As [`resolve`].
pub(crate) fn resolve_named(dir: &Path) -> Result<(PathBuf, String), Fatal> {
    std::fs::metadata(dir)
        .map_err(|e| Fatal::new(format!("unable to open directory {}", dir.display()), e))?;
    // The failure to report if nothing is found: the most telling one (a
    // cause other than "does not exist", else the candidate that is a
    // directory), with the path that failed.
    let mut failed: Option<(PathBuf, io::Error)> = None;
    let note = |d: &Path, failed: &mut Option<(PathBuf, io::Error)>| -> bool {
        let cur = d.join(CURRENT);
        match std::fs::metadata(&cur) {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if failed.is_none() && d.is_dir() {
                    *failed = Some((cur, e));
                }
                false
            }
            Err(e) => {
                if failed
                    .as_ref()
                    .is_none_or(|f| f.1.kind() == io::ErrorKind::NotFound)
                {
                    *failed = Some((cur, e));
                }
                false
            }
        }
    };
    let mut top = None;
    if note(dir, &mut top) {
        return Ok((dir.to_path_buf(), service_name(dir)));
    }
    if top
        .as_ref()
        .is_some_and(|f| f.1.kind() != io::ErrorKind::NotFound)
    {
        failed = top;
    }
    // A service directory, else a log service directory (`SERVICE/log`,
    // whose service is the parent).
    let svc = dir.to_path_buf();
    let parent = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let mut tries = vec![(svc.join("log"), svc.clone())];
    if let Some(p) = parent.filter(|_| !svc.join("log").is_dir()) {
        tries.push((svc.clone(), p));
    }
    for (log, owner) in &tries {
        if let Some(d) = logger_dir(log) {
            if note(&d, &mut failed) {
                return Ok((d, last_name(owner)));
            }
        }
    }
    for (log, owner) in &tries {
        let main = log.join("main");
        if note(&main, &mut failed) {
            return Ok((main, last_name(owner)));
        }
    }
    let (path, e) = failed.unwrap_or_else(|| {
        (
            dir.join(CURRENT),
            io::Error::from_raw_os_error(libc::ENOENT),
        )
    });
    Err(Fatal::new(format!("unable to open {}", path.display()), e))
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

#[cfg(test)]
mod tests {
    use super::full_dir;

    fn pick(script: &[&str]) -> Option<String> {
        let v: Vec<&[u8]> = script.iter().map(|s| s.as_bytes()).collect();
        full_dir(&v).map(|d| String::from_utf8_lossy(d).into_owned())
    }

    #[test]
    fn the_directory_that_gets_every_line() {
        let p = |s: &[&str]| pick(s);
        assert_eq!(p(&["t", "./main"]).as_deref(), Some("./main"));
        assert_eq!(
            p(&["t", "./main", "-*", "+*ERR*", "./errors"]).as_deref(),
            Some("./main")
        );
        assert_eq!(
            p(&[
                "t",
                "-*",
                "+*ERR*",
                "./errors",
                "+*",
                "s100",
                "/var/log/all"
            ])
            .as_deref(),
            Some("/var/log/all")
        );
        // None gets every line: the first.
        assert_eq!(
            p(&["-*debug*", "./a", "~-x", "./b"]).as_deref(),
            Some("./a")
        );
        assert_eq!(p(&["e", "=status", "!proc", "t"]), None);
        assert_eq!(p(&["~-^x", "+*", "./c"]).as_deref(), Some("./c"));
    }
}
