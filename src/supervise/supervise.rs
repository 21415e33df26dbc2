//! `supervise DIR`: start and watch one service (ports `supervise.c`).
//!
//! Single-threaded: a SIGCHLD self-pipe and the control FIFO are polled;
//! the steady state allocates nothing (paths are C-string literals relative
//! to the service directory, the status record is an 18-byte stack buffer).
//!
//! Extensions (opt-in, `extfiles`): with any extension file in the
//! service directory, the pause after a start no longer blocks the loop
//! (commands, readiness and deaths are handled during it; the next start
//! waits for it or for the back-off delay), `./finish` runs after each
//! death, and the down signal, kill timeout and process group apply. The
//! extra state goes to `supervise/extstatus` (`ext`) for every
//! service.
//!
//! Differences from daemontools: on a `fork` failure supervise retries the
//! start after its 60 s pause (the Debian "restart process when fork fails"
//! patch) instead of waiting for a command. `supervise/extstatus` is
//! written beside `supervise/status`.

use std::ffi::{CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

use super::control::Command;
use super::ext::{self, Ext};
use super::extfiles::Config;
use super::servicedir::{self, Name};
use super::status::{Status, Want};
use crate::error::{self, reason_errno, usage, Fatal, Kind};
use crate::sys::cmain::MainArgs;
use crate::sys::pathexec::CStrArray;
use crate::sys::signals;
use crate::sys::signals::Sigpipe;
use crate::tai64::Tai64N;

mod events;
mod start;

const PROG: &str = "supervise";
/// The poll timeout of the main loop (`iopause` deadline in `doit`).
const LOOP_TIMEOUT: rustix::time::Timespec = rustix::time::Timespec {
    tv_sec: 3600,
    tv_nsec: 0,
};
/// The pause after every start (`deepsleep(1)` in `trystart`).
pub(crate) const START_PAUSE: Duration = Duration::from_secs(1);

static START_PAUSE_CELL: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

/// The pause after a start in force: [`START_PAUSE`], unless the
/// environment variable `DTOOLS_TEST_SUPERVISE_PAUSE_MS` (for the test
/// suite only, like multilog's `DTOOLS_TEST_PAUSE_MS`) says otherwise.
/// Read once, at the first start.
pub(crate) fn start_pause() -> Duration {
    *START_PAUSE_CELL.get_or_init(|| {
        std::env::var("DTOOLS_TEST_SUPERVISE_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(START_PAUSE, Duration::from_millis)
    })
}
/// The pause after a failed fork.
pub(crate) const FORK_PAUSE: Duration = Duration::from_secs(60);

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Entry point of the `supervise` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args = main.argv;
    if args.len() != 2 {
        return usage(PROG, "supervise dir");
    }
    match Supervise::start(&args[1], main.envp) {
        Ok(mut s) => {
            s.doit();
            s.announce();
            0
        }
        Err(f) => f.report(PROG),
    }
}

/// `deepsleep`: sleep the whole duration, whatever signals arrive.
pub(crate) fn deepsleep(d: Duration) {
    let end = Instant::now() + d;
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep(end - now);
    }
}

struct Supervise {
    dir: Vec<u8>,
    selfpipe: OwnedFd,
    control: OwnedFd,
    _control_w: OwnedFd,
    _ok: Option<OwnedFd>,
    _lock: OwnedFd,
    pid: i32,
    when: Tai64N,
    paused: bool,
    want: Want,
    exit: bool,
    retry_start: bool,
    /// An `svc -u` or `svc -o` came while `./run` could not be started
    /// (`./finish` running, or the delay before a restart): start it when
    /// that is over, even for `-o` (want once).
    start_requested: bool,
    run_argv: CStrArray,
    run_names: [CString; 1],
    envp: CStrArray,
    start_err: Vec<u8>,
    /// The extension files as read before the last start.
    cfg: Config,
    ext: Ext,
}

fn fatal(dir: &[u8], what: &str, tail: &str, e: Errno) -> Fatal {
    Fatal::new(
        format!("unable to {what} {}{tail}", String::from_utf8_lossy(dir)),
        e,
    )
}

/// [`fatal`] for a file in the service directory: `unable to WHAT DIR/NAME`.
fn fatal_in(dir: &[u8], what: &str, name: Name, e: Errno) -> Fatal {
    fatal(dir, what, &format!("/{}", name.text), e)
}

impl Supervise {
    fn start(dir_os: &OsStr, envp: Vec<CString>) -> Result<Supervise, Fatal> {
        let dir = dir_os.as_bytes().to_vec();
        let (pr, pw) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
        )
        .map_err(|e| fatal(&dir, "create pipe for", "", e))?;
        signals::selfpipe_catch(&[libc::SIGCHLD], pw).map_err(|e| {
            Fatal::new(
                format!("unable to catch SIGCHLD for {}", dir_os.to_string_lossy()),
                e,
            )
        })?;
        rustix::process::chdir(dir_os).map_err(|e| fatal(&dir, "chdir to", "", e))?;
        let want = match servicedir::normally_up() {
            Ok(false) => Want::Down,
            Ok(true) => Want::Up,
            Err(e) => return Err(fatal_in(&dir, "stat", servicedir::DOWN, e)),
        };
        servicedir::make_supervise_dir();
        let lock =
            servicedir::open_lock().map_err(|e| fatal_in(&dir, "acquire", servicedir::LOCK, e))?;
        servicedir::make_fifo(servicedir::CONTROL);
        let control = servicedir::open_control_for_read()
            .map_err(|e| fatal_in(&dir, "read", servicedir::CONTROL, e))?;
        let control_w = servicedir::open_control_for_write()
            .map_err(|e| fatal_in(&dir, "write", servicedir::CONTROL, e))?;
        let start_err = error::prefix(
            PROG,
            Kind::Fatal,
            &[
                b"unable to start ",
                &dir,
                b"/",
                servicedir::RUN.text.as_bytes(),
                b": ",
            ],
        );
        // Problems are reported at each start (trystart), not here too.
        let cfg = Config::load(|_, _| {});
        let mut s = Supervise {
            ext: Ext::new(&cfg, start_pause()),
            cfg,
            dir,
            selfpipe: pr,
            control,
            _control_w: control_w,
            _ok: None,
            _lock: lock,
            pid: 0,
            when: Tai64N::now(),
            paused: false,
            want,
            exit: false,
            retry_start: false,
            start_requested: false,
            run_argv: CStrArray::new(vec![CString::from(servicedir::RUN_EXEC)]),
            run_names: [CString::from(servicedir::RUN_EXEC)],
            envp: CStrArray::new(envp),
            start_err,
        };
        s.pidchange();
        s.announce();
        s.publish();
        servicedir::make_fifo(servicedir::OK);
        s._ok = Some(
            servicedir::open_ok_for_read()
                .map_err(|e| fatal_in(&s.dir, "read", servicedir::OK, e))?,
        );
        if s.want == Want::Up {
            s.trystart();
        }
        Ok(s)
    }

    fn pidchange(&mut self) {
        self.when = Tai64N::now();
    }

    /// `announce`: write `status.new` and rename it over `status`.
    fn announce(&self) {
        let rec = Status {
            when: self.when,
            pid: self.pid as u32,
            paused: self.paused,
            want: self.want.byte(),
        }
        .encode();
        let new = servicedir::STATUS_NEW.text;
        let fd = match servicedir::create_status_new() {
            Ok(fd) => fd,
            Err(e) => return self.warn("open", &format!("/{new}"), Some(e)),
        };
        match rustix::io::write(&fd, &rec) {
            Ok(n) if n == rec.len() => {}
            Ok(_) => {
                return self.warn("write", &format!("/{new}: partial write"), None);
            }
            Err(e) => return self.warn("write", &format!("/{new}"), Some(e)),
        }
        drop(fd);
        if let Err(e) = servicedir::publish_status_new() {
            // daemontools names the target by its basename here.
            self.warn("rename", &format!("/{new} to status"), Some(e));
        }
    }

    /// Write `supervise/extstatus` if it changed.
    fn publish(&mut self) {
        if let Err(e) = self.ext.publish() {
            let new = super::extstatus::EXTSTATUS_NEW_PATH;
            self.warn("write", &format!("/{new}"), Some(e));
        }
    }

    fn warn(&self, what: &str, tail: &str, e: Option<Errno>) {
        let head: [&[u8]; 5] = [
            b"unable to ",
            what.as_bytes(),
            b" ",
            &self.dir,
            tail.as_bytes(),
        ];
        match e {
            Some(e) => error::say(
                PROG,
                Kind::Warning,
                &[&head[..], &[b": "]].concat(),
                Some(reason_errno(e)),
            ),
            None => error::say(PROG, Kind::Warning, &head, None),
        }
    }

    /// Signal `./run` (daemontools: the pid only; with `process-group`,
    /// its whole group).
    fn kill(&self, sig: Signal) {
        if let Some(p) = Pid::from_raw(self.pid) {
            if self.cfg.process_group {
                let _ = rustix::process::kill_process_group(p, sig);
            } else {
                let _ = rustix::process::kill_process(p, sig);
            }
        }
    }

    /// `doit`: the main loop; returns when supervise should exit.
    fn doit(&mut self) {
        self.announce();
        let mut byte = [0u8; 1];
        loop {
            if self.exit && self.pid == 0 && self.ext.finish_pid == 0 {
                return;
            }
            let timeout = self.ext.next_deadline().map_or(LOOP_TIMEOUT, |t| {
                let d = t.saturating_duration_since(Instant::now());
                rustix::time::Timespec {
                    tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: i64::from(d.subsec_nanos()),
                }
            });
            let notified = {
                let mut fds = [
                    PollFd::new(&self.selfpipe, PollFlags::IN),
                    PollFd::new(&self.control, PollFlags::IN),
                    PollFd::new(&self.selfpipe, PollFlags::empty()),
                ];
                let n = match &self.ext.notify {
                    Some(fd) => {
                        fds[2] = PollFd::new(fd, PollFlags::IN);
                        3
                    }
                    None => 2,
                };
                let _ = poll(&mut fds[..n], Some(&timeout));
                n == 3 && !fds[2].revents().is_empty()
            };
            if notified {
                self.ext.read_notify();
                self.publish();
            }
            while let Ok(1) = rustix::io::read(&self.selfpipe, &mut byte) {}
            // `wait_nohang`: any child (-1), also one that left supervise's
            // process group (pgrphack, the `process-group` file).
            loop {
                match rustix::process::wait(WaitOptions::NOHANG) {
                    Ok(Some((r, st))) => {
                        let r = r.as_raw_nonzero().get();
                        if r == self.pid {
                            if self.run_died(ext::death(st)) {
                                return;
                            }
                            break;
                        }
                        if r == self.ext.finish_pid && self.finish_done(ext::death(st)) {
                            return;
                        }
                    }
                    Err(Errno::INTR) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            self.timers();
            if self.retry_start && self.pid == 0 && self.want != Want::Down {
                self.trystart();
            }
            if let Ok(1) = rustix::io::read(&self.control, &mut byte) {
                if let Some(cmd) = Command::from_byte(byte[0]) {
                    self.command(cmd);
                }
            }
        }
    }
}
