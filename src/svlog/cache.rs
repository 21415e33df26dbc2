//! The index files' directory, used so that nobody else can steer what
//! svlog writes or believes: the directory and each file are opened
//! without following a symbolic link (`O_NOFOLLOW`), and used only if
//! they belong to the user svlog runs as (the effective uid) and are not
//! writable by group or others; files are read and replaced through the
//! directory's descriptor (`openat`, `renameat`). A new index is written
//! to a temporary file created exclusively (`O_CREAT|O_EXCL`, mode 0600,
//! a name not taken), then renamed over the old one: a name planted in
//! advance (a link to a file root can write) is never written through.
//!
//! Anything not as it should be is not used (the index is rebuilt, or not
//! kept), with one warning per run.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags};

use crate::error;

use super::PROG;

/// An index file larger than this is not read.
const MAX_INDEX: u64 = 64 << 20;

/// The one warning has been given.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Warn, once a run, that `path` is not used, and why.
fn refuse(path: &Path, why: &str) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        let what = format!("unable to use index {}: {why}", path.display());
        error::warn(PROG, &what, None);
    }
}

/// Why `fd` may not be trusted (`dir`: it must be a directory, else a
/// regular file), if it may not.
fn untrusted(fd: &OwnedFd, dir: bool) -> Option<&'static str> {
    let st = match rustix::fs::fstat(fd) {
        Ok(st) => st,
        Err(_) => return Some("unable to stat it"),
    };
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    let euid = rustix::process::geteuid().as_raw();
    if dir && kind != rustix::fs::FileType::Directory {
        Some("not a directory")
    } else if !dir && kind != rustix::fs::FileType::RegularFile {
        Some("not a regular file")
    } else if st.st_uid != euid {
        Some("owned by another user")
    } else if st.st_mode & 0o022 != 0 {
        Some("writable by group or others")
    } else {
        None
    }
}

/// The index directory `dir`, made (mode 0700, its parents as usual) if
/// `create` and missing; `None` if it is missing or not to be trusted
/// (then with the warning).
pub(crate) fn open_dir(dir: &Path, create: bool) -> Option<OwnedFd> {
    if create {
        if let Some(parent) = dir.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = rustix::fs::mkdir(dir, Mode::from_raw_mode(0o700));
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return None,
        Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
            refuse(dir, "a symbolic link, or not a directory");
            return None;
        }
        Err(_) => return None,
    };
    match untrusted(&fd, true) {
        Some(why) => {
            refuse(dir, why);
            None
        }
        None => Some(fd),
    }
}

/// The text of index file `name` in directory `fd` (named `dir`), if it
/// is there and to be trusted.
pub(crate) fn read(fd: &OwnedFd, dir: &Path, name: &str) -> Option<String> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let path = dir.join(name);
    let f = match rustix::fs::openat(fd, name, flags, Mode::empty()) {
        Ok(f) => f,
        Err(rustix::io::Errno::NOENT) => return None,
        Err(rustix::io::Errno::LOOP) => {
            refuse(&path, "a symbolic link");
            return None;
        }
        Err(_) => return None,
    };
    if let Some(why) = untrusted(&f, false) {
        refuse(&path, why);
        return None;
    }
    let mut text = String::new();
    File::from(f)
        .take(MAX_INDEX)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Replace index file `name` in directory `fd` by `text`: written to a
/// new file made exclusively, then renamed. Failure is silent (the next
/// run summarises again).
pub(crate) fn write(fd: &OwnedFd, name: &str, text: &[u8]) {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let pid = std::process::id();
    for n in 0..100u32 {
        let tmp = if n == 0 {
            format!("{name}.tmp{pid}")
        } else {
            format!("{name}.tmp{pid}.{n}")
        };
        let f = match rustix::fs::openat(fd, &tmp, flags, Mode::from_raw_mode(0o600)) {
            Ok(f) => f,
            // Taken (by a run before, or planted): another name.
            Err(rustix::io::Errno::EXIST) => continue,
            Err(_) => return,
        };
        let written = File::from(f).write_all(text);
        let renamed = written.is_ok() && rustix::fs::renameat(fd, &tmp, fd, name).is_ok();
        if !renamed {
            let _ = rustix::fs::unlinkat(fd, &tmp, rustix::fs::AtFlags::empty());
        }
        return;
    }
}
