//! What is in the directories now, printed as the options ask: all of it,
//! the last `-n` lines, or a time range, of one directory or of several
//! merged by stamp. `-f` prints this first, then follows each directory
//! from the offset in its `current` that this read reached.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::Fatal;

use super::files::{self, Entry};
use super::index::Index;
use super::{copy, range, walk, Opts, Out, Stop, BLOCK};

/// One DIR: its log directory, its service name, its files (`current`
/// last, opened before the archives were listed) and its index.
pub(crate) struct Listed {
    pub dir: PathBuf,
    pub name: String,
    pub files: Vec<Entry>,
    pub index: Index,
}

/// List DIR `d` (a log or service directory); its index is loaded only
/// for a range.
///
/// # Errors
/// DIR is not a log directory, or cannot be read.
pub(crate) fn list(d: &Path, opts: &Opts) -> Result<Listed, Fatal> {
    let (dir, name) = crate::logdir::service::resolve_named(d)?;
    list_in(dir, name, opts)
}

/// [`list`] of log directory `dir`, DIR of service `name`.
///
/// # Errors
/// The directory cannot be read.
pub(crate) fn list_in(dir: PathBuf, name: String, opts: &Opts) -> Result<Listed, Fatal> {
    let files = files::list(&dir)?;
    let ranged = opts.since.is_some() || opts.until.is_some();
    let cache = opts.index.as_deref().filter(|_| ranged);
    let index = Index::load(cache, &dir);
    Ok(Listed {
        dir,
        name,
        files,
        index,
    })
}

/// The size of `current` (the last entry) now.
fn cur_len(files: &[Entry]) -> u64 {
    files
        .last()
        .and_then(Entry::held_file)
        .and_then(|f| f.metadata().ok())
        .map_or(0, |m| m.len())
}

/// Print `dirs` as `opts` asks to `out` (`re`: `-g`, compiled); for each,
/// the offset in its `current` read to. With `hold` (`-f`), a line
/// `current` ends with before its newline is written is left to the
/// follower when lines are printed one by one; a byte stream goes on where
/// it stopped.
///
/// # Errors
/// A fatal error, or the reader went away.
pub(crate) fn print<W: io::Write>(
    opts: &Opts,
    re: Option<&regex::bytes::Regex>,
    dirs: &mut [Listed],
    out: &mut Out<W>,
    hold: bool,
) -> Result<Vec<u64>, Stop> {
    let r = (opts.since, opts.until);
    let ranged = r.0.is_some() || r.1.is_some();
    let mut buf = vec![0u8; BLOCK];
    if dirs.len() > 1 || re.is_some() || out.line_only() {
        let mut starts = vec![(0usize, 0u64); dirs.len()];
        if ranged {
            for (k, d) in dirs.iter_mut().enumerate() {
                starts[k] = range::start_of(&d.files, r, &mut d.index);
            }
        }
        let walked: Vec<walk::Dir> = dirs
            .iter_mut()
            .map(|d| (d.name.clone(), std::mem::take(&mut d.files)))
            .collect();
        let mut skip = 0;
        if let Some(n) = opts.last {
            if walked.len() == 1 && re.is_none() {
                starts[0] = walk::tail_of(&walked[0].1, n, &mut buf)?;
            } else {
                // The last N of the selected lines: count them first.
                let total = walk::walk::<W>(&walked, &starts, r, re, None, 0, hold)?.0;
                skip = total.saturating_sub(n);
            }
        }
        let res = walk::walk(&walked, &starts, r, re, Some(out), skip, hold);
        let read_to = res.as_ref().map(|w| w.1.clone()).unwrap_or_default();
        let mut ends = Vec::with_capacity(dirs.len());
        for (k, (d, (_, files))) in dirs.iter_mut().zip(walked).enumerate() {
            // Nothing of `current` read (`-n 0`): from its end.
            ends.push(match read_to.get(k) {
                Some(&e) if starts[k].0 < files.len() => e,
                _ => cur_len(&files),
            });
            d.files = files;
        }
        res?;
        return Ok(ends);
    }
    let d = &mut dirs[0];
    let files = &d.files;
    let last = files.len().saturating_sub(1);
    let (first, from) = match opts.last {
        Some(n) => walk::tail_of(files, n, &mut buf)?,
        None if ranged => {
            let end = range::print_range(files, r, &mut d.index, &mut buf, out)?;
            return Ok(vec![end]);
        }
        None => (0, 0),
    };
    let mut end = cur_len(files);
    for (i, e) in files.iter().enumerate().skip(first) {
        let Some(f) = e.open() else { continue };
        let start = if i == first { from } else { 0 };
        if opts.last.is_none() {
            files::will_read(&f);
        }
        let reached = copy(&e.lf.path, &f, start, &mut buf, out)?;
        if i == last {
            end = reached;
        }
    }
    Ok(vec![end])
}
