//! `--since`/`--until`: the lines whose stamp `t` has `since <= t < until`,
//! a line without a stamp going with the stamped line before it (across
//! files: multilog may cut a long line across two).
//!
//! The result is that of a linear scan of every line ([`linear`], kept as
//! the reference), found without reading most of the directory: each
//! archive's [`Summary`] (from the index, else by reading it once) says
//! whether any of its stamps is in the range and whether its stamps are in
//! order. An archive with no stamp in the range whose first lines do not
//! go with a selected line is not opened; one whose stamps are in order is
//! entered by binary search for `since` and left at the first stamp at or
//! after `until`; one with a clock step back inside (stamps out of order)
//! is scanned whole, as is `current` (it grows: it has no summary) and an
//! archive that starts inside a line cut at the end of the one before with
//! bytes that read as a stamp (other such archives are as their summary
//! says: their first bytes go with the line carried over, as unstamped
//! first lines would).

use std::io;
use std::path::Path;

use crate::tai64::Tai64N;

use super::files::{read_at, Entry, Src};
use super::index::{summarize, Index, Summary};
use super::scan::Scanner;
use super::verify;
use super::{Out, Stop, BLOCK};

/// `[since, until)`, either end open.
pub(crate) type Range = (Option<Tai64N>, Option<Tai64N>);

/// Whether `t` is in `r`.
#[must_use]
pub(crate) fn within(r: Range, t: Tai64N) -> bool {
    r.0.is_none_or(|s| t >= s) && r.1.is_none_or(|u| t < u)
}

/// The state between two files: whether the next byte starts a line, and
/// whether the line it continues (or the unstamped lines it starts) are
/// selected.
pub(crate) type Carry = (bool, bool);

/// The carry at the start of a directory.
pub(crate) const START: Carry = (true, false);

/// Narrow a binary search down to this many bytes before scanning (small
/// in the unit tests, so that their small files are searched).
const WINDOW: u64 = if cfg!(test) { 200 } else { 64 * 1024 };
/// Bytes per read of a binary search's probe.
const PROBE: usize = if cfg!(test) { 40 } else { 4096 };

/// Copy bytes `from..to` of `f` to `out`.
fn span<W: io::Write>(
    path: &Path,
    f: &Src,
    (mut from, to): (u64, u64),
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<(), Stop> {
    while from < to {
        let want = buf
            .len()
            .min(usize::try_from(to - from).unwrap_or(usize::MAX));
        match read_at(f, path, &mut buf[..want], from) {
            Some(0) | None => break,
            Some(n) => {
                out.feed(&buf[..n])?;
                from += n as u64;
            }
        }
    }
    Ok(())
}

/// Copy the selected lines of `f` (named `path`) from offset `from` (a line start if
/// `carry.0`) to its end, or, with `stop`, to the first stamp at or after
/// `until` (the stamps after `from` are in order). Updates `carry` when
/// the end is reached. Returns the offset read to.
pub(crate) fn copy_range<W: io::Write>(
    (path, f): (&Path, &Src),
    from: u64,
    r: Range,
    carry: &mut Carry,
    stop: bool,
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<u64, Stop> {
    let mut sc = Scanner::new(f, path, from, carry.0, BLOCK);
    let mut sel = carry.1;
    let mut start = from;
    while let Some((off, t)) = sc.next_line() {
        let Some(t) = t else {
            // Long selected stretches go out as they are read.
            if sel && off - start >= BLOCK as u64 {
                span(path, f, (start, off), buf, out)?;
                start = off;
            }
            continue;
        };
        if stop && r.1.is_some_and(|u| t >= u) {
            if sel {
                span(path, f, (start, off), buf, out)?;
            }
            carry.1 = false;
            return Ok(off);
        }
        let now = within(r, t);
        if sel && (!now || off - start >= BLOCK as u64) {
            span(path, f, (start, off), buf, out)?;
        }
        if now && (!sel || off - start >= BLOCK as u64) {
            start = off;
        }
        sel = now;
    }
    if sel {
        span(path, f, (start, sc.end()), buf, out)?;
    }
    *carry = (sc.ends_nl().unwrap_or(carry.0), sel);
    Ok(sc.end())
}

/// The reference: every file scanned.
///
/// # Errors
/// A write error.
#[cfg(test)]
pub(crate) fn linear<W: io::Write>(
    entries: &[Entry],
    r: Range,
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<(), Stop> {
    let mut carry = START;
    for e in entries {
        if let Some(f) = e.open() {
            copy_range((&e.lf.path, &f), 0, r, &mut carry, false, buf, out)?;
        }
    }
    Ok(())
}

/// In a file of `len` bytes whose stamps are in order, a line start from
/// which a scan (not selected) finds the first stamp at or after `since`:
/// a stamped line with a stamp before `since`, or 0.
fn search(f: &Src, path: &Path, len: u64, since: Tai64N) -> u64 {
    if matches!(f, Src::Zst(_)) {
        // Each probe back would decompress it again: scan it instead.
        return 0;
    }
    let (mut lo, mut hi) = (0u64, len);
    while hi - lo > WINDOW {
        let mid = lo + (hi - lo) / 2;
        let mut sc = Scanner::new(f, path, mid - 1, false, PROBE);
        let mut found = None;
        while let Some((off, t)) = sc.next_line() {
            if off >= hi {
                break;
            }
            if let Some(t) = t {
                found = Some((off, t));
                break;
            }
        }
        match found {
            Some((off, t)) if t < since => lo = off,
            _ => hi = mid,
        }
    }
    lo
}

/// The carry after a whole file of summary `s` entered with `c`.
fn after(s: &Summary, c: Carry, r: Range) -> Carry {
    if s.len == 0 {
        return c;
    }
    (s.ends_nl, s.last.map_or(c.1, |t| within(r, t)))
}

/// What to do with an archive: skip it (nothing in it is selected) or
/// read it from an offset, with the carry there and whether to stop at
/// `until`.
enum Plan {
    Skip,
    Read(u64, Carry, bool),
}

/// Whether nothing in a file of summary `s` entered with `c` is selected:
/// no stamp in the range, and no first lines that go with a selected one.
fn none_selected(s: &Summary, c: Carry, r: Range) -> bool {
    let stamped_in = s.min.zip(s.max).is_some_and(|(lo, hi)| {
        r.0.is_none_or(|since| hi >= since) && r.1.is_none_or(|until| lo < until)
    });
    !(stamped_in || (s.len > 0 && s.lead && c.1))
}

fn plan(s: &Summary, c: Carry, r: Range, f: &Src, path: &Path) -> Plan {
    if none_selected(s, c, r) {
        return Plan::Skip;
    }
    let lead_sel = s.lead && c.1;
    if !s.sorted {
        return Plan::Read(0, c, false);
    }
    match r.0 {
        Some(since) if !lead_sel => Plan::Read(search(f, path, s.len, since), START, true),
        _ => Plan::Read(0, c, true),
    }
}

/// The summary of archive `e` from `index` if its ends match it
/// ([`verify::consistent`]), else made (and added) by reading `e`; and
/// `e` open. `None`: `e` has gone.
fn summary(e: &Entry, index: &mut Index) -> Option<(Summary, Option<Src>)> {
    let known = index.get(e);
    let f = e.open()?;
    if let Some(s) = known {
        // Believed only as far as the archive's ends confirm it.
        if verify::consistent(&f, &e.lf.path, &s) {
            return Some((s, Some(f)));
        }
        verify::mismatch(&e.lf.path);
    }
    let s = summarize(&f, &e.lf.path);
    index.put(e, s);
    Some((s, Some(f)))
}

/// Whether an archive of summary `s` entered with `c` can be taken as its
/// summary says: it starts with a line, or inside a line (cut across
/// files) with bytes that do not read as a stamp, which then go with the
/// carried line just as unstamped first lines would.
fn as_summarized(s: &Summary, c: Carry) -> bool {
    c.0 || s.lead || s.len == 0
}

/// Print the lines of `entries` in range `r`, using and adding to `index`;
/// the offset `current` (the last entry) was read to.
///
/// # Errors
/// A write error.
pub(crate) fn print_range<W: io::Write>(
    entries: &[Entry],
    r: Range,
    index: &mut Index,
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<u64, Stop> {
    let mut carry = START;
    let mut end = 0;
    for e in entries {
        let known = if e.kind.is_some() {
            summary(e, index)
        } else {
            None
        };
        let Some((s, file)) = known.filter(|(s, _)| as_summarized(s, carry)) else {
            // `current` (no summary: it grows), or an archive whose first
            // bytes, continuing a cut line, read as a stamp.
            out.flush()?;
            if let Some(f) = e.open() {
                end = copy_range((&e.lf.path, &f), 0, r, &mut carry, false, buf, out)?;
            }
            continue;
        };
        if none_selected(&s, carry, r) {
            carry = after(&s, carry, r);
            continue;
        }
        let Some(f) = file.or_else(|| e.open()) else {
            continue;
        };
        match plan(&s, carry, r, &f, &e.lf.path) {
            Plan::Skip => {}
            Plan::Read(from, mut c, stop) => {
                copy_range((&e.lf.path, &f), from, r, &mut c, stop, buf, out)?;
            }
        }
        carry = after(&s, carry, r);
    }
    Ok(end)
}

/// Where a line-by-line reader of `entries` (not selected at its start)
/// may start instead of at the first file for range `r`: the first
/// archive that may hold a selected line, entered by binary search if its
/// stamps are in order; `current` otherwise.
pub(crate) fn start_of(entries: &[Entry], r: Range, index: &mut Index) -> (usize, u64) {
    let mut carry = START;
    // The file the line being read started in (a line cut across files
    // is read from there).
    let mut line_file = 0;
    for (i, e) in entries.iter().enumerate() {
        if e.kind.is_none() {
            return (if carry.0 { i } else { line_file }, 0);
        }
        let Some((s, file)) = summary(e, index) else {
            continue;
        };
        if !as_summarized(&s, carry) {
            return (line_file, 0);
        }
        if carry.0 || s.newline {
            line_file = i;
        }
        if none_selected(&s, carry, r) {
            carry = after(&s, carry, r);
            continue;
        }
        let Some(f) = file.or_else(|| e.open()) else {
            continue;
        };
        return match plan(&s, carry, r, &f, &e.lf.path) {
            Plan::Read(from, c, _) if !c.1 => (i, from),
            _ => (i, 0),
        };
    }
    (entries.len(), 0)
}

#[cfg(test)]
#[path = "range_tests.rs"]
mod tests;
