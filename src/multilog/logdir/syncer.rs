//! `F<ms>` (an extension; daemontools, encore and s6-log have no `F`):
//! bound what a power cut can take from `current`. A thread per directory
//! fsyncs `current` at most every `ms` milliseconds, and only when
//! something was written since the last time; the writer never waits for
//! it. Rotated files are fsynced by the finisher as always, and the
//! directory (so the entry of a new `current`) after each rotation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use rustix::fs::Mode;

use super::{Shared, READ};
use crate::error;

/// The running fsync thread of one directory.
pub(super) struct Syncer {
    /// Bytes written to `current` so far (any `current`), for the thread.
    pub(super) written: Arc<AtomicU64>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Start the thread (`None` for `F0` or if no thread can be made).
    pub(super) fn start(sh: &Arc<Shared>, ms: u64) -> Option<Syncer> {
        if ms == 0 {
            return None;
        }
        let written = Arc::new(AtomicU64::new(0));
        let (stop, rx) = bounded::<()>(0);
        let (sh, seen) = (Arc::clone(sh), Arc::clone(&written));
        let period = Duration::from_millis(ms);
        let thread = std::thread::Builder::new()
            .name("fsync-window".into())
            .spawn(move || {
                let mut synced = 0;
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(period) {
                    let now = seen.load(Ordering::Acquire);
                    if now != synced {
                        sync_current(&sh);
                        synced = now;
                    }
                }
            })
            .ok()?;
        Some(Syncer {
            written,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// fsync whatever is `current` now (a rotation may just have replaced
/// it: the old one is the finisher's). A failure is reported and tried
/// again at the next tick; it never holds up input.
fn sync_current(sh: &Shared) {
    let r = rustix::fs::openat(&sh.dirfd, "current", READ, Mode::empty())
        .and_then(|f| rustix::fs::fdatasync(&f));
    match r {
        // No `current` for a moment during a rotation: nothing to do.
        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => {
            let name = &sh.name;
            error::warn(
                "multilog",
                &format!("unable to write {name}/current to disk"),
                Some(&e.into()),
            );
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
