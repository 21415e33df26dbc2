//! Resuming at a saved position: the file found again by (device, inode)
//! is checked to be the position's file before its offset is trusted.
//!
//! An inode names a file only while it lives: ext4 gives a deleted file's
//! inode to the next file made, so after retention deleted the archive of
//! the saved file, the next `current` may have its (device, inode). A
//! position therefore also carries the file's birth time (statx(2)
//! `STATX_BTIME`, where the file system keeps one), a checksum of its
//! first bytes (at most [`HEAD`]), the size known when it was taken and
//! the archive labels around it; a file found by inode must agree with
//! each of those known. Otherwise the saved file is taken as deleted: the
//! archives named after the saved label are read and the loss reported.
//!
//! A position without birth time and checksum (a cursor written before
//! they existed) is checked by labels and size alone, strictly: in
//! `current` it is trusted only while no archive is named after its label
//! (a rotation since makes one), unless a processor runs (its output
//! arrives after the file it came from).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rustix::fs::{AtFlags, StatxFlags};

use crate::logdir::LogFile;
use crate::tai64::Tai64N;

use super::switch::{is_zst, open_archive, stat_archive, Opened};
use super::{Follower, Id, Lost, Pos};

/// Bytes of a file's start whose checksum identifies it.
pub(crate) const HEAD: u64 = 1024;

/// The birth time of `f` (statx(2) `STATX_BTIME`), if the file system
/// keeps one.
pub(super) fn born(f: &File) -> Option<(i64, u32)> {
    let s = rustix::fs::statx(f, "", AtFlags::EMPTY_PATH, StatxFlags::BTIME).ok()?;
    StatxFlags::from_bits_retain(s.stx_mask)
        .contains(StatxFlags::BTIME)
        .then_some((s.stx_btime.tv_sec, s.stx_btime.tv_nsec))
}

/// FNV-1a, 64 bits: a checksum, not a defence against forgery (the
/// cursor's directory is trusted like the log directory).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The length and checksum of the first `min(upto, HEAD)` bytes of `f`;
/// `None` if fewer can be read.
pub(super) fn head(f: &File, upto: u64) -> Option<(u32, u64)> {
    let len = usize::try_from(upto.min(HEAD)).ok()?;
    let mut buf = [0u8; HEAD as usize];
    let mut got = 0;
    while got < len {
        match f.read_at(&mut buf[got..len], got as u64) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some((u32::try_from(len).ok()?, fnv1a(&buf[..len])))
}

/// What a file found by the position's inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// The position's file.
    Same,
    /// Another file with the inode.
    Other,
    /// The position's file (its birth time agrees), shorter than the
    /// offset: the position is damaged.
    PastEnd,
}

/// Whether `f`, found by `pos`'s inode (the archive labelled `label`, or
/// `current` or `previous` for `None`; `zst`: a compressed archive, whose
/// offsets are in the decompressed bytes), is `pos`'s file. `list`: the
/// archives; `processor`: a processor runs in the directory.
fn verdict(
    pos: &Pos,
    f: &File,
    label: Option<Tai64N>,
    zst: bool,
    list: &[LogFile],
    processor: bool,
) -> Verdict {
    let legacy = pos.born.is_none() && pos.head.is_none();
    let b = born(f);
    if let (Some(a), Some(b)) = (pos.born, b) {
        if a != b {
            return Verdict::Other;
        }
    }
    if let (Some((n, h)), false) = (pos.head, zst) {
        if head(f, u64::from(n)) != Some((n, h)) {
            return Verdict::Other;
        }
    }
    let after = |x: Tai64N| pos.after.is_none_or(|p| x > p);
    let ok = match (label, pos.own) {
        // An archive's position: that very archive.
        (Some(l), true) => Some(l) == pos.after,
        (None, true) => false,
        // A position in `current`: its archive is the first one named
        // after the label it saw (a processor's output has a new inode).
        (Some(l), false) => !list
            .iter()
            .any(|a| a.label.is_some_and(|x| x < l && after(x))),
        // Still `current`: no rotation since, unless only the inode is
        // known, then no archive after its label but a processor's.
        (None, false) => !legacy || processor || !list.iter().any(|a| a.label.is_some_and(after)),
    };
    if !ok {
        return Verdict::Other;
    }
    let size = f.metadata().map_or(0, |m| m.len());
    if !zst && size < pos.off {
        // Past the end: damaged if the birth time says it is the file,
        // else another file.
        return if pos.born.is_some() && pos.born == b {
            Verdict::PastEnd
        } else {
            Verdict::Other
        };
    }
    Verdict::Same
}

/// Where a saved position was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resumed {
    /// In `current`.
    Cur,
    /// In `previous`.
    Prev,
    /// In an archive, or after the saved label: queued.
    Queued,
    /// The position is damaged: everything queued from the start.
    Bad,
}

impl Follower {
    /// From a saved position: its file and what follows it. If its file
    /// has gone (no archive, `previous` or `current` is that file), the
    /// archives named after `pos.after`, with the loss noted.
    pub(super) fn queue_at(
        &mut self,
        list: Vec<LogFile>,
        pos: Pos,
        prev: &Option<(File, Id)>,
        cur: &File,
        cid: Id,
    ) -> Resumed {
        let want = (pos.dev, pos.ino);
        let proc = self.processor;
        let mut reused = false;
        let mut bad = false;
        let mut judge = |v: Verdict, r: Resumed| match v {
            Verdict::Same => Some(r),
            Verdict::Other => {
                reused = true;
                None
            }
            Verdict::PastEnd => {
                bad = true;
                None
            }
        };
        if want == cid {
            if let Some(r) = judge(verdict(&pos, cur, None, false, &list, proc), Resumed::Cur) {
                return r;
            }
        } else if let Some((pf, _)) = prev.as_ref().filter(|p| p.1 == want) {
            if let Some(r) = judge(verdict(&pos, pf, None, false, &list, proc), Resumed::Prev) {
                return r;
            }
        } else {
            let found = list
                .iter()
                .position(|a| stat_archive(&a.path).is_some_and(|(id, _)| id == want));
            let k = found
                .filter(|&i| match open_archive(&list[i].path) {
                    Opened::File(f, p) => {
                        let v = verdict(&pos, &f, list[i].label, is_zst(&p), &list, proc);
                        judge(v, Resumed::Queued).is_some()
                    }
                    Opened::Gone | Opened::Skipped(_) | Opened::Failed(..) => false,
                })
                .or_else(|| {
                    // An archive's bytes compressed since: the same offsets.
                    list.iter().position(|a| {
                        pos.own && a.label.is_some() && a.label == pos.after && is_zst(&a.path)
                    })
                });
            if let Some(k) = k {
                for (i, a) in list.into_iter().enumerate().skip(k) {
                    let mut s = super::start::lazy(a, cid);
                    if i == k {
                        s.off = pos.off;
                    }
                    self.queue.push_back(s);
                }
                return Resumed::Queued;
            }
        }
        if bad {
            for a in list {
                self.queue.push_back(super::start::lazy(a, cid));
            }
            return Resumed::Bad;
        }
        self.lost.cursor = Some(CursorLoss {
            known: pos.size.saturating_sub(pos.off),
            exact: pos.own && !(pos.born.is_none() && pos.head.is_none()),
            off: pos.off,
            reused,
        });
        for a in list {
            if pos.after.is_none_or(|l| a.label.is_some_and(|x| x > l)) {
                self.queue.push_back(super::start::lazy(a, cid));
            }
        }
        Resumed::Queued
    }
}

/// The file of a saved position deleted before it was read to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CursorLoss {
    /// Bytes of it known, when the position was taken, to follow it.
    pub known: u64,
    /// `known` is all of it (an archive, complete when read).
    pub exact: bool,
    /// The offset of the position.
    pub off: u64,
    /// Its inode is another file's now.
    pub reused: bool,
}

impl CursorLoss {
    /// The warning's text.
    pub(super) fn text(&self) -> String {
        let why = if self.reused {
            " (its inode is another file's now)"
        } else {
            ""
        };
        if self.exact {
            return format!(
                "the file of the saved position{why} was deleted before it was read to its end: {} bytes lost",
                self.known
            );
        }
        format!(
            "the file of the saved position{why} was deleted before it was read to its end: at least {} bytes lost, and whatever was written to it after offset {} once it was no longer read",
            self.known,
            self.off + self.known
        )
    }
}

impl Lost {
    /// Nothing lost but the saved position's file.
    #[cfg(test)]
    pub(crate) fn only_cursor(&self) -> bool {
        self.cursor.is_some()
            && Lost {
                cursor: None,
                ..*self
            }
            .is_empty()
    }
}
