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
//!
//! If inotify is unavailable svscan silently falls back to polling.

mod watch;

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
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
/// shorten it with `DTOOLS_SVSCAN_RESCAN_MS`.
pub(crate) const RESCAN: Duration = Duration::from_secs(5);
/// How long a directory built in place may stay incomplete before it is
/// started anyway, as daemontools' next scan would have.
pub(crate) const GRACE: Duration = Duration::from_secs(5);
/// How often directories waiting for completion are looked at (per 16 of
/// them).
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// One service: identity, supervise pids and the log pipe.
#[derive(Debug)]
pub(crate) struct Entry {
    /// `st_dev` of the directory.
    pub(crate) dev: u64,
    /// `st_ino` of the directory.
    pub(crate) ino: u64,
    /// Pid of the main supervise, 0 if none.
    pub(crate) pid: i32,
    /// Pid of the log supervise, 0 if none.
    pub(crate) pidlog: i32,
    /// Seen in the current scan.
    pub(crate) active: bool,
    /// Read and write ends of the log pipe, if the service has a log.
    pub(crate) log: Option<(OwnedFd, OwnedFd)>,
}

/// The service table.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// The entries, in no particular order.
    pub(crate) x: Vec<Entry>,
}

/// Why a new entry could not be added.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// Already [`SERVICES`] entries.
    TooMany,
}

impl Table {
    /// Index of the entry for (dev, ino).
    #[must_use]
    pub(crate) fn find(&self, dev: u64, ino: u64) -> Option<usize> {
        self.x.iter().position(|e| e.ino == ino && e.dev == dev)
    }

    /// Check that a new entry fits.
    ///
    /// # Errors
    /// [`Full::TooMany`] at [`SERVICES`] entries.
    pub(crate) fn room(&self) -> Result<(), Full> {
        if self.x.len() >= SERVICES {
            Err(Full::TooMany)
        } else {
            Ok(())
        }
    }

    /// Clear the pid or log pid equal to `pid` (after it was reaped).
    pub(crate) fn reaped(&mut self, pid: i32) {
        for e in &mut self.x {
            if e.pid == pid {
                e.pid = 0;
                return;
            }
            if e.pidlog == pid {
                e.pidlog = 0;
                return;
            }
        }
    }

    /// Drop entries that vanished and have no supervise running (closing
    /// their pipe ends).
    pub(crate) fn prune(&mut self) {
        self.x.retain(|e| e.active || e.pid != 0 || e.pidlog != 0);
    }
}

fn warn(parts: &[&[u8]], e: Option<Errno>) {
    error::say(PROG, Kind::Warning, parts, e.map(reason_errno));
}

/// [`warn`] for an [`io::Error`].
fn warn_io(parts: &[&[u8]], e: &io::Error) {
    error::say(PROG, Kind::Warning, parts, Some(error::reason(e)));
}

/// A warning prefix built before `fork`, for the child to complete.
fn child_warning(parts: &[&[u8]]) -> Vec<u8> {
    error::prefix(PROG, Kind::Warning, parts)
}

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
    table: Table,
    supervise: Vec<CString>,
    /// The environment to run supervise with (svscan's own `envp`).
    envp: CStrArray,
    /// New directories being built in place, with the time at which they
    /// are started whether complete or not.
    waiting: HashMap<OsString, Instant>,
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

    /// `NAME/log` exists (any type)? `Err` on a `stat` error other than
    /// ENOENT (svscan.c's check in `start`).
    fn has_log(fn_: &[u8]) -> Result<bool, Errno> {
        if fn_.len() > 255 {
            return Ok(false);
        }
        match rustix::fs::stat(OsStr::from_bytes(&cat(&[fn_, b"/", LOG.text.as_bytes()]))) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// An entry without a log and without a running main supervise whose
    /// `log` has appeared since: create the pipe now, so the supervise about
    /// to be started writes into it. (svscan.c decides only once.)
    fn relog(&mut self, i: usize, fn_: &[u8]) {
        let e = &self.table.x[i];
        if e.log.is_some() || e.pid != 0 || !matches!(Self::has_log(fn_), Ok(true)) {
            return;
        }
        match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
            Ok(p) => self.table.x[i].log = Some(p),
            Err(e) => warn(&[b"unable to create pipe for ", fn_, b": "], Some(e)),
        }
    }

    /// `start`: handle one directory entry.
    fn start(&mut self, name: &OsStr, mode: Mode) {
        let fn_ = name.as_bytes();
        if fn_.first() == Some(&b'.') {
            return;
        }
        let st = match rustix::fs::stat(name) {
            Ok(st) => st,
            Err(e) => {
                self.waiting.remove(name);
                if matches!(mode, Mode::Placed | Mode::Waiting) {
                    return;
                }
                return warn(&[b"unable to stat ", fn_, b": "], Some(e));
            }
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            self.waiting.remove(name);
            return;
        }
        let (dev, ino) = (st.st_dev, st.st_ino);
        let i = match self.table.find(dev, ino) {
            Some(i) => {
                self.waiting.remove(name);
                self.relog(i, fn_);
                i
            }
            None => {
                if matches!(mode, Mode::Scan | Mode::Waiting) && self.defer(name, &st) {
                    return;
                }
                self.waiting.remove(name);
                if self.table.room().is_err() {
                    return warn(
                        &[b"unable to start ", fn_, b": running too many services"],
                        None,
                    );
                }
                let flaglog = match Self::has_log(fn_) {
                    Ok(f) => f,
                    Err(e) => {
                        return warn(
                            &[b"unable to stat ", fn_, b"/", LOG.text.as_bytes(), b": "],
                            Some(e),
                        )
                    }
                };
                let log = if flaglog {
                    match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            return warn(&[b"unable to create pipe for ", fn_, b": "], Some(e));
                        }
                    }
                } else {
                    None
                };
                self.table.x.push(Entry {
                    dev,
                    ino,
                    pid: 0,
                    pidlog: 0,
                    active: false,
                    log,
                });
                self.table.x.len() - 1
            }
        };
        self.table.x[i].active = true;
        let arg0 = c"supervise";
        let Ok(cname) = CString::new(fn_) else { return };
        if self.table.x[i].pid == 0 {
            let setup = child_warning(&[b"unable to set up descriptors for ", fn_, b": "]);
            let exec_err = child_warning(&[b"unable to start supervise ", fn_, b": "]);
            let argv = CStrArray::new(vec![arg0.to_owned(), cname.clone()]);
            let plan = spawn::ChildPlan {
                fd_move: self.table.x[i]
                    .log
                    .as_ref()
                    .map(|(_, w)| (1, w.as_raw_fd(), setup.as_slice())),
                ..spawn::ChildPlan::new(&self.supervise, &argv, &self.envp, &exec_err)
            };
            match spawn::spawn(&plan) {
                Ok(pid) => self.table.x[i].pid = pid,
                Err(e) => return warn_io(&[b"unable to fork for ", fn_, b": "], &e),
            }
        }
        if self.table.x[i].log.is_some() && self.table.x[i].pidlog == 0 {
            let setup = child_warning(&[
                b"unable to set up descriptors for ",
                fn_,
                b"/",
                LOG.text.as_bytes(),
                b": ",
            ]);
            let switch = child_warning(&[b"unable to switch to ", fn_, b": "]);
            let exec_err = child_warning(&[
                b"unable to start supervise ",
                fn_,
                b"/",
                LOG.text.as_bytes(),
                b": ",
            ]);
            let argv = CStrArray::new(vec![arg0.to_owned(), LOG.path.to_owned()]);
            let plan = spawn::ChildPlan {
                fd_move: self.table.x[i]
                    .log
                    .as_ref()
                    .map(|(r, _)| (0, r.as_raw_fd(), setup.as_slice())),
                chdir: Some((&cname, &switch)),
                ..spawn::ChildPlan::new(&self.supervise, &argv, &self.envp, &exec_err)
            };
            match spawn::spawn(&plan) {
                Ok(pid) => self.table.x[i].pidlog = pid,
                Err(e) => warn_io(
                    &[
                        b"unable to fork for ",
                        fn_,
                        b"/",
                        LOG.text.as_bytes(),
                        b": ",
                    ],
                    &e,
                ),
            }
        }
    }

    /// `doit`: one scan.
    fn doit(&mut self, mode: Mode) {
        loop {
            match rustix::process::waitpid(None, WaitOptions::NOHANG) {
                Ok(Some((pid, _))) => self.table.reaped(pid.as_raw_nonzero().get()),
                Err(Errno::INTR) => {}
                Ok(None) | Err(_) => break,
            }
        }
        for e in &mut self.table.x {
            e.active = false;
        }
        let dir = match std::fs::read_dir(".") {
            Ok(d) => d,
            Err(e) => return direrror(&e),
        };
        for ent in dir {
            match ent {
                Ok(ent) => self.start(&ent.file_name(), mode),
                Err(e) => return direrror(&e),
            }
        }
        self.table.prune();
    }
}

fn direrror(e: &io::Error) {
    warn_io(&[b"unable to read directory: "], e);
}

/// The periodic rescan interval: [`RESCAN`], or `DTOOLS_SVSCAN_RESCAN_MS`
/// milliseconds if set (for tests; daemontools has no such knob).
fn rescan_interval() -> Duration {
    std::env::var("DTOOLS_SVSCAN_RESCAN_MS")
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
    let mut s = Scanner {
        table: Table::default(),
        supervise: pathexec::candidates_env(OsStr::new("supervise"), &main.envp),
        envp: CStrArray::new(main.envp),
        waiting: HashMap::new(),
    };
    let rescan = rescan_interval();
    let notify = watch::watch();
    let mut limiter = watch::Limiter::default();
    // An event batch asked for a full scan (waits for `limiter`).
    let mut wanted = false;
    s.doit(Mode::Initial);
    let mut next = Instant::now() + rescan;
    let mut next_poll = Instant::now();
    // svscan.c's main loop is `doit(); sleep(5);`; this one also serves
    // inotify batches, rate-limited full scans and waiting directories.
    loop {
        let now = Instant::now();
        if now >= next {
            s.doit(Mode::Scan);
            wanted = false;
            next = Instant::now() + rescan;
            continue;
        }
        if wanted && now >= limiter.ready_at(now) {
            s.doit(Mode::Scan);
            limiter.note(now);
            wanted = false;
            continue;
        }
        if !s.waiting.is_empty() && now >= next_poll {
            s.check_waiting();
            next_poll = Instant::now() + poll_every(s.waiting.len());
            continue;
        }
        let mut wake = next;
        if wanted {
            wake = wake.min(limiter.ready_at(now));
        }
        if !s.waiting.is_empty() {
            wake = wake.min(next_poll);
        }
        let Some(fd) = notify.as_ref() else {
            std::thread::sleep(wake - now);
            continue;
        };
        if watch::readable(fd, wake - now) {
            std::thread::sleep(watch::SETTLE);
            let batch = watch::read_batch(fd);
            wanted |= batch.rescan;
            for (name, arrival) in batch.names {
                s.event(&name, arrival);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dev: u64, ino: u64) -> Entry {
        Entry {
            dev,
            ino,
            pid: 0,
            pidlog: 0,
            active: true,
            log: None,
        }
    }

    #[test]
    fn table_cap_and_identity() {
        let mut t = Table::default();
        for i in 0..SERVICES as u64 {
            assert_eq!(t.room(), Ok(()));
            t.x.push(entry(1, i));
        }
        assert_eq!(t.room(), Err(Full::TooMany));
        assert_eq!(t.find(1, 999), Some(999));
        assert_eq!(t.find(2, 999), None);
    }

    #[test]
    fn prune_keeps_running_supervise() {
        let mut t = Table::default();
        for i in 0..4 {
            t.x.push(entry(1, i));
        }
        for e in &mut t.x {
            e.active = false;
        }
        t.x[1].pid = 10;
        t.x[2].pidlog = 11;
        t.x[3].active = true;
        t.prune();
        let inos: Vec<u64> = t.x.iter().map(|e| e.ino).collect();
        assert_eq!(inos, vec![1, 2, 3]);
        t.reaped(10);
        t.reaped(11);
        for e in &mut t.x {
            e.active = false;
        }
        t.prune();
        assert!(t.x.is_empty());
    }
}
