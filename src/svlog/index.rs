//! What a time range needs to know of an archive without reading it: the
//! range of its stamps, whether they are in order (no clock step back
//! inside it), and how it starts and ends ([`Summary`]). Computed by one
//! read of the archive and kept in an index file per log directory, so
//! that the next range over the same archives reads only the ones that
//! matter.
//!
//! The index lives in `$XDG_CACHE_HOME/svlog/` (else `$HOME/.cache/svlog/`),
//! one file per log directory named by its device and inode in hex,
//! `DEV-INO`. Each line is one archive:
//!
//! `NAME INO SIZE MTIME LEN FLAGS LAST MIN MAX`
//!
//! NAME is the file name, INO, SIZE and MTIME (nanoseconds) the file's
//! when summarised (an entry whose file no longer matches them is not
//! used), LEN the length of its contents (decompressed), FLAGS `-` or some
//! of `l` (the first line has no stamp), `n` (the contents end with a
//! newline), `m` (they hold a newline) and `s` (stamps in order), and LAST, MIN and MAX stamps as 24
//! hex digits or `-` when the archive has none. Lines of any other form are
//! ignored. The file is replaced (written aside, then renamed) when svlog
//! has summarised archives it did not hold; failing to write it is not an
//! error: the next run reads the archives again. The directory and the
//! files are used only if they are the user's own and not writable by
//! others, never through a symbolic link, and the file aside is created
//! exclusively (`cache.rs`). An entry is believed only if the archive's
//! ends agree with it (`verify.rs`); otherwise the archive is read.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::tai64::Tai64N;

use super::cache;
use super::files::{Entry, Src};
use super::scan::Scanner;
use super::BLOCK;

/// One archive's stamps, as one read of it finds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Bytes of contents.
    pub len: u64,
    /// The first line has no stamp.
    pub lead: bool,
    /// The contents end with a newline.
    pub ends_nl: bool,
    /// The contents hold a newline.
    pub newline: bool,
    /// Every stamp is at or after the one before it.
    pub sorted: bool,
    /// The last stamp.
    pub last: Option<Tai64N>,
    /// The smallest stamp.
    pub min: Option<Tai64N>,
    /// The largest stamp.
    pub max: Option<Tai64N>,
}

/// Summarise the contents of `f` (named `path`), reading all of it.
#[must_use]
pub(crate) fn summarize(f: &Src, path: &Path) -> Summary {
    let mut sc = Scanner::new(f, path, 0, true, BLOCK);
    let mut s = Summary {
        sorted: true,
        ..Summary::default()
    };
    let mut first = true;
    while let Some((_, t)) = sc.next_line() {
        if std::mem::take(&mut first) {
            s.lead = t.is_none();
        } else {
            s.newline = true;
        }
        if let Some(t) = t {
            if s.last.is_some_and(|l| t < l) {
                s.sorted = false;
            }
            s.last = Some(t);
            s.min = Some(s.min.map_or(t, |m| m.min(t)));
            s.max = Some(s.max.map_or(t, |m| m.max(t)));
        }
    }
    s.len = sc.end();
    s.ends_nl = sc.ends_nl().unwrap_or(true);
    s.newline |= s.len > 0 && s.ends_nl;
    s
}

/// The default directory of index files.
#[must_use]
pub(crate) fn default_dir() -> Option<PathBuf> {
    let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(abs)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(abs)
                .map(|h| h.join(".cache"))
        })
        .map(|c| c.join("svlog"))
}

type Key = (u64, u64, i64);

/// The index of one log directory.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The index directory and this index's file name in it.
    file: Option<(PathBuf, String)>,
    /// The index directory, opened ([`cache::open_dir`]).
    fd: Option<OwnedFd>,
    map: HashMap<Vec<u8>, (Key, Summary)>,
    dirty: bool,
}

fn hex(t: Option<Tai64N>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| String::from_utf8_lossy(&t.label()[1..]).into_owned(),
    )
}

fn unhex(s: &str) -> Option<Option<Tai64N>> {
    if s == "-" {
        Some(None)
    } else {
        Tai64N::from_hex(s.as_bytes()).map(Some)
    }
}

fn parse_line(l: &str) -> Option<(Vec<u8>, Key, Summary)> {
    let f: Vec<&str> = l.split(' ').collect();
    if f.len() != 9 || !f[5].bytes().all(|c| b"-lmns".contains(&c)) {
        return None;
    }
    let key = (f[1].parse().ok()?, f[2].parse().ok()?, f[3].parse().ok()?);
    let s = Summary {
        len: f[4].parse().ok()?,
        lead: f[5].contains('l'),
        ends_nl: f[5].contains('n'),
        newline: f[5].contains('m'),
        sorted: f[5].contains('s'),
        last: unhex(f[6])?,
        min: unhex(f[7])?,
        max: unhex(f[8])?,
    };
    // Stamps all present or all absent, and in their order.
    let ok = match (s.last, s.min, s.max) {
        (Some(l), Some(lo), Some(hi)) => lo <= l && l <= hi,
        (None, None, None) => true,
        _ => false,
    };
    ok.then(|| (f[0].as_bytes().to_vec(), key, s))
}

impl Index {
    /// The index of log directory `dir` kept in `cache` (none: an empty
    /// index that is not saved).
    #[must_use]
    pub(crate) fn load(cache: Option<&Path>, dir: &Path) -> Index {
        let Some(cache) = cache else {
            return Index::default();
        };
        let Ok(m) = std::fs::metadata(dir) else {
            return Index::default();
        };
        let name = format!("{:x}-{:x}", m.dev(), m.ino());
        let fd = cache::open_dir(cache, false);
        let mut map = HashMap::new();
        if let Some(text) = fd.as_ref().and_then(|fd| cache::read(fd, cache, &name)) {
            for (name, key, s) in text.lines().filter_map(parse_line) {
                map.insert(name, (key, s));
            }
        }
        Index {
            file: Some((cache.to_path_buf(), name)),
            fd,
            map,
            dirty: false,
        }
    }

    fn name(e: &Entry) -> Option<&[u8]> {
        e.lf.path.file_name().map(|n| n.as_bytes())
    }

    /// The summary of archive `e`, if the index holds one for its file as
    /// it is now.
    #[must_use]
    pub(crate) fn get(&self, e: &Entry) -> Option<Summary> {
        let (key, s) = self.map.get(Self::name(e)?)?;
        (*key == e.key).then_some(*s)
    }

    /// Record the summary of archive `e`.
    pub(crate) fn put(&mut self, e: &Entry, s: Summary) {
        if let Some(n) = Self::name(e) {
            self.map.insert(n.to_vec(), (e.key, s));
            self.dirty = true;
        }
    }

    /// Write the index back if it has new summaries, keeping those of the
    /// archives in `entries` only. Failure is silent (see the module).
    pub(crate) fn save(&self, entries: &[Entry]) {
        let Some((dir, name)) = self.file.as_ref().filter(|_| self.dirty) else {
            return;
        };
        let mut text = String::new();
        for e in entries.iter().filter(|e| e.kind.is_some()) {
            let Some(n) = Self::name(e) else { continue };
            let Some((key, s)) = self.map.get(n).filter(|(k, _)| *k == e.key) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(n) else {
                continue;
            };
            let mut flags = String::new();
            let flags_of = [
                (s.lead, 'l'),
                (s.newline, 'm'),
                (s.ends_nl, 'n'),
                (s.sorted, 's'),
            ];
            for (on, c) in flags_of {
                if on {
                    flags.push(c);
                }
            }
            if flags.is_empty() {
                flags.push('-');
            }
            text.push_str(&format!(
                "{name} {} {} {} {} {flags} {} {} {}\n",
                key.0,
                key.1,
                key.2,
                s.len,
                hex(s.last),
                hex(s.min),
                hex(s.max)
            ));
        }
        let opened;
        let fd = match &self.fd {
            Some(fd) => fd,
            None => match cache::open_dir(dir, true) {
                Some(fd) => {
                    opened = fd;
                    &opened
                }
                None => return,
            },
        };
        cache::write(fd, name, text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_bad_ones_are_ignored() {
        let s = Summary {
            len: 10,
            lead: true,
            ends_nl: false,
            newline: true,
            sorted: true,
            last: Some(Tai64N::from_unix(5, 1)),
            min: Some(Tai64N::from_unix(1, 0)),
            max: Some(Tai64N::from_unix(9, 0)),
        };
        let l = format!(
            "@x.s 1 2 -3 10 lms {} {} {}",
            hex(s.last),
            hex(s.min),
            hex(s.max)
        );
        assert_eq!(parse_line(&l), Some((b"@x.s".to_vec(), (1, 2, -3), s)));
        for bad in [
            "@x.s 1 2 3 10 ls - - ",
            "@x.s 1 2 3 10 lx - - -",
            "@x.s 1 2 3 10 ls - - - -",
            "@x.s 1 2 3 ten - - - -",
        ] {
            assert_eq!(parse_line(bad), None, "{bad}");
        }
        let both = format!("@x.s 1 2 3 0 - - {} -", hex(s.min));
        assert_eq!(parse_line(&both), None);
    }
}
