//! Opening the files of a log directory: under the name an archive has
//! by then (finished, compressed since the listing), without waiting (a
//! FIFO), without following a symbolic link, and only a regular file.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::error;

use super::files::LogFile;
use super::names::later_names;

/// Open `path` for reading, without following a symbolic link (`nofollow`)
/// and without waiting (a FIFO would block `open` until a writer came),
/// and only if it is a regular file: `Ok(None)` if it is not.
///
/// # Errors
/// The open fails (`NotFound` if it has gone).
pub(crate) fn open_regular(path: &Path, nofollow: bool) -> io::Result<Option<File>> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    if nofollow {
        flags |= OFlags::NOFOLLOW;
    }
    let f = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        // O_NOFOLLOW met a symbolic link.
        Err(rustix::io::Errno::LOOP) if nofollow => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(f.metadata()?.file_type().is_file().then_some(f))
}

/// `unable to read PATH: not a regular file`.
pub(crate) fn not_regular(path: &Path) -> String {
    format!("unable to read {}: not a regular file", path.display())
}

/// Open an archive (for `prog`) under the first of its [`later_names`] still there, and
/// the name it has: `None` if it has gone; a file that is not regular (a
/// FIFO, a directory, a symbolic link) and other errors give a warning
/// (then `said` is set) and `None`.
pub(crate) fn open_archive(
    prog: &str,
    f: &LogFile,
    said: &std::cell::Cell<bool>,
) -> Option<(File, PathBuf)> {
    for p in later_names(&f.path) {
        match open_regular(&p, true) {
            Ok(Some(file)) => return Some((file, p)),
            Ok(None) => {
                error::warn(prog, &not_regular(&p), None);
                said.set(true);
                return None;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                let what = format!("unable to open {}", p.display());
                error::warn(prog, &what, Some(&e));
                said.set(true);
                return None;
            }
        }
    }
    None
}
