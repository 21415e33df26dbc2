//! The files of a log directory in the order multilog wrote them, opened
//! without reading one twice while multilog rotates.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use crate::error::{self, Fatal};
use crate::logdir::files::archive_names;
use crate::logdir::names::{archive_kind_of, twin_names, Kind, CURRENT, PREVIOUS, PROCESSED};
use crate::logdir::open::{first_found, not_regular, open_archive, open_regular};
use crate::logdir::zst::Stream;
use crate::logdir::{read_at_as, LogFile, ReadAt};

use super::PROG;

/// A file of a log directory as listed, opened only when it is read.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Its path and name label.
    pub lf: LogFile,
    /// How it is stored (`None` for `current`).
    pub kind: Option<Kind>,
    /// Inode, size and modification time (ns) when listed: what the
    /// index's entry for it must match.
    pub key: (u64, u64, i64),
    /// `current`, opened before the listing.
    held: Option<File>,
    /// Opening it gave a warning: it is not tried again (`-n` opens
    /// files twice).
    said: std::cell::Cell<bool>,
}

impl Entry {
    /// An entry for a file already open (a test's file).
    #[cfg(test)]
    pub(crate) fn held(lf: LogFile, f: File) -> Self {
        let key = f.metadata().map_or((0, 0, 0), |m| key_of(&m));
        Entry {
            lf,
            kind: None,
            key,
            held: Some(f),
            said: std::cell::Cell::new(false),
        }
    }

    /// `current` or `previous`, opened before the listing.
    fn opened(path: std::path::PathBuf, f: File, m: &std::fs::Metadata) -> Self {
        Entry {
            lf: LogFile { path, label: None },
            kind: None,
            key: key_of(m),
            held: Some(f),
            said: std::cell::Cell::new(false),
        }
    }

    /// `current` or `previous`, opened before the listing (`None` for an
    /// archive).
    #[must_use]
    pub(crate) fn held_file(&self) -> Option<&File> {
        self.held.as_ref()
    }

    /// The bytes to read: the file itself or, for a compressed archive,
    /// its contents decompressed as they are read. `None` if it has gone
    /// (a `.u` is looked for as its `.s`); other errors give a warning and
    /// `None`.
    pub(crate) fn open(&self) -> Option<Src> {
        if let Some(f) = &self.held {
            return match f.try_clone() {
                Ok(f) => Some(Src::Plain(f)),
                Err(e) => {
                    let what = format!("unable to open {}", self.lf.path.display());
                    error::warn(PROG, &what, Some(&e));
                    None
                }
            };
        }
        if self.said.get() {
            return None;
        }
        let (f, path) = open_archive(PROG, &self.lf, &self.said)?;
        if archive_kind_of(&path) == Some(Kind::Zst) {
            Some(Src::Zst(Box::new(Stream::new(PROG, &path, f))))
        } else {
            Some(Src::Plain(f))
        }
    }
}

fn key_of(m: &std::fs::Metadata) -> (u64, u64, i64) {
    (
        m.ino(),
        m.len(),
        m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
    )
}

/// A file of a log directory opened for reading: the file itself, or a
/// compressed archive's contents decompressed as they are read
/// ([`Stream`]).
pub(crate) enum Src {
    /// `current`, a `.s` or a `.u`.
    Plain(File),
    /// A `.s.zst` (boxed: its decoder's state is large).
    Zst(Box<Stream>),
}

impl ReadAt for Src {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        match self {
            Src::Plain(f) => FileExt::read_at(f, buf, off),
            Src::Zst(z) => Ok(z.read_at(buf, off)),
        }
    }
}

/// The files of a log directory in reading order, listed but not opened
/// (but `current` and `previous`, opened first): the archives in name
/// order, one per label ([`Kind`] says which), then `previous` if a
/// processor is working on it, then `current`. An archive that is
/// `current`'s file (rotated since it was opened) or has gone is left
/// out. Listed again while `previous` changed meanwhile, or is gone with
/// its processor's output only in `processed` (in no file listed), as the
/// follower lists (`follow/start.rs`).
///
/// # Errors
/// `current` cannot be opened, or the directory cannot be read.
pub(crate) fn list(dir: &Path) -> Result<Vec<Entry>, Fatal> {
    let prev_path = dir.join(PREVIOUS);
    let stat = |p: &Path| {
        std::fs::symlink_metadata(p)
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    let mut tries = 0;
    loop {
        let p1 = stat(&prev_path);
        let (cur, cm) = open_current(dir)?;
        let names = archive_names(dir)?;
        let prev = open_regular(&prev_path, true).ok().flatten();
        let pm = prev.as_ref().and_then(|f| f.metadata().ok());
        tries += 1;
        let p2 = stat(&prev_path);
        let stable = p2 == p1
            && pm.as_ref().map(|m| (m.dev(), m.ino())) == p1
            && (p1.is_some() || !dir.join(PROCESSED).exists());
        if stable || tries >= 1000 {
            let mut v = archive_entries(dir, names, (cm.dev(), cm.ino()));
            // Not if it is `current`'s file (renamed since `current` was
            // opened).
            if let (Some(f), Some(m)) = (prev, pm) {
                if (m.dev(), m.ino()) != (cm.dev(), cm.ino()) {
                    v.push(Entry::opened(prev_path, f, &m));
                }
            }
            v.push(Entry::opened(dir.join(CURRENT), cur, &cm));
            return Ok(v);
        }
    }
}

/// `current` opened, and its metadata.
fn open_current(dir: &Path) -> Result<(File, std::fs::Metadata), Fatal> {
    let cur_path = dir.join(CURRENT);
    let cur = match open_regular(&cur_path, false) {
        Ok(Some(f)) => f,
        Ok(None) => return Err(Fatal::plain(not_regular(&cur_path))),
        Err(e) => {
            return Err(Fatal::new(
                format!("unable to open {}", cur_path.display()),
                e,
            ))
        }
    };
    let cm = cur
        .metadata()
        .map_err(|e| Fatal::new(format!("unable to stat {}", cur_path.display()), e))?;
    Ok((cur, cm))
}

/// The entries of the archives `names` of `dir`, but `current`'s file
/// (`cur_id`).
fn archive_entries(
    dir: &Path,
    mut names: Vec<(crate::tai64::Tai64N, Kind, Vec<u8>)>,
    cur_id: (u64, u64),
) -> Vec<Entry> {
    use std::os::unix::ffi::OsStrExt;
    names.dedup_by_key(|n| n.0);
    let mut v = Vec::with_capacity(names.len() + 2);
    for (t, kind, n) in names {
        let listed = dir.join(std::ffi::OsStr::from_bytes(&n));
        // Finished or compressed meanwhile: listed under its name now, the
        // first of its twin names there ([`Kind`]'s rule).
        let (path, m) = match first_found(&twin_names(&listed), |p| std::fs::symlink_metadata(p)) {
            Ok(Some((p, m))) => (p, Ok(m)),
            Ok(None) => (listed, Err(io::ErrorKind::NotFound.into())),
            Err((p, e)) => (p, Err(e)),
        };
        let kind = archive_kind_of(&path).unwrap_or(kind);
        match m {
            Ok(m) if (m.dev(), m.ino()) != cur_id => v.push(Entry {
                lf: LogFile {
                    path,
                    label: Some(t),
                },
                kind: Some(kind),
                key: key_of(&m),
                held: None,
                said: std::cell::Cell::new(false),
            }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                error::warn(
                    PROG,
                    &format!("unable to stat {}", path.display()),
                    Some(&e),
                );
            }
        }
    }
    v
}

/// Say that all of `f` is to be read from start to end, so that the kernel
/// reads ahead of svlog (`posix_fadvise` `SEQUENTIAL` and `WILLNEED`): a
/// directory larger than the page cache is then read while the lines
/// already read are printed, as a `cat | tai64nlocal` pipeline does on two
/// processors. Advice only: an error is ignored.
pub(crate) fn will_read(f: &Src) {
    use rustix::fs::{fadvise, Advice};
    let Src::Plain(f) = f else { return };
    let _ = fadvise(f, 0, None, Advice::Sequential);
    let _ = fadvise(f, 0, None, Advice::WillNeed);
}

/// `read_at` of `f` (named `path`) into `buf` at `off`, retried when
/// interrupted: `Some(n)` (0 at end of file), or `None` after a warning
/// for any other error, so that the rest of the directory is still read.
pub(crate) fn read_at<R: ReadAt + ?Sized>(
    f: &R,
    path: &Path,
    buf: &mut [u8],
    off: u64,
) -> Option<usize> {
    read_at_as(PROG, f, path, buf, off)
}
