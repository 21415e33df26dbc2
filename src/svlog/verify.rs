//! An index entry checked against its archive before it is believed: a
//! summary decides which lines a range skips, so a stale one (the archive
//! rewritten with its inode, size and time kept) or a forged one must not
//! hide a line without a word. Cheap: the first [`PEEK`] bytes (the first
//! line's stamp, which is the smallest stamp when the stamps are in
//! order, and whether it has one) and, for an uncompressed archive, the
//! last [`PEEK`] bytes (the last stamp, whether the contents end with a
//! newline). An entry that does not match is replaced by a summary made by
//! reading the archive, with one warning per run.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error;
use crate::tai64::Tai64N;

use super::files::{read_at, Src};
use super::index::Summary;
use super::stamp::line_label;
use super::PROG;

/// Bytes read at each end.
const PEEK: usize = 4096;

/// Up to `PEEK` bytes of `f` at `off`.
fn peek(f: &Src, path: &Path, off: u64) -> Vec<u8> {
    let mut buf = vec![0u8; PEEK];
    let mut have = 0;
    while have < PEEK {
        match read_at(f, path, &mut buf[have..], off + have as u64) {
            Some(0) | None => break,
            Some(n) => have += n,
        }
    }
    buf.truncate(have);
    buf
}

/// The stamp of the last line of `tail` (the last bytes of the contents,
/// from offset `at`) that starts in it and has one: `None` if none does.
fn last_stamp(tail: &[u8], at: u64) -> Option<Tai64N> {
    // Line starts: after each newline with bytes after it, and 0.
    let body = tail.strip_suffix(b"\n").unwrap_or(tail);
    let mut end = body.len();
    loop {
        let start = match memchr::memrchr(b'\n', &body[..end]) {
            Some(i) => i + 1,
            None if at == 0 => 0,
            None => return None,
        };
        if let Some(t) = line_label(&tail[start..]) {
            return Some(t);
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

/// Whether summary `s` may be that of `f` (named `path`), as far as its
/// ends show.
#[must_use]
pub(crate) fn consistent(f: &Src, path: &Path, s: &Summary) -> bool {
    let head = peek(f, path, 0);
    if head.is_empty() {
        return s.len == 0;
    }
    let first = line_label(&head);
    let stamps = s.min.zip(s.max);
    let first_ok = match (first, stamps) {
        (Some(t), Some((lo, hi))) => t >= lo && t <= hi && (!s.sorted || t == lo) && !s.lead,
        (Some(_), None) => false,
        (None, _) => s.lead,
    };
    if !first_ok || (s.sorted && s.last != s.max) {
        return false;
    }
    let Src::Plain(file) = f else {
        // The end of a compressed archive is not cheap to reach.
        return true;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let at = len.saturating_sub(PEEK as u64);
    let tail = if at == 0 { head } else { peek(f, path, at) };
    let ends_nl = tail.last() == Some(&b'\n');
    let last_ok = last_stamp(&tail, at).is_none_or(|t| Some(t) == s.last);
    len == s.len && ends_nl == s.ends_nl && last_ok
}

/// The one warning has been given.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Say, once a run, that the index entry of `path` did not match it.
pub(crate) fn mismatch(path: &Path) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        let what = format!(
            "index entry for {} does not match it: reading it instead",
            path.display()
        );
        error::warn(PROG, &what, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svlog::index::summarize;
    use std::io::Write;

    fn src(data: &[u8]) -> Src {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        Src::Plain(f)
    }

    fn line(t: i64, text: &str) -> Vec<u8> {
        let mut v = Tai64N::from_unix(t, 0).stamp().to_vec();
        v.extend_from_slice(text.as_bytes());
        v.push(b'\n');
        v
    }

    #[test]
    fn true_summaries_pass_and_moved_stamps_do_not() {
        let p = Path::new("x");
        let mut data = b"carried over\n".to_vec();
        for i in 0..500 {
            data.extend(line(1000 + i, "some text"));
            if i % 7 == 0 {
                data.extend_from_slice(b"unstamped\n");
            }
        }
        for d in [&data[..], &data[..100], &data[13..], b"", b"no newline"] {
            let f = src(d);
            let s = summarize(&f, p);
            assert!(consistent(&f, p, &s), "{:?}", String::from_utf8_lossy(d));
        }
        let f = src(&data);
        let s = summarize(&f, p);
        let moved = |d: i64| {
            let m = |t: Option<Tai64N>| t.map(|t| Tai64N::from_unix(t.unix_secs() + d, 0));
            Summary {
                min: m(s.min),
                max: m(s.max),
                last: m(s.last),
                ..s
            }
        };
        assert!(!consistent(&f, p, &moved(-100_000)));
        assert!(!consistent(&f, p, &moved(100_000)));
        assert!(!consistent(&f, p, &Summary { lead: false, ..s }));
        assert!(!consistent(
            &f,
            p,
            &Summary {
                len: s.len - 1,
                ..s
            }
        ));
    }
}
