//! The files of one log directory read as one stream of lines, with
//! bounded memory: a line longer than the buffer comes as a head (the first
//! [`BLOCK`](super::BLOCK) bytes) and then pieces.

use memchr::memchr;

use super::files::{Entry, Src};
use super::BLOCK;

/// One directory's files as a stream of lines.
pub(crate) struct Lines<'a> {
    files: &'a [Entry],
    idx: usize,
    /// File `idx`, once opened.
    file: Option<Src>,
    off: u64,
    buf: Vec<u8>,
    pos: usize,
    have: usize,
    eof: bool,
    /// The current line: `buf[cur.0..cur.1]`, and whether more follows.
    cur: Option<(usize, usize, bool)>,
    /// Inside a long line (after its head).
    long: bool,
    /// Leave a last line without its newline unread (`-f`: the follower
    /// goes on from its start).
    hold: bool,
    /// The offset reached in the last file, and where reading it began.
    last_off: u64,
    last_from: u64,
}

impl<'a> Lines<'a> {
    /// Lines of `files` from file `idx` at offset `off`.
    pub(crate) fn new(files: &'a [Entry], idx: usize, off: u64) -> Self {
        Self::with_block(files, idx, off, BLOCK)
    }

    /// As [`Lines::new`] with a buffer of `block` bytes (at least 1).
    pub(crate) fn with_block(files: &'a [Entry], idx: usize, off: u64, block: usize) -> Self {
        Lines {
            files,
            idx,
            file: None,
            off,
            buf: vec![0u8; block.max(1)],
            pos: 0,
            have: 0,
            eof: idx >= files.len(),
            cur: None,
            long: false,
            hold: false,
            last_off: if idx + 1 == files.len() { off } else { 0 },
            last_from: if idx + 1 == files.len() { off } else { 0 },
        }
    }

    /// Leave a last line that has no newline yet unread (if it lies in
    /// the last file): [`Lines::end`] is then its start.
    pub(crate) fn hold_partial(mut self) -> Self {
        self.hold = true;
        self
    }

    /// Where in the last file the lines given so far end: the offset to
    /// follow it from once [`Lines::advance`] has returned `false`.
    #[must_use]
    pub(crate) fn end(&self) -> u64 {
        self.last_off - (self.have - self.pos) as u64
    }

    /// Read more (after moving the unread bytes to the front).
    fn fill(&mut self) {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.have, 0);
            self.have -= self.pos;
            self.pos = 0;
        }
        while !self.eof {
            let e = &self.files[self.idx];
            if self.file.is_none() {
                self.file = e.open();
                if let Some(f) = &self.file {
                    super::files::will_read(f);
                }
            }
            let Some(f) = &self.file else {
                // Gone since the listing, or unreadable (said so).
                self.next_file();
                continue;
            };
            match super::files::read_at(f, &e.lf.path, &mut self.buf[self.have..], self.off) {
                Some(0) | None => self.next_file(),
                Some(n) => {
                    self.have += n;
                    self.off += n as u64;
                    if self.idx + 1 == self.files.len() {
                        self.last_off = self.off;
                    }
                    return;
                }
            }
        }
    }

    fn next_file(&mut self) {
        self.file = None;
        self.idx += 1;
        self.off = 0;
        self.eof = self.idx >= self.files.len();
    }

    /// Stage the next line (skipping what is left of the current one);
    /// `false` at the end.
    pub(crate) fn advance(&mut self) -> bool {
        while self.long {
            self.piece();
        }
        self.cur = None;
        loop {
            if let Some(i) = memchr(b'\n', &self.buf[self.pos..self.have]) {
                self.cur = Some((self.pos, self.pos + i + 1, false));
                self.pos += i + 1;
                return true;
            }
            let tail = (self.have - self.pos) as u64;
            if self.eof && self.hold && tail > 0 && tail <= self.last_off - self.last_from {
                // A line multilog has not finished writing, all of it in
                // the last file: the follower prints it whole.
                return false;
            }
            if self.have - self.pos == self.buf.len() || (self.eof && self.pos < self.have) {
                let more = !self.eof || self.have - self.pos == self.buf.len();
                self.cur = Some((self.pos, self.have, more));
                self.long = more;
                self.pos = self.have;
                return true;
            }
            if self.eof {
                return false;
            }
            self.fill();
            if self.eof && self.pos == self.have {
                return false;
            }
        }
    }

    /// The staged line's head (the whole line unless [`Lines::more`]).
    #[must_use]
    pub(crate) fn head(&self) -> &[u8] {
        self.cur.map_or(&[][..], |(a, b, _)| &self.buf[a..b])
    }

    /// The next piece of a long line (`None` when it has ended); the last
    /// piece holds its newline.
    pub(crate) fn piece(&mut self) -> Option<&[u8]> {
        if !self.long {
            return None;
        }
        if self.pos == self.have {
            self.fill();
            if self.pos == self.have {
                self.long = false;
                return None;
            }
        }
        let start = self.pos;
        match memchr(b'\n', &self.buf[self.pos..self.have]) {
            Some(i) => {
                self.pos += i + 1;
                self.long = false;
            }
            None => self.pos = self.have,
        }
        Some(&self.buf[start..self.pos])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logdir::LogFile;
    use std::io::Write;
    use std::path::PathBuf;

    proptest::proptest! {
        /// Heads and pieces put back together give the stream, split at
        /// its newlines; heads are never longer than the buffer.
        #[test]
        fn lines_rebuild_the_stream(data in proptest::collection::vec(
                                        proptest::sample::select(vec![b'a', b'b', b'\n']), 0..400),
                                    cuts in proptest::collection::vec(0usize..400, 0..4),
                                    block in 1usize..40) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let files: Vec<Entry> = cuts.windows(2).map(|w| {
                let mut f = tempfile::tempfile().unwrap();
                f.write_all(&data[w[0]..w[1]]).unwrap();
                Entry::held(LogFile { path: PathBuf::from("x"), label: None }, f)
            }).collect();
            let mut l = Lines::with_block(&files, 0, 0, block);
            let mut got: Vec<Vec<u8>> = Vec::new();
            while l.advance() {
                let mut line = l.head().to_vec();
                proptest::prop_assert!(!line.is_empty() && line.len() <= block);
                while let Some(p) = l.piece() {
                    line.extend_from_slice(p);
                }
                got.push(line);
            }
            let want: Vec<Vec<u8>> = data.split_inclusive(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
