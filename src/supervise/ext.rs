//! supervise's extended state: readiness, deaths and restarts, `./finish`,
//! the kill and restart timers, and the `supervise/extstatus` record that
//! publishes them ([`super::extstatus`]). The service-directory files that
//! switch these on are read by [`super::extfiles`]; the main loop in
//! [`super::supervise`] drives this state.
//!
//! Without extension files only the counters and the record change; the
//! processes, signals and timings stay daemontools'.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::WaitStatus;

use super::extfiles::Config;
use super::extstatus::{Death, ExtStatus, EXTSTATUS_LEN};
use super::servicedir;
use crate::tai64::Tai64N;

/// The exit code of `./finish` that means "stay down" (s6's).
pub(crate) const FINISH_STAY_DOWN: u8 = 125;

/// The extended state of one supervised service.
pub(crate) struct Ext {
    /// The record as it should be on disk.
    pub(crate) rec: ExtStatus,
    /// The record last written, to write only on change.
    written: Option<[u8; EXTSTATUS_LEN]>,
    /// When `./run` was last started.
    started_at: Option<Instant>,
    /// Deaths in a row that came sooner than the back-off's reset time.
    quick: u32,
    /// Our end of the readiness pipe while `./run` may still write to it.
    pub(crate) notify: Option<OwnedFd>,
    /// The running `./finish`, 0 if none.
    pub(crate) finish_pid: i32,
    /// When to SIGKILL `./finish` (`timeout-finish`).
    pub(crate) finish_deadline: Option<Instant>,
    /// When to SIGKILL after the down signal (`timeout-kill`), and whom.
    pub(crate) kill_at: Option<(Instant, i32)>,
    /// When to start `./run` again (the pause or back-off delay).
    pub(crate) restart_at: Option<Instant>,
}

impl Ext {
    /// The state before the first start; `pause` is daemontools' pause.
    pub(crate) fn new(cfg: &Config, pause: Duration) -> Ext {
        let mut e = Ext {
            rec: ExtStatus::default(),
            written: None,
            started_at: None,
            quick: 0,
            notify: None,
            finish_pid: 0,
            finish_deadline: None,
            kill_at: None,
            restart_at: None,
        };
        e.configure(cfg, pause);
        e
    }

    /// Take the configuration read before a start.
    pub(crate) fn configure(&mut self, cfg: &Config, pause: Duration) {
        self.rec.extended = cfg.extended;
        if self.quick == 0 {
            self.rec.delay_ms = ms(cfg.backoff.map_or(pause, |b| b.min).max(pause));
        }
    }

    /// `./run` was started at `when` (the stamp of `status`), with our end
    /// of its readiness pipe if it has one. Without one it is ready from
    /// its start: the record's ready flag is then the one answer for every
    /// reader ([`super::observe::Observed::ready`]).
    pub(crate) fn started(&mut self, notify: Option<OwnedFd>, when: Tai64N) {
        if self.started_at.is_some() {
            self.rec.restarts = self.rec.restarts.wrapping_add(1);
        }
        self.started_at = Some(Instant::now());
        self.rec.ready = if notify.is_none() { Some(when) } else { None };
        self.rec.permanent_failure = false;
        self.rec.backoff_wait = false;
        self.restart_at = None;
        self.notify = notify;
    }

    /// `./run` died with `status`: count it, and work out when it may be
    /// started again (from its start, as daemontools' pause after a start).
    /// The pause is a floor whatever `backoff` says: at most one start per
    /// pause (1 s), as daemontools' `deepsleep(1)` after each start.
    pub(crate) fn died(&mut self, d: Death, cfg: &Config, pause: Duration) {
        self.rec.deaths = self.rec.deaths.wrapping_add(1);
        self.rec.last_death = d;
        self.rec.ready = None;
        self.notify = None;
        let now = Instant::now();
        let started = self.started_at.unwrap_or(now);
        let delay = match cfg.backoff {
            Some(b) => {
                if now.duration_since(started) >= b.reset {
                    self.quick = 0;
                } else {
                    self.quick = self.quick.saturating_add(1);
                }
                b.delay(self.quick)
            }
            None => pause,
        }
        .max(pause);
        self.rec.delay_ms = ms(delay);
        self.restart_at = Some(started + delay);
    }

    /// `./finish` ended as `d`: `true` if it asked to stay down.
    pub(crate) fn finished(&mut self, d: Death) -> bool {
        self.finish_pid = 0;
        self.finish_deadline = None;
        self.rec.finishing = false;
        let stay = d == Death::Exited(FINISH_STAY_DOWN);
        if stay {
            self.rec.permanent_failure = true;
        }
        stay
    }

    /// Read what `./run` wrote on the readiness pipe: a newline makes the
    /// service ready (and closes the pipe, as s6-supervise does); end of
    /// file closes it.
    pub(crate) fn read_notify(&mut self) {
        let Some(fd) = &self.notify else { return };
        let mut buf = [0u8; 256];
        loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => break,
                Ok(n) if buf[..n].contains(&b'\n') => {
                    self.rec.ready = Some(Tai64N::now());
                    break;
                }
                Ok(_) | Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(_) => break,
            }
        }
        self.notify = None;
    }

    /// The earliest timer, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.finish_deadline,
            self.kill_at.map(|(t, _)| t),
            self.restart_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Write the record if it changed since it was last written.
    ///
    /// # Errors
    /// The errno of writing or renaming `supervise/extstatus.new`.
    pub(crate) fn publish(&mut self) -> Result<(), Errno> {
        let bytes = self.rec.encode();
        if self.written == Some(bytes) {
            return Ok(());
        }
        servicedir::write_extstatus(&bytes)?;
        self.written = Some(bytes);
        Ok(())
    }
}

/// A wait status as the record stores it.
pub(crate) fn death(status: WaitStatus) -> Death {
    if let Some(sig) = status.terminating_signal() {
        Death::Killed(u8::try_from(sig).unwrap_or(u8::MAX))
    } else {
        Death::Exited(status.exit_status().map_or(0, |c| (c & 0xff) as u8))
    }
}

/// `./finish`'s arguments for a death: the exit code, or 256 and the signal.
pub(crate) fn finish_args(d: Death) -> (u32, u32) {
    match d {
        Death::Killed(s) => (256, u32::from(s)),
        Death::Exited(c) => (u32::from(c), 0),
        Death::None => (0, 0),
    }
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::extfiles::parse_backoff;

    fn exited(code: u8) -> Death {
        Death::Exited(code)
    }

    #[test]
    fn counts_deaths_restarts_and_backoff() {
        let cfg = Config {
            backoff: parse_backoff(b"100 400 60000"),
            extended: true,
            ..Config::default()
        };
        let pause = Duration::from_millis(50);
        let mut e = Ext::new(&cfg, pause);
        assert_eq!(e.rec.delay_ms, 100);
        assert!(e.rec.extended);
        let mut delays = Vec::new();
        for _ in 0..5 {
            e.configure(&cfg, pause);
            e.started(None, Tai64N::from_unix(1000, 500));
            e.died(exited(3), &cfg, pause);
            delays.push(e.rec.delay_ms);
        }
        assert_eq!(delays, [100, 200, 400, 400, 400]);
        assert_eq!((e.rec.deaths, e.rec.restarts), (5, 4));
        assert_eq!(e.rec.last_death, Death::Exited(3));
        assert!(e.restart_at.is_some());
        e.died(Death::Killed(9), &cfg, pause);
        assert_eq!(e.rec.last_death, Death::Killed(9));
        assert_eq!(finish_args(e.rec.last_death), (256, 9));
        assert_eq!(finish_args(Death::Exited(3)), (3, 0));
    }

    #[test]
    fn the_pause_is_a_floor_under_any_backoff() {
        let cfg = Config {
            backoff: parse_backoff(b"1 1 1"),
            extended: true,
            ..Config::default()
        };
        let pause = Duration::from_secs(1);
        let mut e = Ext::new(&cfg, pause);
        assert_eq!(e.rec.delay_ms, 1000);
        for _ in 0..3 {
            e.configure(&cfg, pause);
            e.started(None, Tai64N::from_unix(1000, 500));
            let started = e.started_at.unwrap();
            e.died(exited(1), &cfg, pause);
            assert_eq!(e.rec.delay_ms, 1000);
            assert!(e.restart_at.unwrap() >= started + pause);
        }
    }

    #[test]
    fn ready_at_the_start_without_a_readiness_pipe() {
        let cfg = Config::default();
        let mut e = Ext::new(&cfg, Duration::from_secs(1));
        let at = Tai64N::from_unix(1000, 500);
        e.started(None, at);
        assert_eq!(e.rec.ready, Some(at));
        e.died(exited(0), &cfg, Duration::from_secs(1));
        assert_eq!(e.rec.ready, None);
        let (r, _w) = rustix::pipe::pipe().unwrap();
        e.started(Some(r), at);
        assert_eq!(e.rec.ready, None, "waits for the newline");
    }

    #[test]
    fn finish_125_is_a_permanent_failure() {
        let cfg = Config::default();
        let mut e = Ext::new(&cfg, Duration::from_secs(1));
        e.rec.finishing = true;
        assert!(!e.finished(exited(0)));
        assert!(!e.rec.permanent_failure);
        assert!(e.finished(exited(125)));
        assert!(e.rec.permanent_failure && !e.rec.finishing);
        e.started(None, Tai64N::from_unix(1000, 500));
        assert!(!e.rec.permanent_failure);
        assert_eq!(e.rec.delay_ms, 1000);
        assert!(!e.rec.extended);
    }
}
