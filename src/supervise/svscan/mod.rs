//! `svscan [DIR]`: start a supervise for every service directory (ports
//! `svscan.c`).
//!
//! Each scan reaps exited supervise processes, reads the directory, skips
//! dot-names, `stat`s each name following symlinks and identifies services by
//! (device, inode). A new service gets a log pipe if `NAME/log` exists (any
//! type). svscan holds both ends of every log pipe for as long as the entry
//! lives, so no line is lost when either supervise restarts. At most
//! [`SERVICES`] entries. Entries are forgotten only when they have vanished
//! *and* both their supervise processes have exited.
//!
//! Differences from daemontools (see docs/supervise.md):
//! * Besides the scan every 5 seconds, svscan watches DIR with inotify
//!   ([`watch`]) and looks at a name moved or linked in at once.
//! * A *new* directory that is still being built in place (made by `mkdir`
//!   in DIR, or changed less than [`GRACE`] ago when no event told how it
//!   came) is started only once it is complete (`run` executable, and
//!   `log/run` executable or `log` not a directory) or [`GRACE`] old,
//!   whichever comes first; meanwhile it is looked at every [`POLL`].
//! * An entry without a log whose main supervise is not running gets its log
//!   pipe when `NAME/log` has appeared, before the supervise is restarted.
//! * Event-triggered full scans are rate-limited ([`watch::Limiter`]).
//! * `supervise` is the one beside svscan's own executable when there is
//!   one there, else the first in `$PATH` ([`supervise_candidates`]).
//!
//! If inotify is unavailable svscan silently falls back to polling.

mod engine;
mod start;
pub(crate) mod table;
mod watch;

pub(crate) use engine::Svscan;
use table::{Entry, Table};

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::WaitOptions;

use crate::error::{self, reason_errno, Fatal, Kind};
use crate::sys::cmain::MainArgs;
use crate::sys::pathexec::{self, CStrArray};
use crate::sys::signals::Sigpipe;
use crate::sys::spawn;

use super::servicedir::{LOG, RUN};

const PROG: &str = "svscan";
/// Maximum number of services (`SERVICES` in svscan.c).
pub(crate) const SERVICES: usize = 1000;
/// Time between periodic scans (`sleep(5)` in svscan.c). Tests may
/// shorten it with `DTOOLS_TEST_SVSCAN_RESCAN_MS`.
pub(crate) const RESCAN: Duration = Duration::from_secs(5);
/// How long a directory built in place may stay incomplete before it is
/// started anyway, as daemontools' next scan would have.
pub(crate) const GRACE: Duration = Duration::from_secs(5);
/// How often directories waiting for completion are looked at (per 16 of
/// them).
pub(crate) const POLL: Duration = Duration::from_millis(20);

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Why [`Scanner::start`] looks at a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The first scan: every directory is started, as daemontools does.
    Initial,
    /// A later full scan: new directories still being built wait.
    Scan,
    /// Moved or linked in (inotify): started at once. A failing `stat` is
    /// left for the next full scan to report.
    Placed,
    /// A directory waiting for completion: silently dropped once gone.
    Waiting,
}

struct Scanner {
    /// The program name in messages (`svscan`, or `svinit` running this
    /// loop).
    prog: &'static str,
    table: Table,
    supervise: Vec<CString>,
    /// The environment to run supervise with (svscan's own `envp`).
    envp: CStrArray,
    /// New directories being built in place, with the time at which they
    /// are started whether complete or not.
    waiting: HashMap<OsString, Instant>,
    /// Start each supervise in a session of its own (`setsid`), away from
    /// the terminal's signals: svinit's choice; svscan, as daemontools,
    /// leaves them in its own process group.
    setsid: bool,
    /// A child whose exit status the owner wants (svinit's `prog`), 0 for
    /// none; [`Scanner::reap`] keeps its status in `kept`.
    keep: i32,
    /// The status of `keep`, once reaped.
    kept: Option<rustix::process::WaitStatus>,
    /// The last [`Scanner::reap`] found no child at all (ECHILD).
    childless: bool,
}

/// If the directory changed (ctime) less than [`GRACE`] ago, how long until
/// it is [`GRACE`] old. Used for directories no inotify event announced.
fn young(st: &rustix::fs::Stat) -> Option<Duration> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let secs = u64::try_from(st.st_ctime).ok()?;
    let nanos = u32::try_from(st.st_ctime_nsec).ok()?;
    // A ctime in the future counts as "just now".
    let age = now
        .checked_sub(Duration::new(secs, nanos.min(999_999_999)))
        .unwrap_or_default();
    GRACE.checked_sub(age).filter(|d| !d.is_zero())
}

fn executable(path: &[u8]) -> bool {
    rustix::fs::stat(OsStr::from_bytes(path))
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_mode & 0o111 != 0)
}

/// Is the service directory `fn_` complete: `run` executable, and `log`
/// present, either not a directory or with an executable `log/run`?
fn complete(fn_: &[u8]) -> bool {
    if !executable(&cat(&[fn_, b"/", RUN.text.as_bytes()])) {
        return false;
    }
    match rustix::fs::stat(OsStr::from_bytes(&cat(&[fn_, b"/", LOG.text.as_bytes()]))) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => executable(&cat(&[
            fn_,
            b"/",
            LOG.text.as_bytes(),
            b"/",
            RUN.text.as_bytes(),
        ])),
        Ok(_) => true,
        Err(_) => false,
    }
}

impl Scanner {
    fn warn(&self, parts: &[&[u8]], e: Option<Errno>) {
        error::say(self.prog, Kind::Warning, parts, e.map(reason_errno));
    }

    /// [`Scanner::warn`] for an [`io::Error`].
    fn warn_io(&self, parts: &[&[u8]], e: &io::Error) {
        error::say(self.prog, Kind::Warning, parts, Some(error::reason(e)));
    }

    fn direrror(&self, e: &io::Error) {
        self.warn_io(&[b"unable to read directory: "], e);
    }

    /// Should the new directory `name` wait (still being built)? Records
    /// it in `waiting` if so.
    fn defer(&mut self, name: &OsStr, st: &rustix::fs::Stat) -> bool {
        let now = Instant::now();
        let until = match self.waiting.get(name) {
            Some(&t) => t,
            None if self.waiting.len() < SERVICES => match young(st) {
                Some(left) => now + left,
                None => return false,
            },
            None => return false,
        };
        if now >= until || complete(name.as_bytes()) {
            return false;
        }
        self.waiting.insert(name.to_owned(), until);
        true
    }

    /// An inotify event about `name`.
    fn event(&mut self, name: &OsStr, arrival: watch::Arrival) {
        match arrival {
            watch::Arrival::Made => {
                self.waiting.insert(name.to_owned(), Instant::now() + GRACE);
                self.start(name, Mode::Waiting);
            }
            watch::Arrival::Placed => {
                self.waiting.remove(name);
                self.start(name, Mode::Placed);
            }
        }
    }

    /// Look at every directory waiting for completion.
    fn check_waiting(&mut self) {
        let names: Vec<OsString> = self.waiting.keys().cloned().collect();
        for n in names {
            self.start(&n, Mode::Waiting);
        }
    }

    /// Reap every child that has exited, without waiting. `wait_nohang`
    /// in svscan.c: any child (-1), also a supervise that left svscan's
    /// process group (waitpid(0) would leave it a zombie and its service
    /// never restarted), and, under svinit, every orphan.
    fn reap(&mut self) {
        loop {
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, st))) => {
                    let pid = pid.as_raw_nonzero().get();
                    self.childless = false;
                    if pid == self.keep {
                        self.kept = Some(st);
                    }
                    self.table.reaped(pid);
                }
                Err(Errno::INTR) => {}
                Err(Errno::CHILD) => {
                    self.childless = true;
                    break;
                }
                Ok(None) => {
                    self.childless = false;
                    break;
                }
                Err(_) => break,
            }
        }
    }

    /// `doit`: one scan.
    fn doit(&mut self, mode: Mode) {
        self.reap();
        for e in &mut self.table.x {
            e.active = false;
        }
        let dir = match std::fs::read_dir(".") {
            Ok(d) => d,
            Err(e) => return self.direrror(&e),
        };
        for ent in dir {
            match ent {
                Ok(ent) => self.start(&ent.file_name(), mode),
                Err(e) => return self.direrror(&e),
            }
        }
        self.table.prune();
    }
}

/// The periodic rescan interval: [`RESCAN`], or `DTOOLS_TEST_SVSCAN_RESCAN_MS`
/// milliseconds if set (for tests; daemontools has no such knob).
fn rescan_interval() -> Duration {
    std::env::var("DTOOLS_TEST_SVSCAN_RESCAN_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map_or(RESCAN, Duration::from_millis)
}

/// [`POLL`] per 16 waiting directories, so that many of them cost no more
/// than a few.
fn poll_every(waiting: usize) -> Duration {
    POLL * u32::try_from(1 + waiting / 16).unwrap_or(u32::MAX)
}

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Where `supervise` is looked for, in order: beside svscan's own
/// executable (the directory of `/proc/self/exe`) when an executable
/// `supervise` is there, then `$PATH` as svscan.c's `pathexec_run` does.
/// Without the first, an svscan run from a build tree that is not in
/// `$PATH` would silently start another installation's supervise, which
/// ignores this project's extension files. Computed once, before any
/// `fork`, so the child only has to try each in turn.
fn supervise_candidates(envp: &[CString]) -> Vec<CString> {
    let mut v = Vec::new();
    if let Some(dir) = std::fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("supervise")))
    {
        if rustix::fs::access(&dir, rustix::fs::Access::EXEC_OK).is_ok() {
            v.extend(CString::new(dir.into_os_string().into_vec()).ok());
        }
    }
    v.extend(pathexec::candidates_env(OsStr::new("supervise"), envp));
    v
}

/// Entry point of the `svscan` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args = main.argv;
    if let Some(dir) = args.get(1) {
        if let Err(e) = rustix::process::chdir(dir.as_os_str()) {
            return Fatal::new(format!("unable to chdir to {}", dir.to_string_lossy()), e)
                .report(PROG);
        }
    }
    let mut sv = Svscan::new(PROG, main.envp, false);
    sv.begin();
    loop {
        sv.turn(None, None);
    }
}
