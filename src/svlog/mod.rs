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
//! name order, then `previous` (a processor's input), then `current`. Each
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
//! `-f`: print what the other options select (`history.rs`), then follow
//! each directory from where that ended (`follow.rs`, `live.rs`).
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
mod gone;
mod history;
mod index;
mod lines;
mod live;
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
        return follow::follow(opts, re, zone, w);
    }
    let mut dirs = Vec::new();
    for d in &opts.dirs {
        dirs.push(history::list(d, opts)?);
    }
    let mut out = Out::new(w, opts.format, zone);
    let res = history::print(opts, re, &mut dirs, &mut out, false);
    for d in &dirs {
        d.index.save(&d.files);
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
            "follow: then print lines as they are written, until --until",
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
