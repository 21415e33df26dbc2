//! The C entry point for the supervision programs.
//!
//! std's runtime start-up sets SIGPIPE to ignored (which `exec` would pass on
//! to `./run` and every service below svscan, unlike daemontools), installs
//! stack-overflow handlers and reads `/proc/self/maps`, which costs resident
//! memory in every one of possibly hundreds of supervise processes. These
//! binaries therefore use `#![no_main]` and [`c_main!`](crate::c_main): signal
//! dispositions are inherited unchanged, as with daemontools' C programs.
//! Buffered stdout is **not** flushed at exit: the programs flush explicitly.
//!
//! Without std's `main`, `std::env::args_os` is empty on libcs that do not
//! pass `argc, argv` to constructors (musl), so the arguments and the
//! environment are taken from `main`'s own parameters and copied into a
//! [`MainArgs`] at entry; the programs exec with that `envp`.

use std::ffi::{c_char, c_int, CStr, CString, OsString};
use std::os::unix::ffi::OsStringExt;

use super::proctitle::LastArg;

/// What the C `main` was given, copied at entry.
#[derive(Debug)]
pub struct MainArgs {
    /// `argv[0..argc]`.
    pub argv: Vec<OsString>,
    /// The `envp` entries, in order (including any without `=`).
    pub envp: Vec<CString>,
    last_arg: Option<LastArg>,
}

impl MainArgs {
    /// Arguments and environment given explicitly (for tests); there is no
    /// argv memory to rewrite, so [`MainArgs::take_last_arg`] gives `None`.
    #[must_use]
    pub fn new(argv: Vec<OsString>, envp: Vec<CString>) -> MainArgs {
        MainArgs {
            argv,
            envp,
            last_arg: None,
        }
    }

    /// Copy `main`'s parameters.
    ///
    /// # Safety
    /// `argv` must be the `argv` of the C `main`: `argc` pointers to
    /// NUL-terminated, writable strings that live for the whole process,
    /// followed by NULL; `envp` must be null or a NULL-terminated array of
    /// NUL-terminated strings, unchanged during the call. Call it at most
    /// once per process, and do not let anything else write the last
    /// argument string, or read it (e.g. `std::env::args_os` from another
    /// thread) while the [`LastArg`] from [`MainArgs::take_last_arg`] is being
    /// written. [`c_main!`](crate::c_main) does all this.
    pub unsafe fn from_c_main(
        argc: c_int,
        argv: *const *mut c_char,
        envp: *const *const c_char,
    ) -> MainArgs {
        let n = if argv.is_null() {
            0
        } else {
            usize::try_from(argc).unwrap_or(0)
        };
        let argv_copy = (0..n)
            .map_while(|i| {
                // SAFETY: `argv` has `argc` entries (contract); `i < argc`.
                let p = unsafe { *argv.add(i) };
                // SAFETY: a non-null entry is a NUL-terminated string.
                (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
            })
            .map(|s| OsString::from_vec(s.to_bytes().to_vec()))
            .collect();
        let mut env = Vec::new();
        if !envp.is_null() {
            let mut p = envp;
            // SAFETY: `envp` is a NULL-terminated array of NUL-terminated
            // strings (contract); each is copied, and `p` never goes past
            // the terminating NULL.
            unsafe {
                while !(*p).is_null() {
                    env.push(CStr::from_ptr(*p).to_owned());
                    p = p.add(1);
                }
            }
        }
        // SAFETY: `argv` is main's argv (contract), this is the only call,
        // so the only `LastArg`, and the caller keeps the other promises.
        let last_arg = unsafe { LastArg::from_argv(argc, argv) };
        MainArgs {
            argv: argv_copy,
            envp: env,
            last_arg,
        }
    }

    /// The writer for the last argument string in the process's own argv
    /// memory (readproctitle); `None` with fewer than two arguments, without
    /// a C `main`, or if already taken.
    pub fn take_last_arg(&mut self) -> Option<LastArg> {
        self.last_arg.take()
    }
}

/// Define the C `main` of a `#![no_main]` binary calling
/// `$run(MainArgs) -> u8`.
#[macro_export]
macro_rules! c_main {
    ($run:path) => {
        /// C entry point.
        // SAFETY: the binary is `#![no_main]`, so this is the only `main`
        // symbol, and its signature is C's `int main(int, char **, char **)`.
        #[unsafe(no_mangle)]
        extern "C" fn main(
            argc: ::core::ffi::c_int,
            argv: *const *mut ::core::ffi::c_char,
            envp: *const *const ::core::ffi::c_char,
        ) -> ::core::ffi::c_int {
            // SAFETY: these are the C `main`'s own parameters, as libc passed
            // them (argv and envp NULL-terminated, argv's strings writable
            // for the whole process); this is the only call, made before the
            // program could start a thread.
            let args = unsafe { $crate::sys::cmain::MainArgs::from_c_main(argc, argv, envp) };
            ::core::ffi::c_int::from($run(args))
        }
    };
}
