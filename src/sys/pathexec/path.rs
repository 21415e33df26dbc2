//! djb's `$PATH` search (`pathexec_run.c`): the paths to try for a
//! program, and which `execve` error to report.
//!
//! The rules are in the [parent module](super).

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

use super::env::env_get;

/// The directories and the error to report: djb's loop over `$PATH`.
///
/// `exec` is called with each candidate path and returns the error of the
/// failed `execve`. Used by [`Exec::exec`](super::Exec::exec); public so the rules can be tested
/// without executing anything.
pub(crate) fn search<T, F>(candidates: &[T], mut exec: F) -> io::Error
where
    F: FnMut(&T) -> io::Error,
{
    let mut saved: Option<io::Error> = None;
    for c in candidates {
        let err = exec(c);
        match err.raw_os_error() {
            Some(libc::ENOENT) => {}
            Some(libc::EACCES | libc::EPERM | libc::EISDIR) => saved = Some(err),
            _ => return err,
        }
    }
    saved.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}

/// The paths `pathexec_run` tries for `file` given `$PATH` (`None` = unset).
#[must_use]
pub(crate) fn candidates(file: &[u8], path: Option<&[u8]>) -> Vec<Vec<u8>> {
    if file.contains(&b'/') {
        return vec![file.to_vec()];
    }
    let path = path.unwrap_or(b"/bin:/usr/bin");
    path.split(|&b| b == b':')
        .map(|dir| {
            let mut p = if dir.is_empty() {
                b".".to_vec()
            } else {
                dir.to_vec()
            };
            p.push(b'/');
            p.extend_from_slice(file);
            p
        })
        .collect()
}

/// Candidates for `file` under the `$PATH` of `env`, as C strings, prepared
/// before a `fork` so the child can exec without allocating.
#[must_use]
pub(crate) fn candidates_env(file: &OsStr, env: &[CString]) -> Vec<CString> {
    let env: Vec<&[u8]> = env.iter().map(|c| c.to_bytes()).collect();
    candidates(file.as_bytes(), env_get(&env, b"PATH"))
        .into_iter()
        .filter_map(|c| CString::new(c).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(n: i32) -> io::Error {
        io::Error::from_raw_os_error(n)
    }

    #[test]
    fn candidates_follow_djb() {
        assert_eq!(candidates(b"a/b", Some(b"/x")), vec![b"a/b".to_vec()]);
        assert_eq!(
            candidates(b"ls", None),
            vec![b"/bin/ls".to_vec(), b"/usr/bin/ls".to_vec()]
        );
        assert_eq!(
            candidates(b"ls", Some(b":/x:")),
            vec![b"./ls".to_vec(), b"/x/ls".to_vec(), b"./ls".to_vec()]
        );
        assert_eq!(candidates(b"ls", Some(b"")), vec![b"./ls".to_vec()]);
        assert_eq!(candidates(b"", Some(b"/bin")), vec![b"/bin/".to_vec()]);
    }

    #[test]
    fn search_remembers_and_stops() {
        let run = |errs: &[i32]| search(errs, |&e| err(e)).raw_os_error().unwrap();
        assert_eq!(run(&[]), libc::ENOENT);
        assert_eq!(run(&[libc::ENOENT, libc::ENOENT]), libc::ENOENT);
        assert_eq!(run(&[libc::EACCES, libc::ENOENT]), libc::EACCES);
        assert_eq!(
            run(&[libc::EACCES, libc::EISDIR, libc::ENOENT]),
            libc::EISDIR
        );
        assert_eq!(
            run(&[libc::EACCES, libc::ENOEXEC, libc::EPERM]),
            libc::ENOEXEC
        );
        let mut tried = 0;
        let _ = search(&[libc::E2BIG, libc::ENOENT], |&e| {
            tried += 1;
            err(e)
        });
        assert_eq!(tried, 1);
    }
}
