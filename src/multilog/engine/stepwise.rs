//! The parts of the engine used between and around steps: stepwise input
//! (`multilog::steps`: puts limited to rotation points, the long-line state
//! kept in the in-flight record, rotations done between steps) and the `R`
//! timers, which also rotate only between steps.

use std::time::{Duration, Instant};

use super::Engine;
use crate::multilog::logdir::LogDir;
use crate::tai64::Tai64N;

impl Engine {
    /// A held line that did not come through [`Engine::process`] in this
    /// process (carried over a restart) is stamped now.
    pub(crate) fn restamp_held(&mut self) {
        if self.stamp_len > 0 {
            self.held_stamp = self.stamp.at(Tai64N::now());
        }
    }

    /// Switch to steps that end at rotation points (stdin is a pipe read
    /// by peeking); directories then rotate only in [`Engine::rotate_due`].
    pub(crate) fn set_stepwise(&mut self) {
        self.stepwise = true;
        for d in &mut self.dirs {
            d.defer_rotation();
        }
    }

    /// The long-line state: inside the overflow of a long line, and the
    /// directories that line goes to.
    pub(crate) fn long_state(&self) -> (bool, &[bool]) {
        (self.in_long, &self.long_sel)
    }

    /// Restore the long-line state a killed predecessor recorded.
    pub(crate) fn set_long_state(&mut self, in_long: bool, sel: &[bool]) {
        self.in_long = in_long;
        for (d, s) in self.long_sel.iter_mut().zip(sel) {
            *d = *s;
        }
    }

    /// The log directories, in script order.
    pub(crate) fn dirs(&self) -> &[LogDir] {
        &self.dirs
    }

    /// Limit `data` (after `extra` bytes already counted) so that no
    /// directory selected in `sel` passes a rotation point.
    pub(super) fn limit(&self, sel: &[bool], extra: usize, data: &[u8]) -> usize {
        if !self.stepwise {
            return data.len();
        }
        self.dirs
            .iter()
            .zip(sel)
            .filter(|(_, &on)| on)
            .map(|(d, _)| d.limit(extra, data))
            .min()
            .unwrap_or(data.len())
    }

    /// After a put to the directories in `sel`: stop if one of them
    /// reached a rotation point.
    pub(super) fn check_stop(&mut self, long: bool) {
        if self.stepwise {
            let sel = if long { &self.long_sel } else { &self.sel };
            self.stop = self
                .dirs
                .iter()
                .zip(sel)
                .any(|(d, &on)| on && d.rotation_reached());
        }
    }

    /// Does some directory have to rotate before the next step?
    #[must_use]
    pub(crate) fn rotation_due(&self) -> bool {
        self.dirs.iter().any(LogDir::rotation_due)
    }

    /// Between steps: rotate every directory at a rotation point.
    pub(crate) fn rotate_due(&mut self) {
        for d in &mut self.dirs {
            if d.rotation_due() {
                d.force_rotate();
            }
        }
    }

    /// `R`: rotate every directory whose `current` has come of age, and
    /// say how long until the next one does (`None`: none will without
    /// more input). Called after [`Engine::flush`], before waiting.
    pub(crate) fn timers(&mut self) -> Option<Duration> {
        if !self.timed {
            return None;
        }
        self.timers_at(Instant::now())
    }

    /// Is some directory's `R` deadline `now` or past? (Stepwise, the
    /// record is made idle before [`Engine::timers`] rotates.)
    pub(crate) fn timer_due(&self, now: Instant) -> bool {
        self.timed
            && self
                .dirs
                .iter()
                .any(|d| d.deadline().is_some_and(|t| t <= now))
    }

    /// [`Engine::timers`] as if it were `now`.
    pub(crate) fn timers_at(&mut self, now: Instant) -> Option<Duration> {
        let mut next: Option<Instant> = None;
        for d in &mut self.dirs {
            d.rotate_if_due(now);
            if let Some(t) = d.deadline() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next.map(|t| t.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::os::fd::OwnedFd;

    use super::Engine;
    use crate::multilog::script::Script;

    fn engine(first: &str, dir: &std::path::Path) -> Engine {
        let startfd: OwnedFd = std::fs::File::open(dir).unwrap().into();
        let args: Vec<OsString> = [first, "./d"].iter().map(OsString::from).collect();
        Engine::start(&Script::parse(&args), &startfd).unwrap()
    }

    /// A line carried over a restart is stamped in the script's kind.
    #[test]
    fn restamp_held_uses_the_scripts_stamp() {
        let tmp = tempfile::tempdir().unwrap();
        let mut t = engine("t", tmp.path());
        t.restamp_held();
        let s = &t.held_stamp[..t.stamp_len];
        assert!(s.len() == 26 && s[0] == b'@' && s[25] == b' ', "{s:?}");
        t.quit();
        drop(t);
        let mut rfc = engine("T", tmp.path());
        rfc.restamp_held();
        let s = &rfc.held_stamp[..rfc.stamp_len];
        assert!(s.len() == 31 && s[4] == b'-' && s[10] == b'T', "{s:?}");
        assert_eq!(&s[29..], b"Z ");
        rfc.quit();
    }
}
