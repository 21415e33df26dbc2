//! svscan's main loop as a value ([`Svscan`]), so that svinit runs the very
//! same scans, starts and rescans as svscan: svscan turns it for ever,
//! svinit turns it between its own events (signals on a self-pipe, the
//! readiness of its services) and stops turning it at shutdown.

use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::WaitStatus;

use super::*;

/// The scanner and the timers of svscan.c's `for (;;) { doit(); sleep(5); }`,
/// with inotify batches, rate-limited full scans and directories waiting
/// for completion.
pub(crate) struct Svscan {
    s: Scanner,
    rescan: Duration,
    notify: Option<OwnedFd>,
    limiter: watch::Limiter,
    /// An event batch asked for a full scan (waits for `limiter`).
    wanted: bool,
    next: Instant,
    next_poll: Instant,
}

impl Svscan {
    /// A scanner of the current directory, which starts each `supervise`
    /// with `envp` (and `setsid` if `setsid`), its warnings from `prog`. The inotify watch is set up
    /// here, before the first scan ([`Svscan::begin`]), so no name placed
    /// during that scan is missed.
    pub(crate) fn new(prog: &'static str, envp: Vec<CString>, setsid: bool) -> Svscan {
        let s = Scanner {
            prog,
            table: Table::default(),
            supervise: supervise_candidates(&envp),
            envp: CStrArray::new(envp),
            waiting: HashMap::new(),
            setsid,
            keep: 0,
            kept: None,
            childless: false,
        };
        let now = Instant::now();
        Svscan {
            s,
            rescan: rescan_interval(),
            notify: watch::watch(),
            limiter: watch::Limiter::default(),
            wanted: false,
            next: now,
            next_poll: now,
        }
    }

    /// The first scan: every service directory is started.
    pub(crate) fn begin(&mut self) {
        self.s.doit(Mode::Initial);
        self.next = Instant::now() + self.rescan;
        self.next_poll = Instant::now();
    }

    /// A full scan now (svinit's SIGHUP); the periodic one is due
    /// [`RESCAN`] later.
    pub(crate) fn rescan_now(&mut self) {
        self.s.doit(Mode::Scan);
        self.wanted = false;
        self.next = Instant::now() + self.rescan;
    }

    /// One turn of the loop: a scan or a look at waiting directories if one
    /// is due, else wait for the next timer, an inotify batch (served), the
    /// descriptor `extra` becoming readable, or `until`. Returns whether
    /// `extra` is readable. svscan calls it with `(None, None)` for ever.
    pub(crate) fn turn(&mut self, extra: Option<BorrowedFd<'_>>, until: Option<Instant>) -> bool {
        let now = Instant::now();
        if now >= self.next {
            self.s.doit(Mode::Scan);
            self.wanted = false;
            self.next = Instant::now() + self.rescan;
            return false;
        }
        if self.wanted && now >= self.limiter.ready_at(now) {
            self.s.doit(Mode::Scan);
            self.limiter.note(now);
            self.wanted = false;
            return false;
        }
        if !self.s.waiting.is_empty() && now >= self.next_poll {
            self.s.check_waiting();
            self.next_poll = Instant::now() + poll_every(self.s.waiting.len());
            return false;
        }
        let mut wake = self.next;
        if self.wanted {
            wake = wake.min(self.limiter.ready_at(now));
        }
        if !self.s.waiting.is_empty() {
            wake = wake.min(self.next_poll);
        }
        if let Some(u) = until {
            wake = wake.min(u);
        }
        let left = wake.saturating_duration_since(now);
        let (events, extra_ready) = match (self.notify.as_ref(), extra) {
            (None, None) => {
                std::thread::sleep(left);
                return false;
            }
            (Some(fd), None) => (watch::readable(fd, left), false),
            (fd, Some(x)) => readable2(fd, x, left),
        };
        if events {
            if let Some(fd) = self.notify.as_ref() {
                std::thread::sleep(watch::SETTLE);
                let batch = watch::read_batch(fd);
                self.wanted |= batch.rescan;
                for (name, arrival) in batch.names {
                    self.s.event(&name, arrival);
                }
            }
        }
        extra_ready
    }

    /// Reap every exited child now (svinit, on SIGCHLD), as each scan does.
    pub(crate) fn reap(&mut self) {
        self.s.reap();
    }

    /// Keep the exit status of child `pid` when it is reaped
    /// ([`Svscan::take_kept`]).
    pub(crate) fn keep(&mut self, pid: i32) {
        self.s.keep = pid;
        self.s.kept = None;
    }

    /// The status of the kept child, once (after it was reaped).
    pub(crate) fn take_kept(&mut self) -> Option<WaitStatus> {
        let st = self.s.kept.take();
        if st.is_some() {
            self.s.keep = 0;
        }
        st
    }

    /// Did the last reap find no child at all?
    pub(crate) fn childless(&self) -> bool {
        self.s.childless
    }

    /// The service table: entries, supervise pids and log pipes.
    pub(crate) fn table(&mut self) -> &mut Table {
        &mut self.s.table
    }
}

/// `poll` on the inotify descriptor (if any) and `extra` for at most `d`:
/// which of the two are readable.
fn readable2(notify: Option<&OwnedFd>, extra: BorrowedFd<'_>, d: Duration) -> (bool, bool) {
    let ts = rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    };
    let mut fds = vec![PollFd::from_borrowed_fd(extra, PollFlags::IN)];
    if let Some(n) = notify {
        fds.push(PollFd::new(n, PollFlags::IN));
    }
    if !matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0) {
        return (false, false);
    }
    let extra_ready = !fds[0].revents().is_empty();
    let events = fds.get(1).is_some_and(|f| !f.revents().is_empty());
    (events, extra_ready)
}
