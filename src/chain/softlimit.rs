//! `softlimit [-acdflmoprst N] CHILD...`: run CHILD with lowered (or
//! raised, up to the hard limit) soft resource limits.
//!
//! Ports `softlimit.c`. Each option is applied as soon as it is parsed, in
//! command-line order: `getrlimit`, then `setrlimit` with only the soft
//! limit changed. The argument `=` means "the hard limit"; otherwise it must
//! be decimal digits (none at all means 0; djb's `scan_ulong` wraps modulo
//! 2^64 on overflow), and a value above the hard limit is clamped to it.
//! `-m` sets DATA, STACK, MEMLOCK and AS; `-a` sets AS; `-o` sets NOFILE.
//!
//! # Differences from daemontools
//! None known. (`RLIMIT_VMEM` does not exist on Linux; `RLIMIT_OFILE` is
//! `RLIMIT_NOFILE` there, so setting it once is the same.)

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use rustix::process::{Resource, Rlimit};

use super::prologue::{die, exec_or_die, start, usage};
use crate::djb::getopt::Getopt;
use crate::djb::scan::scan_ulong;
use crate::error::{EXIT_TEMP, EXIT_USAGE};
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "softlimit";
const USAGE: &str = "softlimit [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child";

/// The new soft limit for argument `arg` given the hard limit `max`
/// (`u64::MAX` = infinity), or `None` if `arg` is not a number.
#[must_use]
pub(crate) fn new_soft(arg: &[u8], max: u64) -> Option<u64> {
    if arg == b"=" {
        return Some(max);
    }
    let (n, v) = scan_ulong(arg);
    (n == arg.len()).then_some(v.min(max))
}

/// The resources an option letter sets, in daemontools' order.
#[must_use]
pub(crate) fn resources(opt: u8) -> &'static [Resource] {
    match opt {
        b'a' => &[Resource::As],
        b'c' => &[Resource::Core],
        b'd' => &[Resource::Data],
        b'f' => &[Resource::Fsize],
        b'l' => &[Resource::Memlock],
        b'm' => &[
            Resource::Data,
            Resource::Stack,
            Resource::Memlock,
            Resource::As,
        ],
        b'o' => &[Resource::Nofile],
        b'p' => &[Resource::Nproc],
        b'r' => &[Resource::Rss],
        b's' => &[Resource::Stack],
        b't' => &[Resource::Cpu],
        _ => &[],
    }
}

enum Failed {
    Usage,
    Exit(u8),
}

/// `doit`: set one resource's soft limit from `arg`.
fn doit(resource: Resource, arg: &OsStr) -> Result<(), Failed> {
    let lim = rustix::process::getrlimit(resource);
    let max = lim.maximum.unwrap_or(u64::MAX);
    let cur = new_soft(arg.as_bytes(), max).ok_or(Failed::Usage)?;
    let new = Rlimit {
        current: (cur != u64::MAX).then_some(cur),
        maximum: lim.maximum,
    };
    rustix::process::setrlimit(resource, new).map_err(|e| {
        Failed::Exit(die(
            PROG,
            &[b"setrlimit failed: "],
            Some(&e.into()),
            EXIT_TEMP,
        ))
    })
}

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    let mut g = Getopt::new(args, "a:c:d:f:l:m:o:p:r:s:t:");
    while let Some(opt) = g.next_opt() {
        match opt {
            Ok((c, Some(arg))) => {
                for &r in resources(c) {
                    match doit(r, arg) {
                        Ok(()) => {}
                        Err(Failed::Usage) => return usage(PROG, USAGE, EXIT_USAGE),
                        Err(Failed::Exit(code)) => return code,
                    }
                }
            }
            Ok((_, None)) => return usage(PROG, USAGE, EXIT_USAGE),
            Err(e) => {
                e.print(args);
                return usage(PROG, USAGE, EXIT_USAGE);
            }
        }
    }
    let rest = args.get(g.optind()..).unwrap_or_default();
    if rest.is_empty() {
        return usage(PROG, USAGE, EXIT_USAGE);
    }
    exec_or_die(PROG, rest, &EnvEdits::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(new_soft(b"", 100), Some(0));
        assert_eq!(new_soft(b"=", 100), Some(100));
        assert_eq!(new_soft(b"=", u64::MAX), Some(u64::MAX));
        assert_eq!(new_soft(b"50", 100), Some(50));
        assert_eq!(new_soft(b"500", 100), Some(100));
        assert_eq!(new_soft(b"10k", 100), None);
        assert_eq!(new_soft(b"-1", 100), None);
        assert_eq!(new_soft(b" 1", 100), None);
        assert_eq!(new_soft(b"==", 100), None);
        assert_eq!(new_soft(b"18446744073709551616", u64::MAX), Some(0));
        assert_eq!(new_soft(b"18446744073709551615", 7), Some(7));
    }
}
