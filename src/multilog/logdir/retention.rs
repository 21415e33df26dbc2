//! Archiving under a fresh name and retention (ports `multilog.c:finish`
//! and `filesfit`).

use std::io;

use rustix::fs::AtFlags;
use rustix::io::Errno;

use super::{io_err, Shared};
use crate::multilog::retry::{complain, retry};

impl Shared {
    /// `finish`: link `file` to a fresh `@….code` name, remove it, trim.
    pub(super) fn finish(&self, file: &str, code: u8) {
        let name = &self.name;
        let d = &self.dirfd;
        let st = loop {
            match rustix::fs::statat(d, file, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => break st,
                Err(Errno::NOENT) => return,
                Err(e) => complain(&format!("unable to stat {name}/{file}"), &io_err(e)),
            }
        };
        if st.st_nlink == 1 {
            loop {
                let target = self.next_name(code);
                match rustix::fs::linkat(d, file, d, target.as_str(), AtFlags::empty()) {
                    Ok(()) => break,
                    Err(e) => complain(&format!("unable to link to {name}/{target}"), &io_err(e)),
                }
            }
        }
        retry(
            || format!("unable to remove {name}/{file}"),
            || match rustix::fs::unlinkat(d, file, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io_err(e)),
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
            let dir = rustix::fs::Dir::read_from(&self.dirfd).map_err(io_err)?;
            for ent in dir {
                let ent = ent.map_err(io_err)?;
                let n = ent.file_name().to_bytes();
                if n.len() >= 25 && n[0] == b'@' {
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
        let Some(oldest) = names.iter().map(|n| &n[..25]).min() else {
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
                    &io_err(e),
                );
            }
        }
        false
    }
}
