//! The stop: every service taken down by its own supervise, loggers last,
//! then what is left signalled, and everything SIGKILLed at the deadline.
//!
//! 1. At once: `dx` to each main supervise (`svc -dx`: its `down-signal`,
//!    `timeout-kill` and `./finish` apply, then supervise exits) and `x`
//!    to each log supervise (exit once its logger is down, with no
//!    restart). The logger is not signalled.
//! 2. When a main supervise has exited, svinit closes its own two ends of
//!    the log pipe it held for the pair (svscan's `Entry::log`): once the
//!    service and anything it left behind are gone, nobody holds the write
//!    end, the logger reads every line to end of file and exits by itself
//!    (multilog does at end of input), and then its supervise.
//! 3. When every main supervise has exited and `prog` is gone, what is
//!    left but the loggers (daemons a `./run` left behind, `prog`'s
//!    children) gets SIGTERM and SIGCONT, once.
//! 4. At the deadline (`-t`, or at once after a second stop signal),
//!    everything left gets SIGKILL, with a warning naming the services
//!    still running.
//!
//! Done when svinit has no child left.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::process::Signal;

use super::reap;
use super::PROG;
use crate::error::{self, Kind};
use crate::supervise::servicedir::{CONTROL, LOG};
use crate::supervise::svscan::Svscan;

/// How often a control byte that could not be written is tried again (a
/// supervise that has not yet opened its FIFO), and SIGKILL repeated.
pub(super) const RETRY: Duration = Duration::from_millis(20);
/// How long svinit waits for the killed processes to be reaped before it
/// exits anyway (a process stuck in the kernel cannot die).
pub(super) const KILL_WAIT: Duration = Duration::from_secs(1);

/// Why everything left is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Deadline,
    Twice,
}

/// The stop in progress.
pub(super) struct Stop {
    deadline: Instant,
    grace: Duration,
    why: Why,
    pid1: bool,
    /// (device, inode) of each service directory → its name in the scan
    /// directory, read when the stop began.
    names: HashMap<(u64, u64), OsString>,
    /// Per table entry: `dx` given to the main supervise, `x` to the log's.
    told: Vec<(bool, bool)>,
    /// A control byte is to be written again.
    retry: bool,
    rest_termed: bool,
    killed_at: Option<Instant>,
    /// Something had to be SIGKILLed.
    pub(super) forced: bool,
}

/// The names of the service directories in the current directory, by
/// (device, inode), as svscan identifies them.
fn service_names() -> HashMap<(u64, u64), OsString> {
    let mut m = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(".") {
        for ent in dir.flatten() {
            let name = ent.file_name();
            if name.as_bytes().first() == Some(&b'.') {
                continue;
            }
            if let Ok(st) = rustix::fs::stat(name.as_os_str()) {
                m.entry((st.st_dev, st.st_ino)).or_insert(name);
            }
        }
    }
    m
}

/// Write `cmd` to `dir/supervise/control` without blocking; false if
/// supervise is not (yet) reading it.
fn control(dir: &[u8], cmd: &[u8]) -> bool {
    let path = [dir, b"/", CONTROL.text.as_bytes()].concat();
    let Ok(fd) = rustix::fs::open(
        OsStr::from_bytes(&path),
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    rustix::io::write(&fd, cmd).is_ok_and(|n| n == cmd.len())
}

fn log_dir(name: &OsStr) -> Vec<u8> {
    [name.as_bytes(), b"/", LOG.text.as_bytes()].concat()
}

impl Stop {
    /// Begin the stop of the services of `sv` with `grace` before SIGKILL.
    pub(super) fn begin(sv: &mut Svscan, grace: Duration, pid1: bool) -> Stop {
        let n = sv.table().x.len();
        Stop {
            deadline: Instant::now() + grace,
            grace,
            why: Why::Deadline,
            pid1,
            names: service_names(),
            told: vec![(false, false); n],
            retry: false,
            rest_termed: false,
            killed_at: None,
            forced: false,
        }
    }

    /// A second stop signal: kill what is left now.
    pub(super) fn force(&mut self) {
        if self.killed_at.is_none() {
            self.why = Why::Twice;
            self.deadline = Instant::now();
        }
    }

    /// When [`Stop::step`] must run again at the latest (it also runs on
    /// every signal, SIGCHLD included).
    pub(super) fn wake(&self, now: Instant) -> Instant {
        let mut t = self.deadline;
        if self.retry || self.killed_at.is_some() {
            t = t.min(now + RETRY);
        }
        if !self.rest_termed && self.killed_at.is_none() {
            // The stragglers are looked for again while loggers drain.
            t = t.min(now + RETRY * 5);
        }
        t
    }

    /// Take the next steps; true when nothing is left (svinit may exit).
    /// `prog` is the pid of the running `prog`, 0 if none.
    pub(super) fn step(&mut self, sv: &mut Svscan, prog: i32) -> bool {
        sv.reap();
        let now = Instant::now();
        if self.killed_at.is_none() && now >= self.deadline {
            self.kill(sv);
        }
        if let Some(t) = self.killed_at {
            if sv.childless() {
                return true;
            }
            if now >= t + KILL_WAIT {
                error::say(
                    PROG,
                    Kind::Warning,
                    &[b"unable to reap every process: exiting anyway"],
                    None,
                );
                return true;
            }
            reap::kill_rest(self.pid1);
            return false;
        }
        self.retry = false;
        let mains_left = self.tell(sv);
        if sv.childless() {
            return true;
        }
        if !mains_left && prog == 0 && !self.rest_termed {
            self.term_rest(sv);
        }
        false
    }

    /// Steps 1 and 2 for every entry; whether a main supervise is left.
    fn tell(&mut self, sv: &mut Svscan) -> bool {
        let mut mains_left = false;
        let table = sv.table();
        self.told.resize(table.x.len(), (false, false));
        for (e, told) in table.x.iter_mut().zip(self.told.iter_mut()) {
            let name = self.names.get(&(e.dev, e.ino));
            if e.pidlog != 0 && !told.1 {
                match name {
                    Some(n) if control(&log_dir(n), b"x") => told.1 = true,
                    Some(_) => self.retry = true,
                    None => {}
                }
            }
            if e.pid != 0 {
                mains_left = true;
                if !told.0 {
                    match name {
                        Some(n) if control(n.as_bytes(), b"dx") => told.0 = true,
                        Some(_) => self.retry = true,
                        None => {}
                    }
                }
            } else {
                // svinit's ends of the pipe: the logger sees end of file
                // once the service's own writers are gone too.
                e.log = None;
            }
        }
        mains_left
    }

    /// Step 3: SIGTERM and SIGCONT to what is left but the loggers.
    fn term_rest(&mut self, sv: &mut Svscan) {
        self.rest_termed = true;
        let spare: Vec<i32> = sv
            .table()
            .x
            .iter()
            .map(|e| e.pidlog)
            .filter(|&p| p != 0)
            .collect();
        if reap::signal_rest(Signal::TERM, &spare) > 0 {
            reap::signal_rest(Signal::CONT, &spare);
        }
    }

    /// Step 4: the warning, then SIGKILL to everything.
    fn kill(&mut self, sv: &mut Svscan) {
        self.killed_at = Some(Instant::now());
        let mut left: Vec<Vec<u8>> = Vec::new();
        for e in &sv.table().x {
            let name = self.names.get(&(e.dev, e.ino));
            let n = name.map_or_else(|| b"?".to_vec(), |n| n.as_bytes().to_vec());
            if e.pid != 0 {
                left.push(n.clone());
            }
            if e.pidlog != 0 {
                left.push(log_dir(OsStr::from_bytes(&n)));
            }
        }
        if sv.childless() {
            return;
        }
        self.forced = true;
        let when = match self.why {
            Why::Deadline => format!("after {} ms", self.grace.as_millis()),
            Why::Twice => "after a second stop signal".to_string(),
        };
        let what = if left.is_empty() {
            b"processes that are not services".to_vec()
        } else {
            left.join(&b", "[..])
        };
        error::say(
            PROG,
            Kind::Warning,
            &[b"killing what is left ", when.as_bytes(), b": ", &what],
            None,
        );
        reap::kill_rest(self.pid1);
    }
}
