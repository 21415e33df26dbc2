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

use std::io;
use std::path::Path;

use crate::follow::Pos;
use crate::tai64::Tai64N;

pub use super::cursor_file::{legacy_path, lock, path, write_atomic, LockError};

const MAGIC: &str = "logship-cursor 1";

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

/// Save `p` ([`write_atomic`]).
///
/// # Errors
/// A create, write, fsync or rename failed.
pub fn save(path: &Path, p: &Pos) -> io::Result<()> {
    write_atomic(path, format(p).as_bytes())
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
}
