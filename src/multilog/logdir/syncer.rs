//! `F<ms>` (an extension; daemontools, encore and s6-log have no `F`):
//! bound what a power cut can take from `current`. A thread per directory
//! fsyncs `current` at most every `ms` milliseconds, and only when
//! something was written since the last time; the writer never waits for
//! it. Rotated files are fsynced by the finisher as always, and the
//! directory (so the entry of a new `current`) after each rotation.
//!
//! A failed fsync is reported as daemontools reports one
//! (`multilog: warning: unable to fsync DIR/current, pausing: REASON`,
//! `multilog.c:finish`) and tried again after the pause, whether or not
//! more was written: the bytes it did not write to disk are still only in
//! the page cache.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use rustix::fs::Mode;

use super::{Shared, READ};
use crate::error;
use crate::logdir::names::CURRENT;
use crate::multilog::retry::pause_duration;

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
                let name = sh.name.clone();
                let pause = pause_duration();
                run(&rx, period, pause, &seen, &name, || sync_current(&sh));
            })
            .ok()?;
        Some(Syncer {
            written,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// The thread: every `period`, if more was written since the last
/// successful `sync`, sync; after a failure, warn and try again after
/// `pause`. Returns when `stop` is dropped.
fn run(
    stop: &Receiver<()>,
    period: Duration,
    pause: Duration,
    written: &AtomicU64,
    name: &str,
    mut sync: impl FnMut() -> io::Result<()>,
) {
    let mut synced = 0;
    let mut wait = period;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(wait) {
        let now = written.load(Ordering::Acquire);
        if now == synced {
            wait = period;
            continue;
        }
        match sync() {
            Ok(()) => {
                synced = now;
                wait = period;
            }
            Err(e) => {
                let what = format!("unable to fsync {name}/current, pausing");
                error::warn("multilog", &what, Some(&e));
                wait = pause;
            }
        }
    }
}

/// fsync whatever is `current` now (a rotation may just have replaced
/// it: the old one is the finisher's).
fn sync_current(sh: &Shared) -> io::Result<()> {
    let r = rustix::fs::openat(&sh.dirfd, CURRENT, READ, Mode::empty())
        .and_then(|f| rustix::fs::fdatasync(&f));
    match r {
        // No `current` for a moment during a rotation: nothing to do.
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A disk whose fsync fails twice: with nothing more written after
    /// the first attempt, the thread still tries again (after the pause)
    /// until one succeeds, then stops asking.
    #[test]
    fn a_failed_fsync_is_retried_without_new_data() {
        let (stop, rx) = bounded::<()>(0);
        let written = Arc::new(AtomicU64::new(1));
        let calls = Arc::new(AtomicUsize::new(0));
        let (w, c) = (Arc::clone(&written), Arc::clone(&calls));
        let t = std::thread::spawn(move || {
            let ms = Duration::from_millis;
            run(&rx, ms(5), ms(20), &w, "./d", || {
                if c.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(io::Error::from_raw_os_error(libc::EIO))
                } else {
                    Ok(())
                }
            });
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while calls.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3, "not retried");
        // Synced: no more calls until something is written.
        drop(stop);
        t.join().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
