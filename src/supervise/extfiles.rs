//! The optional extension files of a service directory, read by supervise
//! before each start of `./run` (as s6-supervise reads its own). Names and
//! formats follow s6 where s6 has the file:
//!
//! | file | content | effect |
//! |---|---|---|
//! | `notification-fd` | a number ≥ 3 | `./run` gets the write end of a pipe on that descriptor; a newline marks it ready |
//! | `finish` | executable | run as `./finish EXITCODE SIGNAL DIR PGID` after `./run` dies; exit 125 = stay down |
//! | `timeout-finish` | milliseconds | `./finish` is killed after this long (default 5000; 0 = never) |
//! | `down-signal` | `SIGHUP`, `HUP` or a number | sent by `svc -d` instead of TERM (CONT follows) |
//! | `timeout-kill` | milliseconds | SIGKILL this long after the down signal if still alive (0 = never) |
//! | `process-group` | anything (presence) | `./run` leads its own session and process group; every signal goes to the group |
//! | `backoff` | `MIN MAX RESET` milliseconds | capped exponential restart delay (see [`Backoff`]) |
//!
//! Numbers are decimal, surrounded by optional white space. A file that
//! cannot be parsed, or is not a regular file (a FIFO is never waited
//! on), is reported by supervise and treated as absent.
//!
//! Differences from daemontools: daemontools has none of these files.

use std::time::Duration;

use rustix::io::Errno;

use super::servicedir::{self, Name, SmallError};

/// The default `timeout-finish` (s6's).
pub(crate) const DEFAULT_TIMEOUT_FINISH: Duration = Duration::from_millis(5000);

/// The crash-loop back-off of the `backoff` file.
///
/// The restart delay counts from the start of `./run`, like daemontools'
/// one-second pause after each start. When `./run` dies after less than
/// `reset`, the delay doubles for each such death in a row, from `min` up
/// to `max`; a death after `reset` or more puts it back to `min`. The
/// pause stays a floor ([`super::ext::Ext::died`]): `1 1 1` still restarts
/// a crashing service once a second, not hundreds of times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The first delay.
    pub(crate) min: Duration,
    /// The cap.
    pub(crate) max: Duration,
    /// Up this long, the service counts as healthy again.
    pub(crate) reset: Duration,
}

impl Backoff {
    /// The delay after the `quick`-th death in a row that came less than
    /// `reset` after its start (0 for a death after a healthy run).
    #[must_use]
    pub(crate) fn delay(&self, quick: u32) -> Duration {
        let factor = 1u32
            .checked_shl(quick.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.min
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
            .max(self.min)
    }
}

/// What the extension files say; [`Config::default`] is daemontools'
/// behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// `notification-fd`.
    pub(crate) notification_fd: Option<i32>,
    /// `finish` exists.
    pub(crate) finish: bool,
    /// `timeout-finish`; `None` = never.
    pub(crate) timeout_finish: Option<Duration>,
    /// `down-signal` (TERM by default).
    pub(crate) down_signal: i32,
    /// `timeout-kill`; `None` = never.
    pub(crate) timeout_kill: Option<Duration>,
    /// `process-group` exists.
    pub(crate) process_group: bool,
    /// `backoff`.
    pub(crate) backoff: Option<Backoff>,
    /// At least one extension file exists (even an unparsable one).
    pub(crate) extended: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            notification_fd: None,
            finish: false,
            timeout_finish: Some(DEFAULT_TIMEOUT_FINISH),
            down_signal: libc::SIGTERM,
            timeout_kill: None,
            process_group: false,
            backoff: None,
            extended: false,
        }
    }
}

/// Why an extension file was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bad {
    /// It could not be read.
    Read(Errno),
    /// Its content is not what the table above says.
    Format,
    /// It is not a regular file (a FIFO, a directory, a device): never
    /// opened for reading in a way that could block.
    NotRegular,
}

impl Config {
    /// Read the files in the current directory (the service directory);
    /// `bad` hears of each file that is ignored.
    pub(crate) fn load(mut bad: impl FnMut(Name, Bad)) -> Config {
        let mut c = Config::default();
        let mut buf = [0u8; 64];
        let mut text = |name: Name, c: &mut Config| -> Option<Vec<u8>> {
            match servicedir::read_small(name, &mut buf) {
                Ok(None) => None,
                Ok(Some(n)) => {
                    c.extended = true;
                    Some(buf[..n].trim_ascii().to_vec())
                }
                Err(e) => {
                    c.extended = true;
                    bad(
                        name,
                        match e {
                            SmallError::Sys(e) => Bad::Read(e),
                            SmallError::NotRegular => Bad::NotRegular,
                        },
                    );
                    None
                }
            }
        };
        let mut parsed = Vec::with_capacity(5);
        for name in [
            servicedir::NOTIFICATION_FD,
            servicedir::TIMEOUT_FINISH,
            servicedir::DOWN_SIGNAL,
            servicedir::TIMEOUT_KILL,
            servicedir::BACKOFF,
        ] {
            parsed.push((name, text(name, &mut c)));
        }
        for (name, t) in parsed {
            let Some(t) = t else { continue };
            let ok = match name {
                n if n == servicedir::NOTIFICATION_FD => number(&t)
                    .and_then(|v| i32::try_from(v).ok())
                    .filter(|&fd| fd >= 3)
                    .map(|fd| c.notification_fd = Some(fd)),
                n if n == servicedir::TIMEOUT_FINISH => {
                    number(&t).map(|ms| c.timeout_finish = millis(ms))
                }
                n if n == servicedir::DOWN_SIGNAL => signal_number(&t).map(|s| c.down_signal = s),
                n if n == servicedir::TIMEOUT_KILL => {
                    number(&t).map(|ms| c.timeout_kill = millis(ms))
                }
                _ => parse_backoff(&t).map(|b| c.backoff = Some(b)),
            };
            if ok.is_none() {
                bad(name, Bad::Format);
            }
        }
        c.finish = servicedir::exists(servicedir::FINISH);
        c.process_group = servicedir::exists(servicedir::PROCESS_GROUP);
        c.extended |= c.finish || c.process_group;
        c
    }
}

/// `Some(ms)` as a duration, `None` for 0 ("never").
fn millis(ms: u64) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms))
}

/// A decimal number, nothing else.
fn number(t: &[u8]) -> Option<u64> {
    if t.is_empty() || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// `MIN MAX RESET` in milliseconds, separated by white space; MIN ≥ 1 and
/// MAX ≥ MIN.
pub(crate) fn parse_backoff(t: &[u8]) -> Option<Backoff> {
    let mut it = t.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty());
    let min = number(it.next()?)?;
    let max = number(it.next()?)?;
    let reset = number(it.next()?)?;
    if it.next().is_some() || min == 0 || max < min {
        return None;
    }
    Some(Backoff {
        min: Duration::from_millis(min),
        max: Duration::from_millis(max),
        reset: Duration::from_millis(reset),
    })
}

/// Signal names as s6 writes them, without `SIG`.
pub(crate) const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `SIGHUP`, `HUP` (any case) or a number from 1 to 64.
pub(crate) fn signal_number(t: &[u8]) -> Option<i32> {
    if let Some(n) = number(t) {
        return i32::try_from(n).ok().filter(|s| (1..=64).contains(s));
    }
    let up = t.to_ascii_uppercase();
    let bare = up.strip_prefix(b"SIG").unwrap_or(&up);
    SIGNALS
        .iter()
        .find(|(n, _)| n.as_bytes() == bare)
        .map(|&(_, s)| s)
}

/// `SIGTERM` for 15; `SIG` and the number for signals without a name.
#[must_use]
pub(crate) fn signal_name(sig: i32) -> String {
    SIGNALS
        .iter()
        .find(|&&(_, s)| s == sig)
        .map_or_else(|| format!("SIG{sig}"), |(n, _)| format!("SIG{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(signal_number(b"SIGHUP"), Some(libc::SIGHUP));
        assert_eq!(signal_number(b"HUP"), Some(libc::SIGHUP));
        assert_eq!(signal_number(b"usr1"), Some(libc::SIGUSR1));
        assert_eq!(signal_number(b"15"), Some(15));
        assert_eq!(signal_number(b"0"), None);
        assert_eq!(signal_number(b"65"), None);
        assert_eq!(signal_number(b"SIGFOO"), None);
        assert_eq!(signal_number(b""), None);
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(40), "SIG40");
    }

    #[test]
    fn backoff_file() {
        let b = parse_backoff(b" 100  2000\t60000\n").unwrap();
        assert_eq!(b.min, Duration::from_millis(100));
        assert_eq!(b.max, Duration::from_secs(2));
        assert_eq!(b.reset, Duration::from_secs(60));
        for bad in [
            &b"100 2000"[..],
            b"0 10 10",
            b"100 50 10",
            b"1 2 3 4",
            b"a b c",
        ] {
            assert_eq!(parse_backoff(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = parse_backoff(b"100 1000 5000").unwrap();
        let ms: Vec<u128> = (0..8).map(|q| b.delay(q).as_millis()).collect();
        assert_eq!(ms, [100, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(1000));
        assert_eq!(b.delay(40), Duration::from_millis(1000));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"5000"), Some(5000));
        assert_eq!(number(b"-1"), None);
        assert_eq!(number(b"1 2"), None);
        assert_eq!(millis(0), None);
    }
}
