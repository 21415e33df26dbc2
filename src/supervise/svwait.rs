//! `svwait [-u|-U|-d|-D] [-t ms] [-a|-o] DIR...`: wait until services are
//! up, up and ready, down, or down with `finish` done. The options and exit
//! codes are s6-svwait's; no counterpart in daemontools.
//!
//! It never polls. Each `DIR/supervise` is watched with inotify
//! (`IN_MOVED_TO`, `IN_CLOSE_WRITE`: supervise renames `status` and
//! `extstatus` into place), and `DIR/supervise/ok` is held open for
//! writing: when supervise exits, the FIFO loses its reader and `poll`
//! reports `POLLERR` on that descriptor. After every wake-up all the
//! directories are read again, so no order of events can be missed; the
//! watch is set up before the first read.
//!
//! Exit codes: 0 the condition holds (at once if it already does); 99
//! timed out; 100 usage; 102 supervise is not running in a DIR, or
//! stopped before the condition held; 111 a system call failed; N (1–98)
//! with `-u`/`-U`: N services went down for good (`finish` exited 125) so
//! the condition can no longer hold. No DIR: exit 0 at once, as s6-svwait.
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
use crate::djb::getopt::Getopt;
use crate::djb::scan::scan_ulong;
use crate::error::{self, usage, Fatal, Kind, EXIT_TEMP};
use crate::sys::cmain::MainArgs;
use crate::sys::outlive;
use crate::sys::signals::Sigpipe;

const PROG: &str = "svwait";
const USAGE: &str = "svwait [ -u | -U | -d | -D ] [ -t ms ] [ -a | -o ] dir ...";

/// Exit code when the time limit passed.
pub const EXIT_TIMEOUT: u8 = 99;
/// Exit code when supervise is not running or stopped.
pub const EXIT_SUPERVISE_GONE: u8 = 102;
/// The largest permanent-failure count reported as an exit code.
const MAX_FAILED: usize = 98;

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// The state waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// `-u`: up (a pid in `status`).
    Up,
    /// `-U`: up and ready.
    Ready,
    /// `-d`: down.
    Down,
    /// `-D`: down and `finish` not running.
    Finished,
}

impl Want {
    /// Does `o` satisfy this?
    #[must_use]
    pub(crate) fn holds(self, o: &Observed) -> bool {
        match self {
            Want::Up => o.up(),
            Want::Ready => o.ready(),
            Want::Down => !o.up(),
            Want::Finished => !o.up() && !o.finishing(),
        }
    }

    /// Can `o` never satisfy this (down for good while waiting for up)?
    #[must_use]
    pub(crate) fn hopeless(self, o: &Observed) -> bool {
        matches!(self, Want::Up | Want::Ready) && o.permanent_failure()
    }
}

/// The verdict on a set of observations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Keep waiting.
    Wait,
    /// Exit with this code.
    Exit(u8),
}

/// `-a` (all, `any == false`) or `-o` (one): is the wait over?
#[must_use]
pub(crate) fn judge(want: Want, any: bool, seen: &[Observed]) -> Verdict {
    let holding = seen.iter().filter(|o| want.holds(o)).count();
    let failed = seen.iter().filter(|o| want.hopeless(o)).count();
    let done = if any {
        holding > 0 || seen.is_empty()
    } else {
        holding == seen.len()
    };
    if done {
        return Verdict::Exit(0);
    }
    let lost = if any {
        failed == seen.len()
    } else {
        failed > 0
    };
    if lost {
        // `failed` > 0 here; capped below the codes with other meanings.
        return Verdict::Exit(u8::try_from(failed.min(MAX_FAILED)).unwrap_or(1));
    }
    Verdict::Wait
}

struct Opts {
    want: Want,
    any: bool,
    timeout: Option<Duration>,
    dirs: Vec<OsString>,
}

fn parse(args: &[OsString]) -> Result<Opts, u8> {
    let mut g = Getopt::new(args, "uUdDaot:");
    let (mut want, mut any, mut timeout) = (Want::Up, false, None);
    while let Some(o) = g.next_opt() {
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
                    return Err(usage(PROG, USAGE));
                }
                // s6-svwait: 0 means no time limit.
                timeout = (v != 0).then(|| Duration::from_millis(v));
            }
            Ok(_) => return Err(usage(PROG, USAGE)),
            Err(e) => {
                e.print(args);
                return Err(usage(PROG, USAGE));
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

/// Set up the watches and open every directory; `Err` is the exit code.
fn watch(dirs: &[OsString], ino: &OwnedFd) -> Result<Vec<Watched>, u8> {
    let mut out = Vec::with_capacity(dirs.len());
    for name in dirs {
        let dir = observe::open_dir_at(rustix::fs::CWD, name.as_os_str())
            .map_err(|e| fail(b"unable to open ", name, e).report(PROG))?;
        let mut sup = name.as_bytes().to_vec();
        sup.extend_from_slice(b"/supervise");
        let flags = inotify::WatchFlags::MOVED_TO | inotify::WatchFlags::CLOSE_WRITE;
        match inotify::add_watch(ino, sup.as_slice(), flags) {
            Ok(_) => {}
            Err(Errno::NOENT) => return Err(gone(name)),
            Err(e) => return Err(fail(b"unable to watch ", name, e).report(PROG)),
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
    let ino = match inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC) {
        Ok(fd) => fd,
        Err(e) => return Fatal::new("unable to initialise inotify", e).report(PROG),
    };
    let code = wait_with(o, &ino);
    // Closing the watches costs the kernel a grace period (8-20 ms): let a
    // child pay it after our exit (see `sys::outlive`).
    outlive::hand_over(ino.as_fd());
    code
}

fn wait_with(o: &Opts, ino: &OwnedFd) -> u8 {
    let ws = match watch(&o.dirs, ino) {
        Ok(ws) => ws,
        Err(code) => return code,
    };
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
                Some(left) if !left.is_zero() => Some(timespec(left)),
                _ => {
                    error::say(PROG, Kind::Fatal, &[b"timed out"], None);
                    return EXIT_TIMEOUT;
                }
            },
        };
        let mut fds = Vec::with_capacity(ws.len() + 1);
        fds.push(PollFd::new(ino, PollFlags::IN));
        // No events asked for: only POLLERR (reader gone) wakes us.
        fds.extend(ws.iter().map(|w| PollFd::new(&w.ok, PollFlags::empty())));
        match poll(&mut fds, left.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Fatal::new("unable to poll", e).report(PROG),
        }
        let dead = fds[1..]
            .iter()
            .position(|f| f.revents().intersects(PollFlags::ERR | PollFlags::HUP));
        drain(ino);
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
    use crate::supervise::extstatus::ExtStatus;
    use crate::supervise::status::Status;
    use crate::tai64::Tai64N;

    fn o(pid: u32, ext: Option<ExtStatus>) -> Observed {
        Observed {
            status: Status {
                when: Tai64N::from_unix(1000, 500),
                pid,
                paused: false,
                want: b'u',
            },
            ext,
            notifies: true,
        }
    }

    #[test]
    fn all_one_and_permanent_failures() {
        let pf = Some(ExtStatus {
            permanent_failure: true,
            ..ExtStatus::default()
        });
        let (up, down, dead) = (o(7, None), o(0, None), o(0, pf));
        assert_eq!(judge(Want::Up, false, &[up, up]), Verdict::Exit(0));
        assert_eq!(judge(Want::Up, false, &[up, down]), Verdict::Wait);
        assert_eq!(judge(Want::Up, true, &[up, down]), Verdict::Exit(0));
        assert_eq!(judge(Want::Down, false, &[down, dead]), Verdict::Exit(0));
        assert_eq!(judge(Want::Up, false, &[up, dead]), Verdict::Exit(1));
        assert_eq!(judge(Want::Ready, false, &[dead, dead]), Verdict::Exit(2));
        assert_eq!(judge(Want::Up, true, &[down, dead]), Verdict::Wait);
        assert_eq!(judge(Want::Up, true, &[dead, dead]), Verdict::Exit(2));
        assert_eq!(judge(Want::Up, true, &[]), Verdict::Exit(0));
        let many = vec![dead; 300];
        assert_eq!(judge(Want::Up, false, &many), Verdict::Exit(98));
    }

    #[test]
    fn finished_needs_finish_done() {
        let fin = Some(ExtStatus {
            finishing: true,
            ..ExtStatus::default()
        });
        assert!(Want::Down.holds(&o(0, fin)));
        assert!(!Want::Finished.holds(&o(0, fin)));
        assert!(Want::Finished.holds(&o(0, None)));
        assert!(!Want::Finished.holds(&o(3, None)));
    }

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
    }
}
