//! `svlog`: read a multilog log directory with local-time labels — all of
//! it, the last lines, or a time range (a new program; daemontools has no
//! counterpart).
//!
//! `svlog [-f] [-g REGEX] [-o FORMAT] [-n N | [--since T] [--until T]] DIR...`
//!
//! DIR is a log directory (it has `current`), or a service directory whose
//! logger's directory is one (`logdir/service.rs`). Files are read in the
//! order multilog wrote them (`files.rs`, over [`crate::logdir`]): the
//! archives `@<label>.s`, `.u` and `.s.zst` (zstd, read decompressed) in
//! name order, then `current`. Each
//! line's leading stamp — a TAI64N label, or the RFC 3339 stamp of
//! multilog's `T`, rewritten as the label of the same moment (`stamp.rs`) —
//! is rendered by `tai64nlocal`'s own line machine
//! ([`crate::filters::LabelFilter`] over [`crate::tai64::local::LocalTime`]),
//! so on a directory of `.s` files the output is byte-identical to
//! `cat DIR/@*.s DIR/current | tai64nlocal`.
//!
//! Races: `current` is opened before the archives are listed, and an
//! archive that is the same file (rotated since) is not read again; an
//! archive that has gone when it is opened is skipped, except that a
//! vanished `.u` is looked for as the `.s` the finisher renames it to and
//! the `.s.zst` a compressor makes of that (`logdir/open.rs`); a name like
//! an archive's that is not a regular file is skipped with a warning. A
//! `.s.zst` is decompressed as it is read, in bounded memory
//! (`logdir/zst.rs`).
//!
//! `-f`: then follow the directory (`follow.rs`).
//!
//! `-n N`: `current` is read backwards in blocks, then the archives newest
//! first, only as far back as N lines reach (`logdir/tail.rs`); the older
//! files are not opened.
//!
//! `--since`/`--until` (times: [`timeexpr`]): `range.rs`, by binary search
//! over the archives' summaries (`index.rs`), exact across clock steps.
//!
//! `-g`, `-o json` and several DIRs go line by line (`walk.rs`, over
//! `lines.rs`); `-g` tests the text after the stamp, and a line longer
//! than `BLOCK` (128 KiB) on its first `BLOCK` bytes. `-n` then counts
//! selected lines: one pass to count, one to print. `-o` picks the
//! renderer ([`Format`], `out.rs`).

use std::io;

use crate::error::{self, Fatal};
use crate::filters::StdoutFd;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use crate::tai64::local::LocalZone;
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

mod args;
mod cache;
pub(crate) mod files;
mod follow;
mod index;
mod lines;
mod out;
mod range;
mod scan;
mod stamp;
pub mod timeexpr;
mod verify;
mod walk;

pub(crate) use crate::logdir::resolve;
pub(crate) use args::{parse_args, Opts};
pub(crate) use out::{Format, Out, Stop};

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
    f: &files::Src,
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
    let r = (opts.since, opts.until);
    let ranged = r.0.is_some() || r.1.is_some();
    let mut dirs: Vec<walk::Dir> = Vec::new();
    let mut indexes = Vec::new();
    for d in &opts.dirs {
        let (dir, name) = crate::logdir::service::resolve_named(d)?;
        dirs.push((name, files::list(&dir)?));
        // Only a range uses the index.
        let cache = opts.index.as_deref().filter(|_| ranged);
        indexes.push(index::Index::load(cache, &dir));
    }
    let mut out = Out::new(w, opts.format, zone);
    let mut buf = vec![0u8; BLOCK];
    let res = if dirs.len() > 1 || re.is_some() || out.line_only() {
        let mut starts = vec![(0usize, 0u64); dirs.len()];
        if ranged {
            for (k, (_, files)) in dirs.iter().enumerate() {
                starts[k] = range::start_of(files, r, &mut indexes[k]);
            }
        }
        let mut skip = 0;
        if let Some(n) = opts.last {
            if dirs.len() == 1 && re.is_none() {
                starts[0] = walk::tail_of(&dirs[0].1, n, &mut buf)?;
            } else {
                // The last N of the selected lines: count them first.
                let total = walk::walk::<W>(&dirs, &starts, r, re, None, 0)?;
                skip = total.saturating_sub(n);
            }
        }
        walk::walk(&dirs, &starts, r, re, Some(&mut out), skip).map(|_| ())
    } else if let Some(n) = opts.last {
        let files = &dirs[0].1;
        let (first, from) = walk::tail_of(files, n, &mut buf)?;
        files
            .iter()
            .enumerate()
            .skip(first)
            .try_for_each(|(i, e)| match e.open() {
                Some(f) => {
                    let start = if i == first { from } else { 0 };
                    copy(&e.lf.path, &f, start, &mut buf, &mut out).map(|_| ())
                }
                None => Ok(()),
            })
    } else if ranged {
        range::print_range(&dirs[0].1, r, &mut indexes[0], &mut buf, &mut out)
    } else {
        dirs[0].1.iter().try_for_each(|e| match e.open() {
            Some(f) => {
                files::will_read(&f);
                copy(&e.lf.path, &f, 0, &mut buf, &mut out).map(|_| ())
            }
            None => Ok(()),
        })
    };
    for (ix, (_, files)) in indexes.iter().zip(&dirs) {
        ix.save(files);
    }
    res?;
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

/// svlog's `--help`.
const CLI: crate::cli::Cli = crate::cli::Cli {
    prog: PROG,
    usage: USAGE,
    options: &[
        (
            "-f",
            "follow: print lines as they are written (one directory)",
        ),
        ("-n N", "only the last N lines"),
        ("-g REGEX", "only lines matching REGEX"),
        (
            "-o FORMAT",
            "output: local, utc, rfc3339, epoch, raw or json",
        ),
        (
            "--since T",
            "only lines at or after T (e.g. -10min, @EPOCH, YYYY-MM-DD)",
        ),
        ("--until T", "only lines before T"),
        ("--help", "print this help and exit"),
        ("--version", "print the version and exit"),
    ],
};

/// The program (see the crate's entry convention).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args: Vec<std::ffi::OsString> = main.argv.into_iter().skip(1).collect();
    let zone = Zone::from_env();
    let mut lz = LocalZone::new(zone.clone());
    let mut opts = match parse_args(&args, Tai64N::now(), &mut lz) {
        Ok(o) => o,
        Err(args::Bad::Usage) => return CLI.usage(),
        Err(args::Bad::Named(why)) => return CLI.usage_why(&[why.as_bytes()]),
        Err(args::Bad::Help) => return CLI.help(),
        Err(args::Bad::Version) => return CLI.version(),
        Err(args::Bad::Time(t)) => {
            error::say(
                PROG,
                error::Kind::Fatal,
                &[b"unable to parse time: ", t.as_bytes()],
                None,
            );
            return error::EXIT_USAGE;
        }
    };
    opts.index = index::default_dir();
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

    #[test]
    fn archive_names() {
        let k = |n: &[u8]| crate::logdir::archive_kind(n).map(|(_, k)| k);
        assert_eq!(
            k(b"@400000006b050c5709c2505c.s"),
            Some(crate::logdir::names::Kind::S)
        );
        assert_eq!(
            k(b"@400000006b050c5709c2505c.u"),
            Some(crate::logdir::names::Kind::U)
        );
        assert_eq!(
            k(b"@400000006b050c5709c2505c.s.zst"),
            Some(crate::logdir::names::Kind::Zst)
        );
        assert_eq!(k(b"@400000006b050c5709c2505c.u.zst"), None);
        assert_eq!(k(b"@400000006b050c5709c2505c.s.zs"), None);
        assert_eq!(k(b"@400000006B050C5709C2505C.s.zst"), None);
        assert_eq!(k(b"@400000006B050C5709C2505C.s"), None);
        assert_eq!(k(b"current"), None);
    }

    /// An archive listed as `.u` or `.s` and finished and compressed
    /// before it is opened is read as its `.s.zst` (before: skipped).
    #[test]
    fn an_archive_compressed_after_the_listing_is_read() {
        for listed in [".u", ".s"] {
            let d = tempfile::tempdir().unwrap();
            let name = |ext: &str| d.path().join(format!("@400000006b050c5709c2505c{ext}"));
            std::fs::write(name(listed), b"one\ntwo\n").unwrap();
            std::fs::write(d.path().join("current"), b"three\n").unwrap();
            let entries = files::list(d.path()).unwrap();
            let z = zstd::encode_all(&b"one\ntwo\n"[..], 3).unwrap();
            std::fs::write(name(".s.zst"), z).unwrap();
            std::fs::remove_file(name(listed)).unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0u8; 3];
            for e in &entries {
                let f = e.open().expect("opened");
                let mut off = 0;
                while let Some(n @ 1..) = files::read_at(&f, &e.lf.path, &mut buf, off) {
                    got.extend_from_slice(&buf[..n]);
                    off += n as u64;
                }
            }
            assert_eq!(got, b"one\ntwo\nthree\n", "{listed}");
        }
    }
}
