//! The line starts of a file and their stamps, read forward in blocks:
//! what the time ranges, the binary search and the index are built on.

use std::path::Path;

use memchr::memchr;

use crate::tai64::Tai64N;

use super::files::{read_at, Src};
use super::stamp::{line_label, STAMP_MAX};

/// A forward reader of line starts.
pub(crate) struct Scanner<'a> {
    f: &'a Src,
    path: &'a Path,
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    base: u64,
    pos: usize,
    have: usize,
    eof: bool,
    /// `pos` is at a line start.
    at_start: bool,
    /// The last byte read, if any.
    last: Option<u8>,
}

impl<'a> Scanner<'a> {
    /// Lines of `f` (named `path`) from offset `from`, which is a line
    /// start if `at_start` (else the first line start is after the next
    /// newline); `block` bytes per read (at least [`STAMP_MAX`]).
    pub(crate) fn new(f: &'a Src, path: &'a Path, from: u64, at_start: bool, block: usize) -> Self {
        Scanner {
            f,
            path,
            buf: vec![0u8; block.max(STAMP_MAX)],
            base: from,
            pos: 0,
            have: 0,
            eof: false,
            at_start,
            last: None,
        }
    }

    /// Read more after the unread bytes; `false` at the end of the file
    /// (or after a read error, which [`read_at`] has reported).
    fn fill(&mut self) -> bool {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.have, 0);
            self.base += self.pos as u64;
            self.have -= self.pos;
            self.pos = 0;
        }
        let off = self.base + self.have as u64;
        match read_at(self.f, self.path, &mut self.buf[self.have..], off) {
            Some(0) | None => {
                self.eof = true;
                false
            }
            Some(n) => {
                self.have += n;
                self.last = Some(self.buf[self.have - 1]);
                true
            }
        }
    }

    /// The next line start: its offset and its stamp's moment; `None` at
    /// the end of the file.
    pub(crate) fn next_line(&mut self) -> Option<(u64, Option<Tai64N>)> {
        while !self.at_start {
            match memchr(b'\n', &self.buf[self.pos..self.have]) {
                Some(i) => {
                    self.pos += i + 1;
                    self.at_start = true;
                }
                None => {
                    self.pos = self.have;
                    if !self.fill() {
                        return None;
                    }
                }
            }
        }
        // Enough bytes to decide on a stamp, or the whole line.
        while !self.eof
            && self.have - self.pos < STAMP_MAX
            && memchr(b'\n', &self.buf[self.pos..self.have]).is_none()
        {
            self.fill();
        }
        if self.pos == self.have {
            return None;
        }
        self.at_start = false;
        Some((
            self.base + self.pos as u64,
            line_label(&self.buf[self.pos..self.have]),
        ))
    }

    /// The offset of the end of what has been read (after
    /// [`Scanner::next_line`] returned `None`: the end of the file).
    #[must_use]
    pub(crate) fn end(&self) -> u64 {
        self.base + self.have as u64
    }

    /// Whether the last byte read is a newline (`None`: nothing read).
    #[must_use]
    pub(crate) fn ends_nl(&self) -> Option<bool> {
        self.last.map(|b| b == b'\n')
    }
}
