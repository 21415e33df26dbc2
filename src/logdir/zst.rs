//! A `.s.zst` archive read as a stream, with bounded memory whatever it
//! expands to (a small archive may claim gigabytes: a "zstd bomb").
//!
//! svlog reads an archive from its start or from an offset onwards, and
//! looks back only a little (a range copies a stretch its scanner has just
//! passed), so the contents are decompressed as they are read (zstd's
//! streaming decoder, every frame) and only the last [`WINDOW`] bytes are
//! kept. A read before that window starts the decoder again from the
//! first byte; a read ahead of it decompresses and drops what lies
//! between. `-n` finds where the last lines start by counting newlines
//! forward ([`tail_start`]) instead of reading backwards.
//!
//! The follower (`svlog -f`, logship) needs its files whole: for it,
//! [`decompress`] expands an archive into a memory file, at most
//! [`CAP`] bytes of it, and says how much it left out.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error;

/// Decompressed bytes kept behind the read position.
const WINDOW: usize = 1 << 20;
/// Bytes decompressed at a time.
const CHUNK: usize = 128 * 1024;
/// Newline offsets remembered by [`tail_start`]'s first pass: more lines
/// asked for than this take a second pass.
const RING: u64 = 64 * 1024;

/// What one archive may expand to in memory for the follower: 1 GiB, 64
/// times multilog's largest rotation size (`s16777215`, as 0.76 caps it).
pub(crate) const CAP: u64 = 1 << 30;

type Decoder = zstd::stream::read::Decoder<'static, io::BufReader<File>>;

/// A compressed archive read through its decompressed bytes.
pub(crate) struct Stream {
    file: File,
    path: PathBuf,
    prog: &'static str,
    st: RefCell<State>,
}

struct State {
    dec: Option<Decoder>,
    /// Decompressed bytes produced since the decoder started.
    pos: u64,
    /// The last of them, ending at `pos`: `win[..len]`.
    win: Vec<u8>,
    len: usize,
    /// Where the contents end, once reached (a damaged archive ends where
    /// it breaks).
    end: Option<u64>,
    /// The damage has been reported.
    warned: bool,
}

impl Stream {
    /// The compressed archive `file` named `path`, read for `prog`.
    pub(crate) fn new(prog: &'static str, path: &Path, file: File) -> Stream {
        Stream {
            file,
            path: path.to_path_buf(),
            prog,
            st: RefCell::new(State {
                dec: None,
                pos: 0,
                win: Vec::new(),
                len: 0,
                end: None,
                warned: false,
            }),
        }
    }

    /// Report damage once, and end the contents where it was found.
    fn broken(&self, st: &mut State, e: &io::Error) {
        if !std::mem::replace(&mut st.warned, true) {
            let what = format!("unable to decompress {}", self.path.display());
            error::warn(self.prog, &what, Some(e));
        }
        st.end = Some(st.pos);
        st.dec = None;
    }

    /// The decoder, from the first byte again.
    fn restart(&self, st: &mut State) {
        st.pos = 0;
        st.len = 0;
        st.dec = None;
        let dec = self.file.try_clone().and_then(|mut f| {
            f.seek(SeekFrom::Start(0))?;
            Decoder::new(f)
        });
        match dec {
            Ok(d) => st.dec = Some(d),
            Err(e) => self.broken(st, &e),
        }
    }

    /// Decompress the next chunk into the window; false at the end.
    fn more(&self, st: &mut State) -> bool {
        if st.end.is_some_and(|e| st.pos >= e) {
            return false;
        }
        if st.dec.is_none() {
            self.restart(st);
        }
        if st.win.is_empty() {
            st.win = vec![0u8; 2 * WINDOW + CHUNK];
        }
        if st.len + CHUNK > st.win.len() {
            let keep = st.len - WINDOW;
            st.win.copy_within(keep..st.len, 0);
            st.len = WINDOW;
        }
        let Some(dec) = st.dec.as_mut() else {
            return false;
        };
        let at = st.len;
        let r = loop {
            match dec.read(&mut st.win[at..at + CHUNK]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        match r {
            Ok(0) => {
                st.end = Some(st.pos);
                st.dec = None;
                false
            }
            Ok(n) => {
                st.len += n;
                st.pos += n as u64;
                true
            }
            Err(e) => {
                self.broken(st, &e);
                false
            }
        }
    }

    /// Up to `buf.len()` decompressed bytes at offset `off` (0 at the
    /// end): as `pread`, never an error (damage is reported once and ends
    /// the contents).
    pub(crate) fn read_at(&self, buf: &mut [u8], off: u64) -> usize {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        if off < st.pos - st.len as u64 || st.dec.is_none() && st.end.is_none() {
            self.restart(st);
        }
        while off >= st.pos {
            if !self.more(st) {
                return 0;
            }
            // Drop what lies before `off`, but the window's worth.
            if off > st.pos + WINDOW as u64 && st.len > WINDOW {
                st.len = 0;
            }
        }
        let first = st.pos - st.len as u64;
        let i = usize::try_from(off - first).unwrap_or(usize::MAX);
        let n = buf.len().min(st.len - i);
        buf[..n].copy_from_slice(&st.win[i..i + n]);
        n
    }
}

/// [`super::tail::tail_start`] for a compressed archive: where the line
/// after the `need`-th newline from the end starts, found by counting its
/// newlines forward (one pass, keeping the offsets of the last ones; a
/// second pass when more than [`RING`] lines are asked for).
pub(crate) fn tail_start(s: &Stream, need: &mut u64, skip_nl: &mut bool) -> Option<u64> {
    let keep = (*need).min(RING) as usize + 1;
    let mut ring: VecDeque<u64> = VecDeque::with_capacity(keep);
    let mut buf = vec![0u8; CHUNK];
    let (mut off, mut count, mut last) = (0u64, 0u64, None);
    loop {
        let n = s.read_at(&mut buf, off);
        if n == 0 {
            break;
        }
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            if ring.len() == keep {
                ring.pop_front();
            }
            ring.push_back(off + i as u64);
            count += 1;
        }
        last = Some(buf[n - 1]);
        off += n as u64;
    }
    if last.is_some() && std::mem::take(skip_nl) && last == Some(b'\n') {
        // The stream's last newline ends its last line: not counted.
        ring.pop_back();
        count -= 1;
    }
    if count < *need {
        *need -= count;
        return None;
    }
    let back = std::mem::take(need);
    if back <= RING {
        return ring
            .get(ring.len() - usize::try_from(back).ok()?)
            .map(|o| o + 1);
    }
    // The (count - back + 1)-th newline from the start.
    let mut left = count - back + 1;
    let mut off = 0u64;
    loop {
        let n = s.read_at(&mut buf, off);
        if n == 0 {
            return Some(0);
        }
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            left -= 1;
            if left == 0 {
                return Some(off + i as u64 + 1);
            }
        }
        off += n as u64;
    }
}

/// The bytes past the cap counted at most (beyond: "at least").
const COUNT_MAX: u64 = 16 * CAP;

/// A zstd archive decompressed into a memory file (all its frames), at
/// most `cap` bytes of it; a damaged or cut one gives a warning
/// (`prog: warning: ...`) and what could be decompressed, one that
/// expands beyond `cap` a warning with the number of bytes left out.
pub(crate) fn decompress_capped(prog: &str, path: &Path, f: File, cap: u64) -> Option<File> {
    let fd = match rustix::fs::memfd_create("svlog", rustix::fs::MemfdFlags::CLOEXEC) {
        Ok(fd) => fd,
        Err(e) => {
            let e = io::Error::from(e);
            error::warn(prog, "unable to create memory file", Some(&e));
            return None;
        }
    };
    let mut out = File::from(fd);
    let r = zstd::stream::read::Decoder::new(f).and_then(|mut d| {
        let n = io::copy(&mut (&mut d).take(cap), &mut out)?;
        if n < cap {
            return Ok(0);
        }
        // The rest is counted, not kept.
        let skipped = io::copy(&mut d.take(COUNT_MAX), &mut io::sink())?;
        Ok(skipped)
    });
    match r {
        Ok(0) => {}
        Ok(skipped) => {
            let least = if skipped == COUNT_MAX {
                "at least "
            } else {
                ""
            };
            let what = format!(
                "{} expands beyond {cap} bytes: read only those, {least}{skipped} bytes left out",
                path.display()
            );
            error::warn(prog, &what, None);
        }
        Err(e) => {
            let what = format!("unable to decompress {}", path.display());
            error::warn(prog, &what, Some(&e));
        }
    }
    let _ = out.flush();
    Some(out)
}

/// [`decompress_capped`] at [`CAP`] (a test may lower it with
/// `DTOOLS_TEST_ZST_CAP`, so that its archives need not be gigabytes).
pub(crate) fn decompress(prog: &str, path: &Path, f: File) -> Option<File> {
    let cap = std::env::var("DTOOLS_TEST_ZST_CAP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CAP);
    decompress_capped(prog, path, f, cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(data: &[u8]) -> Stream {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&zstd::encode_all(data, 1).unwrap()).unwrap();
        Stream::new("svlog", Path::new("x.s.zst"), f)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]

        /// Reads anywhere, in any order, give the bytes at that offset.
        #[test]
        fn reads_anywhere(len in 0usize..3_000_000, reads in proptest::collection::vec((0u64..3_100_000, 1usize..300_000), 1..12)) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let s = stream(&data);
            for (off, n) in reads {
                let mut buf = vec![0u8; n];
                let got = s.read_at(&mut buf, off);
                let o = usize::try_from(off).unwrap();
                let want = if o >= len { &[][..] } else { &data[o..len.min(o + n)] };
                proptest::prop_assert!(got <= n && got > 0 || want.is_empty());
                proptest::prop_assert_eq!(&buf[..got], &want[..got]);
            }
        }

        /// The forward count finds what reading backwards finds.
        #[test]
        fn tail_as_backwards(lines in proptest::collection::vec(0usize..5000, 0..40), nl in proptest::bool::ANY, need in 1u64..60, skip in proptest::bool::ANY) {
            let mut data = Vec::new();
            for l in &lines {
                data.extend(std::iter::repeat_n(b'a', *l));
                data.push(b'\n');
            }
            if !nl {
                data.push(b'z');
            }
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(&data).unwrap();
            let (mut n1, mut s1) = (need, skip);
            let mut buf = vec![0u8; 777];
            let want = crate::logdir::tail::tail_start(&f, data.len() as u64, &mut n1, &mut s1, &mut buf).unwrap();
            let (mut n2, mut s2) = (need, skip);
            let got = tail_start(&stream(&data), &mut n2, &mut s2);
            proptest::prop_assert_eq!((got, n2, s2), (want, n1, s1));
        }
    }

    #[test]
    fn capped_decompression_keeps_at_most_the_cap() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&zstd::encode_all(&vec![b'\n'; 100_000][..], 3).unwrap())
            .unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let m = decompress_capped("svlog", Path::new("a.s.zst"), f, 1000).unwrap();
        assert_eq!(m.metadata().unwrap().len(), 1000);
    }
}
