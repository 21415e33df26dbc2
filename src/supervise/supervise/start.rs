//! `trystart` (ports `supervise.c:trystart`): fork and exec `./run`, with
//! the extension files read first, a readiness pipe for `notification-fd`
//! and a process group of its own for `process-group`.

use std::os::fd::{AsRawFd, OwnedFd};

use rustix::io::Errno;

use super::super::extfiles::{Bad, Config};
use super::super::servicedir::Name;
use super::{deepsleep, start_pause, Supervise, FORK_PAUSE, PROG};
use crate::error::{self, reason_errno, Kind};
use crate::sys::{signals, spawn};

impl Supervise {
    /// `trystart`: fork and exec `./run`, then pause one second. With
    /// extension files the pause is a timer
    /// ([`Ext::died`](super::super::ext::Ext::died)) instead, and
    /// `./run` may get a readiness pipe and its own process group.
    pub(super) fn trystart(&mut self) {
        self.cfg = Config::load(|name, bad| warn_bad(&self.dir, name, bad));
        self.ext.configure(&self.cfg, start_pause());
        let notify = match self.cfg.notification_fd {
            Some(_) => match notification_pipe() {
                Ok(p) => Some(p),
                Err(e) => {
                    self.warn("create pipe for", "/notification-fd", Some(e));
                    None
                }
            },
            None => None,
        };
        let install = match (&notify, self.cfg.notification_fd) {
            (Some((_, w)), Some(fd)) => Some([(fd, w.as_raw_fd())]),
            _ => None,
        };
        let plan = spawn::ChildPlan {
            reset_sigchld: true,
            setsid: self.cfg.process_group.then_some(&self.start_err[..]),
            install: install.as_ref().map(|p| (&p[..], &self.start_err[..])),
            ..spawn::ChildPlan::new(&self.run_names, &self.run_argv, &self.envp, &self.start_err)
        };
        match spawn::spawn(&plan) {
            Ok(pid) => {
                self.retry_start = false;
                self.start_requested = false;
                self.paused = false;
                self.pid = pid;
                self.pidchange();
                self.ext.started(notify.map(|(r, _)| r), self.when);
                // `extstatus` before `status`: a reader takes `status`
                // first, so the `extstatus` it then reads is never the
                // previous start's ([`super::observe::Observed::ready`]).
                self.publish();
                self.announce();
                if !self.cfg.extended {
                    deepsleep(start_pause());
                }
            }
            Err(e) => {
                error::say(
                    PROG,
                    Kind::Warning,
                    &[
                        b"unable to fork for ",
                        &self.dir,
                        b", sleeping 60 seconds: ",
                    ],
                    Some(error::reason(&e)),
                );
                deepsleep(FORK_PAUSE);
                self.retry_start = true;
                signals::selfpipe_trigger();
            }
        }
    }
}

/// The readiness pipe: our read end non-blocking, both close-on-exec (the
/// child's copy of the write end is placed on the notification descriptor
/// without it).
fn notification_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::NONBLOCK)?;
    Ok((r, w))
}

/// `supervise: warning: unable to read DIR/NAME: REASON` for an extension
/// file that is ignored.
fn warn_bad(dir: &[u8], name: Name, bad: Bad) {
    let head: [&[u8]; 4] = [b"unable to read ", dir, b"/", name.text.as_bytes()];
    match bad {
        Bad::Read(e) => error::say(
            PROG,
            Kind::Warning,
            &[&head[..], &[b": "]].concat(),
            Some(reason_errno(e)),
        ),
        Bad::Format => error::say(
            PROG,
            Kind::Warning,
            &[&head[..], &[b": bad format"]].concat(),
            None,
        ),
        Bad::NotRegular => error::say(
            PROG,
            Kind::Warning,
            &[&head[..], &[b": not a regular file"]].concat(),
            None,
        ),
    }
}
