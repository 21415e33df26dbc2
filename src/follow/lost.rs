//! Data deleted before it was read: counted, reported, never skipped
//! silently.

use crate::error;

use super::CursorLoss;

/// Data deleted before it was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lost {
    /// Bytes of archives gone when their turn came.
    pub bytes: u64,
    /// Archives gone before their size could be known.
    pub archives: usize,
    /// The inotify queue overflowed: names may be missing from the counts.
    pub names: bool,
    /// The file of a saved position had gone before it was read to its
    /// end.
    pub cursor: Option<CursorLoss>,
    /// Archives not held open ([`super::held`]): retention may delete
    /// them before they are read (their sizes are then in `bytes`).
    /// Reported only with such a loss.
    pub unheld: usize,
}

impl Lost {
    /// Whether there is anything to report.
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        *self == Lost::default()
    }

    /// Report as `prog: warning: ...` lines, one per kind of loss, each
    /// starting with `what` (a directory's name) if it is not empty.
    pub(crate) fn warn(&self, prog: &str, what: &str) {
        let pre = if what.is_empty() {
            String::new()
        } else {
            format!("{what}: ")
        };
        if self.bytes > 0 {
            let text = format!("{pre}{} bytes deleted before they were read", self.bytes);
            error::warn(prog, &text, None);
        }
        if self.archives > 0 {
            let text = format!(
                "{pre}{} archives deleted before they could be read",
                self.archives
            );
            error::warn(prog, &text, None);
        }
        if self.unheld > 0 {
            let text = format!(
                "{pre}{} archives were not held open (at most {} files and {} MiB a directory, and a quarter of the descriptor limit), so retention could delete them before they were read",
                self.unheld,
                super::held::MAX_FILES,
                super::held::MAX_BYTES >> 20
            );
            error::warn(prog, &text, None);
        }
        if let Some(c) = &self.cursor {
            error::warn(prog, &format!("{pre}{}", c.text()), None);
        }
        if self.names {
            let text = format!(
                "{pre}inotify events lost: archives deleted unread may not have been reported"
            );
            error::warn(prog, &text, None);
        }
    }
}
