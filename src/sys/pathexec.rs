//! Exec with a PATH search (ports `pathexec_run.c:pathexec_run`, spec §1.3).
//!
//! * A name containing `/` is exec'd directly.
//! * Otherwise each `:`-separated element of `$PATH` (default
//!   `/bin:/usr/bin`; an empty element means `.`) is tried in order. ENOENT
//!   moves on silently; EACCES, EPERM and EISDIR are remembered and the search
//!   goes on; any other error stops the search at once.
//! * On failure the remembered errno (or ENOENT) is returned.
//!
//! The candidate list is built before `fork`, so the child side
//! ([`exec_candidates`]) allocates nothing and is async-signal-safe.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// The PATH used when `$PATH` is unset.
pub const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The full names `pathexec_run` would try for `file`, in order.
#[must_use]
pub fn candidates(file: &[u8], path: Option<&[u8]>) -> Vec<CString> {
    let mk = |v: Vec<u8>| CString::new(v).unwrap_or_default();
    if file.contains(&b'/') {
        return vec![mk(file.to_vec())];
    }
    path.unwrap_or(DEFAULT_PATH)
        .split(|&c| c == b':')
        .map(|dir| {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let mut v = Vec::with_capacity(dir.len() + 1 + file.len());
            v.extend_from_slice(dir);
            v.push(b'/');
            v.extend_from_slice(file);
            mk(v)
        })
        .collect()
}

/// Candidates for `file` under the current `$PATH`.
#[must_use]
pub fn candidates_env(file: &OsStr) -> Vec<CString> {
    let path = std::env::var_os("PATH");
    candidates(file.as_bytes(), path.as_ref().map(|p| p.as_bytes()))
}

/// The search itself: `execv` each candidate with the current environment,
/// applying djb's errno rules. Returns only on failure, with the errno to
/// report. `argv` must be a NULL-terminated array of valid C strings.
/// Allocation-free and async-signal-safe.
#[must_use]
pub fn exec_candidates(cands: &[CString], argv: &[*const libc::c_char]) -> i32 {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()));
    let mut saved = 0;
    for c in cands {
        // SAFETY: `c` is a valid C string and `argv` a NULL-terminated array of
        // valid C strings (caller's contract, checked above in debug builds).
        unsafe { libc::execv(c.as_ptr(), argv.as_ptr()) };
        let e = errno();
        if e != libc::ENOENT {
            saved = e;
            if e != libc::EACCES && e != libc::EPERM && e != libc::EISDIR {
                return e;
            }
        }
    }
    if saved == 0 {
        libc::ENOENT
    } else {
        saved
    }
}

/// `pathexec_run(file, args, environ)`: search PATH and exec; returns the
/// error only if nothing could be exec'd. `args[0]` is usually `file`.
pub fn pathexec_run(file: &OsStr, args: &[&OsStr]) -> io::Error {
    let cands = candidates_env(file);
    let owned: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let mut argv: Vec<*const libc::c_char> = owned.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    io::Error::from_raw_os_error(exec_candidates(&cands, &argv))
}

fn errno() -> i32 {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: Vec<CString>) -> Vec<String> {
        v.into_iter().map(|c| c.into_string().unwrap()).collect()
    }

    #[test]
    fn search_list() {
        assert_eq!(names(candidates(b"./run", Some(b"/x"))), vec!["./run"]);
        assert_eq!(names(candidates(b"a/b", None)), vec!["a/b"]);
        assert_eq!(
            names(candidates(b"supervise", None)),
            vec!["/bin/supervise", "/usr/bin/supervise"]
        );
        assert_eq!(
            names(candidates(b"sv", Some(b":/a::/b:"))),
            vec!["./sv", "/a/sv", "./sv", "/b/sv", "./sv"]
        );
    }

    #[test]
    fn exec_failure_reports_remembered_errno() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("dir");
        std::fs::create_dir_all(sub.join("prog")).unwrap(); // EACCES (a directory)
        let p = format!("/nonexistent-dir:{}:/nonexistent2", sub.display());
        let cands = candidates(b"prog", Some(p.as_bytes()));
        let arg0 = CString::new("prog").unwrap();
        let argv = [arg0.as_ptr(), std::ptr::null()];
        assert_eq!(exec_candidates(&cands, &argv), libc::EACCES);
        let cands = candidates(b"nope", Some(b"/nonexistent:/also-not"));
        assert_eq!(exec_candidates(&cands, &argv), libc::ENOENT);
    }
}
