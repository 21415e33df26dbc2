//! Archive names, archiving under a fresh name and retention (ports
//! `multilog.c:timestamp`, `finish` and `filesfit`).

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::AtFlags;
use rustix::io::Errno;

use super::Shared;
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
    pub(super) fn next_name(&self, code: u8) -> String {
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
        let label = now.label();
        format!("{}.{}", String::from_utf8_lossy(&label), code as char)
    }

    /// `finish`: link `file` to a fresh `@….code` name, remove it, trim.
    pub(super) fn finish(&self, file: &str, code: u8) {
        let name = &self.name;
        let d = &self.dirfd;
        let st = loop {
            match rustix::fs::statat(d, file, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => break st,
                Err(Errno::NOENT) => return,
                Err(e) => complain(
                    &format!("unable to stat {name}/{file}"),
                    &io::Error::from(e),
                ),
            }
        };
        if st.st_nlink == 1 {
            loop {
                let target = self.next_name(code);
                match rustix::fs::linkat(d, file, d, target.as_str(), AtFlags::empty()) {
                    Ok(()) => break,
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
    }

    /// `filesfit` until it fits: remove the oldest archives until at most
    /// `n - 1` remain.
    pub(super) fn trim(&self) {
        while !self.filesfit() {}
    }

    /// One pass of `filesfit`: true when at most `n - 1` archives remain,
    /// otherwise the oldest is removed and false returned. `.u` files still
    /// being finished count (and may be removed) like any archive.
    fn filesfit(&self) -> bool {
        let name = &self.name;
        let guard = self.lock_listing();
        let mut names: Vec<Vec<u8>> = Vec::new();
        let listing = (|| -> io::Result<()> {
            let dir = rustix::fs::Dir::read_from(&self.dirfd)?;
            for ent in dir {
                let ent = ent?;
                let n = ent.file_name().to_bytes();
                if n.len() >= LABEL_LEN && n[0] == b'@' {
                    names.push(n.to_vec());
                }
            }
            Ok(())
        })();
        if let Err(e) = listing {
            drop(guard);
            complain(&format!("unable to read {name}"), &e);
            return false;
        }
        if (names.len() as u64) < self.num {
            return true;
        }
        let Some(oldest) = names.iter().map(|n| &n[..LABEL_LEN]).min() else {
            return true;
        };
        let victim = names
            .iter()
            .find(|n| n.starts_with(oldest))
            .cloned()
            .unwrap_or_default();
        if let Err(e) = rustix::fs::unlinkat(&self.dirfd, &victim[..], AtFlags::empty()) {
            if e != Errno::NOENT {
                drop(guard);
                complain(
                    &format!(
                        "unable to remove {name}/{}",
                        String::from_utf8_lossy(&victim)
                    ),
                    &io::Error::from(e),
                );
            }
        }
        false
    }
}
