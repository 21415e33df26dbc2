//! The per-directory background thread that finishes rotated files (the
//! tail of `multilog.c:fullcurrent`, moved off the writer): fsync, then
//! rename `@….u` to `@….s`, or run the processor.
//!
//! The writer counts the files it handed over and not yet seen finished
//! (`pending`), reads completions without blocking at every rotation, and
//! blocks only when [`MAX_IN_FLIGHT`] files wait. So at most that many
//! rotated files wait, and both channels stay bounded for the life of the
//! process.

use std::fs::File;
use std::io;
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};
use rustix::fs::Mode;

use super::retention::rename_noreplace;
use super::{Fsync, Shared, MAX_IN_FLIGHT};
use crate::error;
use crate::logdir::names::{with_kind, Kind, PREVIOUS};
use crate::multilog::retry::{complain, retry};

/// A rotated file for the finishing thread.
pub(super) enum Job {
    /// `current` renamed to the `.u` name (already 0754); fsync it and make
    /// it `.s`.
    Archive { file: Arc<File>, name: String },
    /// `current` renamed to `previous`; run the daemontools finish path.
    Previous(Arc<File>),
}

impl Job {
    fn file(&self) -> &Arc<File> {
        match self {
            Job::Archive { file, .. } | Job::Previous(file) => file,
        }
    }
}

struct Worker {
    jobs: Sender<Job>,
    done: Receiver<()>,
    pending: usize,
}

/// The writer's end of the finishing thread (started at the first rotation).
#[derive(Default)]
pub(super) struct Finisher {
    worker: Option<Worker>,
}

impl Finisher {
    /// Wait until fewer than `limit` rotated files are waiting (`limit` 1:
    /// until all are finished). Completions already there are taken
    /// without blocking.
    pub(super) fn make_room(&mut self, limit: usize) {
        let Some(w) = &mut self.worker else { return };
        while let Ok(()) = w.done.try_recv() {
            w.pending -= 1;
        }
        while w.pending >= limit {
            if w.done.recv().is_err() {
                // The thread is gone; nothing of ours is waiting any more.
                w.pending = 0;
                break;
            }
            w.pending -= 1;
        }
    }

    /// Hand `job` to the thread (finish it here if there is no thread).
    /// The caller has made room with [`Finisher::make_room`].
    pub(super) fn submit(&mut self, sh: &Arc<Shared>, job: Job) {
        if self.worker.is_none() {
            self.worker = spawn(sh);
        }
        match &mut self.worker {
            Some(w) => match w.jobs.try_send(job) {
                Ok(()) => w.pending += 1,
                Err(e) => {
                    self.worker = None;
                    sh.finish_batch(vec![e.into_inner()], None);
                }
            },
            None => sh.finish_batch(vec![job], None),
        }
    }
}

fn spawn(sh: &Arc<Shared>) -> Option<Worker> {
    // Never more than MAX_IN_FLIGHT jobs or completions exist at once, so
    // neither send blocks.
    let (jobs, rx_jobs) = bounded::<Job>(MAX_IN_FLIGHT);
    let (tx_done, done) = bounded::<()>(MAX_IN_FLIGHT);
    let sh = Arc::clone(sh);
    std::thread::Builder::new()
        .name("finish".into())
        .spawn(move || {
            let pool = Syncers::start(sh.fsync);
            while let Ok(job) = rx_jobs.recv() {
                let mut batch = vec![job];
                while let Ok(j) = rx_jobs.try_recv() {
                    batch.push(j);
                }
                let n = batch.len();
                sh.finish_batch(batch, pool.as_ref());
                for _ in 0..n {
                    if tx_done.send(()).is_err() {
                        return;
                    }
                }
            }
        })
        .ok()?;
    Some(Worker {
        jobs,
        done,
        pending: 0,
    })
}

/// Threads that fsync the rest of a batch while the finisher syncs its
/// first file, so the file system can commit them together. A fixed pool,
/// started with the finisher: its memory is the same from the first
/// rotation on.
pub(super) struct Syncers {
    files: Sender<(usize, Arc<File>)>,
    results: Receiver<(usize, io::Result<()>)>,
}

impl Syncers {
    fn start(fsync: Fsync) -> Option<Syncers> {
        let (files, rx_files) = bounded::<(usize, Arc<File>)>(MAX_IN_FLIGHT);
        let (tx_results, results) = bounded(MAX_IN_FLIGHT);
        for _ in 1..MAX_IN_FLIGHT {
            let (rx, tx) = (rx_files.clone(), tx_results.clone());
            std::thread::Builder::new()
                .name("fsync".into())
                .spawn(move || {
                    while let Ok((i, f)) = rx.recv() {
                        if tx.send((i, fsync(&f))).is_err() {
                            return;
                        }
                    }
                })
                .ok()?;
        }
        Some(Syncers { files, results })
    }
}

/// fsync `files`, the first here and the others on the pool at the same
/// time, so the file system can commit them together; results in order.
pub(super) fn sync_concurrently(
    pool: Option<&Syncers>,
    fsync: Fsync,
    files: &[Arc<File>],
) -> Vec<io::Result<()>> {
    let mut synced: Vec<Option<io::Result<()>>> = files.iter().map(|_| None).collect();
    let mut sent = 0;
    if let Some(pool) = pool {
        for (i, f) in files.iter().enumerate().skip(1) {
            if pool.files.send((i, Arc::clone(f))).is_ok() {
                sent += 1;
            }
        }
    }
    for (i, f) in files.iter().enumerate() {
        if i == 0 || sent == 0 {
            synced[i] = Some(fsync(f));
        }
    }
    for _ in 0..sent {
        match pool.map(|p| p.results.recv()) {
            Some(Ok((i, r))) => synced[i] = Some(r),
            _ => break,
        }
    }
    synced
        .into_iter()
        .zip(files)
        .map(|(r, f)| r.unwrap_or_else(|| fsync(f)))
        .collect()
}

impl Shared {
    /// Finish rotated files in order, after fsyncing them concurrently.
    /// With `Z`, rotated files are compressed instead (see
    /// [`Shared::compress_rotated`]); only those that fail go on here.
    fn finish_batch(&self, mut batch: Vec<Job>, pool: Option<&Syncers>) {
        if let Some(level) = self.ext.zstd {
            let names: Vec<&str> = batch
                .iter()
                .filter_map(|job| match job {
                    Job::Archive { name, .. } => Some(name.as_str()),
                    Job::Previous(_) => None,
                })
                .collect();
            let done = self.compress_rotated(&names, level, &|files| {
                sync_concurrently(pool, self.fsync, files)
            });
            batch.retain(|job| match job {
                Job::Archive { name, .. } => !done.contains(name),
                Job::Previous(_) => true,
            });
            if batch.is_empty() {
                self.sync_dir();
                return;
            }
        }
        let files: Vec<Arc<File>> = batch.iter().map(|j| Arc::clone(j.file())).collect();
        let synced = sync_concurrently(pool, self.fsync, &files);
        let mut finished = Vec::new();
        for (job, synced) in batch.into_iter().zip(synced) {
            match job {
                Job::Archive { file, name } => {
                    self.finish_archive(&file, &name, synced);
                }
                Job::Previous(file) => finished.extend(self.finish_previous(&file, synced)),
            }
        }
        self.sync_dir();
        // `Z` with a processor: the `.s` made from its output is complete
        // and on disk before it is compressed.
        if let Some(level) = self.ext.zstd {
            for done in finished {
                self.compress(&done, level);
            }
        }
    }

    /// The processor path of `fullcurrent`: fsync (pausing and retrying,
    /// as daemontools does), 0744, then process `previous`. Returns the
    /// name of the `@….s` made.
    fn finish_previous(&self, file: &File, synced: io::Result<()>) -> Option<String> {
        let name = &self.name;
        let what = || format!("unable to write {name}/current to disk");
        if let Err(e) = synced {
            complain(&what(), &e);
            retry(what, || (self.fsync)(file));
        }
        retry(
            || format!("unable to set mode of {name}/previous"),
            || rustix::fs::fchmod(file, Mode::from_raw_mode(0o744)),
        );
        match &self.processor {
            Some(p) => self.process(p),
            None => self.finish(PREVIOUS, Kind::S),
        }
    }

    /// A rotated `@….u` whose fsync returned `synced`: rename it to `.s`,
    /// then give it daemontools' 0744 (a crash in between leaves a complete
    /// `.s` in 0754); a file already trimmed away is skipped. If the fsync
    /// failed, the data may be gone although a second fsync would succeed,
    /// so the file is set to 0644 and stays `.u` for good. Returns the
    /// `.s` name made.
    pub(super) fn finish_archive(
        &self,
        file: &File,
        target: &str,
        synced: io::Result<()>,
    ) -> Option<String> {
        let name = &self.name;
        if let Err(e) = synced {
            self.leave_unfinished(file, target, &e);
            return None;
        }
        let mut done = with_kind(target, Kind::S);
        loop {
            let renamed = {
                let _listing = self.lock_listing();
                rename_noreplace(&self.dirfd, target, &done)
            };
            match renamed {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return None,
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => done = self.next_name(Kind::S),
                Err(e) => complain(
                    &format!("unable to rename {target} to {done} in directory {name}"),
                    &e,
                ),
            }
        }
        retry(
            || format!("unable to set mode of {name}/{done}"),
            || rustix::fs::fchmod(file, Mode::from_raw_mode(0o744)),
        );
        Some(done)
    }

    /// Warn that `target` stays `.u` and set it to 0644, so no later start
    /// takes it for a complete rotation.
    pub(super) fn leave_unfinished(&self, file: &File, target: &str, e: &io::Error) {
        let name = &self.name;
        error::warn(
            "multilog",
            &format!("unable to write {name}/{target} to disk, leaving it unfinished"),
            Some(e),
        );
        retry(
            || format!("unable to set mode of {name}/{target}"),
            || rustix::fs::fchmod(file, Mode::from_raw_mode(0o644)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{open_dir, start, survey};
    use super::*;

    /// A disk whose first fsync fails and later ones succeed, as after a
    /// write-back error whose dirty pages the kernel has dropped.
    fn failing_fsync(_: &File) -> io::Result<()> {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Err(io::Error::from_raw_os_error(libc::EIO))
        } else {
            Ok(())
        }
    }

    /// A rotated file whose fsync failed must never become `.s`, even
    /// though a retried fsync would report success; it stays `.u`
    /// in mode 0644, so start-up does not finish it either.
    #[test]
    fn failed_fsync_leaves_the_file_unfinished() {
        let tmp = tempfile::tempdir().unwrap();
        let startfd = open_dir(tmp.path());
        let mut d = start(&startfd, None, failing_fsync);
        d.put(b"one\n");
        d.force_rotate();
        d.put(b"two\n");
        d.quit();
        drop(d);
        let got = survey(&tmp.path().join("d"));
        assert_eq!(
            got,
            [
                ("@.u".to_string(), 0o644, b"one\n".to_vec()),
                ("current".to_string(), 0o744, b"two\n".to_vec()),
                ("lock".to_string(), 0o600, Vec::new()),
                ("state".to_string(), 0o644, Vec::new()),
            ]
        );
        // The next start leaves it alone too.
        let d = start(&startfd, None, File::sync_all);
        drop(d);
        assert_eq!(survey(&tmp.path().join("d"))[0].0, "@.u");
    }

    /// The same rotation with a working disk ends as `.s`, mode 0744.
    #[test]
    fn rotation_ends_as_s() {
        let tmp = tempfile::tempdir().unwrap();
        let startfd = open_dir(tmp.path());
        let mut d = start(&startfd, None, File::sync_all);
        for _ in 0..3 * MAX_IN_FLIGHT {
            d.put(b"one\n");
            d.force_rotate();
        }
        d.quit();
        let got = survey(&tmp.path().join("d"));
        assert_eq!(got[0], ("@.s".to_string(), 0o744, b"one\n".to_vec()));
        assert_eq!(
            got.iter().filter(|e| e.0 == "@.s").count(),
            3 * MAX_IN_FLIGHT
        );
    }
}
