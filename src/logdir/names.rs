//! The names in a log directory, as multilog 0.76 gives them
//! (`multilog.c`: `current`, `previous`, `processed`, `state`, `newstate`,
//! `lock`, archives `@<label>.s` and `.u`) and as this project adds them
//! (`.s.zst`, `compressing`, `inflight`). Every reader and the writer
//! spell them through this module.

use std::path::{Path, PathBuf};

use crate::tai64::{Tai64N, LABEL_LEN};

/// The file multilog appends to.
pub const CURRENT: &str = "current";
/// `current` renamed, while a processor reads it.
pub const PREVIOUS: &str = "previous";
/// A processor's output, renamed to an archive when it succeeds.
pub const PROCESSED: &str = "processed";
/// A processor's state, read by the next one.
pub const STATE: &str = "state";
/// A processor's state being written.
pub const NEWSTATE: &str = "newstate";
/// The file multilog holds a lock on.
pub const LOCK: &str = "lock";
/// The record of the lines a crash may have cut (`multilog::inflight`).
pub const INFLIGHT: &str = "inflight";
/// The compressor's working directory.
pub const COMPRESSING: &str = "compressing";

/// An archive's suffix: finished.
pub const S: &str = ".s";
/// An archive's suffix: written before a crash, not known complete.
pub const U: &str = ".u";
/// An archive's suffix: finished, then compressed with zstd.
pub const ZST: &str = ".s.zst";

/// How an archive is stored; for one label, the earliest kind here is
/// read (a `.u` is renamed `.s` when finished; a compressor writes
/// `.s.zst` before it removes the `.s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `@<label>.s`: finished.
    S,
    /// `@<label>.s.zst`: finished, then compressed with zstd.
    Zst,
    /// `@<label>.u`: written before a crash, not known to be complete.
    U,
}

impl Kind {
    /// The suffix of an archive of this kind.
    #[must_use]
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Kind::S => S,
            Kind::Zst => ZST,
            Kind::U => U,
        }
    }
}

/// The label and kind of an archive name: `@` + 24 hex digits + `.s`,
/// `.u` or `.s.zst`.
#[must_use]
pub(crate) fn archive_kind(name: &[u8]) -> Option<(Tai64N, Kind)> {
    if name.first() != Some(&b'@') || name.len() < LABEL_LEN {
        return None;
    }
    let rest = &name[LABEL_LEN..];
    let kind = [Kind::S, Kind::U, Kind::Zst]
        .into_iter()
        .find(|k| rest == k.suffix().as_bytes())?;
    Tai64N::from_hex(&name[1..LABEL_LEN]).map(|t| (t, kind))
}

/// The kind of archive `path` names.
#[must_use]
pub(crate) fn archive_kind_of(path: &Path) -> Option<Kind> {
    use std::os::unix::ffi::OsStrExt;
    archive_kind(path.file_name()?.as_bytes()).map(|(_, k)| k)
}

/// The names an archive listed as `path` may have by the time it is
/// opened, in the order multilog and its compressor rename it: a `.u`
/// becomes `.s` (finished), a `.s` becomes `.s.zst` (compressed).
#[must_use]
pub(crate) fn later_names(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let b = path.as_os_str().as_bytes();
    let with = |from: &str, to: &str| {
        let mut v = b[..b.len() - from.len()].to_vec();
        v.extend_from_slice(to.as_bytes());
        PathBuf::from(std::ffi::OsStr::from_bytes(&v))
    };
    let mut v = vec![path.to_path_buf()];
    if b.ends_with(U.as_bytes()) {
        v.push(with(U, S));
        v.push(with(U, ZST));
    } else if b.ends_with(S.as_bytes()) {
        v.push(with(S, ZST));
    }
    v
}

/// The names archive `path` may have, in the order a finished archive
/// takes them: itself, its `.s` (the finisher's rename of a `.u`) and its
/// `.s.zst` (the compressor's copy, made before the `.s` or `.u` goes).
/// Unlike [`later_names`], a `.s.zst` is also looked for as its `.s`.
#[must_use]
pub(crate) fn label_names(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut v = vec![path.to_path_buf()];
    let name = path.file_name().map_or(&[][..], |n| n.as_bytes());
    if name.len() >= LABEL_LEN {
        for suffix in [S, ZST] {
            let mut n = name[..LABEL_LEN].to_vec();
            n.extend_from_slice(suffix.as_bytes());
            let p = path.with_file_name(std::ffi::OsStr::from_bytes(&n));
            if !v.contains(&p) {
                v.push(p);
            }
        }
    }
    v
}

/// Whether `path` names a compressed archive (ends in `.s.zst`).
#[must_use]
pub(crate) fn is_zst(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().ends_with(ZST.as_bytes())
}

/// The name of an archive with `label` (`@` and 24 hex digits) of `kind`.
#[must_use]
pub(crate) fn archive_name(label: &[u8], kind: Kind) -> String {
    format!("{}{}", String::from_utf8_lossy(label), kind.suffix())
}

/// Archive name `name` with its suffix (`.s`, `.u` or `.s.zst`) made
/// `to`'s: a finished `.u` is `.s`, a compressed `.s` or `.u` `.s.zst`.
#[must_use]
pub(crate) fn with_kind(name: &str, to: Kind) -> String {
    let stem = [ZST, S, U]
        .into_iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    format!("{stem}{}", to.suffix())
}

/// The kind of an archive name as multilog 0.76 tells one on its start
/// (`@`, the length of a label and the suffix; the digits unchecked).
#[must_use]
pub(crate) fn loose_kind(name: &[u8]) -> Option<Kind> {
    if name.first() != Some(&b'@') || name.len() < LABEL_LEN {
        return None;
    }
    let rest = &name[LABEL_LEN..];
    [Kind::S, Kind::U, Kind::Zst]
        .into_iter()
        .find(|k| rest == k.suffix().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_keep_the_label() {
        let u = "@400000006b050c5709c2505c.u";
        assert_eq!(with_kind(u, Kind::S), "@400000006b050c5709c2505c.s");
        assert_eq!(with_kind(u, Kind::Zst), "@400000006b050c5709c2505c.s.zst");
        let s = "@400000006b050c5709c2505c.s";
        assert_eq!(with_kind(s, Kind::Zst), "@400000006b050c5709c2505c.s.zst");
        assert_eq!(archive_name(b"@400000006b050c5709c2505c", Kind::U), u);
        assert_eq!(loose_kind(b"@xxxxxxxxxxxxxxxxxxxxxxxx.u"), Some(Kind::U));
        assert_eq!(loose_kind(b"@xxxxxxxxxxxxxxxxxxxxxxxx.uu"), None);
        assert_eq!(archive_kind(b"@xxxxxxxxxxxxxxxxxxxxxxxx.u"), None);
    }
}
