//! Archive names, archiving under a fresh name and retention (ports
//! `multilog.c:timestamp`, `finish` and `filesfit`).

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::AtFlags;
use rustix::io::Errno;

use super::Shared;
use crate::logdir::names::{archive_name, Kind};
use crate::multilog::retry::{complain, retry};
use crate::tai64::{Tai64N, LABEL_LEN};

/// `renameat2(RENAME_NOREPLACE)`, falling back to `renameat` where the file
/// system does not support it.
pub(super) fn rename_noreplace(d: &OwnedFd, from: &str, to: &str) -> io::Result<()> {
    match rustix::fs::renameat_with(d, from, d, to, rustix::fs::RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL | Errno::NOSYS) => Ok(rustix::fs::renameat(d, from, d, to)?),
        Err(e) => Err(io::Error::from(e)),
    }
}

impl Shared {
    /// A fresh archive name `@<tai64n>.<code>`, strictly after the last one.
    pub(super) fn next_name(&self, kind: Kind) -> String {
        let mut last = self
            .last_stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut now = Tai64N::now();
        if now <= *last {
            now = *last;
            now.nanos += 1000;
            if now.nanos >= 1_000_000_000 {
                now.nanos -= 1_000_000_000;
                now.secs += 1;
            }
        }
        *last = now;
        archive_name(&now.label(), kind)
    }

    /// `finish`: link `file` to a fresh `@….code` name, remove it, trim.
    /// Returns the new name (`None` if `file` was gone or already linked).
    pub(super) fn finish(&self, file: &str, kind: Kind) -> Option<String> {
        let name = &self.name;
        let d = &self.dirfd;
        let st = loop {
            match rustix::fs::statat(d, file, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => break st,
                Err(Errno::NOENT) => return None,
                Err(e) => complain(
                    &format!("unable to stat {name}/{file}"),
                    &io::Error::from(e),
                ),
            }
        };
        let mut made = None;
        if st.st_nlink == 1 {
            loop {
                let target = self.next_name(kind);
                match rustix::fs::linkat(d, file, d, target.as_str(), AtFlags::empty()) {
                    Ok(()) => {
                        made = Some(target);
                        break;
                    }
                    Err(e) => complain(
                        &format!("unable to link to {name}/{target}"),
                        &io::Error::from(e),
                    ),
                }
            }
        }
        retry(
            || format!("unable to remove {name}/{file}"),
            || match rustix::fs::unlinkat(d, file, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io::Error::from(e)),
            },
        );
        self.trim();
        made
    }

    /// `filesfit` until it fits: remove the oldest archives until at most
    /// `n - 1` remain, and (`S`) until their sizes add up to at most the
    /// cap. With `Z` the size cap waits for the compression (see
    /// [`Shared::trim_with`]), so a fresh archive counts compressed.
    pub(super) fn trim(&self) {
        self.trim_with(self.ext.zstd.is_none());
    }

    /// [`Shared::trim`], applying the `S` cap only if `space`.
    pub(super) fn trim_with(&self, space: bool) {
        let cap = if space { self.ext.space } else { 0 };
        while !self.filesfit(cap) {}
    }

    /// The archives (`@` + label …), with their sizes on disk if `sizes`.
    /// The caller holds the listing lock.
    pub(super) fn archives(&self, sizes: bool) -> io::Result<Vec<(Vec<u8>, u64)>> {
        let mut found = Vec::new();
        let dir = rustix::fs::Dir::read_from(&self.dirfd)?;
        for ent in dir {
            let ent = ent?;
            let n = ent.file_name().to_bytes();
            if n.len() >= LABEL_LEN && n[0] == b'@' {
                let size = if sizes {
                    match rustix::fs::statat(&self.dirfd, n, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => st.st_size as u64,
                        Err(Errno::NOENT) => continue,
                        Err(e) => return Err(e.into()),
                    }
                } else {
                    0
                };
                found.push((n.to_vec(), size));
            }
        }
        Ok(found)
    }

    /// Remove the oldest of `names` (smallest label). The caller holds
    /// the listing lock; a failure other than "already gone" is returned.
    pub(super) fn remove_oldest(&self, names: &[(Vec<u8>, u64)]) -> Result<Vec<u8>, io::Error> {
        let Some(oldest) = names.iter().map(|n| &n.0[..LABEL_LEN]).min() else {
            return Ok(Vec::new());
        };
        let victim = names
            .iter()
            .find(|n| n.0.starts_with(oldest))
            .map(|n| n.0.clone())
            .unwrap_or_default();
        match rustix::fs::unlinkat(&self.dirfd, &victim[..], AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(victim),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// One pass of `filesfit`: true when at most `n - 1` archives remain
    /// and their sizes add up to at most `cap` (0: no cap), otherwise the
    /// oldest is removed and false returned. `.u` files still being
    /// finished count (and may be removed) like any archive.
    fn filesfit(&self, cap: u64) -> bool {
        let name = &self.name;
        let guard = self.lock_listing();
        let names = match self.archives(cap > 0) {
            Ok(n) => n,
            Err(e) => {
                drop(guard);
                complain(&format!("unable to read {name}"), &e);
                return false;
            }
        };
        let total: u64 = names.iter().map(|n| n.1).sum();
        if (names.len() as u64) < self.num && (cap == 0 || total <= cap) {
            return true;
        }
        if names.is_empty() {
            return true;
        }
        if let Err(e) = self.remove_oldest(&names) {
            drop(guard);
            let victim = names
                .iter()
                .map(|n| &n.0)
                .min()
                .cloned()
                .unwrap_or_default();
            complain(
                &format!(
                    "unable to remove {name}/{}",
                    String::from_utf8_lossy(&victim)
                ),
                &e,
            );
        }
        false
    }
}
