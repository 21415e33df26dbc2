//! The archives of a log directory in the order multilog wrote them, and
//! reading them at an offset.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{self, Fatal};
use crate::tai64::Tai64N;

use super::names::{archive_kind, Kind};

/// One file of a log directory, in reading order.
#[derive(Debug)]
pub(crate) struct LogFile {
    /// Its path.
    pub path: PathBuf,
    /// The archive's name label (`None` for `current`).
    pub label: Option<Tai64N>,
}

/// Every archive name in `dir` with its label and kind, in label order
/// and, of one label, in [`Kind`]'s order (`.s`, `.u`, `.s.zst`: the twin
/// rule's).
///
/// # Errors
/// The directory cannot be read.
pub(crate) fn archive_names(dir: &Path) -> Result<Vec<(Tai64N, Kind, Vec<u8>)>, Fatal> {
    use std::os::unix::ffi::OsStrExt;
    let bad = |e| Fatal::new(format!("unable to read directory {}", dir.display()), e);
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(bad)? {
        let n = e.map_err(bad)?.file_name().as_bytes().to_vec();
        if let Some((t, k)) = archive_kind(&n) {
            names.push((t, k, n));
        }
    }
    names.sort_unstable_by_key(|a| (a.0, a.1));
    Ok(names)
}

/// The archives of `dir`, in label order, one per label: of a `.s`, a
/// `.u` and a `.s.zst` with the same label (a finisher's or a compressor's
/// rename in progress) the one [`Kind`]'s twin rule names.
///
/// # Errors
/// The directory cannot be read.
pub(crate) fn archives(dir: &Path) -> Result<Vec<LogFile>, Fatal> {
    use std::os::unix::ffi::OsStrExt;
    let mut names = archive_names(dir)?;
    names.dedup_by_key(|a| a.0);
    Ok(names
        .into_iter()
        .map(|(t, _, n)| LogFile {
            label: Some(t),
            path: dir.join(std::ffi::OsStr::from_bytes(&n)),
        })
        .collect())
}

/// `pread`: what the readers read files through.
pub(crate) trait ReadAt {
    /// Up to `buf.len()` bytes at offset `off` (0 at the end).
    ///
    /// # Errors
    /// A read error.
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, off)
    }
}

/// `read_at` of `f` (named `path`) into `buf` at `off` for program
/// `prog`, retried when interrupted: `Some(n)` (0 at end of file), or
/// `None` after a warning for any other error, so that the rest of the
/// directory is still read.
pub(crate) fn read_at_as<R: ReadAt + ?Sized>(
    prog: &str,
    f: &R,
    path: &Path,
    buf: &mut [u8],
    off: u64,
) -> Option<usize> {
    loop {
        match f.read_at(buf, off) {
            Ok(n) => return Some(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error::warn(
                    prog,
                    &format!("unable to read {}", path.display()),
                    Some(&e),
                );
                return None;
            }
        }
    }
}
