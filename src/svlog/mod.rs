//! `svlog`: read a multilog log directory with local-time labels — all of
//! it, the last lines, or a time range (a new program; daemontools has no
//! counterpart).
//!
//! `svlog [-f] [-g REGEX] [-o FORMAT] [-n N | [--since T] [--until T]] DIR...`
//!
//! DIR is a log directory (it has `current`), or a service directory whose
//! `log/main` is one. Files are read in the order multilog wrote them: the
//! archives `@<label>.s` and `@<label>.u` in name order, then `current`.
//! Each line's leading TAI64N label is rendered by `tai64nlocal`'s own line
//! machine ([`crate::filters::LabelFilter`] over
//! [`crate::tai64::local::LocalTime`]), so on a directory of `.s` files the
//! output is byte-identical to `cat DIR/@*.s DIR/current | tai64nlocal`.
//!
//! Races: `current` is opened before the archives are listed, and an
//! archive that is the same file (rotated since) is not read again; an
//! archive that has gone when it is opened is skipped, except that a
//! vanished `.u` is looked for as the `.s` the finisher renames it to.
//! Compressed archives (`@….s.zst`) are not read yet.
//!
//! `-f`: then follow the directory (`follow.rs`).
//!
//! `-n N`: `current` is read backwards in blocks, then the archives newest
//! first, only as far back as N lines reach.
//!
//! `--since`/`--until` (see [`timeexpr`]): lines whose label `t` has
//! `since <= t < until`; a line without a label goes with the labelled line
//! before it. Every file is scanned, so the result is exact even where the
//! clock stepped back (labels out of order, archive names that do not bound
//! the labels inside). Skipping files by name and binary search inside them
//! would be faster but are wrong after a clock step unless the step is
//! known; they wait for an index that records steps.
//!
//! `-g`, `-o json` and several DIRs go line by line (`lines.rs`): each DIR is
//! a stream of lines, merged by label (ties to the earlier DIR; unlabelled
//! lines stay after the line before them) and prefixed with the service
//! name ([`service_name`]) when there are several. `-g` tests the text after
//! the label, and a line longer than `BLOCK` (128 KiB) on its first `BLOCK`
//! bytes. `-n` then counts selected lines: one pass to count, one to print.
//! `-o` picks the renderer ([`Format`]).

use std::fs::File;
use std::io;

use memchr::memchr;

use crate::error::{self, Fatal};
use crate::filters::StdoutFd;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use crate::tai64::local::LocalZone;
use crate::tai64::tz::Zone;
use crate::tai64::{Tai64N, LABEL_LEN};

mod args;
pub(crate) mod files;
mod follow;
mod lines;
mod out;
mod tail;
pub mod timeexpr;

pub(crate) use args::{parse_args, Opts};
pub(crate) use files::{archive_label, archives, open_all, resolve, LogFile};
use lines::Lines;
pub(crate) use out::{Format, Out, Stop};
pub(crate) use tail::find_tail;

const PROG: &str = "svlog";
/// The usage line.
pub(crate) const USAGE: &str =
    "svlog [-f] [-g REGEX] [-o local|utc|rfc3339|epoch|raw|json] [-n N | [--since T] [--until T]] DIR...";
/// Bytes per read.
const BLOCK: usize = 128 * 1024;
/// Output is written once it holds this many bytes.
const FLUSH_AT: usize = 64 * 1024;

/// Read `f` (named `path`) from `from` to its end into `out`; the offset
/// reached. A read error is a warning.
pub(crate) fn copy<W: io::Write>(
    path: &std::path::Path,
    f: &File,
    from: u64,
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<u64, Stop> {
    let mut off = from;
    while let Some(n) = files::read_at(f, path, buf, off) {
        if n == 0 {
            break;
        }
        out.feed(&buf[..n])?;
        off += n as u64;
    }
    Ok(off)
}

/// The label at the start of `line`, if it has a strict one.
pub(crate) fn line_label(line: &[u8]) -> Option<Tai64N> {
    if line.len() >= LABEL_LEN && line[0] == b'@' {
        Tai64N::from_hex(&line[1..LABEL_LEN])
    } else {
        None
    }
}

/// Copy the lines of `f` whose label is in `[since, until)`;
/// an unlabelled line goes with the line before it. `carry` (at a line
/// start, that line selected) goes from one file to the next, since
/// multilog may cut a long line across files.
fn copy_range<W: io::Write>(
    lf: &LogFile,
    f: &File,
    (since, until): (Option<Tai64N>, Option<Tai64N>),
    carry: &mut (bool, bool),
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<(), Stop> {
    let mut off = 0u64;
    let mut have = 0usize;
    let mut pos = 0usize;
    let (mut at_start, mut selected) = *carry;
    let mut eof = false;
    loop {
        if pos == have
            || (at_start
                && !eof
                && have - pos < LABEL_LEN
                && memchr(b'\n', &buf[pos..have]).is_none())
        {
            if eof {
                *carry = (at_start, selected);
                return Ok(());
            }
            buf.copy_within(pos..have, 0);
            have -= pos;
            pos = 0;
            match files::read_at(f, &lf.path, &mut buf[have..], off) {
                Some(0) => eof = true,
                Some(n) => {
                    have += n;
                    off += n as u64;
                }
                None => return Ok(()),
            }
            continue;
        }
        if at_start {
            if let Some(t) = line_label(&buf[pos..have]) {
                selected = since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u);
            }
            at_start = false;
        }
        match memchr(b'\n', &buf[pos..have]) {
            Some(i) => {
                if selected {
                    out.feed(&buf[pos..=pos + i])?;
                }
                pos += i + 1;
                at_start = true;
            }
            None => {
                if selected {
                    out.feed(&buf[pos..have])?;
                }
                pos = have;
            }
        }
    }
}

/// The text of a line after its label and one space, without its newline.
fn line_text(head: &[u8]) -> &[u8] {
    let t = if line_label(head).is_some() {
        let t = &head[LABEL_LEN..];
        t.strip_prefix(b" ").unwrap_or(t)
    } else {
        head
    };
    t.strip_suffix(b"\n").unwrap_or(t)
}

/// The service name of a log directory: the service directory's name if
/// it is `…/log/main` (after resolving links), else its last component.
#[must_use]
pub(crate) fn service_name(dir: &std::path::Path) -> String {
    let p = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let names: Vec<String> = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let n = names.len();
    if n >= 3 && names[n - 1] == "main" && names[n - 2] == "log" {
        return names[n - 3].clone();
    }
    names.last().cloned().unwrap_or_default()
}

/// One log directory: its service name and its files, opened.
type Dir = (String, Vec<(LogFile, File)>);

/// The line-by-line walk (for `-g`, `json` and several directories):
/// merge the directories in label order, select, and print the selected
/// lines after the first `skip` to `out`. Returns how many were selected.
fn walk<W: io::Write>(
    dirs: &[Dir],
    starts: &[(usize, u64)],
    opts: &Opts,
    re: Option<&regex::bytes::Regex>,
    mut out: Option<&mut Out<W>>,
    mut skip: u64,
) -> Result<u64, Stop> {
    let merge = dirs.len() > 1;
    let ranged = opts.since.is_some() || opts.until.is_some();
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
        .map(|((_, f), &(i, o))| Lines::new(f, i, o))
        .collect();
    let mut live: Vec<bool> = rd.iter_mut().map(Lines::advance).collect();
    let mut sel = vec![false; dirs.len()];
    let mut count = 0u64;
    loop {
        // The stream whose next line has the smallest label (an unlabelled
        // line opening a stream first); ties go to the earlier argument.
        let mut best: Option<(usize, Option<Tai64N>)> = None;
        for (k, r) in rd.iter().enumerate() {
            if !live[k] {
                continue;
            }
            let key = line_label(r.head());
            if best.is_none_or(|(_, b)| key < b) {
                best = Some((k, key));
            }
        }
        let Some((k, _)) = best else {
            return Ok(count);
        };
        let mut first = true;
        loop {
            let head = rd[k].head();
            let label = line_label(head);
            if !first && label.is_some() {
                break;
            }
            first = false;
            if let Some(t) = label {
                sel[k] = opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t < u);
            }
            let keep = (!ranged || sel[k]) && re.is_none_or(|r| r.is_match(line_text(head)));
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
            if !merge || !live[k] {
                break;
            }
        }
    }
}

/// Where the last `n` lines of `files` start.
fn tail_of(files: &[(LogFile, File)], n: u64, buf: &mut [u8]) -> Result<(usize, u64), Stop> {
    let sized: Vec<(u64, &File)> = files
        .iter()
        .map(|(lf, f)| match f.metadata() {
            Ok(m) => (m.len(), f),
            Err(e) => {
                error::warn(
                    PROG,
                    &format!("unable to stat {}", lf.path.display()),
                    Some(&e),
                );
                (0, f)
            }
        })
        .collect();
    Ok(find_tail(&sized, n, buf).map_err(|e| Fatal::new("unable to read log directory", e))?)
}

/// Print the directories as `opts` asks to `w`; `re` is `-g`, compiled.
///
/// # Errors
/// A fatal error, or the reader went away.
pub(crate) fn print<W: io::Write>(
    opts: &Opts,
    re: Option<&regex::bytes::Regex>,
    zone: Zone,
    w: W,
) -> Result<(), Stop> {
    if opts.follow {
        return follow::follow(opts, zone, w);
    }
    let mut dirs: Vec<Dir> = Vec::new();
    for d in &opts.dirs {
        let dir = resolve(d)?;
        let files = open_all(&dir)?;
        dirs.push((service_name(&dir), files));
    }
    let mut out = Out::new(w, opts.format, zone);
    let mut buf = vec![0u8; BLOCK];
    if dirs.len() > 1 || re.is_some() || out.line_only() {
        let mut starts = vec![(0usize, 0u64); dirs.len()];
        let mut skip = 0;
        if let Some(n) = opts.last {
            if dirs.len() == 1 && re.is_none() {
                starts[0] = tail_of(&dirs[0].1, n, &mut buf)?;
            } else {
                // The last N of the selected lines: count them first.
                let total = walk::<W>(&dirs, &starts, opts, re, None, 0)?;
                skip = total.saturating_sub(n);
            }
        }
        walk(&dirs, &starts, opts, re, Some(&mut out), skip)?;
        return out.finish();
    }
    let files = &dirs[0].1;
    if let Some(n) = opts.last {
        let first = tail_of(files, n, &mut buf)?;
        for (i, (lf, f)) in files.iter().enumerate().skip(first.0) {
            let from = if i == first.0 { first.1 } else { 0 };
            copy(&lf.path, f, from, &mut buf, &mut out)?;
        }
    } else if opts.since.is_some() || opts.until.is_some() {
        let mut carry = (true, false);
        for (lf, f) in files {
            copy_range(
                lf,
                f,
                (opts.since, opts.until),
                &mut carry,
                &mut buf,
                &mut out,
            )?;
        }
    } else {
        for (lf, f) in files {
            copy(&lf.path, f, 0, &mut buf, &mut out)?;
        }
    }
    out.finish()
}

/// Compile `-g`'s pattern: a bad one is a fatal error with exit 100,
/// reading `unable to parse regex R: ` and the regex crate's own reason
/// (its `error: ` line, else its first line).
///
/// # Errors
/// The pattern does not compile.
pub(crate) fn compile(pat: &str) -> Result<regex::bytes::Regex, Fatal> {
    regex::bytes::Regex::new(pat).map_err(|e| {
        let text = e.to_string();
        let reason = text
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .or_else(|| text.lines().next())
            .unwrap_or("")
            .to_string();
        let mut f = Fatal::plain(format!("unable to parse regex {pat}: {reason}"));
        f.code = error::EXIT_USAGE;
        f
    })
}

/// A closed reader ends svlog quietly: the write fails with EPIPE, which
/// [`Stop::Pipe`] turns into exit 0.
pub const SIGPIPE: Sigpipe = Sigpipe::Ignore;

/// The program (see the crate's entry convention).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args: Vec<String> = match main
        .argv
        .into_iter()
        .skip(1)
        .map(std::ffi::OsString::into_string)
        .collect::<Result<_, _>>()
    {
        Ok(a) => a,
        Err(_) => return error::usage(PROG, USAGE),
    };
    let zone = Zone::from_env();
    let mut lz = LocalZone::new(zone.clone());
    let Some(opts) = parse_args(&args, Tai64N::now(), &mut lz) else {
        return error::usage(PROG, USAGE);
    };
    let re = match opts.grep.as_deref().map(compile).transpose() {
        Ok(re) => re,
        Err(f) => return f.report(PROG),
    };
    match print(&opts, re.as_ref(), zone, StdoutFd) {
        Ok(()) | Err(Stop::Pipe) => 0,
        Err(Stop::Fatal(f)) => f.report(PROG),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmpfile(data: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        f
    }

    /// The last `n` lines the slow way.
    fn last_lines(data: &[u8], n: usize) -> usize {
        if data.is_empty() {
            return 0;
        }
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                body.iter()
                    .enumerate()
                    .filter(|(_, &c)| c == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        if n >= starts.len() {
            0
        } else {
            starts[starts.len() - n]
        }
    }

    proptest::proptest! {
        #[test]
        fn tail_matches_forward(lines in proptest::collection::vec("[a-z]{0,30}", 0..60),
                                partial in proptest::bool::ANY,
                                cuts in proptest::collection::vec(0usize..2000, 0..5),
                                n in 0u64..80, block in 1usize..50) {
            let mut data = lines.join("\n").into_bytes();
            if !lines.is_empty() && !partial {
                data.push(b'\n');
            }
            // Cut the stream into files anywhere (multilog cuts long lines).
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let files: Vec<(u64, File)> = cuts.windows(2)
                .map(|w| ((w[1] - w[0]) as u64, tmpfile(&data[w[0]..w[1]])))
                .collect();
            let refs: Vec<(u64, &File)> = files.iter().map(|(s, f)| (*s, f)).collect();
            let mut buf = vec![0u8; block];
            let (i, off) = find_tail(&refs, n, &mut buf).unwrap();
            let at = if i == refs.len() { data.len() } else { cuts[i] + off as usize };
            let want = if n == 0 { data.len() } else { last_lines(&data, n as usize) };
            proptest::prop_assert_eq!(at, want);
        }
    }

    #[test]
    fn archive_names() {
        assert!(archive_label(b"@400000006b050c5709c2505c.s").is_some());
        assert!(archive_label(b"@400000006b050c5709c2505c.u").is_some());
        assert!(archive_label(b"@400000006b050c5709c2505c.s.zst").is_none());
        assert!(archive_label(b"@400000006B050C5709C2505C.s").is_none());
        assert!(archive_label(b"current").is_none());
    }
}
