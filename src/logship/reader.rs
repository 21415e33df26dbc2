//! A log directory as a stream of line pieces, each with the durable
//! position just after it: lines whole when they fit in `max` bytes, else
//! cut into pieces of `max` bytes (never dropped). A line is handed out
//! only once its newline has been written (multilog always ends lines).

use memchr::memchr;

use crate::error::Fatal;
use crate::follow::{Follower, Got, Pos};
use crate::tai64::rfc3339::line_stamp;
use crate::tai64::Tai64N;

use super::syslog::Piece;

/// Bytes per read.
const BLOCK: usize = 64 * 1024;

/// A line being handed out in pieces.
struct Cut {
    /// Its stamp: the moment and the bytes.
    stamp: Option<(Tai64N, Vec<u8>)>,
    /// The number of the last piece handed out.
    part: u32,
}

/// The pieces of one directory.
pub struct Reader {
    /// The directory's follower.
    pub follower: Follower,
    buf: Vec<u8>,
    have: usize,
    pos: usize,
    /// Where `buf[0]` is.
    at: Option<Pos>,
    /// Bytes read from the follower before `buf[0]` since the start.
    base: u64,
    /// When the bytes in `buf` were read.
    read_time: Tai64N,
    /// The piece being gathered.
    line: Vec<u8>,
    /// The long line being cut, after its first piece.
    cut: Option<Cut>,
    /// A piece was handed out: clear `line` (and, if it ended its line,
    /// `cut`) before gathering.
    handed: Option<bool>,
    max: usize,
}

/// A piece with where the directory's stream is after it.
pub struct Next<'a> {
    /// The piece.
    pub piece: Piece<'a>,
    /// The position after it.
    pub end: Pos,
    /// The bytes read from the directory since the start, up to its end.
    pub seq: u64,
}

impl Reader {
    /// Pieces of at most `max` bytes (stamp included) from `follower`.
    #[must_use]
    pub fn new(follower: Follower, max: usize) -> Reader {
        Reader {
            follower,
            buf: vec![0; BLOCK],
            have: 0,
            pos: 0,
            at: None,
            base: 0,
            read_time: Tai64N::now(),
            line: Vec::new(),
            cut: None,
            handed: None,
            max: max.max(64),
        }
    }

    /// The next piece, `None` if there is none yet.
    ///
    /// # Errors
    /// The follower's.
    pub fn next(&mut self) -> Result<Option<Next<'_>>, Fatal> {
        if let Some(ended) = self.handed.take() {
            self.line.clear();
            if ended {
                self.cut = None;
            }
        }
        loop {
            if self.pos == self.have {
                match self.follower.read(&mut self.buf)? {
                    Got::Data { n, at } => {
                        self.base += self.have as u64;
                        self.have = n;
                        self.pos = 0;
                        self.at = Some(at);
                        self.read_time = Tai64N::now();
                    }
                    Got::Idle => return Ok(None),
                }
            }
            let room = self.max - self.line.len();
            // A newline right after `room` bytes still ends the line whole.
            let window = &self.buf[self.pos..self.have.min(self.pos + room + 1)];
            let (take, whole) = match memchr(b'\n', window) {
                Some(i) => (i, true),
                None => (window.len().min(room), false),
            };
            self.line.extend_from_slice(&window[..take]);
            self.pos += take + usize::from(whole);
            if !whole && self.line.len() < self.max {
                continue;
            }
            let Some(at) = self.at else {
                continue;
            };
            let end = Pos {
                off: at.off + self.pos as u64,
                ..at
            };
            self.handed = Some(whole);
            let seq = self.base + self.pos as u64;
            return Ok(Some(Next {
                piece: self.piece(whole),
                end,
                seq,
            }));
        }
    }

    /// The bytes read from the directory since the start.
    #[must_use]
    pub fn read_total(&self) -> u64 {
        self.base + self.have as u64
    }

    /// The gathered bytes as a piece: a whole line, or the next piece of a
    /// cut one.
    fn piece(&mut self, whole: bool) -> Piece<'_> {
        let first = self.cut.is_none();
        let stamp = if first { line_stamp(&self.line) } else { None };
        let skip = stamp.map_or(0, |(_, n)| n + usize::from(self.line.get(n) == Some(&b' ')));
        if first && whole {
            return Piece {
                time: stamp.map_or(self.read_time, |s| s.0),
                stamp: stamp.map(|(_, n)| &self.line[..n]),
                part: 0,
                text: &self.line[skip..],
            };
        }
        let line = &self.line;
        let c = self.cut.get_or_insert_with(|| Cut {
            stamp: stamp.map(|(t, n)| (t, line[..n].to_vec())),
            part: 0,
        });
        c.part += 1;
        Piece {
            time: c.stamp.as_ref().map_or(self.read_time, |s| s.0),
            stamp: c.stamp.as_ref().map(|s| s.1.as_slice()),
            part: c.part,
            text: &line[skip..],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follow::Start;

    /// Lines of any length, some stamped, through pieces of at most `max`
    /// bytes: joined again they are the lines; the stamp of a cut line is
    /// on every piece; the end positions rise to the file's end.
    #[test]
    fn pieces_rebuild_the_lines() {
        let d = tempfile::tempdir().unwrap();
        let t = Tai64N::from_unix(1_796_117_068, 5);
        let label = String::from_utf8(t.label().to_vec()).unwrap();
        let mut want: Vec<(Option<String>, String)> = Vec::new();
        let mut data = String::new();
        for i in 0..200usize {
            let text: String = "abcdefghij"
                .repeat(i % 23)
                .chars()
                .take(i * 7 % 230)
                .collect();
            let stamp = (i % 3 != 0).then(|| label.clone());
            match &stamp {
                Some(s) => data.push_str(&format!("{s} {text}\n")),
                None => data.push_str(&format!("{text}\n")),
            }
            want.push((stamp, text));
        }
        std::fs::write(d.path().join("current"), &data).unwrap();
        let f = Follower::open("test", d.path(), Start::All).unwrap();
        let max = 64;
        let mut r = Reader::new(f, max);
        let mut got: Vec<(Option<String>, String)> = Vec::new();
        let mut last_end = 0;
        let mut open_part = 0;
        while let Some(n) = r.next().unwrap() {
            let p = n.piece;
            assert!(n.end.off > last_end);
            last_end = n.end.off;
            let stamp = p.stamp.map(|s| String::from_utf8(s.to_vec()).unwrap());
            if stamp.is_some() {
                assert_eq!(p.time, t);
            }
            let text = String::from_utf8(p.text.to_vec()).unwrap();
            if p.part <= 1 {
                got.push((stamp, text));
            } else {
                assert_eq!(p.part, open_part + 1);
                assert_eq!(got.last().unwrap().0, stamp);
                got.last_mut().unwrap().1.push_str(&text);
            }
            open_part = p.part;
        }
        assert_eq!(last_end, data.len() as u64);
        assert_eq!(got, want);
    }
}
