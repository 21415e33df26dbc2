//! The line-by-line walk (for `-g`, `-o json` and several DIRs): each DIR
//! is a stream of lines ([`Lines`]), merged by stamp (ties to the earlier
//! DIR; unstamped lines stay after the line before them) and prefixed with
//! the service name when there are several; and `-n`'s start, found
//! reading backwards.

use std::io;

use crate::error::Fatal;
use crate::logdir::{tail_start, zst};
use crate::tai64::Tai64N;

use super::files::{Entry, Src};
use super::lines::Lines;
use super::range::{within, Range};
use super::stamp::{line_label, line_text};
use super::{Out, Stop};

/// One log directory: its service name and its files.
pub(crate) type Dir = (String, Vec<Entry>);

/// Merge the directories from `starts` (a file and offset in each) in
/// stamp order, select (range `r`, `-g` `re`), and print the selected
/// lines after the first `skip` to `out`. Returns how many were selected
/// and where each directory's last file was read to; with `hold`, a last
/// line without its newline is left unread (`-f` follows from its start).
///
/// # Errors
/// A write error.
pub(crate) fn walk<W: io::Write>(
    dirs: &[Dir],
    starts: &[(usize, u64)],
    r: Range,
    re: Option<&regex::bytes::Regex>,
    mut out: Option<&mut Out<W>>,
    mut skip: u64,
    hold: bool,
) -> Result<(u64, Vec<u64>), Stop> {
    let merge = dirs.len() > 1;
    let ranged = r.0.is_some() || r.1.is_some();
    let prefixes: Vec<Vec<u8>> = dirs
        .iter()
        .map(|(n, _)| {
            if merge {
                format!("{n}: ").into_bytes()
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut rd: Vec<Lines> = dirs
        .iter()
        .zip(starts)
        .map(|((_, f), &(i, o))| {
            let l = Lines::new(f, i, o);
            if hold {
                l.hold_partial()
            } else {
                l
            }
        })
        .collect();
    let mut live: Vec<bool> = rd.iter_mut().map(Lines::advance).collect();
    // Each stream's next line's stamp, read once per line.
    let mut keys: Vec<Option<Tai64N>> = rd.iter().map(|l| line_label(l.head())).collect();
    let mut sel = vec![false; dirs.len()];
    let mut count = 0u64;
    loop {
        // The stream whose next line has the smallest stamp (an unstamped
        // line opening a stream first); ties go to the earlier argument.
        let mut best: Option<(usize, Option<Tai64N>)> = None;
        for (k, &key) in keys.iter().enumerate() {
            if live[k] && best.is_none_or(|(_, b)| key < b) {
                best = Some((k, key));
            }
        }
        let Some((k, _)) = best else {
            return Ok((count, rd.iter().map(Lines::end).collect()));
        };
        let mut first = true;
        loop {
            let head = rd[k].head();
            let label = keys[k];
            if !first && label.is_some() {
                break;
            }
            first = false;
            if let Some(t) = label {
                sel[k] = within(r, t);
            }
            let keep = (!ranged || sel[k]) && re.is_none_or(|re| re.is_match(line_text(head)));
            let mut print = keep;
            if keep {
                count += 1;
                if skip > 0 {
                    skip -= 1;
                    print = false;
                }
            }
            if let (true, Some(o)) = (print, out.as_deref_mut()) {
                o.line(&prefixes[k], &dirs[k].0, head)?;
                while let Some(p) = rd[k].piece() {
                    o.piece(p)?;
                }
                o.end_line(merge)?;
            }
            live[k] = rd[k].advance();
            keys[k] = line_label(rd[k].head());
            if !merge || !live[k] {
                break;
            }
        }
    }
}

/// Where the last `n` lines of `files` start (a file's index and an
/// offset in it; `files.len()` when `n` is 0), reading backwards from the
/// end and opening only the files it reaches.
///
/// # Errors
/// A read error.
pub(crate) fn tail_of(files: &[Entry], n: u64, buf: &mut [u8]) -> Result<(usize, u64), Stop> {
    if n == 0 {
        return Ok((files.len(), 0));
    }
    let mut need = n;
    let mut skip_nl = true;
    for (i, e) in files.iter().enumerate().rev() {
        let Some(f) = e.open() else { continue };
        let bad = |err| Fatal::new(format!("unable to read {}", e.lf.path.display()), err);
        let found = match &f {
            Src::Plain(f) => {
                let size = f.metadata().map_err(bad)?.len();
                tail_start(f, size, &mut need, &mut skip_nl, buf).map_err(bad)?
            }
            Src::Zst(z) => zst::tail_start(z, &mut need, &mut skip_nl),
        };
        if let Some(off) = found {
            return Ok((i, off));
        }
    }
    Ok((0, 0))
}
