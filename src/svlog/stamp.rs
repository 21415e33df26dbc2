//! The stamp a log line starts with, of either kind multilog writes: a
//! TAI64N label `@` + 24 hex digits (`t`) or an RFC 3339 stamp
//! `2026-12-01T09:24:28.123456789Z` (`T`), both read by
//! [`crate::tai64::rfc3339::line_stamp`]. [`Stamps`] lets tai64nlocal's line
//! machine render the second kind: it rewrites an RFC 3339 stamp at a line
//! start as the equivalent TAI64N label before the machine sees it.

use memchr::memchr;

use crate::filters::Filter;
use crate::tai64::rfc3339::{line_stamp, LEN as RFC_LEN};
use crate::tai64::Tai64N;

/// Bytes at a line start that decide whether it has a stamp (the longer
/// kind's length): a reader holds this many, or the whole line, before
/// calling [`line_label`].
pub(crate) const STAMP_MAX: usize = RFC_LEN;

/// The moment `line` starts with, if it has a strict stamp of either kind.
#[must_use]
pub(crate) fn line_label(line: &[u8]) -> Option<Tai64N> {
    line_stamp(line).map(|(t, _)| t)
}

/// The text of a line after its stamp and one space, without its newline.
#[must_use]
pub(crate) fn line_text(head: &[u8]) -> &[u8] {
    let t = match line_stamp(head) {
        Some((_, n)) => {
            let t = &head[n..];
            t.strip_prefix(b" ").unwrap_or(t)
        }
        None => head,
    };
    t.strip_suffix(b"\n").unwrap_or(t)
}

/// A filter in front of a label renderer: a line starting with an RFC
/// 3339 stamp reaches `inner` starting with the TAI64N label of the same
/// moment instead; all other bytes pass unchanged. Holds at most
/// [`STAMP_MAX`] bytes.
pub(crate) struct Stamps<F> {
    inner: F,
    /// Inside a line (past its first byte).
    mid: bool,
    /// The first bytes of a line that starts with a digit, until there are
    /// enough of them to decide.
    held: Vec<u8>,
}

impl<F: Filter> Stamps<F> {
    /// `inner` fed with RFC 3339 stamps rewritten as labels.
    pub(crate) fn new(inner: F) -> Self {
        Stamps {
            inner,
            mid: false,
            held: Vec::with_capacity(STAMP_MAX),
        }
    }

    /// The held line start is complete (or cut short): pass it on.
    fn release(&mut self, out: &mut Vec<u8>) {
        match line_stamp(&self.held) {
            Some((t, n)) if n == RFC_LEN => {
                self.inner.feed(&t.label(), out);
                self.inner.feed(&self.held[n..], out);
            }
            _ => self.inner.feed(&self.held, out),
        }
        self.held.clear();
    }
}

impl<F: Filter> Filter for Stamps<F> {
    fn on_read(&mut self) {
        self.inner.on_read();
    }

    fn feed(&mut self, b: &[u8], out: &mut Vec<u8>) {
        let mut p = 0;
        let mut from = 0;
        while p < b.len() {
            if !self.held.is_empty() {
                // Complete the held start: up to STAMP_MAX bytes or its end.
                let want = STAMP_MAX - self.held.len();
                let take = memchr(b'\n', &b[p..]).map_or(want, |i| (i + 1).min(want));
                let take = take.min(b.len() - p);
                self.held.extend_from_slice(&b[p..p + take]);
                p += take;
                from = p;
                if self.held.len() == STAMP_MAX || self.held.last() == Some(&b'\n') {
                    self.mid = self.held.last() != Some(&b'\n');
                    self.release(out);
                }
                continue;
            }
            if self.mid {
                match memchr(b'\n', &b[p..]) {
                    Some(i) => {
                        p += i + 1;
                        self.mid = false;
                    }
                    None => break,
                }
                continue;
            }
            if b[p].is_ascii_digit() {
                self.inner.feed(&b[from..p], out);
                self.held.push(b[p]);
                p += 1;
                from = p;
            } else {
                self.mid = true;
            }
        }
        if from < b.len() {
            self.inner.feed(&b[from..], out);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.held.is_empty() {
            self.release(out);
        }
        self.mid = false;
        self.inner.finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::LabelFilter;
    use crate::tai64::local::LocalTime;
    use crate::tai64::tz::Zone;

    fn render(input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut f = Stamps::new(LabelFilter::new(LocalTime::new(Zone::utc())));
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&input.len())) {
            let c = c.clamp(at, input.len());
            f.feed(&input[at..c], &mut out);
            at = c;
        }
        f.finish(&mut out);
        out
    }

    #[test]
    fn rfc3339_stamps_render_as_their_labels() {
        let t = Tai64N::from_unix(1_796_117_068, 123_456_789);
        let mut rfc = Vec::new();
        assert!(crate::tai64::rfc3339::format(t, &mut rfc));
        let mut tin = Vec::new();
        let mut lin = Vec::new();
        for text in ["a", "", "2026 not a stamp", "12", "x"] {
            for (v, s) in [(&mut tin, &rfc[..]), (&mut lin, &t.label()[..])] {
                v.extend_from_slice(s);
                v.extend_from_slice(b" ");
                v.extend_from_slice(text.as_bytes());
                v.push(b'\n');
                v.extend_from_slice(text.as_bytes());
                v.push(b'\n');
            }
        }
        tin.extend_from_slice(b"2026-12-01T09:24:28.12345678Z short\n1\n99");
        lin.extend_from_slice(b"2026-12-01T09:24:28.12345678Z short\n1\n99");
        let want = render(&lin, &[]);
        assert!(want.starts_with(b"2026-12-01 09:24:28.123456789 a\n"));
        for cut in 0..tin.len() {
            assert_eq!(render(&tin, &[cut]), want, "cut {cut}");
            assert_eq!(render(&tin, &[cut / 2, cut]), want, "cuts {cut}");
        }
    }

    #[test]
    fn text_after_either_stamp() {
        let t = Tai64N::from_unix(5, 0);
        let mut l = t.label().to_vec();
        l.extend_from_slice(b" hi\n");
        assert_eq!(line_text(&l), b"hi");
        assert_eq!(line_text(b"2026-12-01T09:24:28.123456789Z hi\n"), b"hi");
        assert_eq!(line_text(b"plain\n"), b"plain");
        assert_eq!(
            line_label(b"2026-12-01T09:24:28.123456789Z"),
            Some(Tai64N::from_unix(1_796_117_068, 123_456_789))
        );
    }
}
