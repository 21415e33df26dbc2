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
//! logship-cursor 2 DEV INO OFF SIZE AFTER OWN BORN HEAD
//! ```
//!
//! ([`crate::follow::Pos`]) DEV, INO, OFF, SIZE decimal (SIZE: the file's
//! size as known then, at least OFF); AFTER the newest archive label
//! before the file (24 hex digits) or `-`; OWN `own` when AFTER is the
//! file's own label (an archive's), so that the position goes on in its
//! `.s.zst` once compressed (OFF counts decompressed bytes), else `-`;
//! BORN the file's birth time `SECONDS.NANOSECONDS` or `-`; HEAD the
//! length and FNV-1a checksum of its first bytes, `LEN:16 hex digits`, or
//! `-`. BORN and HEAD tell the file from a later one given its inode.
//!
//! The older form, `logship-cursor 1 DEV INO OFF AFTER [own]`, is still
//! read: its file is known by inode, labels and size only.
//!
//! Written to a new temporary file (created exclusively, never through a
//! link), fsynced, renamed over NAME, and the directory fsynced: a reader
//! sees the old or the new position, never a mix, also after a crash of
//! the machine ([`save`]).

use std::io;
use std::path::Path;

use crate::follow::{Pos, HEAD};
use crate::tai64::Tai64N;

const MAGIC: &str = "logship-cursor 2";
/// The form written before BORN, HEAD and SIZE existed.
const MAGIC1: &str = "logship-cursor 1";

pub use super::cursor_file::{legacy_path, lock, path, status_path, write_atomic, LockError};

/// The line for `p`.
#[must_use]
pub fn format(p: &Pos) -> String {
    let after = p.after.map_or_else(
        || "-".to_string(),
        |t| String::from_utf8_lossy(&t.hex()).into_owned(),
    );
    let own = if p.own { "own" } else { "-" };
    let born = p
        .born
        .map_or_else(|| "-".to_string(), |(s, n)| format!("{s}.{n:09}"));
    let head = p
        .head
        .map_or_else(|| "-".to_string(), |(l, h)| format!("{l}:{h:016x}"));
    format!(
        "{MAGIC} {} {} {} {} {after} {own} {born} {head}\n",
        p.dev,
        p.ino,
        p.off,
        p.size.max(p.off)
    )
}

/// A decimal number: digits only.
fn num(x: Option<&str>) -> Option<u64> {
    let x = x?;
    if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    x.parse().ok()
}

/// AFTER: a label, or `-`.
fn label(x: Option<&str>) -> Option<Option<Tai64N>> {
    match x? {
        "-" => Some(None),
        h => Some(Some(
            Tai64N::from_hex(h.as_bytes()).filter(|_| h.len() == 24)?,
        )),
    }
}

/// BORN: `SECONDS.NANOSECONDS` (9 digits), or `-`.
fn born(x: Option<&str>) -> Option<Option<(i64, u32)>> {
    let x = x?;
    if x == "-" {
        return Some(None);
    }
    let (s, n) = x.split_once('.')?;
    let n = num(Some(n)).filter(|&v| n.len() == 9 && v < 1_000_000_000)?;
    Some(Some((
        i64::try_from(num(Some(s))?).ok()?,
        u32::try_from(n).ok()?,
    )))
}

/// HEAD: `LEN:16 hex digits` (LEN 1 to [`HEAD`]), or `-`.
fn head(x: Option<&str>) -> Option<Option<(u32, u64)>> {
    let x = x?;
    if x == "-" {
        return Some(None);
    }
    let (l, h) = x.split_once(':')?;
    let l = num(Some(l)).filter(|&v| (1..=HEAD).contains(&v))?;
    if h.len() != 16 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(Some((
        u32::try_from(l).ok()?,
        u64::from_str_radix(h, 16).ok()?,
    )))
}

/// The position in a cursor file's content, and whether it is in the
/// older form (its file known by its inode only); `None` if it is not
/// one (damaged, or OFF beyond SIZE).
#[must_use]
pub fn parse(s: &str) -> Option<(Pos, bool)> {
    let line = s.strip_suffix('\n')?;
    let (rest, old) = match line.strip_prefix(MAGIC) {
        Some(r) => (r, false),
        None => (line.strip_prefix(MAGIC1)?, true),
    };
    let mut w = rest.split(' ');
    if !w.next()?.is_empty() {
        return None;
    }
    let dev = num(w.next())?;
    let ino = num(w.next())?;
    let off = num(w.next())?;
    let mut p = Pos {
        dev,
        ino,
        off,
        after: None,
        own: false,
        born: None,
        head: None,
        size: off,
    };
    if old {
        p.after = label(w.next())?;
        p.own = match w.next() {
            None => false,
            Some("own") => true,
            Some(_) => return None,
        };
    } else {
        p.size = num(w.next()).filter(|&z| z >= off)?;
        p.after = label(w.next())?;
        p.own = match w.next()? {
            "own" => true,
            "-" => false,
            _ => return None,
        };
        p.born = born(w.next())?;
        p.head = head(w.next())?;
    }
    if w.next().is_some() || (p.own && p.after.is_none()) {
        return None;
    }
    Some((p, old))
}

/// The saved position and whether it is in the older form, `Ok(None)` if
/// there is no cursor yet.
///
/// # Errors
/// It cannot be read, or holds something else than a cursor (`EPROTO`).
pub fn load(path: &Path) -> io::Result<Option<(Pos, bool)>> {
    match std::fs::read_to_string(path) {
        Ok(s) => parse(&s)
            .map(Some)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EPROTO)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Save `p`: temporary file, fsync, rename.
///
/// # Errors
/// A write, fsync or rename failed.
pub fn save(path: &Path, p: &Pos) -> io::Result<()> {
    write_atomic(path, format(p).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(after: Option<Tai64N>, own: bool) -> Pos {
        Pos {
            dev: 2049,
            ino: 123,
            off: 4096,
            after,
            own,
            born: None,
            head: None,
            size: 4096,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let t = Tai64N::from_unix(1_796_117_068, 5);
        for (after, own) in [(None, false), (Some(t), false), (Some(t), true)] {
            let p = pos(after, own);
            assert_eq!(parse(&format(&p)), Some((p, false)));
            let p = Pos {
                born: Some((1_796_117_068, 999_999_999)),
                head: Some((1024, u64::MAX)),
                size: 9999,
                ..p
            };
            assert_eq!(parse(&format(&p)), Some((p, false)));
        }
        // Written by an older logship: no identity but the inode.
        let old = "logship-cursor 1 1 2 3 400000006b0e3d7400000000\n";
        let (p, was_old) = parse(old).unwrap();
        assert!(was_old && !p.own && p.born.is_none() && p.head.is_none());
        assert_eq!(p.size, 3);
        assert!(
            parse("logship-cursor 1 1 2 3 400000006b0e3d7400000000 own\n").is_some_and(|p| p.0.own)
        );
        for bad in [
            "",
            "\n",
            "logship-cursor 1 1 2 3 -",
            "logship-cursor 1 1 2 3\n",
            "logship-cursor 1 1 2 x -\n",
            "logship-cursor 1 1 2 3 - 4\n",
            "logship-cursor 1 1 2 3 - own\n",
            "logship-cursor 1 1 2 3 400000006b0e3d7400000000 own x\n",
            "logship-cursor 3 1 2 3 -\n",
            "logship-cursor 1 1 2 3 4000\n",
            "logship-cursor 1 1 2 99999999999999999999 -\n",
            "logship-cursor 2 1 2 5 4 - - - -\n",
            "logship-cursor 2 1 2 3 4 - own - -\n",
            "logship-cursor 2 1 2 3 4 - - 5.1 -\n",
            "logship-cursor 2 1 2 3 4 - - -5.000000001 -\n",
            "logship-cursor 2 1 2 3 4 - - - 0:0000000000000000\n",
            "logship-cursor 2 1 2 3 4 - - - 1025:0000000000000000\n",
            "logship-cursor 2 1 2 3 4 - - - 5:00000000000000\n",
            "logship-cursor 2 1 2 3 4 - - - 5:000000000000000g\n",
            "logship-cursor 2 1 2 3 4 - - - - x\n",
            "logship-cursor 2 1 2 3 4 - x - -\n",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(parse("logship-cursor 2 1 2 3 4 - - - -\n").is_some());
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), "relp://h:1", Path::new("/s/a b/log/main"));
        assert!(p
            .to_string_lossy()
            .ends_with("-relp%3A%2F%2Fh%3A1%20%2Fs%2Fa%20b%2Flog%2Fmain"));
        assert_eq!(load(&p).unwrap(), None);
        let pos = pos(None, false);
        save(&p, &pos).unwrap();
        assert_eq!(load(&p).unwrap(), Some((pos, false)));
    }
}
