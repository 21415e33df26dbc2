//! What `-f` says about a followed directory going away: the directory
//! gone or replaced, or its `current` missing for a second. No more lines
//! will come from there, which should not look like a quiet log.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error;

use super::PROG;

/// How long `current` may be missing before it is reported (multilog
/// renames it and makes the next one at once).
const CURRENT_GRACE: Duration = Duration::from_secs(1);

/// What is said about the followed directory going away: each warning
/// once, again only after the directory or `current` came back.
pub(crate) struct Gone {
    dir: PathBuf,
    id: Option<(u64, u64)>,
    dir_said: bool,
    missing_since: Option<Instant>,
    current_said: bool,
}

impl Gone {
    pub(crate) fn new(dir: &Path) -> Gone {
        Gone {
            dir: dir.to_path_buf(),
            id: std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino())),
            dir_said: false,
            missing_since: None,
            current_said: false,
        }
    }

    /// Warn if the directory has gone or been replaced, or `current` has
    /// been missing for [`CURRENT_GRACE`].
    pub(crate) fn check(&mut self) {
        let d = self.dir.display();
        match std::fs::metadata(&self.dir) {
            Ok(m) if Some((m.dev(), m.ino())) == self.id => self.dir_said = false,
            Ok(_) => {
                if !std::mem::replace(&mut self.dir_said, true) {
                    let what = format!("{d} was replaced: still following the directory it was");
                    error::warn(PROG, &what, None);
                }
                return;
            }
            Err(e) => {
                if !std::mem::replace(&mut self.dir_said, true) {
                    error::warn(PROG, &format!("unable to open directory {d}"), Some(&e));
                }
                return;
            }
        }
        let cur = self.dir.join(crate::logdir::names::CURRENT);
        match std::fs::symlink_metadata(&cur) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let since = *self.missing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= CURRENT_GRACE && !self.current_said {
                    self.current_said = true;
                    error::warn(PROG, &format!("unable to open {d}/current"), Some(&e));
                }
            }
            _ => {
                self.missing_since = None;
                self.current_said = false;
            }
        }
    }
}
