//! How many bytes wait in the directory past what was read: for
//! logship's status file (`src/logship/status.rs`), computed from what the
//! follower already knows plus one fstat(2) of the file being followed.

use std::os::unix::fs::MetadataExt;

use super::Follower;

impl Follower {
    /// Bytes not read yet: the rest of every file queued (an archive's
    /// size as noted, compressed for a `.s.zst` not opened yet), the rest
    /// of the followed file as it is now, and the archives heard of and
    /// not queued yet (not the followed file's own archive).
    #[must_use]
    pub(crate) fn unread(&self) -> u64 {
        let last = self.queue.len().saturating_sub(1);
        let mut n = 0u64;
        for (i, s) in self.queue.iter().enumerate() {
            let size = if i == last {
                s.file
                    .as_ref()
                    .and_then(|f| f.metadata().ok())
                    .map_or(s.end, |m| m.len())
            } else {
                s.size.unwrap_or(s.end).max(s.end)
            };
            n = n.saturating_add(size.saturating_sub(s.off));
        }
        for h in self.new.values() {
            if h.id != Some(self.cur_id) && !h.skip {
                let size = h.size.or_else(|| {
                    h.file
                        .as_ref()
                        .and_then(|f| f.metadata().ok())
                        .map(|m| m.size())
                });
                n = n.saturating_add(size.unwrap_or(0));
            }
        }
        n
    }
}
