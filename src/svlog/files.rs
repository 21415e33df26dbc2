//! The files of a log directory in the order multilog wrote them, opened
//! without reading one twice while multilog rotates.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{self, Fatal};
use crate::tai64::{Tai64N, LABEL_LEN};

use super::PROG;

/// One file of a log directory, in reading order.
#[derive(Debug)]
pub(crate) struct LogFile {
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
pub(crate) fn resolve(dir: &Path) -> Result<PathBuf, Fatal> {
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
pub(crate) fn archive_label(name: &[u8]) -> Option<Tai64N> {
    if name.len() != 27 || name[0] != b'@' || !(name.ends_with(b".s") || name.ends_with(b".u")) {
        return None;
    }
    Tai64N::from_hex(&name[1..LABEL_LEN])
}

/// The archives of `dir`, in name order; of a `.u` and `.s` with the same
/// label only the `.s`.
///
/// # Errors
/// The directory cannot be read.
pub(crate) fn archives(dir: &Path) -> Result<Vec<LogFile>, Fatal> {
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
    names.dedup_by(|b, a| a[..LABEL_LEN] == b[..LABEL_LEN]);
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
/// file is left out.
///
/// # Errors
/// `current` cannot be opened, or the directory cannot be read.
pub(crate) fn open_all(dir: &Path) -> Result<Vec<(LogFile, File)>, Fatal> {
    let cur_path = dir.join("current");
    let cur = File::open(&cur_path)
        .map_err(|e| Fatal::new(format!("unable to open {}", cur_path.display()), e))?;
    let cur_id = cur
        .metadata()
        .map(|m| (m.dev(), m.ino()))
        .map_err(|e| Fatal::new(format!("unable to stat {}", cur_path.display()), e))?;
    let mut v = Vec::new();
    for a in archives(dir)? {
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

/// `read_at` of `f` (named `path`) into `buf` at `off`, retried when
/// interrupted: `Some(n)` (0 at end of file), or `None` after a warning
/// for any other error, so that the rest of the directory is still read.
pub(crate) fn read_at(f: &File, path: &Path, buf: &mut [u8], off: u64) -> Option<usize> {
    loop {
        match f.read_at(buf, off) {
            Ok(n) => return Some(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error::warn(
                    PROG,
                    &format!("unable to read {}", path.display()),
                    Some(&e),
                );
                return None;
            }
        }
    }
}
