//! The extension `N<count>` (svlogd's idea): when a write to `current`
//! fails for lack of space, remove the oldest archives while more than
//! `count` remain, then retry at once. When no more may go, daemontools'
//! pause-and-retry takes over. Without `N`, writes go straight to
//! [`retry::write_all`], as before.
//!
//! Removals are announced as a count and a byte total, not one line per
//! file (a full disk can cost hundreds of archives in a second): at most
//! once every [`SAY_EVERY`] (daemontools' pause) while removals go on,
//! whenever no more may go (before the pause), and when multilog ends.

use std::fs::File;
use std::io::{self, Write};
use std::time::{Duration, Instant};

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
            Err(e) => {
                sh.say_freed();
                complain(&what(), &e);
            }
        }
    }
    sh.say_freed_if_due();
}

/// How often removals that go on are announced: daemontools' pause.
const SAY_EVERY: Duration = Duration::from_secs(5);

/// Archives removed by `N` and not yet announced.
#[derive(Default)]
pub(super) struct Freed {
    /// How many, and their bytes.
    count: u64,
    bytes: u64,
    /// The file whose write failed, and why.
    file: String,
    why: Option<io::Error>,
    /// When the last announcement was made.
    said: Option<Instant>,
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
    /// Remove the oldest archive if more than `keep` remain, counting it
    /// for the announcement of `why` the write to `file` failed. True if
    /// one went; when none may go, what went is announced.
    pub(super) fn free_oldest(&self, keep: u64, file: &str, why: &io::Error) -> bool {
        let guard = self.lock_listing();
        let names = match self.archives(true) {
            Ok(names) if names.len() as u64 > keep => names,
            _ => {
                drop(guard);
                self.say_freed();
                return false;
            }
        };
        let removed = self.remove_oldest(&names);
        drop(guard);
        match removed {
            Ok(victim) if !victim.is_empty() => {
                let size = names.iter().find(|n| n.0 == victim).map_or(0, |n| n.1);
                {
                    let mut f = self.lock_freed();
                    f.count += 1;
                    f.bytes += size;
                    f.file = file.to_string();
                    f.why = Some(io::Error::from_raw_os_error(
                        why.raw_os_error().unwrap_or(0),
                    ));
                }
                self.say_freed_if_due();
                true
            }
            _ => {
                self.say_freed();
                false
            }
        }
    }

    fn lock_freed(&self) -> std::sync::MutexGuard<'_, Freed> {
        self.freed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// [`Shared::say_freed`] if none was made in the last [`SAY_EVERY`].
    pub(super) fn say_freed_if_due(&self) {
        let due = self
            .lock_freed()
            .said
            .is_none_or(|t| t.elapsed() >= SAY_EVERY);
        if due {
            self.say_freed();
        }
    }

    /// Announce the archives removed since the last announcement, if any:
    /// `unable to write to DIR/FILE, removed N archives (B bytes) from
    /// DIR: REASON`.
    pub(super) fn say_freed(&self) {
        let mut f = self.lock_freed();
        if f.count == 0 {
            return;
        }
        let name = &self.name;
        let what = format!(
            "unable to write to {name}/{}, removed {} archive{} ({} bytes) from {name}",
            f.file,
            f.count,
            if f.count == 1 { "" } else { "s" },
            f.bytes
        );
        error::warn("multilog", &what, f.why.as_ref());
        f.count = 0;
        f.bytes = 0;
        f.said = Some(Instant::now());
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
