//! A warning that may recur many times a second (a flood of connections,
//! `accept` failing), printed at most every [`WARN_EVERY`] with a count,
//! so that stderr (and the logger behind it) is not flooded but nothing
//! goes unreported.

use std::time::{Duration, Instant};

use rustix::io::Errno;

use super::PROG;
use crate::error;

/// At most one warning of each kind this often.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

/// A warning printed at most every [`WARN_EVERY`], with how many times
/// it happened meanwhile.
#[derive(Default)]
pub(crate) struct Rare {
    next: Option<Instant>,
    count: u64,
    reason: Option<Errno>,
}

impl Rare {
    pub(crate) fn note(&mut self, n: u64, reason: Option<Errno>) {
        self.count += n;
        self.reason = reason.or(self.reason);
    }

    /// Print the warning if there is something to say and it is time.
    pub(crate) fn flush(&mut self, now: Instant, text: impl Fn(u64) -> String) {
        if self.count == 0 || self.next.is_some_and(|t| now < t) {
            return;
        }
        let t = text(self.count);
        match self.reason.take() {
            Some(e) => error::warn(PROG, &t, Some(&std::io::Error::from(e))),
            None => error::warn(PROG, &t, None),
        }
        self.count = 0;
        self.next = Some(now + WARN_EVERY);
    }

    /// When [`Rare::flush`] would next print, if it has something to say.
    pub(crate) fn due(&self) -> Option<Instant> {
        (self.count > 0).then_some(self.next).flatten()
    }
}
