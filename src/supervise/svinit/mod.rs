//! `svinit [-t ms] scandir [prog [arg...]]`: svscan as a container's init.
//! No counterpart in daemontools, whose svscan cannot be PID 1 (it has no
//! SIGTERM handler, so a PID 1 never dies of it; it reaps only its own
//! children; nothing stops its services in order).
//!
//! * Runs svscan's loop on `scandir`: the same scans, starts and log pipes
//!   (`svscan::Svscan`), each supervise in a session of its own so that the
//!   terminal's signals never reach the services.
//! * Reaps every process: as PID 1 of a PID namespace, and elsewhere as a
//!   child subreaper (`PR_SET_CHILD_SUBREAPER`), on every SIGCHLD.
//! * With `prog`: starts it once the services are up (and ready, for those
//!   with `notification-fd`; `ready`), in the foreground with the
//!   terminal (`prog`); its exit starts the shutdown and its status is
//!   svinit's exit code (128 + signal when killed).
//! * SIGTERM, SIGINT and SIGQUIT are forwarded to `prog`'s process group
//!   and start the shutdown (`shutdown`): services down with their own
//!   `down-signal`, `timeout-kill` and `finish`, each logger stopped only
//!   after it has read its pipe to the end, everything SIGKILLed after
//!   `-t` ms (default 9000, under Docker's 10 s). A second stop signal
//!   during the shutdown kills what is left at once. SIGHUP rescans;
//!   SIGUSR1 and SIGUSR2 are forwarded to `prog`.
//!
//! Exit codes: `prog`'s status when it ran; else 0 after a stop in which
//! everything exited by itself, 111 when something had to be SIGKILLed;
//! 111 on a fatal error at start (an unusable scan directory); 100 usage.

mod prog;
mod ready;
mod reap;
mod shutdown;

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::pipe::PipeFlags;
use rustix::process::Signal;

use crate::cli::Cli;
use crate::djb::getopt::Getopt;
use crate::djb::scan::scan_ulong;
use crate::error::{self, Fatal, Kind, Unable, EXIT_TEMP};
use crate::supervise::svscan::Svscan;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::{self, Sigpipe};
use prog::Prog;
use ready::Awaited;
use shutdown::Stop;

pub(crate) const PROG: &str = "svinit";
const USAGE: &str = "svinit [ -t ms ] scandir [ prog [ arg ... ] ]";

/// Time from the start of the shutdown to SIGKILL (`-t`): under the 10 s
/// Docker and Kubernetes give before their own SIGKILL.
pub const GRACE: Duration = Duration::from_millis(9000);
/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// svinit's command line, for `--help` and its usage errors.
pub(crate) const CLI: Cli = Cli {
    prog: PROG,
    usage: USAGE,
    options: &[
        (
            "-t ms",
            "SIGKILL what is left ms milliseconds after the shutdown began (9000)",
        ),
        ("--help", "print this help and exit"),
        ("--version", "print the version and exit"),
    ],
};

/// The signals that start the shutdown (forwarded to `prog`).
const STOP: [Signal; 3] = [Signal::TERM, Signal::INT, Signal::QUIT];
/// The signals only forwarded to `prog`.
const FORWARD: [Signal; 2] = [Signal::USR1, Signal::USR2];

struct Opts {
    grace: Duration,
    scandir: OsString,
    prog: Vec<OsString>,
}

fn parse(args: &[OsString]) -> Result<Opts, u8> {
    let mut g = Getopt::new(args, "t:");
    let mut grace = GRACE;
    loop {
        let before = g.optind();
        let Some(o) = g.next_opt() else {
            if let Some(w) = Cli::ended_options(args, before, g.optind()) {
                return Err(CLI.long_option(w));
            }
            break;
        };
        match o {
            Ok((b't', Some(ms))) => {
                let ms = ms.as_bytes();
                let (n, v) = scan_ulong(ms);
                if n == 0 || n != ms.len() {
                    return Err(CLI.usage_why(&[b"-t: not a number of milliseconds: ", ms]));
                }
                grace = Duration::from_millis(v);
            }
            Ok(_) => return Err(CLI.usage()),
            Err(e) => {
                e.print(args);
                return Err(CLI.usage());
            }
        }
    }
    let rest = args.get(g.optind()..).unwrap_or_default();
    let Some((scandir, prog)) = rest.split_first() else {
        return Err(CLI.usage_why(&[b"no scan directory"]));
    };
    Ok(Opts {
        grace,
        scandir: scandir.clone(),
        prog: prog.to_vec(),
    })
}

enum Phase {
    /// `prog` waits for the services.
    Starting(Awaited),
    Running,
    Stopping(Stop),
}

struct Init {
    sv: Svscan,
    selfpipe: OwnedFd,
    pid1: bool,
    grace: Duration,
    prog: Option<Prog>,
    phase: Phase,
}

/// Entry point of the `svinit` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let opts = match parse(&main.argv) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match Init::start(opts, main.envp) {
        Ok(init) => init.run(),
        Err(f) => f.report(PROG),
    }
}

impl Init {
    fn start(opts: Opts, envp: Vec<std::ffi::CString>) -> Result<Init, Fatal> {
        let dir = opts.scandir.to_string_lossy().into_owned();
        let cwd = rustix::fs::open(
            c".",
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unable(|| "open current directory".to_string())?;
        rustix::process::chdir(opts.scandir.as_os_str()).unable(|| format!("chdir to {dir}"))?;
        // svscan warns and tries again later; an init that cannot see its
        // services has nothing to run.
        std::fs::read_dir(".").unable(|| format!("read directory {dir}"))?;
        let prog = match opts.prog.is_empty() {
            true => None,
            false => Some(
                Prog::new(&opts.prog, &envp, cwd)
                    .ok_or_else(|| Fatal::plain("unable to run prog: bad argument"))?,
            ),
        };
        let pid1 = rustix::process::getpid().is_init();
        if !pid1 {
            if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
                error::say(
                    PROG,
                    Kind::Warning,
                    &[b"unable to become a child subreaper: "],
                    Some(error::reason_errno(e)),
                );
            }
        }
        let (r, w) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
            .unable(|| "create pipe".to_string())?;
        let mut caught = vec![libc::SIGCHLD, libc::SIGHUP];
        caught.extend(STOP.iter().chain(&FORWARD).map(|s| s.as_raw()));
        signals::selfpipe_catch(&caught, w).unable(|| "catch signals".to_string())?;
        let mut sv = Svscan::new(PROG, envp, true);
        sv.begin();
        let phase = if prog.is_some() {
            Phase::Starting(Awaited::list())
        } else {
            Phase::Running
        };
        Ok(Init {
            sv,
            selfpipe: r,
            pid1,
            grace: opts.grace,
            prog,
            phase,
        })
    }

    fn run(mut self) -> u8 {
        loop {
            let now = Instant::now();
            let fd = self.selfpipe.as_fd();
            let woke = match &self.phase {
                Phase::Starting(_) => self.sv.turn(Some(fd), Some(now + ready::POLL)),
                Phase::Running => self.sv.turn(Some(fd), None),
                Phase::Stopping(st) => readable(&self.selfpipe, st.wake(now) - now),
            };
            if woke {
                self.drain();
                self.signals();
            }
            if let Some(st) = self.sv.take_kept() {
                if let Some(p) = self.prog.as_mut() {
                    p.exited(st);
                }
                if !matches!(self.phase, Phase::Stopping(_)) {
                    self.stop(None);
                }
            }
            match &mut self.phase {
                Phase::Starting(aw) => {
                    if aw.all_ready() {
                        if let Some(p) = self.prog.as_mut() {
                            p.start(&mut self.sv);
                        }
                        self.phase = Phase::Running;
                        if self.prog.as_ref().is_some_and(|p| p.status.is_some()) {
                            self.stop(None);
                        }
                    }
                }
                Phase::Running => {}
                Phase::Stopping(st) => {
                    let pid = self.prog.as_ref().map_or(0, |p| p.pid);
                    if st.step(&mut self.sv, pid) {
                        let forced = st.forced;
                        return self.code(forced);
                    }
                }
            }
        }
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.selfpipe, &mut buf), Ok(n) if n > 0) {}
    }

    fn signals(&mut self) {
        if signals::caught(libc::SIGCHLD) {
            self.sv.reap();
        }
        let stop = STOP.into_iter().find(|s| signals::caught(s.as_raw()));
        // The others of a batch are the same request.
        for s in STOP {
            let _ = signals::caught(s.as_raw());
        }
        if let Some(sig) = stop {
            match &mut self.phase {
                Phase::Stopping(st) => st.force(),
                _ => self.stop(Some(sig)),
            }
        }
        if signals::caught(libc::SIGHUP) && !matches!(self.phase, Phase::Stopping(_)) {
            self.sv.rescan_now();
        }
        for sig in FORWARD {
            if signals::caught(sig.as_raw()) {
                if let Some(p) = &self.prog {
                    p.signal(sig);
                }
            }
        }
    }

    /// Begin the shutdown; `sig` (a stop signal) is forwarded to `prog`.
    fn stop(&mut self, sig: Option<Signal>) {
        if let (Some(sig), Some(p)) = (sig, &self.prog) {
            p.signal(sig);
            p.signal(Signal::CONT);
        }
        self.phase = Phase::Stopping(Stop::begin(&mut self.sv, self.grace, self.pid1));
    }

    /// The exit code once everything is gone.
    fn code(&self, forced: bool) -> u8 {
        match self.prog.as_ref().and_then(|p| p.status) {
            Some(c) => c,
            None if forced => EXIT_TEMP,
            None => 0,
        }
    }
}

/// Is `fd` readable within `d`?
fn readable(fd: &OwnedFd, d: Duration) -> bool {
    let ts = rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
}
