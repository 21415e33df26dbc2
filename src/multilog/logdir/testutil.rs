//! Helpers for the unit tests of the log directory modules: start a
//! directory with an injected fsync, and describe a directory by suffix,
//! mode and contents.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::{Fsync, LogDir};
use crate::multilog::script::DirSpec;

/// A directory descriptor for `path`, as multilog holds its start directory.
pub(super) fn open_dir(path: &Path) -> OwnedFd {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap()
}

/// Start `./d` (s4096 n100) with `processor` and `fsync`.
pub(super) fn start(startfd: &OwnedFd, processor: Option<&str>, fsync: Fsync) -> LogDir {
    let spec = DirSpec {
        name: b"d".to_vec(),
        size: 4096,
        num: 100,
        processor: processor.map(|p| p.as_bytes().to_vec()),
        fsync_ms: 0,
    };
    LogDir::start_with(startfd, &spec, fsync).unwrap()
}

/// One entry: name (an archive as `@.s` or `@.u`), permission bits, contents.
pub(super) type Entry = (String, u32, Vec<u8>);

/// The directory's files in name order (so archives in label order first).
pub(super) fn survey(dir: &Path) -> Vec<Entry> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
            let shown = if n.starts_with('@') && n.len() == 27 {
                format!("@{}", &n[25..])
            } else {
                n
            };
            (shown, mode, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Create `dir/name` with `contents` and `mode`.
pub(super) fn put_file(dir: &Path, name: &str, contents: &[u8], mode: u32) {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// fsync as multilog does.
pub(super) fn real_fsync(f: &File) -> std::io::Result<()> {
    f.sync_all()
}
