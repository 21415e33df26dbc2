//! The environment: djb's queued edits (`pathexec_env.c`), `env_get`, and
//! the copy of `environ` made at start-up.

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

use super::startup::CAPTURE_STARTUP;

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

/// djb's `env_get`: the value of the first entry named `name`.
pub(super) fn env_get<'a>(env: &[&'a [u8]], name: &[u8]) -> Option<&'a [u8]> {
    env.iter().find_map(|e| {
        (e.len() > name.len() && e.starts_with(name) && e[name.len()] == b'=')
            .then(|| &e[name.len() + 1..])
    })
}

// ---- The environment at start-up ------------------------------------------

/// The entries of `environ` as they were before `main`, see [`environ`];
/// filled in by [`super::startup`].
pub(super) static STARTUP_ENV: OnceLock<Vec<CString>> = OnceLock::new();

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
pub(super) unsafe fn read_environ() -> Vec<CString> {
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
/// ([`crate::sys::cmain::MainArgs`]).
#[must_use]
pub(crate) fn environ() -> &'static [CString] {
    // Referencing the constructor keeps its object file in the link.
    let _ = std::hint::black_box(CAPTURE_STARTUP);
    STARTUP_ENV.get().map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

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
