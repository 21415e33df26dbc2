//! The extension `R<seconds>`: a non-empty `current` is rotated at most
//! that long after its first byte was written, even if no more input comes.
//! The reading loop asks [`LogDir::rotate_if_due`] before it waits, and
//! waits no longer than [`LogDir::deadline`] (monotonic clock, so a clock
//! step changes nothing).

use std::time::{Duration, Instant};

use super::LogDir;

/// When `current` got its first byte, and how old it may grow.
#[derive(Debug, Default)]
pub(super) struct Age {
    limit: Option<Duration>,
    since: Option<Instant>,
}

impl Age {
    pub(super) fn new(secs: u64) -> Age {
        Age {
            limit: (secs > 0).then(|| Duration::from_secs(secs)),
            since: None,
        }
    }

    /// Bytes are about to be written to `current`.
    #[inline]
    pub(super) fn wrote(&mut self) {
        if self.limit.is_some() && self.since.is_none() {
            self.since = Some(Instant::now());
        }
    }

    /// `current` was rotated: it is empty again.
    #[inline]
    pub(super) fn reset(&mut self) {
        self.since = None;
    }

    /// `None` too when the deadline is past what an `Instant` can hold
    /// (`R` of about 2^63 seconds): it is never reached.
    fn deadline(&self) -> Option<Instant> {
        self.since?.checked_add(self.limit?)
    }
}

impl LogDir {
    /// When `current` is due to be rotated (`None`: no `R`, or empty).
    #[must_use]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.age.deadline()
    }

    /// Does this directory rotate by age?
    #[must_use]
    pub(crate) fn has_timer(&self) -> bool {
        self.age.limit.is_some()
    }

    /// Rotate `current` if its deadline is `now` or past.
    pub(crate) fn rotate_if_due(&mut self, now: Instant) {
        if self.deadline().is_some_and(|d| d <= now) {
            self.force_rotate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{open_dir, real_fsync, start_ext};
    use super::*;
    use crate::multilog::script::DirExt;

    #[test]
    fn rotates_only_when_due_and_nonempty() {
        let tmp = tempfile::tempdir().unwrap();
        let startfd = open_dir(tmp.path());
        let ext = DirExt {
            rotate_secs: 60,
            ..DirExt::default()
        };
        let mut d = start_ext(&startfd, None, real_fsync, ext);
        assert!(d.has_timer());
        assert_eq!(d.deadline(), None);
        d.put(b"a\n");
        d.flush();
        let due = d.deadline().unwrap();
        let archives = || {
            std::fs::read_dir(tmp.path().join("d"))
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with('@')
                })
                .count()
        };
        d.rotate_if_due(due - Duration::from_millis(1));
        assert_eq!(archives(), 0);
        // More bytes do not move the deadline.
        d.put(b"b\n");
        d.flush();
        assert_eq!(d.deadline(), Some(due));
        d.rotate_if_due(due);
        d.quit();
        assert_eq!(archives(), 1);
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn no_timer_without_r() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = start_ext(&open_dir(tmp.path()), None, real_fsync, DirExt::default());
        d.put(b"a\n");
        d.flush();
        assert!(!d.has_timer());
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn a_deadline_past_what_an_instant_holds_is_never() {
        for secs in [i64::MAX as u64, u64::MAX] {
            let mut age = Age::new(secs);
            age.wrote();
            assert_eq!(age.deadline(), None, "R{secs}");
        }
    }
}
