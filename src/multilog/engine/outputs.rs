//! The engine's outputs: `e` alerts printed before a write that may pause,
//! flushing before multilog waits for input (`flushread`), the room left
//! before a rotation, SIGALRM's rotations and `c_quit`.

use super::Engine;
use crate::multilog::logdir::LogDir;

impl Engine {
    /// `doit` prints a line's `e` alert (and flushes stderr) before the
    /// line goes to its directories, so an alert never waits behind a
    /// write that pauses on a full disk. Alerts are batched here, so print
    /// them before a put of `n` bytes that may write. Without `e` the
    /// buffer is always empty and this is one comparison.
    #[inline]
    pub(super) fn echo_before_put(&mut self, n: usize) {
        if !self.echo.is_empty() && self.dirs.iter().any(|d| !d.buffers(n)) {
            self.flush_echo();
        }
    }

    pub(super) fn flush_echo(&mut self) {
        let mut data = &self.echo[..];
        while !data.is_empty() {
            match rustix::io::write(rustix::stdio::stderr(), data) {
                Ok(0) | Err(_) => break,
                Ok(n) => data = &data[n..],
            }
        }
        self.echo.clear();
    }

    /// Write everything buffered (`flushread`, before multilog waits for
    /// input). Alerts first: daemontools has printed them before the lines
    /// went to the directories or the status files, whose writes can
    /// pause on a full disk.
    pub fn flush(&mut self) {
        if !self.echo.is_empty() {
            self.flush_echo();
        }
        for d in &mut self.dirs {
            d.flush();
        }
        for s in &mut self.status {
            s.flush();
        }
    }

    /// Bytes that can still go to every `current` before one of them
    /// reaches its size limit (`usize::MAX` without directories).
    #[must_use]
    pub(crate) fn room(&self) -> usize {
        self.dirs
            .iter()
            .map(LogDir::room)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// SIGALRM: rotate every directory whose `current` is not empty.
    pub(crate) fn rotate_nonempty(&mut self) {
        for d in &mut self.dirs {
            d.force_rotate();
        }
    }

    /// `c_quit`: flush and close every directory cleanly.
    pub fn quit(&mut self) {
        self.flush();
        for d in &mut self.dirs {
            d.quit();
        }
    }
}
