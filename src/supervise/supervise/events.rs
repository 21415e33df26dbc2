//! supervise's reactions that the extension files change: a death of
//! `./run` (with `./finish`), the timers (`timeout-finish`, `timeout-kill`,
//! the pause or back-off before a restart) and the control commands (ports
//! the `switch` in `supervise.c:doit`). Without extension files each does
//! exactly what daemontools does.

use std::ffi::CString;
use std::time::Instant;

use rustix::process::{Pid, Signal};

use super::super::control::Command;
use super::super::ext;
use super::super::extstatus::Death;
use super::super::servicedir;
use super::super::status::Want;
use super::{start_pause, Supervise, PROG};
use crate::error::{self, Kind};
use crate::sys::pathexec::CStrArray;
use crate::sys::spawn;

impl Supervise {
    /// `./run` died: count it, run `./finish` if there is one; then, unless
    /// supervise is exiting, start it again (daemontools) or set the timer
    /// for that (extensions). Returns `true` when supervise should exit.
    pub(super) fn run_died(&mut self, d: Death) -> bool {
        // The process group `./run` was in, for `./finish`.
        let pgid = if self.cfg.process_group {
            self.pid
        } else {
            rustix::process::getpgrp().as_raw_nonzero().get()
        };
        self.pid = 0;
        self.pidchange();
        self.ext.died(d, &self.cfg, start_pause());
        if self.cfg.finish {
            self.start_finish(d, pgid);
        }
        // `extstatus` first: a reader that sees `status` say down must
        // already see `./finish` running (svwait -D would stop too early).
        self.publish();
        self.announce();
        if self.ext.finish_pid != 0 {
            return false;
        }
        if self.exit {
            return true;
        }
        self.down_done();
        false
    }

    /// `./run` and `./finish` are both done: restart if wanted (want up, or
    /// an `svc -u`/`-o` that came while `./finish` ran). With extension
    /// files the restart waits for the delay counted from the last start
    /// ([`Ext::died`](super::super::ext::Ext::died)) if it is still running;
    /// a delay that ran out while `./finish` ran (its timer cleared
    /// `restart_at`, see [`Supervise::timers`]) is over: start at once.
    fn down_done(&mut self) {
        let wanted = self.want == Want::Up || self.start_requested;
        if !wanted {
            self.ext.restart_at = None;
        } else if !self.cfg.extended {
            // daemontools: at once (the pause came after the start).
            self.ext.restart_at = None;
            self.trystart();
        } else if self.ext.restart_at.is_some_and(|t| t > Instant::now()) {
            if self.cfg.backoff.is_some() {
                self.ext.rec.backoff_wait = true;
                self.publish();
            }
        } else {
            self.ext.restart_at = None;
            self.trystart();
        }
    }

    /// `./finish EXITCODE SIGNAL DIR PGID` (s6's arguments: the exit code or
    /// 256, the signal number or 0, the service directory as supervise was
    /// given it, the process group `./run` was in), with supervise's stdio
    /// and environment.
    fn start_finish(&mut self, d: Death, pgid: i32) {
        let (code, sig) = ext::finish_args(d);
        let argv = CStrArray::new(vec![
            CString::from(servicedir::FINISH_EXEC),
            CString::new(code.to_string()).unwrap_or_default(),
            CString::new(sig.to_string()).unwrap_or_default(),
            CString::new(self.dir.clone()).unwrap_or_default(),
            CString::new(pgid.to_string()).unwrap_or_default(),
        ]);
        let names = [CString::from(servicedir::FINISH_EXEC)];
        let err = error::prefix(
            PROG,
            Kind::Fatal,
            &[b"unable to start ", &self.dir, b"/finish: "],
        );
        let plan = spawn::ChildPlan {
            reset_sigchld: true,
            ..spawn::ChildPlan::new(&names, &argv, &self.envp, &err)
        };
        match spawn::spawn(&plan) {
            Ok(pid) => {
                self.ext.finish_pid = pid;
                self.ext.finish_deadline = self.cfg.timeout_finish.map(|t| Instant::now() + t);
                self.ext.rec.finishing = true;
            }
            Err(e) => error::say(
                PROG,
                Kind::Warning,
                &[b"unable to fork for ", &self.dir, b"/finish: "],
                Some(error::reason(&e)),
            ),
        }
    }

    /// `./finish` ended; exit 125 means stay down. Returns `true` when
    /// supervise should exit.
    pub(super) fn finish_done(&mut self, d: Death) -> bool {
        if self.ext.finished(d) {
            // Exit 125 wins over an `svc -u` sent while `./finish` ran (s6).
            self.want = Want::Down;
            self.start_requested = false;
            self.ext.restart_at = None;
            self.announce();
        }
        self.publish();
        if self.exit && self.pid == 0 {
            return true;
        }
        if self.pid == 0 {
            self.down_done();
        }
        false
    }

    /// Fire the timers that are due: kill a `./finish` past its timeout, kill
    /// after the down signal, restart after the pause or back-off delay.
    pub(super) fn timers(&mut self) {
        let now = Instant::now();
        if self.ext.finish_deadline.is_some_and(|t| t <= now) {
            self.ext.finish_deadline = None;
            if let Some(p) = Pid::from_raw(self.ext.finish_pid) {
                let _ = rustix::process::kill_process(p, Signal::KILL);
            }
        }
        if let Some((t, target)) = self.ext.kill_at {
            if t <= now {
                self.ext.kill_at = None;
                if let Some(p) = Pid::from_raw(target) {
                    if self.cfg.process_group {
                        let _ = rustix::process::kill_process_group(p, Signal::KILL);
                    } else if target == self.pid {
                        let _ = rustix::process::kill_process(p, Signal::KILL);
                    }
                }
            }
        }
        if self.ext.restart_at.is_some_and(|t| t <= now) {
            // The delay is over. If `./finish` still runs, the restart is
            // `finish_done`'s (through `down_done`, which starts at once
            // without a pending `restart_at`); leaving the timer set would
            // make the poll spin until then.
            self.ext.restart_at = None;
            self.ext.rec.backoff_wait = false;
            if self.pid == 0 && self.ext.finish_pid == 0 && self.want != Want::Down {
                self.trystart();
            } else {
                self.publish();
            }
        }
    }

    pub(super) fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Down => {
                self.want = Want::Down;
                self.start_requested = false;
                self.ext.restart_at = None;
                self.ext.rec.backoff_wait = false;
                if self.pid != 0 {
                    // TERM unless `down-signal` says otherwise.
                    if let Some(sig) = Signal::from_named_raw(self.cfg.down_signal) {
                        self.kill(sig);
                    }
                    self.kill(Signal::CONT);
                    self.paused = false;
                    if let Some(t) = self.cfg.timeout_kill {
                        self.ext.kill_at = Some((Instant::now() + t, self.pid));
                    }
                }
                self.announce();
                self.publish();
            }
            Command::Up | Command::Once => {
                self.want = if cmd == Command::Up {
                    Want::Up
                } else {
                    Want::Once
                };
                self.announce();
                if self.pid == 0 {
                    if self.ext.finish_pid == 0 && self.ext.restart_at.is_none() {
                        self.trystart();
                    } else {
                        // After `./finish`, or when the delay ends.
                        self.start_requested = true;
                    }
                }
            }
            Command::Exit => {
                self.exit = true;
                self.announce();
            }
            Command::Pause => {
                self.paused = true;
                self.announce();
                self.kill(Signal::STOP);
            }
            Command::Continue => {
                self.paused = false;
                self.announce();
                self.kill(Signal::CONT);
            }
            Command::Signal(sig) => {
                if let Some(s) = Signal::from_named_raw(sig) {
                    self.kill(s);
                }
            }
        }
    }
}
