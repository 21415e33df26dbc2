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

/// How an archive is stored.
///
/// **The twin rule.** Of the names one label has at once, every reader
/// reads the first in this order: `.s`, then `.u`, then `.s.zst`. The
/// uncompressed file wins while compression is in progress: multilog's
/// compressor (`multilog::logdir::compress`) renames its complete,
/// fsynced `.s.zst` into place *beside* the `.s` or `.u` and only then
/// removes that original, so until the original is gone it is the file
/// that keeps the inode `current` had (the follower's position) and needs
/// no decompression. A `.s` beside a `.u` (the finisher's rename is one
/// step, so only someone else makes these) is the one known complete. An
/// original that is gone by the time it is opened is looked for under its
/// [`twin_names`], so the `.s.zst` takes over without a gap.
/// [`crate::logdir::archives`] applies the rule; svlog, the follower (and
/// logship through it) list through it. svmetrics counts every file on
/// disk, twins too: its gauges are of disk use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `@<label>.s`: finished.
    S,
    /// `@<label>.u`: written before a crash, not known to be complete.
    U,
    /// `@<label>.s.zst`: finished, then compressed with zstd.
    Zst,
}

/// Every kind, in the twin rule's order (that of [`Kind`]'s `Ord`).
pub(crate) const TWIN_ORDER: [Kind; 3] = [Kind::S, Kind::U, Kind::Zst];

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
    let kind = TWIN_ORDER
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

/// The names of the archive listed as `path` (its label's `.s`, `.u` and
/// `.s.zst`), in the order the twin rule ([`Kind`]) reads them: the first
/// still there when it is opened is the file to read. The listed name may
/// have gone meanwhile: a `.u` becomes `.s` (the finisher's rename), a `.s`
/// or `.u` gives way to its `.s.zst` (the compressor's). `path` itself if
/// it is no archive name.
#[must_use]
pub(crate) fn twin_names(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let name = path.file_name().map_or(&[][..], |n| n.as_bytes());
    if loose_kind(name).is_none() {
        return vec![path.to_path_buf()];
    }
    TWIN_ORDER
        .into_iter()
        .map(|k| {
            let n = [&name[..LABEL_LEN], k.suffix().as_bytes()].concat();
            path.with_file_name(std::ffi::OsStr::from_bytes(&n))
        })
        .collect()
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
    TWIN_ORDER
        .into_iter()
        .find(|k| rest == k.suffix().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_order_is_kinds_order() {
        assert!(TWIN_ORDER.windows(2).all(|w| w[0] < w[1]));
    }

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
        let d = Path::new("/log");
        let l = "@400000006b050c5709c2505c";
        for listed in [".s", ".u", ".s.zst"] {
            let want: Vec<PathBuf> = [".s", ".u", ".s.zst"]
                .iter()
                .map(|k| d.join(format!("{l}{k}")))
                .collect();
            assert_eq!(twin_names(&d.join(format!("{l}{listed}"))), want);
        }
        assert_eq!(twin_names(&d.join("current")), [d.join("current")]);
    }
}
