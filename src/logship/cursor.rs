//! The cursor: where shipping a directory to a destination stopped, one
//! file per (destination, directory), replaced atomically.
//!
//! Name: bounded whatever the path ([`path`]): `logship-`, a 128-bit hash
//! of the destination URL and the directory's absolute path, `-`, and the
//! end of both, readable. Cursors named by older versions (the whole URL
//! and path escaped, [`legacy_path`]) are still read. A lock file beside
//! the cursor keeps a second logship off it ([`lock`]). Content, one line:
//!
//! ```text
//! logship-cursor 1 DEV INO OFF AFTER [own]
//! ```
//!
//! DEV, INO, OFF decimal; AFTER the newest archive label before the file
//! (24 hex digits) or `-` ([`crate::follow::Pos`]); `own` when AFTER is
//! the file's own label (an archive's), so that the position goes on in
//! its `.s.zst` once compressed (OFF counts decompressed bytes). A cursor
//! without `own` (written before it existed) reads as one in `current`. Written to
//! a new temporary file (created exclusively, never through a link),
//! fsynced, renamed over NAME, and the directory fsynced: a reader sees
//! the old or the new position, never a mix, also after a crash of the
//! machine ([`save`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::follow::Pos;
use crate::tai64::Tai64N;

const MAGIC: &str = "logship-cursor 1";

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

/// Remove `CURSOR.tmp.*` (a crash between creating and renaming one);
/// only while holding the lock, so none is another process's.
fn remove_stale_tmp(cpath: &Path) {
    let (Some(dir), Some(name)) = (cpath.parent(), cpath.file_name()) else {
        return;
    };
    let mut prefix = name.as_bytes().to_vec();
    prefix.extend_from_slice(b".tmp.");
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().as_bytes().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The line for `p`.
#[must_use]
pub fn format(p: &Pos) -> String {
    let after = p.after.map_or_else(
        || "-".to_string(),
        |t| String::from_utf8_lossy(&t.hex()).into_owned(),
    );
    let own = if p.own { " own" } else { "" };
    format!("{MAGIC} {} {} {} {after}{own}\n", p.dev, p.ino, p.off)
}

/// The position in a cursor file's content; `None` if it is not one.
#[must_use]
pub fn parse(s: &str) -> Option<Pos> {
    let rest = s.strip_prefix(MAGIC)?.strip_suffix('\n')?;
    let mut w = rest.split(' ');
    if !w.next()?.is_empty() {
        return None;
    }
    let num = |x: Option<&str>| -> Option<u64> {
        let x = x?;
        if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        x.parse().ok()
    };
    let dev = num(w.next())?;
    let ino = num(w.next())?;
    let off = num(w.next())?;
    let after = match w.next()? {
        "-" => None,
        h => Some(Tai64N::from_hex(h.as_bytes()).filter(|_| h.len() == 24)?),
    };
    let own = match w.next() {
        None => false,
        Some("own") if after.is_some() => true,
        Some(_) => return None,
    };
    if w.next().is_some() {
        return None;
    }
    Some(Pos {
        dev,
        ino,
        off,
        after,
        own,
    })
}

/// The saved position, `Ok(None)` if there is no cursor yet.
///
/// # Errors
/// It cannot be read, or holds something else than a cursor.
pub fn load(path: &Path) -> io::Result<Option<Pos>> {
    match std::fs::read_to_string(path) {
        Ok(s) => parse(&s)
            .map(Some)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EPROTO)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Save `p`: a new temporary file `CURSOR.tmp.PID.N` (`O_EXCL |
/// O_NOFOLLOW`, mode 0644: a planted file or link is never written
/// through), fsync, rename over the cursor, fsync the directory so the
/// rename lasts too.
///
/// # Errors
/// A create, write, fsync or rename failed (the temporary file is removed).
pub fn save(path: &Path, p: &Pos) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // A name taken (planted, or left by a process with our pid before a
    // reboot): the next one.
    let mut tries = 0;
    let (tmp, fd) = loop {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(
            ".tmp.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = PathBuf::from(tmp);
        match rustix::fs::open(
            &tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        ) {
            Ok(fd) => break (tmp, fd),
            Err(rustix::io::Errno::EXIST) if tries < 100 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    };
    let mut f = File::from(fd);
    let r = f
        .write_all(format(p).as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    drop(f);
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let t = Tai64N::from_unix(1_796_117_068, 5);
        for (after, own) in [(None, false), (Some(t), false), (Some(t), true)] {
            let p = Pos {
                dev: 2049,
                ino: 123,
                off: 4096,
                after,
                own,
            };
            assert_eq!(parse(&format(&p)), Some(p));
        }
        // Written before `own` existed.
        let old = "logship-cursor 1 1 2 3 400000006b0e3d7400000000\n";
        assert_eq!(parse(old).map(|p| p.own), Some(false));
        for bad in [
            "",
            "logship-cursor 1 1 2 3 -",
            "logship-cursor 1 1 2 3\n",
            "logship-cursor 1 1 2 x -\n",
            "logship-cursor 1 1 2 3 - 4\n",
            "logship-cursor 1 1 2 3 - own\n",
            "logship-cursor 1 1 2 3 400000006b0e3d7400000000 own x\n",
            "logship-cursor 2 1 2 3 -\n",
            "logship-cursor 1 1 2 3 4000\n",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), "relp://h:1", Path::new("/s/a b/log/main"));
        assert!(p
            .to_string_lossy()
            .ends_with("-relp%3A%2F%2Fh%3A1%20%2Fs%2Fa%20b%2Flog%2Fmain"));
        assert_eq!(load(&p).unwrap(), None);
        let pos = Pos {
            dev: 1,
            ino: 2,
            off: 3,
            after: None,
            own: false,
        };
        save(&p, &pos).unwrap();
        assert_eq!(load(&p).unwrap(), Some(pos));
    }

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
        assert!(t.ends_with("%20") && t.rsplit_once('-').unwrap().1.starts_with('%'), "{t}");
        assert_eq!(
            legacy_path(d, "relp://h:1", Path::new("/s/a b")).unwrap(),
            d.join("logship-relp%3A%2F%2Fh%3A1%20%2Fs%2Fa%20b")
        );
        // Stable across versions: a name once given stays (FNV-1a 128's
        // published vector for "a", then a name).
        assert_eq!(fnv1a128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
        assert_eq!(
            path(d, "relp://h:1", Path::new("/s/log/main")),
            d.join("logship-3b8e1914971de22ef8371ea0e6f465c8-relp%3A%2F%2Fh%3A1%20%2Fs%2Flog%2Fmain")
        );
    }

    #[test]
    fn save_never_writes_through_a_planted_file_and_locks_exclude() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("logship-x");
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        // The fixed name older versions used, and this process's next.
        std::os::unix::fs::symlink(&victim, d.path().join("logship-x.tmp")).unwrap();
        let pos = Pos {
            dev: 1,
            ino: 2,
            off: 3,
            after: None,
            own: false,
        };
        for n in 0..4 {
            let planted = format!("logship-x.tmp.{}.{n}", std::process::id());
            std::os::unix::fs::symlink(&victim, d.path().join(planted)).unwrap();
        }
        save(&c, &pos).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(load(&c).unwrap(), Some(pos));
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
        save(&c, &pos).unwrap();
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
}
