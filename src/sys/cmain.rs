//! The C entry point for the supervision programs.
//!
//! std's runtime start-up sets SIGPIPE to ignored (which `exec` would pass on
//! to `./run` and every service below svscan, unlike daemontools; the
//! entry macros apply each program's own policy,
//! [`Sigpipe`](super::signals::Sigpipe)), installs
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
    pub(crate) argv: Vec<OsString>,
    /// The `envp` entries, in order (including any without `=`).
    pub(crate) envp: Vec<CString>,
    last_arg: Option<LastArg>,
}

impl MainArgs {
    /// Arguments and environment given explicitly (for tests); there is no
    /// argv memory to rewrite, so [`MainArgs::take_last_arg`] gives `None`.
    #[must_use]
    pub(crate) fn new(argv: Vec<OsString>, envp: Vec<CString>) -> MainArgs {
        MainArgs {
            argv,
            envp,
            last_arg: None,
        }
    }

    /// The arguments from std (`std::env::args_os`) and the environment
    /// the process started with ([`super::pathexec::environ`]), for the
    /// programs that keep std's `main` ([`std_main!`](crate::std_main)).
    #[must_use]
    pub fn from_std() -> MainArgs {
        MainArgs::new(
            std::env::args_os().collect(),
            super::pathexec::environ().to_vec(),
        )
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
    pub(crate) fn take_last_arg(&mut self) -> Option<LastArg> {
        self.last_arg.take()
    }
}

/// Define the C `main` of a `#![no_main]` binary for the program module
/// `$m`: applies `$m::SIGPIPE` ([`crate::sys::signals::sigpipe`]), then
/// calls `$m::run(MainArgs) -> u8`.
#[macro_export]
macro_rules! c_main {
    ($($m:ident)::+) => {
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
            $crate::sys::cmain::abort_on_panic();
            $crate::sys::signals::sigpipe($($m)::+::SIGPIPE);
            ::core::ffi::c_int::from($($m)::+::run(args))
        }
    };
}

/// A panic (a bug) ends the whole process at once with SIGABRT, after the
/// usual message, in whichever thread it happens: no thread dies alone
/// leaving the others waiting on it, and nothing unwinds into code that
/// assumed it would not. This is `panic = "abort"` done at run time: the
/// release profile cannot say it, because the test harness needs
/// unwinding and cargo then builds every dependency twice, once for the
/// programs and once for the tests.
pub fn abort_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::abort();
    }));
}

/// Define `fn main` of a binary with std's runtime for the program module
/// `$m`: applies `$m::SIGPIPE` ([`crate::sys::signals::sigpipe`]), then
/// calls `$m::run(MainArgs) -> u8` with [`MainArgs::from_std`].
#[macro_export]
macro_rules! std_main {
    ($($m:ident)::+) => {
        /// Entry point.
        fn main() -> ::std::process::ExitCode {
            $crate::sys::cmain::abort_on_panic();
            $crate::sys::signals::sigpipe($($m)::+::SIGPIPE);
            let args = $crate::sys::cmain::MainArgs::from_std();
            ::std::process::ExitCode::from($($m)::+::run(args))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// argv and envp come from `main`'s parameters, not from std (which has
    /// nothing without its own `main` on musl).
    #[test]
    fn copies_mains_parameters() {
        let mut a0 = *b"prog\0";
        let mut a1 = *b"-x\0";
        let mut a2 = *b"area.\0";
        let argv = [
            a0.as_mut_ptr().cast::<c_char>(),
            a1.as_mut_ptr().cast(),
            a2.as_mut_ptr().cast(),
            std::ptr::null_mut(),
        ];
        let envp = [c"A=1".as_ptr(), c"NOEQ".as_ptr(), std::ptr::null()];
        // SAFETY: both arrays are NULL-terminated arrays of NUL-terminated
        // strings, argv's writable, all outliving `m`; nothing else uses them.
        let mut m = unsafe { MainArgs::from_c_main(3, argv.as_ptr(), envp.as_ptr()) };
        assert_eq!(m.argv, ["prog", "-x", "area."]);
        assert_eq!(m.envp, [c"A=1".to_owned(), c"NOEQ".to_owned()]);
        let mut last = m.take_last_arg().unwrap();
        assert!(m.take_last_arg().is_none());
        assert_eq!(last.len(), 5);
        last.set(b"...hi");
        assert_eq!(&a2, b"...hi\0");
        // SAFETY: a null envp and argc 0 are accepted.
        let m = unsafe { MainArgs::from_c_main(0, argv.as_ptr(), std::ptr::null()) };
        assert!(m.argv.is_empty() && m.envp.is_empty());
    }

    /// The C-main programs read their arguments from the `MainArgs` they are
    /// given (the test harness's own argv would give other answers).
    #[test]
    fn programs_use_the_given_argv() {
        let run = |f: fn(MainArgs) -> u8, args: &[&str]| {
            f(MainArgs::new(
                args.iter().map(OsString::from).collect(),
                Vec::new(),
            ))
        };
        let svok = crate::supervise::svok::run;
        assert_eq!(run(svok, &["svok"]), 100);
        assert_eq!(run(svok, &["svok", "/nonexistent/dir"]), 111);
        let rpt = crate::supervise::readproctitle::run;
        assert_eq!(run(rpt, &["readproctitle"]), 100);
        // No argv memory to rewrite without a C main.
        assert_eq!(run(rpt, &["readproctitle", "area......"]), 100);
    }
}
