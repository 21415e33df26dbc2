//! `svlog`: read a multilog log directory with local-time labels — all of
//! it, the last lines, or a time range (a new program; daemontools has no
//! counterpart).
//!
//! `svlog [-n N | [--since T] [--until T]] DIR`
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
//! `-n N`: `current` is read backwards in blocks, then the archives newest
//! first, only as far back as N lines reach.
//!
//! `--since`/`--until` (see [`timeexpr`]): lines whose label `t` has
//! `since <= t < until`. An archive named `@X` holds lines stamped before
//! `X`, and after the previous archive's name, so whole archives are
//! skipped by name; inside the first file that can hold `since` the start
//! is found by binary search on the labels of probed lines. A probe whose
//! label is out of order with the probes around it (the clock stepped back
//! inside the file) makes that file be scanned from its start. A line
//! without a label goes with the labelled line before it.
//!
//! Known limitation: after a clock step back, skipping archives by name and
//! the binary search assume labels rise; a step the probes do not straddle
//! is not detected, and lines stamped out of order may then be missed.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use memchr::{memchr, memrchr};

use crate::error::{self, Fatal};
use crate::filters::{Filter, LabelFilter, StdoutFd};
use crate::tai64::local::{LocalTime, LocalZone};
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

pub mod timeexpr;

const PROG: &str = "svlog";
/// The usage line.
pub const USAGE: &str = "svlog [-n N | [--since T] [--until T]] DIR";
/// Bytes per read.
const BLOCK: usize = 128 * 1024;
/// Output is written once it holds this many bytes.
const FLUSH_AT: usize = 64 * 1024;
/// The binary search stops when the range is this small.
const SEARCH_MIN: u64 = 64 * 1024;

/// Parsed options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Opts {
    /// `-n N`.
    pub last: Option<u64>,
    /// `--since T`.
    pub since: Option<Tai64N>,
    /// `--until T`.
    pub until: Option<Tai64N>,
    /// The directory.
    pub dir: PathBuf,
}

/// Parse argv (without the program name). `None` means usage.
#[must_use]
pub fn parse_args(args: &[String], now: Tai64N, zone: &mut LocalZone) -> Option<Opts> {
    let mut o = Opts::default();
    let mut dirs = Vec::new();
    let mut i = 0;
    let mut opts_done = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if opts_done || !a.starts_with('-') || a == "-" {
            dirs.push(PathBuf::from(a));
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ if a.starts_with("-n") && a.len() > 2 => ("-n", Some(a[2..].to_string())),
            _ => (a.as_str(), None),
        };
        if name == "--" {
            opts_done = true;
            continue;
        }
        if !matches!(name, "-n" | "--since" | "--until") {
            return None;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args.get(i)?.clone();
                i += 1;
                v
            }
        };
        match name {
            "-n" => {
                if value.is_empty() || !value.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                o.last = Some(value.parse().ok()?);
            }
            "--since" => o.since = Some(timeexpr::parse(&value, now, zone)?),
            _ => o.until = Some(timeexpr::parse(&value, now, zone)?),
        }
    }
    if dirs.len() != 1 || (o.last.is_some() && (o.since.is_some() || o.until.is_some())) {
        return None;
    }
    o.dir = dirs.pop()?;
    Some(o)
}

/// Why output stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The reader of standard output went away: exit 0 quietly.
    Pipe,
    /// A fatal error.
    Fatal(Fatal),
}

impl From<Fatal> for Stop {
    fn from(f: Fatal) -> Self {
        Stop::Fatal(f)
    }
}

/// Buffered output through the label renderer.
pub struct Out<W: io::Write> {
    filter: LabelFilter<LocalTime>,
    buf: Vec<u8>,
    w: W,
}

impl<W: io::Write> Out<W> {
    /// Output to `w`, labels rendered in `zone`.
    pub fn new(w: W, zone: Zone) -> Self {
        Out {
            filter: LabelFilter::new(LocalTime::new(zone)),
            buf: Vec::with_capacity(FLUSH_AT + BLOCK * 2),
            w,
        }
    }

    /// Render and queue `bytes` (any piece of the input stream).
    ///
    /// # Errors
    /// A write error.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        for piece in bytes.chunks(16 * 1024) {
            self.filter.feed(piece, &mut self.buf);
            if self.buf.len() >= FLUSH_AT {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Write what is queued.
    ///
    /// # Errors
    /// A write error.
    pub fn flush(&mut self) -> Result<(), Stop> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = self.w.write_all(&self.buf);
        self.buf.clear();
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => Err(Stop::Pipe),
            Err(e) => Err(Fatal::new("unable to write output", e).into()),
        }
    }

    /// End of input.
    ///
    /// # Errors
    /// A write error.
    pub fn finish(&mut self) -> Result<(), Stop> {
        self.filter.finish(&mut self.buf);
        self.flush()
    }
}

/// One file of a log directory, in reading order.
#[derive(Debug)]
pub struct LogFile {
    /// Its path.
    pub path: PathBuf,
    /// The archive's name label (`None` for `current`).
    pub label: Option<Tai64N>,
}

/// The log directory DIR stands for: DIR if it has `current`, else
/// `DIR/log/main` if that has.
///
/// # Errors
/// DIR missing, or neither has `current`.
pub fn resolve(dir: &Path) -> Result<PathBuf, Fatal> {
    std::fs::metadata(dir)
        .map_err(|e| Fatal::new(format!("unable to open directory {}", dir.display()), e))?;
    if dir.join("current").exists() {
        return Ok(dir.to_path_buf());
    }
    let main = dir.join("log/main");
    if main.join("current").exists() {
        return Ok(main);
    }
    let e = io::Error::from_raw_os_error(libc::ENOENT);
    Err(Fatal::new(
        format!("unable to open {}/current", dir.display()),
        e,
    ))
}

/// The archive label of a directory entry name (`@` + 24 hex + `.s`/`.u`).
#[must_use]
pub fn archive_label(name: &[u8]) -> Option<Tai64N> {
    if name.len() != 27 || name[0] != b'@' || !(name.ends_with(b".s") || name.ends_with(b".u")) {
        return None;
    }
    Tai64N::from_hex(&name[1..25])
}

/// The archives of `dir`, in name order; of a `.u` and `.s` with the same
/// label only the `.s`.
///
/// # Errors
/// The directory cannot be read.
pub fn archives(dir: &Path) -> Result<Vec<LogFile>, Fatal> {
    use std::os::unix::ffi::OsStrExt;
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Fatal::new(format!("unable to read directory {}", dir.display()), e))?;
    let mut names: Vec<Vec<u8>> = Vec::new();
    for e in rd {
        let e =
            e.map_err(|e| Fatal::new(format!("unable to read directory {}", dir.display()), e))?;
        let n = e.file_name().as_bytes().to_vec();
        if archive_label(&n).is_some() {
            names.push(n);
        }
    }
    names.sort();
    // `@X.s` sorts before `@X.u`: drop a `.u` right after its `.s`.
    names.dedup_by(|b, a| a[..25] == b[..25]);
    Ok(names
        .into_iter()
        .map(|n| LogFile {
            label: archive_label(&n),
            path: dir.join(std::ffi::OsStr::from_bytes(&n)),
        })
        .collect())
}

/// Open an archive: `None` if it has gone (a `.u` is looked for as `.s`);
/// other errors give a warning and `None`.
fn open_archive(f: &LogFile) -> Option<File> {
    match File::open(&f.path) {
        Ok(file) => return Some(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            error::warn(
                PROG,
                &format!("unable to open {}", f.path.display()),
                Some(&e),
            );
            return None;
        }
    }
    if f.path.extension().is_some_and(|x| x == "u") {
        if let Ok(file) = File::open(f.path.with_extension("s")) {
            return Some(file);
        }
    }
    None
}

/// The files of a log directory, opened: archives then `current`.
/// `current` is opened first, and an archive that turns out to be the same
/// file is left out. Only the archives `keep` accepts (given all archives
/// and an index) are opened.
///
/// # Errors
/// `current` cannot be opened, or the directory cannot be read.
pub fn open_all(
    dir: &Path,
    keep: impl Fn(&[LogFile], usize) -> bool,
) -> Result<Vec<(LogFile, File)>, Fatal> {
    let cur_path = dir.join("current");
    let cur = File::open(&cur_path)
        .map_err(|e| Fatal::new(format!("unable to open {}", cur_path.display()), e))?;
    let cur_id = cur
        .metadata()
        .map(|m| (m.dev(), m.ino()))
        .map_err(|e| Fatal::new(format!("unable to stat {}", cur_path.display()), e))?;
    let mut v = Vec::new();
    let list = archives(dir)?;
    let wanted: Vec<bool> = (0..list.len()).map(|i| keep(&list, i)).collect();
    for (a, want) in list.into_iter().zip(wanted) {
        if !want {
            continue;
        }
        if let Some(f) = open_archive(&a) {
            if f.metadata().is_ok_and(|m| (m.dev(), m.ino()) == cur_id) {
                continue;
            }
            v.push((a, f));
        }
    }
    v.push((
        LogFile {
            path: cur_path,
            label: None,
        },
        cur,
    ));
    Ok(v)
}

/// Read `f` from `from` to its end into `out`. A read error is a warning.
fn copy_from<W: io::Write>(
    lf: &LogFile,
    f: &File,
    from: u64,
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<(), Stop> {
    let mut off = from;
    loop {
        match f.read_at(buf, off) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                out.feed(&buf[..n])?;
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error::warn(
                    PROG,
                    &format!("unable to read {}", lf.path.display()),
                    Some(&e),
                );
                return Ok(());
            }
        }
    }
}

/// Where, reading the files as one stream from the newest back, the line
/// after the `need`-th newline from the end starts in `f` (of `size`
/// bytes); `None` (with the newlines found taken off `need`) if `f` holds
/// fewer. `skip_nl` says the stream's last byte is still to be seen: a
/// newline there ends the last line and is not counted. A file need not
/// end with a newline (multilog cuts a long line across files).
///
/// # Errors
/// A read error.
pub fn tail_start(
    f: &File,
    size: u64,
    need: &mut u64,
    skip_nl: &mut bool,
    buf: &mut [u8],
) -> io::Result<Option<u64>> {
    let mut end = size;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let len = (end - start) as usize;
        f.read_exact_at(&mut buf[..len], start)?;
        let mut hay = &buf[..len];
        if std::mem::take(skip_nl) && hay.last() == Some(&b'\n') {
            hay = &hay[..len - 1];
        }
        while let Some(i) = memrchr(b'\n', hay) {
            *need -= 1;
            if *need == 0 {
                return Ok(Some(start + i as u64 + 1));
            }
            hay = &hay[..i];
        }
        end = start;
    }
    Ok(None)
}

/// Where the last `n` lines of `files` (sizes and files, oldest first, read
/// as one stream) start: a file's index and an offset in it
/// (`files.len()` when `n` is 0).
///
/// # Errors
/// A read error.
pub fn find_tail(files: &[(u64, &File)], n: u64, buf: &mut [u8]) -> io::Result<(usize, u64)> {
    if n == 0 {
        return Ok((files.len(), 0));
    }
    let mut need = n;
    let mut skip_nl = true;
    for (i, (size, f)) in files.iter().enumerate().rev() {
        if let Some(off) = tail_start(f, *size, &mut need, &mut skip_nl, buf)? {
            return Ok((i, off));
        }
    }
    Ok((0, 0))
}

/// The label at the start of `line`, if it has a strict one.
fn line_label(line: &[u8]) -> Option<Tai64N> {
    if line.len() >= 25 && line[0] == b'@' {
        Tai64N::from_hex(&line[1..25])
    } else {
        None
    }
}

/// The first line starting at or after `off` (and, for `off > 0`, after a
/// newline at or after `off - 1`) that has a label, within one block.
fn probe(f: &File, off: u64, buf: &mut [u8]) -> io::Result<Option<(u64, Tai64N)>> {
    let from = off.saturating_sub(1);
    let n = read_full_at(f, buf, from)?;
    let hay = &buf[..n];
    let mut pos = if off == 0 {
        0
    } else {
        match memchr(b'\n', hay) {
            Some(i) => i + 1,
            None => return Ok(None),
        }
    };
    while pos < n {
        let line = &hay[pos..];
        if line.len() < 25 && n == buf.len() {
            return Ok(None);
        }
        if let Some(t) = line_label(line) {
            return Ok(Some((from + pos as u64, t)));
        }
        match memchr(b'\n', line) {
            Some(i) => pos += i + 1,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// `read_at` until `buf` is full or end of file.
fn read_full_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], off + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A line start in `f` (of `size` bytes) before which every line is
/// stamped before `since`, found by binary search; 0 when the probed
/// labels are out of order (a clock step).
///
/// # Errors
/// A read error.
pub fn search_start(f: &File, size: u64, since: Tai64N, buf: &mut [u8]) -> io::Result<u64> {
    let Some((_, first)) = probe(f, 0, buf)? else {
        return Ok(0);
    };
    if first >= since {
        return Ok(0);
    }
    let (mut lo, mut hi) = (0u64, size);
    let (mut lo_t, mut hi_t): (Tai64N, Option<Tai64N>) = (first, None);
    for _ in 0..64 {
        if hi - lo <= SEARCH_MIN {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        let Some((p, t)) = probe(f, mid, buf)? else {
            break;
        };
        if p >= hi || p <= lo {
            break;
        }
        if t < lo_t || hi_t.is_some_and(|h| t > h) {
            return Ok(0);
        }
        if t < since {
            lo = p;
            lo_t = t;
        } else {
            hi = p;
            hi_t = Some(t);
        }
    }
    Ok(lo)
}

/// Copy the lines of `f` from `from` whose label is in `[since, until)`;
/// an unlabelled line goes with the line before it. `carry` (at a line
/// start, that line selected) goes from one file to the next, since
/// multilog may cut a long line across files.
fn copy_range<W: io::Write>(
    lf: &LogFile,
    f: &File,
    from: u64,
    (since, until): (Option<Tai64N>, Option<Tai64N>),
    carry: &mut (bool, bool),
    buf: &mut [u8],
    out: &mut Out<W>,
) -> Result<(), Stop> {
    let mut off = from;
    let mut have = 0usize;
    let mut pos = 0usize;
    let (mut at_start, mut selected) = *carry;
    let mut eof = false;
    loop {
        if pos == have
            || (at_start && !eof && have - pos < 25 && memchr(b'\n', &buf[pos..have]).is_none())
        {
            if eof {
                *carry = (at_start, selected);
                return Ok(());
            }
            buf.copy_within(pos..have, 0);
            have -= pos;
            pos = 0;
            match f.read_at(&mut buf[have..], off) {
                Ok(0) => eof = true,
                Ok(n) => {
                    have += n;
                    off += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error::warn(
                        PROG,
                        &format!("unable to read {}", lf.path.display()),
                        Some(&e),
                    );
                    return Ok(());
                }
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

/// Print DIR as `opts` asks to `w`.
///
/// # Errors
/// A fatal error, or the reader went away.
pub fn run<W: io::Write>(opts: &Opts, zone: Zone, w: W) -> Result<(), Stop> {
    let dir = resolve(&opts.dir)?;
    // In a range, an archive named at or before `since`, or following one
    // named at or after `until`, holds no line of it: not even opened.
    let files = open_all(&dir, |list, i| {
        let since_ok = opts
            .since
            .is_none_or(|s| list[i].label.is_none_or(|l| l > s));
        let until_ok = opts
            .until
            .is_none_or(|u| i == 0 || list[i - 1].label.is_none_or(|l| l < u));
        since_ok && until_ok
    })?;
    let mut out = Out::new(w, zone);
    let mut buf = vec![0u8; BLOCK];
    if let Some(n) = opts.last {
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
        let first = find_tail(&sized, n, &mut buf)
            .map_err(|e| Fatal::new(format!("unable to read {}", dir.display()), e))?;
        for (i, (lf, f)) in files.iter().enumerate().skip(first.0) {
            let from = if i == first.0 { first.1 } else { 0 };
            copy_from(lf, f, from, &mut buf, &mut out)?;
        }
    } else if opts.since.is_some() || opts.until.is_some() {
        let mut prev: Option<Tai64N> = None;
        let mut carry = (true, false);
        for (lf, f) in &files {
            let lower = prev;
            prev = lf.label.or(prev);
            if let (Some(s), Some(upper)) = (opts.since, lf.label) {
                if upper <= s {
                    carry = (true, false);
                    continue;
                }
            }
            if let (Some(u), Some(l)) = (opts.until, lower) {
                if l >= u {
                    break;
                }
            }
            let mut from = 0;
            if let Some(s) = opts.since {
                if lower.is_none_or(|l| l < s) {
                    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                    from = search_start(f, size, s, &mut buf[..SEARCH_MIN as usize]).unwrap_or(0);
                    if from > 0 {
                        carry = (true, false);
                    }
                }
            }
            copy_range(
                lf,
                f,
                from,
                (opts.since, opts.until),
                &mut carry,
                &mut buf,
                &mut out,
            )?;
        }
    } else {
        for (lf, f) in &files {
            copy_from(lf, f, 0, &mut buf, &mut out)?;
        }
    }
    out.finish()
}

/// The program.
#[must_use]
pub fn main() -> ExitCode {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
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
    match run(&opts, zone, StdoutFd) {
        Ok(()) | Err(Stop::Pipe) => ExitCode::SUCCESS,
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

        #[test]
        fn search_matches_linear(gaps in proptest::collection::vec(0u64..3, 1..400),
                                 step_at in proptest::option::of(0usize..400),
                                 since_i in 0u64..900) {
            // Labels rising (with a possible step back), long lines.
            let mut data = Vec::new();
            let mut t = 1000u64;
            let mut labels = Vec::new();
            for (i, g) in gaps.iter().enumerate() {
                t += g;
                if step_at == Some(i) { t -= t.min(300); }
                let l = Tai64N::from_unix(t as i64, 0);
                labels.push((data.len() as u64, l));
                data.extend_from_slice(&l.stamp());
                data.extend_from_slice(&[b'x'; 300]);
                data.push(b'\n');
            }
            let f = tmpfile(&data);
            let since = Tai64N::from_unix((1000 + since_i) as i64, 0);
            let mut buf = vec![0u8; 1024];
            let start = search_start(&f, data.len() as u64, since, &mut buf).unwrap();
            // Every line before the start is stamped before since.
            for (off, l) in &labels {
                if *off < start {
                    proptest::prop_assert!(*l < since || step_at.is_some());
                }
            }
            if step_at.is_none() {
                proptest::prop_assert!(labels.iter().any(|(o, _)| *o == start) || start == 0);
            }
        }
    }

    #[test]
    fn args() {
        let mut z = LocalZone::new(Zone::utc());
        let now = Tai64N::from_unix(1_000_000, 0);
        let a = |v: &[&str], z: &mut LocalZone| {
            parse_args(
                &v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>(),
                now,
                z,
            )
        };
        assert_eq!(a(&["d"], &mut z).unwrap().dir, PathBuf::from("d"));
        assert_eq!(a(&["-n", "5", "d"], &mut z).unwrap().last, Some(5));
        assert_eq!(a(&["-n5", "d"], &mut z).unwrap().last, Some(5));
        assert_eq!(
            a(&["--since", "-10s", "d"], &mut z).unwrap().since,
            Some(Tai64N::from_unix(999_990, 0))
        );
        assert_eq!(
            a(&["--until=@400000000000000a00000000", "d"], &mut z)
                .unwrap()
                .until,
            Some(Tai64N::from_unix(0, 0))
        );
        assert_eq!(a(&["--", "-n"], &mut z).unwrap().dir, PathBuf::from("-n"));
        for bad in [
            &[][..],
            &["d", "e"],
            &["-x", "d"],
            &["-n", "d"],
            &["-n", "-1", "d"],
            &["--since", "bogus", "d"],
            &["-n", "1", "--since", "-1s", "d"],
            &["-f", "d"],
        ] {
            assert!(a(bad, &mut z).is_none(), "{bad:?}");
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
