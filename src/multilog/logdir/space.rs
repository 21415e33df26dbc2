//! The extension `N<count>` (svlogd's idea): when a write to `current`
//! fails for lack of space, remove the oldest archives while more than
//! `count` remain, announcing each removal, then retry at once. When no
//! more may go, daemontools' pause-and-retry takes over. Without `N`,
//! writes go straight to [`retry::write_all`], as before.

use std::fs::File;
use std::io::{self, Write};

use super::{LogDir, Shared};
use crate::error;
use crate::logdir::names::CURRENT;
use crate::multilog::retry::{self, complain};

/// A write error that removing files can cure.
fn is_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// `c_write`'s write of `data` to `current`, with `N`'s space freeing.
pub(super) fn write_all(sh: &Shared, current: &mut File, mut data: &[u8]) {
    let name = &sh.name;
    let what = || format!("unable to write to {name}/current");
    let Some(keep) = sh.ext.free_keep else {
        retry::write_all(current, data, what);
        return;
    };
    while !data.is_empty() {
        match current.write(data) {
            Ok(0) => complain(&what(), &io::Error::from_raw_os_error(0)),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_full(&e) && sh.free_oldest(keep, CURRENT, &e) => {}
            Err(e) => complain(&what(), &e),
        }
    }
}

/// What frees space for a write into the log directory other than
/// `current`: true if an archive went and the write should be tried again.
pub(crate) type Freer = Box<dyn Fn(&io::Error) -> bool>;

impl LogDir {
    /// `N` for the in-flight record (`file`, which lives in this
    /// directory): its writes free space as those to `current` do.
    /// Archives only are removed, never `current`, so the sizes of
    /// `current` the record holds stay true.
    pub(crate) fn space_freer(&self, file: &'static str) -> Option<Freer> {
        let keep = self.sh.ext.free_keep?;
        let sh = std::sync::Arc::clone(&self.sh);
        Some(Box::new(move |e| {
            is_full(e) && sh.free_oldest(keep, file, e)
        }))
    }
}

impl Shared {
    /// Remove the oldest archive if more than `keep` remain, with a
    /// warning naming it and `why` the write to `file` failed. True if one
    /// went.
    pub(super) fn free_oldest(&self, keep: u64, file: &str, why: &io::Error) -> bool {
        let name = &self.name;
        let guard = self.lock_listing();
        let Ok(names) = self.archives(false) else {
            return false;
        };
        if names.len() as u64 <= keep {
            return false;
        }
        let removed = self.remove_oldest(&names);
        drop(guard);
        match removed {
            Ok(victim) if !victim.is_empty() => {
                let victim = String::from_utf8_lossy(&victim);
                error::warn(
                    "multilog",
                    &format!("unable to write to {name}/{file}, removing {name}/{victim}"),
                    Some(why),
                );
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{open_dir, put_file, real_fsync, start_ext};
    use super::*;
    use crate::multilog::script::DirExt;

    #[test]
    fn frees_oldest_while_more_than_keep() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        for i in 1..=4 {
            put_file(
                &dir,
                &format!("@40000000000000000000000{i}.s"),
                b"x\n",
                0o744,
            );
        }
        put_file(&dir, "current", b"", 0o744);
        let ext = DirExt {
            free_keep: Some(2),
            ..DirExt::default()
        };
        let d = start_ext(&open_dir(tmp.path()), None, real_fsync, ext);
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(d.sh.free_oldest(2, "current", &full));
        assert!(d.sh.free_oldest(2, "current", &full));
        assert!(!d.sh.free_oldest(2, "current", &full));
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('@'))
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["@400000000000000000000003.s", "@400000000000000000000004.s"]
        );
        assert!(is_full(&full));
        assert!(!is_full(&io::Error::from_raw_os_error(libc::EIO)));
    }
}
