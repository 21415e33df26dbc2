//! The inotify side of `svscan`: which names an event batch is about, and
//! how often events may trigger a full scan. No counterpart in svscan.c,
//! which only polls every 5 seconds.
//!
//! Events are read in batches at most every [`SETTLE`], so a storm of names
//! created in the scan directory wakes svscan at most 50 times a second.
//! Names are classified cheaply: dot-names are dropped unread, a directory
//! made in place (`IN_CREATE|IN_ISDIR`) is [`Arrival::Made`], a directory
//! moved in is [`Arrival::Placed`], and any other name costs one `lstat`:
//! only a symlink is kept (as `Placed`); plain files and names already gone
//! are dropped. A batch with more than [`CAP`] names, or a queue overflow,
//! asks for a full scan instead, and full scans triggered that way are
//! spaced by [`Limiter`].

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::inotify;

/// Delay between being woken by an event and reading the batch, so that
/// the events of one `mkdir`/`mv`/`ln -s` sequence come in one batch.
pub(crate) const SETTLE: Duration = Duration::from_millis(20);
/// Above this many distinct names in one batch, scan the whole directory
/// instead of looking at each name.
pub(crate) const CAP: usize = 128;
/// First spacing between event-triggered full scans.
pub(crate) const MIN_GAP: Duration = Duration::from_millis(50);
/// Largest spacing between event-triggered full scans under a sustained
/// storm (the spacing doubles while demand lasts).
pub(crate) const MAX_GAP: Duration = Duration::from_secs(1);

const IN_Q_OVERFLOW: u32 = 0x4000;
const IN_ISDIR: u32 = 0x4000_0000;
const IN_CREATE: u32 = 0x100;

/// How a name came into the scan directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// A directory created in place (`mkdir`): it may still be filled.
    Made,
    /// A directory moved in, or a symlink: prepared elsewhere, complete.
    Placed,
}

/// What one batch of events asks for.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Names to look at, each with its latest arrival.
    pub(crate) names: HashMap<OsString, Arrival>,
    /// Scan the whole directory (overflow, or too many names).
    pub(crate) rescan: bool,
}

/// Watch the current directory for names created or moved in.
pub(crate) fn watch() -> Option<OwnedFd> {
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).ok()?;
    inotify::add_watch(
        &fd,
        c".",
        inotify::WatchFlags::CREATE | inotify::WatchFlags::MOVED_TO,
    )
    .ok()?;
    Some(fd)
}

/// Is `fd` readable within `d`?
pub(crate) fn readable(fd: &OwnedFd, d: Duration) -> bool {
    let ts = rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
}

/// Read every queued event and classify the names.
pub(crate) fn read_batch(fd: &OwnedFd) -> Batch {
    let mut raw = Raw::default();
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = rustix::io::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        parse(&buf[..n], &mut raw);
    }
    let mut b = Batch {
        names: HashMap::new(),
        rescan: raw.rescan,
    };
    if !b.rescan {
        for (name, seen) in raw.names {
            let arrival = match seen {
                Seen::Made => Arrival::Made,
                Seen::MovedDir => Arrival::Placed,
                Seen::Other if symlink(&name) => Arrival::Placed,
                Seen::Other => continue,
            };
            b.names.insert(name, arrival);
        }
    }
    b
}

fn symlink(name: &OsStr) -> bool {
    rustix::fs::lstat(name).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// What the events of a batch say about one name (the latest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// `IN_CREATE|IN_ISDIR`.
    Made,
    /// `IN_MOVED_TO|IN_ISDIR`.
    MovedDir,
    /// No `IN_ISDIR`: a file, a symlink, ...; needs an `lstat`.
    Other,
}

/// A batch as parsed, before the `lstat`s.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    /// Distinct names, at most [`CAP`].
    pub(crate) names: HashMap<OsString, Seen>,
    /// Queue overflow or more than [`CAP`] names.
    pub(crate) rescan: bool,
}

/// Parse raw `struct inotify_event` records (`wd`, `mask`, `cookie`,
/// `len`, then `len` bytes of NUL-padded name) into `b`.
pub(crate) fn parse(mut buf: &[u8], b: &mut Raw) {
    while buf.len() >= 16 {
        let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let (mask, len) = (word(4), word(12) as usize);
        let Some(name) = buf.get(16..16 + len) else {
            return;
        };
        buf = &buf[16 + len..];
        if mask & IN_Q_OVERFLOW != 0 {
            b.rescan = true;
        }
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        if b.rescan || name.is_empty() || name[0] == b'.' {
            continue;
        }
        let seen = if mask & IN_ISDIR == 0 {
            Seen::Other
        } else if mask & IN_CREATE != 0 {
            Seen::Made
        } else {
            Seen::MovedDir
        };
        b.names.insert(OsStr::from_bytes(name).to_owned(), seen);
        if b.names.len() > CAP {
            b.rescan = true;
            b.names.clear();
        }
    }
}

/// Spacing of event-triggered full scans: the first after a quiet spell
/// runs at once; while demand lasts the gap doubles from [`MIN_GAP`] up to
/// [`MAX_GAP`]; it falls back once a scan was not asked for at once.
#[derive(Debug)]
pub(crate) struct Limiter {
    last: Option<Instant>,
    gap: Duration,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            last: None,
            gap: MIN_GAP,
        }
    }
}

impl Limiter {
    /// Earliest time the next event-triggered scan may run.
    #[must_use]
    pub(crate) fn ready_at(&self, now: Instant) -> Instant {
        self.last.map_or(now, |l| (l + self.gap).max(now))
    }

    /// An event-triggered scan ran at `now`.
    pub(crate) fn note(&mut self, now: Instant) {
        let sustained = self
            .last
            .is_some_and(|l| now.saturating_duration_since(l) <= self.gap + SETTLE + MIN_GAP);
        self.gap = if sustained {
            (self.gap * 2).min(MAX_GAP)
        } else {
            MIN_GAP
        };
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(mask: u32, name: &[u8]) -> Vec<u8> {
        let len = (name.len() + 1).next_multiple_of(16);
        let mut v = Vec::new();
        v.extend_from_slice(&1i32.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&u32::try_from(len).unwrap().to_ne_bytes());
        v.extend_from_slice(name);
        v.resize(16 + len, 0);
        v
    }

    #[test]
    fn parse_classifies_and_caps() {
        let mut raw = event(IN_CREATE | IN_ISDIR, b"made");
        raw.extend(event(0x80 | IN_ISDIR, b"moved"));
        raw.extend(event(IN_CREATE, b"file"));
        raw.extend(event(IN_CREATE | IN_ISDIR, b".hidden"));
        let mut b = Raw::default();
        parse(&raw, &mut b);
        assert!(!b.rescan);
        assert_eq!(b.names.len(), 3);
        assert_eq!(b.names[OsStr::new("made")], Seen::Made);
        assert_eq!(b.names[OsStr::new("moved")], Seen::MovedDir);
        assert_eq!(b.names[OsStr::new("file")], Seen::Other);

        let mut raw = Vec::new();
        for i in 0..=CAP {
            raw.extend(event(IN_CREATE, format!("f{i}").as_bytes()));
        }
        let mut b = Raw::default();
        parse(&raw, &mut b);
        assert!(b.rescan && b.names.is_empty());

        let mut b = Raw::default();
        parse(&event(IN_Q_OVERFLOW, b""), &mut b);
        assert!(b.rescan);
    }

    #[test]
    fn limiter_backs_off_and_recovers() {
        let t0 = Instant::now();
        let mut l = Limiter::default();
        assert_eq!(l.ready_at(t0), t0);
        let mut t = t0;
        for _ in 0..10 {
            t = l.ready_at(t);
            l.note(t);
        }
        assert_eq!(l.ready_at(t) - t, MAX_GAP);
        // After a quiet spell the next scan runs at once, the one after it
        // MIN_GAP later.
        let later = t + Duration::from_secs(10);
        assert_eq!(l.ready_at(later), later);
        l.note(later);
        assert_eq!(l.ready_at(later) - later, MIN_GAP);
    }
}
