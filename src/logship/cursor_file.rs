//! A cursor's file, apart from its content (`cursor.rs`): its name,
//! bounded whatever the directory's path; the lock that keeps a second
//! logship off it; and its atomic replacement through a temporary file
//! made exclusively, never through a link.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{FlockOperation, Mode, OFlags};

/// The readable part of a cursor's name at most (bytes).
const TAIL: usize = 100;

/// `c` as it appears in a cursor's name: itself or `%XX`.
fn escape(c: u8, out: &mut String) {
    if c.is_ascii_alphanumeric() || b"._-".contains(&c) {
        out.push(char::from(c));
    } else {
        out.push_str(&format!("%{c:02X}"));
    }
}

/// The pair a cursor is for, as its name's bytes: `URL SP PATH`.
fn key(dest: &str, logdir: &Path) -> Vec<u8> {
    let mut k = dest.as_bytes().to_vec();
    k.push(b' ');
    k.extend_from_slice(logdir.as_os_str().as_bytes());
    k
}

/// FNV-1a, 128 bits: stable across versions and platforms (a name must
/// not change with the compiler, as `DefaultHasher`'s may).
fn fnv1a128(b: &[u8]) -> u128 {
    const BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    b.iter()
        .fold(BASIS, |h, &c| (h ^ u128::from(c)).wrapping_mul(PRIME))
}

/// The cursor file's path in `dir` for `dest` and `logdir`:
/// `logship-HASH-TAIL`, HASH 32 hex digits of the whole `URL SP PATH`,
/// TAIL its last bytes escaped as [`legacy_path`] does, at most [`TAIL`]
/// bytes: at most 141 bytes however long the path (`NAME_MAX` is 255).
#[must_use]
pub fn path(dir: &Path, dest: &str, logdir: &Path) -> PathBuf {
    let k = key(dest, logdir);
    let mut tail: Vec<String> = Vec::new();
    let mut len = 0;
    for &c in k.iter().rev() {
        let mut e = String::new();
        escape(c, &mut e);
        if len + e.len() > TAIL {
            break;
        }
        len += e.len();
        tail.push(e);
    }
    tail.reverse();
    dir.join(format!("logship-{:032x}-{}", fnv1a128(&k), tail.concat()))
}

/// The name older versions gave the cursor: `logship-` and `URL SP PATH`
/// with every byte outside `[A-Za-z0-9._-]` written `%XX`; `None` when it
/// is too long to be a file's name (those versions could not make it).
#[must_use]
pub fn legacy_path(dir: &Path, dest: &str, logdir: &Path) -> Option<PathBuf> {
    let mut name = String::from("logship-");
    for c in key(dest, logdir) {
        escape(c, &mut name);
    }
    (name.len() <= 255).then(|| dir.join(name))
}

/// Why a cursor could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Held(PathBuf),
    /// The lock file could not be opened or locked.
    Io(PathBuf, io::Error),
}

/// Lock the cursor `cpath` for this process: `flock(LOCK_EX|LOCK_NB)` on
/// `CURSOR.lock` (made if missing, never through a link), held while the
/// descriptor is open; then the temporary files a crash left are removed.
///
/// # Errors
/// Another logship holds the lock ([`LockError::Held`]), or the lock file
/// cannot be opened.
pub fn lock(cpath: &Path) -> Result<OwnedFd, LockError> {
    let mut lp = cpath.as_os_str().to_owned();
    lp.push(".lock");
    let lp = PathBuf::from(lp);
    let fd = rustix::fs::open(
        &lp,
        OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o644),
    )
    .map_err(|e| LockError::Io(lp.clone(), e.into()))?;
    match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => return Err(LockError::Held(lp)),
        Err(e) => return Err(LockError::Io(lp, e.into())),
    }
    remove_stale_tmp(cpath);
    Ok(fd)
}

/// Remove `CURSOR.tmp.*` and its status file's `.STATUS.tmp.*` (a crash
/// between creating and renaming one); only while holding the lock, so
/// none is another process's.
fn remove_stale_tmp(cpath: &Path) {
    let (Some(dir), Some(name)) = (cpath.parent(), cpath.file_name()) else {
        return;
    };
    let mut prefix = name.as_bytes().to_vec();
    prefix.extend_from_slice(b".tmp.");
    let status = status_path(cpath);
    let mut hidden = b".".to_vec();
    hidden.extend_from_slice(
        status
            .file_name()
            .map(OsStrExt::as_bytes)
            .unwrap_or_default(),
    );
    hidden.extend_from_slice(b".tmp.");
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name();
        if n.as_bytes().starts_with(&prefix) || n.as_bytes().starts_with(&hidden) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Replace `path`'s content by `data`: a new temporary file
/// `CURSOR.tmp.PID.N` (`O_EXCL | O_NOFOLLOW`, mode 0644: a planted file
/// or link is never written through), fsync, rename over the cursor, fsync
/// the directory so the rename lasts too.
///
/// # Errors
/// A create, write, fsync or rename failed (the temporary file is removed).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    replace(path, false, data, true)
}

/// The status file beside the cursor `cpath` (`logship-HASH-TAIL`):
/// `logship-status-HASH-TAIL` (`status.rs`).
#[must_use]
pub fn status_path(cpath: &Path) -> PathBuf {
    let name = cpath
        .file_name()
        .map(OsStrExt::as_bytes)
        .unwrap_or_default();
    let rest = name.strip_prefix(b"logship-").unwrap_or(name);
    let mut n = b"logship-status-".to_vec();
    n.extend_from_slice(rest);
    cpath.with_file_name(std::ffi::OsStr::from_bytes(&n))
}

/// The temporary file for `path` number `seq`: `PATH.tmp.PID.N`, or with
/// `hidden` `DIR/.NAME.tmp.PID.N` (a listing that looks for `NAME`s by
/// their prefix never sees it).
fn tmp_name(path: &Path, hidden: bool, seq: u64) -> PathBuf {
    let suffix = format!(".tmp.{}.{seq}", std::process::id());
    let mut name = std::ffi::OsString::new();
    if hidden {
        name.push(".");
    }
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// Replace `path`'s content by `data` through a temporary file made
/// exclusively ([`tmp_name`]), renamed over it; with `durable` the file
/// and then the directory are fsynced, so the new content survives a crash
/// of the machine.
///
/// # Errors
/// A create, write, fsync or rename failed (the temporary file is removed).
pub fn replace(path: &Path, hidden: bool, data: &[u8], durable: bool) -> io::Result<()> {
    let (tmp, mut f) = make_tmp(path, hidden)?;
    let r = f
        .write_all(data)
        .and_then(|()| if durable { f.sync_all() } else { Ok(()) })
        .and_then(|()| std::fs::rename(&tmp, path));
    drop(f);
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if !durable {
        return Ok(());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    sync_dir(&File::open(dir)?)
}

/// A new temporary file for `path` ([`tmp_name`]), made exclusively and
/// never through a link, mode 0644.
///
/// # Errors
/// open(2)'s, or a hundred names taken.
pub(super) fn make_tmp(path: &Path, hidden: bool) -> io::Result<(PathBuf, File)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // A name taken (planted, or left by a process with our pid before a
    // reboot): the next one.
    let mut tries = 0;
    loop {
        let tmp = tmp_name(path, hidden, SEQ.fetch_add(1, Ordering::Relaxed));
        match rustix::fs::open(
            &tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        ) {
            Ok(fd) => return Ok((tmp, File::from(fd))),
            Err(rustix::io::Errno::EXIST) if tries < 100 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// fsync(2) a directory, so that renames in it last.
///
/// # Errors
/// fsync(2)'s.
pub(super) fn sync_dir(d: &File) -> io::Result<()> {
    d.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_old_ones_known() {
        let d = Path::new("/c");
        let long = format!("/{}", "d".repeat(248));
        let n = path(d, "relp://h:1", Path::new(&long));
        let name = n.file_name().unwrap().len();
        assert!(name <= 8 + 32 + 1 + TAIL, "{name}");
        assert!(n.to_string_lossy().ends_with(&"d".repeat(50)));
        assert_eq!(legacy_path(d, "relp://h:1", Path::new(&long)), None);
        // Another path or URL: another name, even with the same tail.
        let other = format!("/x{}", &long[1..]);
        assert_ne!(n, path(d, "relp://h:1", Path::new(&other)));
        assert_ne!(n, path(d, "relp://h:2", Path::new(&long)));
        // An escape is never cut.
        let pct = format!("/{}", " ".repeat(300));
        let t = path(d, "relp://h:1", Path::new(&pct));
        let t = t.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            t.ends_with("%20") && t.rsplit_once('-').unwrap().1.starts_with('%'),
            "{t}"
        );
        assert_eq!(
            legacy_path(d, "relp://h:1", Path::new("/s/a b")).unwrap(),
            d.join("logship-relp%3A%2F%2Fh%3A1%20%2Fs%2Fa%20b")
        );
        // Stable across versions: a name once given stays (FNV-1a 128's
        // published vector for "a", then a name).
        assert_eq!(fnv1a128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
        assert_eq!(
            path(d, "relp://h:1", Path::new("/s/log/main")),
            d.join(
                "logship-3b8e1914971de22ef8371ea0e6f465c8-relp%3A%2F%2Fh%3A1%20%2Fs%2Flog%2Fmain"
            )
        );
    }

    #[test]
    fn write_atomic_never_writes_through_a_planted_file_and_locks_exclude() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("logship-x");
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        // The fixed name older versions used, and this process's next.
        std::os::unix::fs::symlink(&victim, d.path().join("logship-x.tmp")).unwrap();
        for n in 0..4 {
            let planted = format!("logship-x.tmp.{}.{n}", std::process::id());
            std::os::unix::fs::symlink(&victim, d.path().join(planted)).unwrap();
        }
        write_atomic(&c, b"pos\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(std::fs::read(&c).unwrap(), b"pos\n");
        let mode = std::fs::metadata(&c).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // A stale temporary file goes when the lock is taken.
        std::fs::write(d.path().join("logship-x.tmp.1.1"), "x").unwrap();
        let l = lock(&c).unwrap();
        assert!(!d.path().join("logship-x.tmp.1.1").exists());
        assert!(matches!(lock(&c), Err(LockError::Held(_))));
        drop(l);
        assert!(lock(&c).is_ok());
        // No temporary file is left behind (the planted ones went with
        // the lock).
        write_atomic(&c, b"pos\n").unwrap();
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
}
