//! `svwait [-u|-U|-d|-D] [-t ms] [-a|-o] DIR...`: wait until services are
//! up, up and ready, down, or down with `finish` done. The options and exit
//! codes are s6-svwait's; no counterpart in daemontools.
//!
//! It does not poll. Each `DIR/supervise` is watched with inotify
//! (`IN_MOVED_TO`, `IN_CLOSE_WRITE`: supervise renames `status` and
//! `extstatus` into place), one instance for all of them, and
//! `DIR/supervise/ok` is held open for writing: when supervise exits, the
//! FIFO loses its reader and `poll` reports `POLLERR` on that descriptor.
//! After every wake-up all the directories are read again, so no order of
//! events can be missed; the watch is set up before the first read. When
//! inotify is not to be had (the per-user limits on instances or watches,
//! EMFILE or ENOSPC), svwait says so and reads them every 200 ms instead.
//!
//! Exit codes: 0 the condition holds (at once if it already does); 99
//! timed out; 100 usage (an unknown option, long ones included: `--`
//! alone ends the options); 102 supervise is not running in a DIR, or
//! stopped before the condition held; 111 a system call failed; N (1–98)
//! with `-u`/`-U`: N services went down for good (`finish` exited 125) so
//! the condition can no longer hold. No DIR: exit 0 at once, as s6-svwait.
//! `--help` and `--version` print to stdout and exit 0 ([`crate::cli`]).
//!
//! Differences from s6-svwait: a directory without supervise running fails
//! at once (102) instead of waiting for one; without `supervise/extstatus`
//! (daemontools' supervise) `-U` means `-u` and `-D` means `-d`.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::inotify;
use rustix::io::Errno;

use super::observe::{self, Observed, StatusError};
use judge::{judge, Verdict, Want};

mod judge;
use crate::cli::Cli;
use crate::djb::getopt::Getopt;
use crate::djb::scan::scan_ulong;
use crate::error::{self, Fatal, Kind, EXIT_TEMP};
use crate::sys::cmain::MainArgs;
use crate::sys::outlive;
use crate::sys::signals::Sigpipe;

const PROG: &str = "svwait";
const USAGE: &str = "svwait [ -u | -U | -d | -D ] [ -t ms ] [ -a | -o ] dir ...";

/// Exit code when the time limit passed.
pub const EXIT_TIMEOUT: u8 = 99;
/// Exit code when supervise is not running or stopped.
pub const EXIT_SUPERVISE_GONE: u8 = 102;
/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

struct Opts {
    want: Want,
    any: bool,
    timeout: Option<Duration>,
    dirs: Vec<OsString>,
}

/// svwait's command line, for `--help` and its usage errors.
pub(crate) const CLI: Cli = Cli {
    prog: PROG,
    usage: USAGE,
    options: &[
        ("-u", "wait until every service is up (the default)"),
        ("-U", "wait until up and ready (notification-fd)"),
        ("-d", "wait until down"),
        ("-D", "wait until down with ./finish done"),
        (
            "-t ms",
            "give up after ms milliseconds (exit 99); 0: no limit",
        ),
        ("-a", "wait for all of the services (the default)"),
        ("-o", "wait for one of them"),
        ("--help", "print this help and exit"),
        ("--version", "print the version and exit"),
    ],
};

fn parse(args: &[OsString]) -> Result<Opts, u8> {
    let mut g = Getopt::new(args, "uUdDaot:");
    let (mut want, mut any, mut timeout) = (Want::Up, false, None);
    loop {
        let before = g.optind();
        let Some(o) = g.next_opt() else {
            // djb's getopt ends the options at any word starting with `--`
            // and drops it, so `svwait --down DIR` would wait for up: only
            // `--` itself may end them.
            if let Some(w) = Cli::ended_options(args, before, g.optind()) {
                return Err(CLI.long_option(w));
            }
            break;
        };
        match o {
            Ok((b'u', _)) => want = Want::Up,
            Ok((b'U', _)) => want = Want::Ready,
            Ok((b'd', _)) => want = Want::Down,
            Ok((b'D', _)) => want = Want::Finished,
            Ok((b'a', _)) => any = false,
            Ok((b'o', _)) => any = true,
            Ok((_, Some(ms))) => {
                let ms = ms.as_bytes();
                let (n, v) = scan_ulong(ms);
                if n == 0 || n != ms.len() {
                    return Err(CLI.usage_why(&[b"-t: not a number of milliseconds: ", ms]));
                }
                // s6-svwait: 0 means no time limit.
                timeout = (v != 0).then(|| Duration::from_millis(v));
            }
            Ok(_) => return Err(CLI.usage()),
            Err(e) => {
                e.print(args);
                return Err(CLI.usage());
            }
        }
    }
    Ok(Opts {
        want,
        any,
        timeout,
        dirs: args.get(g.optind()..).unwrap_or_default().to_vec(),
    })
}

/// One directory being watched.
struct Watched {
    name: OsString,
    dir: OwnedFd,
    /// The write end of `supervise/ok`: `POLLERR` once supervise is gone.
    ok: OwnedFd,
}

fn fail(what: &[u8], name: &OsString, e: Errno) -> Fatal {
    let mut w = what.to_vec();
    w.extend_from_slice(name.as_bytes());
    Fatal::new(w, e)
}

fn gone(name: &OsString) -> u8 {
    error::say(
        PROG,
        Kind::Fatal,
        &[b"supervise not running in ", name.as_bytes()],
        None,
    );
    EXIT_SUPERVISE_GONE
}

/// How often the directories are read again when inotify is not to be
/// had: its instances are counted per user (128 by default, shared with
/// svscan and `svlog -f`), so many svwaits at once can run out of them.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// `svwait: warning: unable to WHAT, polling every 200 ms: REASON`.
fn warn_polling(what: &[u8], e: Errno) {
    error::say(
        PROG,
        Kind::Warning,
        &[b"unable to ", what, b", polling every 200 ms: "],
        Some(error::reason_errno(e)),
    );
}

/// The inotify instance of this process (one for every DIR), or none:
/// then the directories are read every [`POLL_INTERVAL`].
fn inotify_instance() -> Option<OwnedFd> {
    match inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC) {
        Ok(fd) => Some(fd),
        // EMFILE: the per-user limit on instances (or on descriptors).
        Err(e) => {
            warn_polling(b"initialise inotify", e);
            None
        }
    }
}

/// Set up the watches on the one instance `ino` and open every directory;
/// `Err` is the exit code. When the per-user limit on watches is reached
/// (ENOSPC), `ino` is dropped and the caller polls.
fn watch(dirs: &[OsString], ino: &mut Option<OwnedFd>) -> Result<Vec<Watched>, u8> {
    let mut out = Vec::with_capacity(dirs.len());
    for name in dirs {
        let dir = observe::open_dir_at(rustix::fs::CWD, name.as_os_str())
            .map_err(|e| fail(b"unable to open ", name, e).report(PROG))?;
        let mut sup = name.as_bytes().to_vec();
        sup.extend_from_slice(b"/supervise");
        if let Some(fd) = ino.as_ref() {
            let flags = inotify::WatchFlags::MOVED_TO | inotify::WatchFlags::CLOSE_WRITE;
            match inotify::add_watch(fd, sup.as_slice(), flags) {
                Ok(_) => {}
                Err(Errno::NOENT) => return Err(gone(name)),
                Err(e @ (Errno::NOSPC | Errno::NOMEM)) => {
                    warn_polling(b"watch with inotify", e);
                    *ino = None;
                }
                Err(e) => return Err(fail(b"unable to watch ", name, e).report(PROG)),
            }
        }
        let ok = match observe::open_ok_at(&dir) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::NXIO) => return Err(gone(name)),
            Err(e) => return Err(fail(b"unable to open supervise/ok in ", name, e).report(PROG)),
        };
        out.push(Watched {
            name: name.clone(),
            dir,
            ok,
        });
    }
    Ok(out)
}

/// Read every directory's records.
fn look(ws: &[Watched]) -> Result<Vec<Observed>, u8> {
    let mut v = Vec::with_capacity(ws.len());
    for w in ws {
        match observe::observe(&w.dir) {
            Ok(o) => v.push(o),
            Err(StatusError::Sys(e)) => {
                return Err(fail(b"unable to read supervise/status in ", &w.name, e).report(PROG))
            }
            Err(StatusError::BadFormat) => {
                error::say(
                    PROG,
                    Kind::Fatal,
                    &[
                        b"unable to read supervise/status in ",
                        w.name.as_bytes(),
                        b": ",
                    ],
                    Some("bad format"),
                );
                return Err(EXIT_TEMP);
            }
        }
    }
    Ok(v)
}

/// Drain the inotify queue (the events only say "look again").
fn drain(ino: &OwnedFd) {
    let mut buf = [0u8; 4096];
    while matches!(rustix::io::read(ino, &mut buf), Ok(n) if n > 0) {}
}

fn timespec(d: Duration) -> rustix::time::Timespec {
    rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

fn wait(o: &Opts) -> u8 {
    let mut ino = inotify_instance();
    let code = wait_with(o, &mut ino);
    if let Some(fd) = &ino {
        // Closing the watches costs the kernel a grace period (8-20 ms):
        // let a child pay it after our exit (see `sys::outlive`; svwait
        // starts no thread).
        outlive::hand_over_if_single_threaded(fd.as_fd());
    }
    code
}

fn wait_with(o: &Opts, ino: &mut Option<OwnedFd>) -> u8 {
    let ws = match watch(&o.dirs, ino) {
        Ok(ws) => ws,
        Err(code) => return code,
    };
    let ino = ino.as_ref();
    let deadline = o.timeout.map(|t| Instant::now() + t);
    loop {
        let seen = match look(&ws) {
            Ok(s) => s,
            Err(code) => return code,
        };
        if let Verdict::Exit(code) = judge(o.want, o.any, &seen) {
            return code;
        }
        let left = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => {
                    error::say(PROG, Kind::Fatal, &[b"timed out"], None);
                    return EXIT_TIMEOUT;
                }
            },
        };
        // Without inotify, look again after a while.
        let left = match (ino, left) {
            (Some(_), l) => l,
            (None, l) => Some(l.map_or(POLL_INTERVAL, |l| l.min(POLL_INTERVAL))),
        };
        let mut fds = Vec::with_capacity(ws.len() + 1);
        fds.extend(ino.map(|fd| PollFd::new(fd, PollFlags::IN)));
        let first_ok = fds.len();
        // No events asked for: only POLLERR (reader gone) wakes us.
        fds.extend(ws.iter().map(|w| PollFd::new(&w.ok, PollFlags::empty())));
        match poll(&mut fds, left.map(timespec).as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Fatal::new("unable to poll", e).report(PROG),
        }
        let dead = fds[first_ok..]
            .iter()
            .position(|f| f.revents().intersects(PollFlags::ERR | PollFlags::HUP));
        if let Some(fd) = ino {
            drain(fd);
        }
        if let Some(i) = dead {
            // Its last status (written before it exited) may satisfy us.
            let seen = match look(&ws) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if let Verdict::Exit(code) = judge(o.want, o.any, &seen) {
                return code;
            }
            return gone(&ws[i].name);
        }
    }
}

/// Entry point of the `svwait` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let o = match parse(&main.argv) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if o.dirs.is_empty() {
        return 0;
    }
    wait(&o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let p = parse(&a(&["svwait", "-U", "-o", "-t", "250", "x", "y"]))
            .ok()
            .unwrap();
        assert_eq!(p.want, Want::Ready);
        assert!(p.any);
        assert_eq!(p.timeout, Some(Duration::from_millis(250)));
        assert_eq!(p.dirs.len(), 2);
        let p = parse(&a(&["svwait", "-dD", "-oa", "-t0", "x"]))
            .ok()
            .unwrap();
        assert_eq!((p.want, p.any, p.timeout), (Want::Finished, false, None));
        let p = parse(&a(&["svwait", "-d", "--", "--x"])).ok().unwrap();
        assert_eq!((p.want, p.dirs), (Want::Down, a(&["--x"])));
        for bad in [
            &["svwait", "--down", "x"][..],
            &["svwait", "-d", "--down", "x"],
            &["svwait", "-t", "5", "--helpx"],
            &["svwait", "-ud", "--timeout=5", "x"],
            &["svwait", "-q", "x"],
        ] {
            assert_eq!(parse(&a(bad)).err(), Some(100), "{bad:?}");
        }
        // --version answers (to stdout) and ends the program with 0.
        let v = parse(&a(&["svwait", "-t", "5", "--version", "x"]));
        assert_eq!(v.err(), Some(0));
    }
}
