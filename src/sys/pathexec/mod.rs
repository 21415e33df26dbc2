//! Exec with djb's `$PATH` search and environment edits.
//!
//! Ports `pathexec_run.c:pathexec_run` and `pathexec_env.c:pathexec_env/pathexec`.
//!
//! * [`pathexec`] execs `argv[0]` (searched in `$PATH`) with a given
//!   environment after applying queued [`EnvEdits`] (none: `pathexec_run`).
//!   It returns only on failure, with the error daemontools would report.
//! * [`Exec`] does the same in two steps: [`Exec::new`] allocates everything
//!   (candidate paths, `argv`, `envp`, owned as [`CStrArray`]s), and
//!   [`Exec::exec`] only calls `execve(2)`, so it may run between `fork` and
//!   `exec`.
//! * The environment is always passed explicitly (djb's `envp`): the C-main
//!   programs use the `envp` of their `main`, the others [`environ`], a copy
//!   of the environment made before `main`.
//! * [`restore_startup_fds`] undoes what Rust's runtime does to closed fds
//!   0–2 before `main` (it opens `/dev/null` on them), and
//!   [`startup_sigpipe_ignored`] reports the `SIGPIPE` disposition from before
//!   the runtime set it, so that a child inherits exactly what the
//!   daemontools program itself inherited.
//!
//! The search rules (spec §1.3): a name containing `/` is exec'd directly.
//! Otherwise each `:`-separated element of `$PATH` (read from the given
//! environment, not the edited one; `/bin:/usr/bin` when unset) is tried,
//! an empty element meaning `.`. `ENOENT` moves on; `EACCES`, `EPERM` and
//! `EISDIR` are remembered and the search goes on; any other error stops it.
//! The error returned is the last remembered one, or `ENOENT`.
//!
//! Layout: this file holds [`Exec`], [`CStrArray`] and the `execve` calls;
//! `path` the `$PATH` search (the candidates and the error to report), `env`
//! the environment ([`EnvEdits`], `env_get`, the copy behind [`environ`]),
//! and `startup` the constructor that records the start-up state before
//! `main`. Everything is re-exported here.
//!
//! # Differences from daemontools
//! None intended. An argument containing a NUL byte (impossible in a real
//! `argv`) fails with `EINVAL` instead of being cut short.

mod env;
mod path;
mod startup;

use std::ffi::{c_char, CStr, CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;

use env::env_get;
pub(crate) use env::environ;
pub use env::EnvEdits;
pub(crate) use path::candidates_env;
use path::{candidates, search};
pub(crate) use startup::{restore_startup_fds, startup_sigpipe_ignored};

/// An owned, NULL-terminated array of C strings: an `argv` or `envp` for
/// `execve(2)`. The pointer array is built from strings this value owns, so
/// it can never dangle; building it allocates, using it does not.
#[derive(Debug)]
pub(crate) struct CStrArray {
    #[allow(dead_code)] // never read outside tests: it owns what `ptrs` points at
    strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStrArray {
    /// Take ownership of `strings` and build the pointer array.
    #[must_use]
    pub(crate) fn new(strings: Vec<CString>) -> CStrArray {
        // A `CString`'s bytes live in their own heap allocation, so moving
        // the strings (or this value) does not move what `ptrs` points at.
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStrArray { strings, ptrs }
    }

    /// Copy byte strings; `EINVAL` if one contains a NUL byte.
    ///
    /// # Errors
    /// `EINVAL` for an interior NUL.
    pub(crate) fn from_bytes<I, B>(items: I) -> io::Result<CStrArray>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let strings = items
            .into_iter()
            .map(|b| cstring(b.as_ref()))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(CStrArray::new(strings))
    }

    /// The strings, in order.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn strings(&self) -> &[CString] {
        &self.strings
    }

    fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }
}

/// A prepared exec: everything allocated up front, so that [`Exec::exec`]
/// makes no allocation and may run in a forked child.
#[derive(Debug)]
pub(crate) struct Exec {
    candidates: Vec<CString>,
    argv: CStrArray,
    envp: CStrArray,
}

fn cstring(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Exec {
    /// Prepare `argv` (`argv[0]` is the program, searched in the `$PATH` of
    /// `env`) to run with the environment `env` after applying `edits`.
    ///
    /// # Errors
    /// `EINVAL` for an empty `argv` or an argument containing NUL.
    pub(crate) fn new(argv: &[OsString], env: &[CString], edits: &EnvEdits) -> io::Result<Exec> {
        let Some(file) = argv.first() else {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        };
        let current: Vec<&[u8]> = env.iter().map(|c| c.to_bytes()).collect();
        let path = env_get(&current, b"PATH");
        let candidates = candidates(file.as_bytes(), path)
            .iter()
            .map(|c| cstring(c))
            .collect::<io::Result<Vec<_>>>()?;
        let argv = CStrArray::from_bytes(argv.iter().map(|a| a.as_bytes()))?;
        let envp = if edits.is_empty() {
            CStrArray::new(env.to_vec())
        } else {
            CStrArray::from_bytes(edits.apply(&current))?
        };
        Ok(Exec {
            candidates,
            argv,
            envp,
        })
    }

    /// The environment the program will get.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn envp(&self) -> &[CString] {
        self.envp.strings()
    }

    /// Try each candidate with `execve(2)`; returns only on failure, with the
    /// error `pathexec_run` leaves in `errno`. Makes no allocation.
    #[must_use]
    pub(crate) fn exec(&self) -> io::Error {
        search(&self.candidates, |c| execve(c, &self.argv, &self.envp))
    }
}

/// `execve` each candidate with `argv` and `envp` under djb's errno rules;
/// returns only on failure, with the errno to report. Allocation-free, so
/// usable in a forked child.
#[must_use]
pub(crate) fn exec_candidates(cands: &[CString], argv: &CStrArray, envp: &CStrArray) -> i32 {
    search(cands, |c| execve(c, argv, envp))
        .raw_os_error()
        .unwrap_or(libc::ENOENT)
}

/// `pathexec`: exec `argv` through `$PATH` with `edits` applied to the
/// environment `env`. Returns only on failure.
#[must_use]
pub(crate) fn pathexec(argv: &[OsString], env: &[CString], edits: &EnvEdits) -> io::Error {
    match Exec::new(argv, env, edits) {
        Ok(e) => e.exec(),
        Err(e) => e,
    }
}

fn execve(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> io::Error {
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NULL-terminated
    // arrays of pointers into C strings they own, alive for the call.
    unsafe {
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    io::Error::last_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    /// `Exec::new` takes `$PATH` and the base environment from the `env` it
    /// is given (not the process's), applying the edits to it.
    #[test]
    fn exec_uses_the_given_environment() {
        let env = [
            c"PATH=/p1:".to_owned(),
            c"NOEQ".to_owned(),
            c"A=1".to_owned(),
        ];
        let argv = [OsString::from("prog"), OsString::from("x")];
        let e = Exec::new(&argv, &env, &EnvEdits::new()).unwrap();
        assert_eq!(e.candidates, [c"/p1/prog".to_owned(), c"./prog".to_owned()]);
        assert_eq!(e.argv.strings(), [c"prog".to_owned(), c"x".to_owned()]);
        assert_eq!(e.envp(), env);
        let mut ed = EnvEdits::new();
        ed.unset(OsStr::new("PATH"));
        ed.set(OsStr::new("B"), OsStr::new("2"));
        let e = Exec::new(&argv, &env, &ed).unwrap();
        assert_eq!(e.candidates[0].as_c_str(), c"/p1/prog");
        assert_eq!(
            e.envp(),
            [c"A=1".to_owned(), c"NOEQ".to_owned(), c"B=2".to_owned()]
        );
        assert!(Exec::new(&[], &env, &EnvEdits::new()).is_err());
    }

    /// The pointer array of a `CStrArray` is NULL-terminated and points at
    /// the strings it owns, wherever the value moves.
    #[test]
    fn cstr_array_owns_what_it_points_at() {
        let a = CStrArray::from_bytes([&b"a"[..], b"bc"]).unwrap();
        let moved = Box::new(a);
        let p = moved.as_ptr();
        // SAFETY: `p` is the NULL-terminated array of `moved`, alive here.
        let strs: Vec<&CStr> = unsafe {
            (0..3)
                .map_while(|i| (!(*p.add(i)).is_null()).then(|| CStr::from_ptr(*p.add(i))))
                .collect()
        };
        assert_eq!(strs, [c"a", c"bc"]);
        assert!(CStrArray::from_bytes([&b"a\0b"[..]]).is_err());
    }
}
