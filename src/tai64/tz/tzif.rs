//! TZif files as glibc reads and applies them: ports `__tzfile_read`,
//! `__tzfile_default` and `__tzfile_compute` of glibc's `time/tzfile.c`.
//!
//! The reader takes the 44-byte header, then exactly the body its counts
//! declare, with glibc's checks; see [`read_tzif`] for how files that are
//! not regular, or too large, are refused.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{Rules, Span};
use crate::tai64::calendar::utc_year;

/// TZif data as glibc keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Tzif {
    trans: Vec<i64>,
    idx: Vec<u8>,
    /// `(utoff, isdst)`.
    types: Vec<(i64, bool)>,
    /// `(transition, correction)`.
    leaps: Vec<(i64, i64)>,
    /// Per type: `(isstd, isut)` indicators.
    flags: Vec<(bool, bool)>,
    spec: Option<Rules>,
}

impl Tzif {
    /// `__tzfile_default`: this (`posixrules`) file's transitions moved to
    /// the offsets of `rules`, which named DST without a rule. The file's
    /// own footer rule is kept, offsets and all, as glibc keeps it.
    pub(super) fn into_default(mut self, rules: &Rules) -> Option<Tzif> {
        if self.types.len() < 2 {
            return None;
        }
        let (stdoff, dstoff) = rules.offsets();
        // __tzfile_read: the offsets of the latest std and DST transitions.
        let (mut rule_std, mut rule_dst) = (None, None);
        for &ty in self.idx.iter().rev() {
            let (off, dst) = self.types[usize::from(ty)];
            if dst {
                rule_dst = rule_dst.or(Some(off));
            } else {
                rule_std = rule_std.or(Some(off));
            }
            if rule_std.is_some() && rule_dst.is_some() {
                break;
            }
        }
        let (rule_std, rule_dst) = if self.trans.is_empty() {
            (self.types[0].0, self.types[0].0)
        } else {
            let s = rule_std.unwrap_or(0);
            (s, rule_dst.unwrap_or(s))
        };
        let mut isdst = false;
        for (t, ty) in self.trans.iter_mut().zip(self.idx.iter_mut()) {
            let (_, dst) = self.types[usize::from(*ty)];
            let (isstd, isut) = self
                .flags
                .get(usize::from(*ty))
                .copied()
                .unwrap_or_default();
            *ty = u8::from(dst);
            if isut {
            } else if isdst && !isstd {
                *t = t.wrapping_add(dstoff - rule_dst);
            } else {
                *t = t.wrapping_add(stdoff - rule_std);
            }
            isdst = dst;
        }
        self.types = vec![(stdoff, false), (dstoff, true)];
        self.flags = vec![(false, false); 2];
        Some(self)
    }

    /// `__tzfile_compute` plus its leap-second part.
    pub(super) fn span(&self, t: i64) -> Span {
        let n = self.trans.len();
        let mut sp = if n == 0 || t < self.trans[0] {
            let i = self.types.iter().position(|&(_, dst)| !dst).unwrap_or(0);
            Span {
                lo: i64::MIN,
                hi: self.trans.first().copied().unwrap_or(i64::MAX),
                off: self.types.get(i).map_or(0, |x| x.0),
                hit: 0,
                fail: false,
            }
        } else if t >= self.trans[n - 1] {
            let last = self.trans[n - 1];
            match (&self.spec, utc_year(t)) {
                (Some(rules), Some(y)) => rules.compute(t, y, last, i64::MAX),
                _ => Span {
                    lo: last,
                    hi: i64::MAX,
                    off: self.types[usize::from(self.idx[n - 1])].0,
                    hit: 0,
                    fail: false,
                },
            }
        } else {
            // First transition after t; the type of the one before.
            // (Clamped: a corrupt file may not be sorted.)
            let i = self.trans.partition_point(|&x| x <= t).clamp(1, n - 1);
            Span {
                lo: self.trans[i - 1],
                hi: self.trans[i],
                off: self.types[usize::from(self.idx[i - 1])].0,
                hit: 0,
                fail: false,
            }
        };
        if !self.leaps.is_empty() {
            let i = self.leaps.partition_point(|&(x, _)| x <= t);
            if i < self.leaps.len() {
                sp.hi = sp.hi.min(self.leaps[i].0);
            }
            if i > 0 {
                let k = i - 1;
                let (lt, corr) = self.leaps[k];
                sp.lo = sp.lo.max(lt);
                sp.off -= corr;
                let prev = if k == 0 { 0 } else { self.leaps[k - 1].1 };
                if t == lt && corr > prev {
                    let mut hit = 1;
                    let mut j = k;
                    while j > 0
                        && self.leaps[j].0 == self.leaps[j - 1].0 + 1
                        && self.leaps[j].1 == self.leaps[j - 1].1 + 1
                    {
                        hit += 1;
                        j -= 1;
                    }
                    sp.hit = hit;
                    sp.lo = t;
                    sp.hi = t.saturating_add(1);
                } else if t > lt {
                    sp.lo = sp.lo.max(lt.saturating_add(1));
                }
            }
        }
        sp
    }
}

/// Largest TZif body (the data the header counts declare) read. glibc has
/// no limit but `SIZE_MAX`; zic's own limits (`TZ_MAX_TIMES` 2000,
/// `TZ_MAX_TYPES` 256, ...) keep real files under 64 KiB, so a larger claim
/// is refused rather than allocated.
pub const MAX_BODY: u64 = 4 << 20;
/// Most bytes of the POSIX footer read. glibc reads the whole rest of the
/// file; its parser stops long before this on any string it accepts.
pub const MAX_FOOTER: u64 = 64 << 10;

/// `__tzfile_read`'s `fopen` + `fstat`, bounded: the file is opened with
/// `O_NONBLOCK` so a FIFO without a writer cannot hang us (glibc's `fopen`
/// blocks there forever), and anything but a regular file is refused. glibc
/// in effect refuses those too: a directory fails its first `fread`, and a
/// device or FIFO has `st_size` 0, which fails the size check of a version
/// 2+ file (a version 1 file fed through a FIFO is the one thing glibc
/// would read that we do not).
pub(super) fn read_tzif(path: &Path) -> Option<Tzif> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .ok()?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    // glibc reads through a stdio buffer of st_blksize (4 KiB) bytes.
    let mut src = Src {
        r: std::io::BufReader::with_capacity(4096, file),
        pos: 0,
        size: meta.len(),
    };
    parse(&mut src)
}

/// A TZif byte stream with its position and total size (`st_size`), so
/// every count is checked against what the file holds before anything is
/// allocated for it.
struct Src<R> {
    r: R,
    pos: u64,
    size: u64,
}

impl<R: Read + Seek> Src<R> {
    fn left(&self) -> u64 {
        self.size.saturating_sub(self.pos)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut a = [0u8; N];
        self.r.read_exact(&mut a).ok()?;
        self.pos += N as u64;
        Some(a)
    }

    /// Exactly `n` bytes; `n` must already be bounded by the caller.
    fn vec(&mut self, n: u64) -> Option<Vec<u8>> {
        if n > self.left() {
            return None;
        }
        let mut v = vec![0u8; usize::try_from(n).ok()?];
        self.r.read_exact(&mut v).ok()?;
        self.pos += n;
        Some(v)
    }

    /// `fseek(f, n, SEEK_CUR)`.
    fn skip(&mut self, n: u64) -> Option<()> {
        self.r
            .seek(SeekFrom::Current(i64::try_from(n).ok()?))
            .ok()?;
        self.pos += n;
        Some(())
    }
}

fn be32(b: &[u8]) -> i64 {
    i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

/// The six counts of a TZif header, in glibc's names.
#[derive(Clone, Copy)]
struct Counts {
    isgmt: u64,
    isstd: u64,
    leaps: u64,
    trans: u64,
    types: u64,
    chars: u64,
}

impl Counts {
    /// Body size for transition times `w` bytes wide.
    fn body(&self, w: u64) -> u64 {
        self.trans * (w + 1)
            + self.types * 6
            + self.chars
            + self.leaps * (w + 4)
            + self.isstd
            + self.isgmt
    }
}

/// The 44-byte header (`read_again:` in `__tzfile_read`): magic, version
/// byte, counts, and glibc's `num_isstd > num_types` check.
fn header<R: Read + Seek>(src: &mut Src<R>) -> Option<(u8, Counts)> {
    let h: [u8; 44] = src.array()?;
    if &h[..4] != b"TZif" {
        return None;
    }
    let n = |k: usize| u64::from(u32::from_be_bytes([h[k], h[k + 1], h[k + 2], h[k + 3]]));
    let c = Counts {
        isgmt: n(20),
        isstd: n(24),
        leaps: n(28),
        trans: n(32),
        types: n(36),
        chars: n(40),
    };
    if c.isstd > c.types || c.isgmt > c.types {
        return None;
    }
    Some((h[4], c))
}

/// `__tzfile_read` after the `fstat`: the 64-bit body of a file whose
/// version byte is not NUL (the 32-bit one otherwise), checked as glibc
/// checks it, and the POSIX footer. Reads exactly what the header declares.
fn parse<R: Read + Seek>(src: &mut Src<R>) -> Option<Tzif> {
    let (version, mut c) = header(src)?;
    let mut w = 4;
    if version != 0 {
        // Skip the 32-bit data to the second header.
        src.skip(c.body(4))?;
        c = header(src)?.1;
        w = 8;
    }
    let body = c.body(w);
    if body > MAX_BODY || body > src.left() {
        return None;
    }
    // The footer: for a 64-bit file glibc requires at least 2 bytes after
    // the body (its `tzspec_len == 0` checks), the first of them '\n'.
    let spec_len = if w == 8 {
        let rest = src.left() - body;
        if rest < 2 {
            return None;
        }
        Some(rest - 1)
    } else {
        None
    };
    let times = src.vec(c.trans * w)?;
    let idx = src.vec(c.trans)?;
    if idx.iter().any(|&i| u64::from(i) >= c.types) {
        return None;
    }
    let trans = times
        .chunks_exact(w as usize)
        .map(|b| if w == 8 { be64(b) } else { be32(b) })
        .collect();
    let ttinfo = src.vec(c.types * 6)?;
    let mut types = Vec::with_capacity(ttinfo.len() / 6);
    for t in ttinfo.chunks_exact(6) {
        // glibc: isdst must be 0 or 1, the name index at most charcnt.
        if t[4] > 1 || u64::from(t[5]) > c.chars {
            return None;
        }
        types.push((be32(t), t[4] != 0));
    }
    src.skip(c.chars)?;
    let leapdata = src.vec(c.leaps * (w + 4))?;
    let leaps = leapdata
        .chunks_exact(w as usize + 4)
        .map(|b| {
            let (t, corr) = b.split_at(w as usize);
            (if w == 8 { be64(t) } else { be32(t) }, be32(corr))
        })
        .collect();
    let isstd = src.vec(c.isstd)?;
    let isgmt = src.vec(c.isgmt)?;
    let flags = (0..types.len())
        .map(|k| {
            let std = isstd.get(k).is_some_and(|&b| b != 0);
            let ut = isgmt.get(k).is_some_and(|&b| b != 0);
            (std, ut)
        })
        .collect();
    if types.is_empty() {
        // glibc asserts (aborts) on a file without types and transitions
        // and loses one with transitions; UTC here.
        return None;
    }
    let spec = spec_len.and_then(|n| footer(src, n));
    Some(Tzif {
        trans,
        idx,
        types,
        leaps,
        flags,
        spec,
    })
}

/// `__tzfile_read`'s tzspec: a '\n', then `n - 1` bytes (the file's last
/// byte, normally the closing '\n', is left out) used as a C string, so up
/// to the first NUL; an empty string is no rule. At most [`MAX_FOOTER`]
/// bytes are read.
fn footer<R: Read + Seek>(src: &mut Src<R>, n: u64) -> Option<Rules> {
    if src.array::<1>()? != [b'\n'] {
        return None;
    }
    let s = src.vec((n - 1).min(MAX_FOOTER))?;
    let s = s.split(|&b| b == 0).next().unwrap_or_default();
    (!s.is_empty()).then(|| Rules::parse(s))
}

/// [`parse`] over bytes in memory.
pub(super) fn parse_tzif(b: &[u8]) -> Option<Tzif> {
    parse(&mut Src {
        r: std::io::Cursor::new(b),
        pos: 0,
        size: b.len() as u64,
    })
}

#[cfg(test)]
#[path = "tzif_tests.rs"]
mod tests;
