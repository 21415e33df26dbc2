//! What stepwise input (`multilog::steps`) needs from a log directory:
//! its sizes for the in-flight record, and rotation points found before
//! anything is written, so that a step never spans a rotation.

use memchr::memchr;

use super::{LogDir, ROTATE_SLACK};

impl LogDir {
    /// Bytes in `current` (written, not buffered).
    #[must_use]
    pub(crate) fn written(&self) -> u64 {
        self.bytes
    }

    /// Bytes buffered for `current`.
    #[must_use]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// See [`LogDir::defer`].
    pub(crate) fn defer_rotation(&mut self) {
        self.defer = true;
    }

    /// How much of `data`, put after `extra` more bytes, keeps `current`
    /// short of its next rotation point: `s` itself, or the first newline
    /// at or past `s - 2000` (the rule of [`LogDir::write_through`]).
    #[must_use]
    pub(crate) fn limit(&self, extra: usize, data: &[u8]) -> usize {
        let used = self.bytes + (self.buf.len() + extra) as u64;
        let room = usize::try_from(self.size.saturating_sub(used)).unwrap_or(usize::MAX);
        let n = data.len().min(room);
        let thresh = self.size.saturating_sub(ROTATE_SLACK);
        let from = usize::try_from(thresh.saturating_sub(used + 1)).unwrap_or(usize::MAX);
        if from < n {
            if let Some(j) = memchr(b'\n', &data[from..n]) {
                return from + j + 1;
            }
        }
        n
    }

    /// Has what is buffered brought `current` to a rotation point?
    #[must_use]
    pub(crate) fn rotation_reached(&self) -> bool {
        let used = self.bytes + self.buf.len() as u64;
        used >= self.size
            || (self.buf.last() == Some(&b'\n') && used >= self.size.saturating_sub(ROTATE_SLACK))
    }

    /// Is `current` (everything written) at a rotation point? Also true
    /// for a resumed `current` already past `s - 2000` (after `s` was
    /// lowered): stepwise, it is rotated before the next line.
    #[must_use]
    pub(crate) fn rotation_due(&self) -> bool {
        self.bytes > 0
            && (self.bytes >= self.size
                || (self.last_nl && self.bytes >= self.size.saturating_sub(ROTATE_SLACK)))
    }
}
