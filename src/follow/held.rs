//! What the follower holds open of the archives heard of, bounded.
//!
//! An archive opened as soon as inotify names it survives retention: its
//! bytes stay readable through the descriptor after multilog's `n`
//! deleted the name. But a deleted file held open still takes its disk
//! space (invisible to du(1), beyond multilog's `n` and `N`), and every
//! descriptor held is one the socket may not get under a low
//! `RLIMIT_NOFILE`. So at most [`MAX_FILES`] archives and [`MAX_BYTES`]
//! are held per directory, and at most a quarter of `RLIMIT_NOFILE` in
//! the whole process; beyond that an archive's identity and size are
//! noted without a descriptor, the count of such archives is reported
//! ([`super::Lost::unheld`]), and if retention deletes one before its turn
//! its size is reported lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Archives held open at most per directory (at full speed through
/// `s4096`, `svlog -f` lags a few dozen rotations behind multilog).
pub(crate) const MAX_FILES: usize = 64;
/// Bytes of archives held open at most per directory (a few rotations
/// of multilog's largest `s`, 16 MB).
pub(crate) const MAX_BYTES: u64 = 64 << 20;

/// Archives held open by every follower of the process.
static ALL: AtomicUsize = AtomicUsize::new(0);

/// The most archives the whole process holds: a quarter of the soft
/// `RLIMIT_NOFILE` (getrlimit(2)), at least 1.
fn process_cap() -> usize {
    static CAP: OnceLock<usize> = OnceLock::new();
    *CAP.get_or_init(|| {
        let r = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        r.current
            .map_or(usize::MAX, |n| usize::try_from(n / 4).unwrap_or(usize::MAX))
            .max(1)
    })
}

/// One directory's share.
#[derive(Debug, Default)]
pub(super) struct Held {
    files: usize,
    bytes: u64,
}

impl Held {
    /// Whether one more archive of `size` bytes may be held open; if so it
    /// is counted until [`Held::give`].
    pub(super) fn take(&mut self, size: u64) -> bool {
        if self.files >= MAX_FILES || self.bytes.saturating_add(size) > MAX_BYTES {
            return false;
        }
        let cap = process_cap();
        let ok = ALL
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < cap).then_some(n + 1)
            })
            .is_ok();
        if ok {
            self.files += 1;
            self.bytes += size;
        }
        ok
    }

    /// An archive counted by [`Held::take`] with `size` is closed.
    pub(super) fn give(&mut self, size: u64) {
        if self.files > 0 {
            self.files -= 1;
            self.bytes = self.bytes.saturating_sub(size);
            ALL.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        ALL.fetch_sub(self.files, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files and bytes both bound a directory's share; what is given back
    /// may be taken again.
    #[test]
    fn bounded_by_files_and_bytes() {
        let mut h = Held::default();
        assert!(h.take(MAX_BYTES - 10));
        assert!(!h.take(11));
        assert!(h.take(10));
        h.give(MAX_BYTES - 10);
        h.give(10);
        let mut n = 0;
        while h.take(1) {
            n += 1;
        }
        assert_eq!(n, MAX_FILES);
    }
}
