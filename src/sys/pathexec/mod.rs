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
//! # Differences from daemontools
//! None intended. An argument containing a NUL byte (impossible in a real
//! `argv`) fails with `EINVAL` instead of being cut short.

use std::ffi::{c_char, CStr, CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// Queued environment edits, djb's `plus` stralloc (`pathexec_env`).
///
/// Each entry is `NAME=value` (set) or `NAME` (unset). At exec time they are
/// applied in order by [`EnvEdits::apply`]: the name is the part before the
/// **first** `=` of the whole entry, so `set("E=Q", "v")` sets `E` to `Q=v`
/// and `unset("E=Q")` sets `E` to `Q`, exactly as daemontools does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvEdits {
    entries: Vec<Vec<u8>>,
}

impl EnvEdits {
    /// No edits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue `name=value` (`pathexec_env(name, value)`).
    pub fn set(&mut self, name: &OsStr, value: &OsStr) {
        let mut e = name.as_bytes().to_vec();
        e.push(b'=');
        e.extend_from_slice(value.as_bytes());
        self.entries.push(e);
    }

    /// Queue the removal of `name` (`pathexec_env(name, 0)`).
    pub fn unset(&mut self, name: &OsStr) {
        self.entries.push(name.as_bytes().to_vec());
    }

    /// True when nothing is queued.
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Apply the edits to an environment (a list of `NAME=value` entries),
    /// the way `pathexec` builds its `envp`.
    ///
    /// For each edit, the first entry whose name matches is removed by moving
    /// the **last** entry into its slot (so the order of the environment
    /// changes, as in daemontools), then the edit is appended if it carries
    /// a `=`.
    #[must_use]
    pub fn apply<'a>(&'a self, env: &[&'a [u8]]) -> Vec<&'a [u8]> {
        let mut e: Vec<&[u8]> = env.to_vec();
        for plus in &self.entries {
            let split = plus.iter().position(|&b| b == b'=').unwrap_or(plus.len());
            let name = &plus[..split];
            if let Some(t) = e
                .iter()
                .position(|v| v.len() > split && v.starts_with(name) && v[split] == b'=')
            {
                e.swap_remove(t);
            }
            if split < plus.len() {
                e.push(plus);
            }
        }
        e
    }
}

/// The directories and the error to report: djb's loop over `$PATH`.
///
/// `exec` is called with each candidate path and returns the error of the
/// failed `execve`. Used by [`Exec::exec`]; public so the rules can be tested
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

/// djb's `env_get`: the value of the first entry named `name`.
fn env_get<'a>(env: &[&'a [u8]], name: &[u8]) -> Option<&'a [u8]> {
    env.iter().find_map(|e| {
        (e.len() > name.len() && e.starts_with(name) && e[name.len()] == b'=')
            .then(|| &e[name.len() + 1..])
    })
}

fn execve(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> io::Error {
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NULL-terminated
    // arrays of pointers into C strings they own, alive for the call.
    unsafe {
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    io::Error::last_os_error()
}

// ---- The environment at start-up ------------------------------------------

/// The entries of `environ` as they were before `main`, see [`environ`].
static STARTUP_ENV: OnceLock<Vec<CString>> = OnceLock::new();

mod c {
    extern "C" {
        pub(super) static environ: *const *const std::ffi::c_char;
    }
}

/// Copy the raw entries of `environ`, in order, including any without `=`.
///
/// # Safety
/// No other thread may change the environment (`setenv`, `putenv`,
/// `std::env::set_var`...) during the call.
unsafe fn read_environ() -> Vec<CString> {
    let mut v = Vec::new();
    // SAFETY: reading the libc global; by the contract nobody writes it now.
    let mut p = unsafe { c::environ };
    if p.is_null() {
        return v;
    }
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings
    // owned by libc, unchanged during the call (contract above); every
    // string is copied before returning, so nothing borrowed outlives it.
    unsafe {
        while !(*p).is_null() {
            v.push(CStr::from_ptr(*p).to_owned());
            p = p.add(1);
        }
    }
    v
}

/// The process environment as it was when the program started, copied
/// before `main` ran (before any thread could exist or change it), with the
/// raw entries in order, including any without `=`.
///
/// This is the environment a daemontools program passes on to what it execs
/// (djb's `environ`): nothing in this crate changes the environment. The
/// programs with a C `main` use the `envp` they were given instead
/// ([`super::cmain::MainArgs`]).
#[must_use]
pub(crate) fn environ() -> &'static [CString] {
    // Referencing the constructor keeps its object file in the link.
    let _ = std::hint::black_box(CAPTURE_STARTUP);
    STARTUP_ENV.get().map_or(&[], Vec::as_slice)
}

// ---- Undoing the Rust runtime's start-up changes --------------------------

const CAPTURED: u8 = 0x80;
const SIGPIPE_IGNORED: u8 = 0x08;

/// Bits 0–2: fd 0–2 was closed at start-up. [`SIGPIPE_IGNORED`]: SIGPIPE was
/// ignored. [`CAPTURED`]: the constructor ran.
static STARTUP: AtomicU8 = AtomicU8::new(0);

extern "C" fn capture_startup() {
    let mut state = CAPTURED;
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            state |= 1 << fd;
        }
    }
    // SAFETY: a zeroed sigaction is a valid out-parameter, and a null `act`
    // makes sigaction only report the current disposition.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &raw mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
        {
            state |= SIGPIPE_IGNORED;
        }
    }
    STARTUP.store(state, Ordering::Relaxed);
    // SAFETY: `.init_array` functions run before `main`, before any Rust code
    // of this program could start a thread or change the environment.
    let _ = STARTUP_ENV.set(unsafe { read_environ() });
}

/// Runs [`capture_startup`] before Rust's runtime initialises (glibc calls
/// `.init_array` entries before `main`), so it sees the inherited state.
#[used]
#[link_section = ".init_array"]
static CAPTURE_STARTUP: extern "C" fn() = capture_startup;

/// Was `SIGPIPE` ignored when the process started (before Rust's runtime
/// set it so)? `false` if the start-up state was not captured. Used by
/// [`super::signals::sigpipe`].
#[must_use]
pub(crate) fn startup_sigpipe_ignored() -> bool {
    // Referencing the constructor keeps its object file in the link.
    let _ = std::hint::black_box(CAPTURE_STARTUP);
    STARTUP.load(Ordering::Relaxed) & SIGPIPE_IGNORED != 0
}

/// Close again the descriptors 0–2 that were closed when this process
/// started (std's runtime opens `/dev/null` on them). Call it first thing in
/// a program that execs, so that descriptors it opens get the numbers djb's
/// program would get and the child inherits the original state. (The
/// `SIGPIPE` disposition is restored by the entry point,
/// [`super::signals::Sigpipe::Inherit`].)
///
/// Descriptors are closed by the first call only.
pub(crate) fn restore_startup_fds() {
    // Referencing the constructor keeps its object file in the link.
    let _ = std::hint::black_box(CAPTURE_STARTUP);
    // Take the fd bits: a second call must not close descriptors that have
    // been reused (and may be owned) since the first.
    let state = STARTUP.fetch_and(!0b111, Ordering::Relaxed);
    if state & CAPTURED != 0 {
        for fd in 0..3 {
            if state & (1 << fd) != 0 {
                // SAFETY: the fd was closed when the process started, so
                // this descriptor is the runtime's /dev/null placeholder,
                // owned by no Rust value (it kept the number from being
                // reused, and this is the only call that sees the bit);
                // std's stdio handles EBADF on it gracefully.
                unsafe {
                    libc::close(fd);
                }
            }
        }
    }
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

    #[test]
    fn edits_swap_remove_and_split_at_first_equals() {
        let env: Vec<&[u8]> = vec![b"A=1", b"UID=5", b"B=2", b"NOEQ"];
        let mut ed = EnvEdits::new();
        ed.set(OsStr::new("GID"), OsStr::new("7"));
        ed.set(OsStr::new("UID"), OsStr::new("8"));
        ed.unset(OsStr::new("NOEQ"));
        ed.unset(OsStr::new("A"));
        let out = ed.apply(&env);
        // UID=5 removed (GID=7 moved in), NOEQ has no `=` so it never
        // matches, then A removed (UID=8 moved in).
        assert_eq!(out, vec![&b"UID=8"[..], b"GID=7", b"B=2", b"NOEQ"]);
        let mut ed = EnvEdits::new();
        ed.set(OsStr::new("E=Q"), OsStr::new("v"));
        ed.unset(OsStr::new("F=R"));
        let out = ed.apply(&[b"E=old", b"F=old"]);
        assert_eq!(out, vec![&b"E=Q=v"[..], b"F=R"]);
    }

    #[test]
    fn env_get_first_match() {
        let env: Vec<&[u8]> = vec![b"PATHX=1", b"PATH", b"PATH=/a", b"PATH=/b"];
        assert_eq!(env_get(&env, b"PATH"), Some(&b"/a"[..]));
        assert_eq!(env_get(&env, b"X"), None);
    }

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

    /// `environ()` is an owned copy of the environment the process started
    /// with (the test harness does not change it).
    #[test]
    fn environ_is_the_startup_environment() {
        let ours: Vec<(OsString, OsString)> = environ()
            .iter()
            .filter_map(|c| {
                let b = c.to_bytes();
                let eq = b.iter().skip(1).position(|&c| c == b'=')? + 1;
                Some((
                    OsStr::from_bytes(&b[..eq]).to_owned(),
                    OsStr::from_bytes(&b[eq + 1..]).to_owned(),
                ))
            })
            .collect();
        let std: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        assert!(!ours.is_empty());
        assert_eq!(ours, std);
    }
}
