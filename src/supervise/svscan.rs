//! `svscan [DIR]`: start a supervise for every service directory (ports
//! `svscan.c`).
//!
//! Each scan reaps exited supervise processes, reads the directory, skips
//! dot-names, `stat`s each name following symlinks and identifies services by
//! (device, inode). A new service gets a log pipe if `NAME/log` exists (any
//! type), decided once. svscan holds both ends of every log pipe for as long
//! as the entry lives, so no line is lost when either supervise restarts.
//! At most [`SERVICES`] entries. Entries are forgotten only when they have
//! vanished *and* both their supervise processes have exited.
//!
//! Differences from daemontools: besides the scan every 5 seconds, svscan
//! watches DIR with inotify and rescans [`SETTLE`] after a name is created or
//! moved in, so a new service starts within a few tens of milliseconds. In
//! those inotify-triggered scans a new directory modified less than
//! [`YOUNG`] ago is left for a rescan [`YOUNG`] later, so that a service
//! created in place (`mkdir s; mkdir s/log`) still gets its log. A directory
//! moved or linked in whole is started at once. If inotify is unavailable
//! svscan silently falls back to polling.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::inotify;
use rustix::io::Errno;
use rustix::process::WaitOptions;

use super::ReportCode;
use crate::error::{emit, reason_errno, Fatal};
use crate::sys::cmain::MainArgs;
use crate::sys::pathexec::{self, CStrArray};
use crate::sys::spawn;

const PROG: &str = "svscan";
/// Maximum number of services (`SERVICES` in svscan.c).
pub const SERVICES: usize = 1000;
/// Time between periodic scans.
pub const RESCAN: Duration = Duration::from_secs(5);
/// Quiet time after an inotify event before scanning.
pub const SETTLE: Duration = Duration::from_millis(20);
/// In scans triggered by inotify, a *new* directory modified less than this
/// long ago is left for a rescan this much later, so that a service being
/// created in place (`mkdir s; mkdir s/log; ...`) is not started before its
/// `log` exists. Periodic scans take every directory, as daemontools does.
pub const YOUNG: Duration = Duration::from_millis(50);

/// One service: identity, supervise pids and the log pipe.
#[derive(Debug)]
pub struct Entry {
    /// `st_dev` of the directory.
    pub dev: u64,
    /// `st_ino` of the directory.
    pub ino: u64,
    /// Pid of the main supervise, 0 if none.
    pub pid: i32,
    /// Pid of the log supervise, 0 if none.
    pub pidlog: i32,
    /// Seen in the current scan.
    pub active: bool,
    /// Read and write ends of the log pipe, if the service has a log.
    pub log: Option<(OwnedFd, OwnedFd)>,
}

/// The service table.
#[derive(Debug, Default)]
pub struct Table {
    /// The entries, in no particular order.
    pub x: Vec<Entry>,
}

/// Why a new entry could not be added.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// Already [`SERVICES`] entries.
    TooMany,
}

impl Table {
    /// Index of the entry for (dev, ino).
    #[must_use]
    pub fn find(&self, dev: u64, ino: u64) -> Option<usize> {
        self.x.iter().position(|e| e.ino == ino && e.dev == dev)
    }

    /// Check that a new entry fits.
    ///
    /// # Errors
    /// [`Full::TooMany`] at [`SERVICES`] entries.
    pub fn room(&self) -> Result<(), Full> {
        if self.x.len() >= SERVICES {
            Err(Full::TooMany)
        } else {
            Ok(())
        }
    }

    /// Clear the pid or log pid equal to `pid` (after it was reaped).
    pub fn reaped(&mut self, pid: i32) {
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
    pub fn prune(&mut self) {
        self.x.retain(|e| e.active || e.pid != 0 || e.pidlog != 0);
    }
}

fn warn(parts: &[&[u8]], e: Option<Errno>) {
    let mut m = b"svscan: warning: ".to_vec();
    for p in parts {
        m.extend_from_slice(p);
    }
    if let Some(e) = e {
        m.extend_from_slice(reason_errno(e).as_bytes());
    }
    m.push(b'\n');
    emit(&m);
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

struct Scanner {
    table: Table,
    supervise: Vec<CString>,
    /// The environment to run supervise with (svscan's own `envp`).
    envp: CStrArray,
    /// This is an inotify-triggered scan: skip new directories still being
    /// filled (see [`YOUNG`]).
    quiet: bool,
    /// A new directory was skipped for being young: rescan after this long.
    deferred: Option<Duration>,
}

/// If the directory's mtime is less than [`YOUNG`] ago (it is still being
/// filled), how long until it is not.
fn young(st: &rustix::fs::Stat) -> Option<Duration> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let secs = u64::try_from(st.st_mtime).ok()?;
    let nanos = u32::try_from(st.st_mtime_nsec).ok()?;
    let age = now.checked_sub(Duration::new(secs, nanos.min(999_999_999)))?;
    YOUNG.checked_sub(age).filter(|d| !d.is_zero())
}

impl Scanner {
    /// `start`: handle one directory entry.
    fn start(&mut self, name: &OsStr) {
        let fn_ = name.as_bytes();
        if fn_.first() == Some(&b'.') {
            return;
        }
        let st = match rustix::fs::stat(name) {
            Ok(st) => st,
            Err(e) => return warn(&[b"unable to stat ", fn_, b": "], Some(e)),
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return;
        }
        let (dev, ino) = (st.st_dev, st.st_ino);
        let i = match self.table.find(dev, ino) {
            Some(i) => i,
            None => {
                if self.quiet {
                    if let Some(left) = young(&st) {
                        self.deferred = Some(self.deferred.map_or(left, |d| d.min(left)));
                        return;
                    }
                }
                if self.table.room().is_err() {
                    return warn(
                        &[b"unable to start ", fn_, b": running too many services"],
                        None,
                    );
                }
                let mut flaglog = false;
                if fn_.len() <= 255 {
                    let logname = cat(&[fn_, b"/log"]);
                    match rustix::fs::stat(OsStr::from_bytes(&logname)) {
                        Ok(_) => flaglog = true,
                        Err(Errno::NOENT) => {}
                        Err(e) => {
                            return warn(&[b"unable to stat ", fn_, b"/log: "], Some(e));
                        }
                    }
                }
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
            let setup = cat(&[
                b"svscan: warning: unable to set up descriptors for ",
                fn_,
                b": ",
            ]);
            let exec_err = cat(&[b"svscan: warning: unable to start supervise ", fn_, b": "]);
            let argv = CStrArray::new(vec![arg0.to_owned(), cname.clone()]);
            let plan = spawn::ChildPlan {
                fd_move: self.table.x[i]
                    .log
                    .as_ref()
                    .map(|(_, w)| (1, w.as_raw_fd(), setup.as_slice())),
                close: None,
                dup: None,
                chdir: None,
                reset_sigchld: false,
                exec: &self.supervise,
                argv: &argv,
                envp: &self.envp,
                exec_err: &exec_err,
            };
            match spawn::spawn(&plan) {
                Ok(pid) => self.table.x[i].pid = pid,
                Err(e) => return warn(&[b"unable to fork for ", fn_, b": "], errno(&e)),
            }
        }
        if self.table.x[i].log.is_some() && self.table.x[i].pidlog == 0 {
            let setup = cat(&[
                b"svscan: warning: unable to set up descriptors for ",
                fn_,
                b"/log: ",
            ]);
            let switch = cat(&[b"svscan: warning: unable to switch to ", fn_, b": "]);
            let exec_err = cat(&[
                b"svscan: warning: unable to start supervise ",
                fn_,
                b"/log: ",
            ]);
            let argv = CStrArray::new(vec![arg0.to_owned(), c"log".to_owned()]);
            let plan = spawn::ChildPlan {
                fd_move: self.table.x[i]
                    .log
                    .as_ref()
                    .map(|(r, _)| (0, r.as_raw_fd(), setup.as_slice())),
                close: None,
                dup: None,
                chdir: Some((&cname, &switch)),
                reset_sigchld: false,
                exec: &self.supervise,
                argv: &argv,
                envp: &self.envp,
                exec_err: &exec_err,
            };
            match spawn::spawn(&plan) {
                Ok(pid) => self.table.x[i].pidlog = pid,
                Err(e) => warn(&[b"unable to fork for ", fn_, b"/log: "], errno(&e)),
            }
        }
    }

    /// `doit`: one scan.
    fn doit(&mut self) {
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
                Ok(ent) => self.start(&ent.file_name()),
                Err(e) => return direrror(&e),
            }
        }
        self.table.prune();
    }
}

fn errno(e: &io::Error) -> Option<Errno> {
    Some(Errno::from_raw_os_error(e.raw_os_error().unwrap_or(0)))
}

fn direrror(e: &io::Error) {
    warn(&[b"unable to read directory: "], errno(e));
}

/// Watch the current directory for names created or moved in.
fn watch() -> Option<OwnedFd> {
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).ok()?;
    inotify::add_watch(
        &fd,
        c".",
        inotify::WatchFlags::CREATE | inotify::WatchFlags::MOVED_TO,
    )
    .ok()?;
    Some(fd)
}

fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = rustix::io::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// Wait until the next scan is due. Returns `true` for the periodic scan
/// (at `deadline`), `false` for an inotify-triggered one ([`SETTLE`] after
/// the directory stops changing) or for the retry after `retry`.
fn wait(notify: Option<&OwnedFd>, deadline: Instant, retry: Option<Duration>) -> bool {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        let limit = retry.map_or(deadline - now, |r| r.min(deadline - now));
        let Some(fd) = notify else {
            std::thread::sleep(limit);
            if retry.is_some() {
                return Instant::now() >= deadline;
            }
            continue;
        };
        if readable(fd, limit) {
            drain(fd);
            // Settle, but never postpone the scan by more than 10 x SETTLE.
            for _ in 0..10 {
                if !readable(fd, SETTLE) {
                    break;
                }
                drain(fd);
            }
            return false;
        }
        if retry.is_some() {
            return Instant::now() >= deadline;
        }
    }
}

fn readable(fd: &OwnedFd, d: Duration) -> bool {
    let ts = rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
}

/// Entry point of the `svscan` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args = main.argv;
    if let Some(dir) = args.get(1) {
        if let Err(e) = rustix::process::chdir(dir.as_os_str()) {
            return Fatal::new(
                format!("unable to chdir to {}", dir.to_string_lossy()),
                io::Error::from_raw_os_error(e.raw_os_error()),
            )
            .report_code(PROG);
        }
    }
    let mut s = Scanner {
        table: Table::default(),
        supervise: pathexec::candidates_env(OsStr::new("supervise"), &main.envp),
        envp: CStrArray::new(main.envp),
        quiet: false,
        deferred: None,
    };
    let notify = watch();
    let mut next = Instant::now() + RESCAN;
    s.doit();
    loop {
        let retry = s.deferred;
        let periodic = wait(notify.as_ref(), next, retry);
        if periodic {
            next = Instant::now() + RESCAN;
        }
        s.quiet = !periodic;
        s.deferred = None;
        s.doit();
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
