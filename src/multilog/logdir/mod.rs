//! One log directory: start-up and crash recovery, writing `current` with
//! size rotation, finishing rotated files, retention and the processor
//! (ports `multilog.c:restart`, `c_write`, `fullcurrent`, `finish`,
//! `filesfit`, `startprocessor`, `c_quit`).
//!
//! Modules, one job each: this one writes `current` and rotates it
//! (`c_write`, `fullcurrent`, `c_quit`); `recover` is `restart`'s crash
//! branch plus the finishing of complete rotations at start-up; `finisher`
//! is the background thread; `retention` is `finish` and `filesfit`;
//! `processor` is the `!processor` protocol; `startup` is `restart` in two
//! halves (lock, then resume or recover). Extensions: `timer` (`R`),
//! `space` (`N`), `compress` (`Z`), `syncer` (`F`), and `stepwise`, what
//! stdin read in steps (`multilog::steps`) needs.
//!
//! The on-disk protocol is daemontools': `current` is 0644 while written and
//! 0744 after a clean exit; a rotated file goes `current` → `previous`
//! (→ processor → `processed`) → `@<tai64n>.s`; a crash leaves a `current`
//! without the owner-x bit, archived as `.u` at the next start.
//!
//! Differences from daemontools:
//! * Without a processor, a full `current` is renamed at once to
//!   `@<tai64n>.u`, set to mode 0754 (owner- and group-x: "a complete
//!   rotation"; daemontools never sets group-x) and finished on a
//!   per-directory background thread: fsync, rename to `@<tai64n>.s`,
//!   mode 0744. Input
//!   keeps flowing into the new `current` meanwhile; at most
//!   [`MAX_IN_FLIGHT`] rotated files wait, and their fsyncs run concurrently
//!   so the file system commits them together. Exit waits for all of them.
//!   A `.s` is always complete and on disk. After a crash the next start
//!   finishes every `.u` in mode 0754 marked since the system booted (a
//!   power cut may have taken the data of one marked before); any other
//!   `.u` (a killed process's `current`) stays `.u`, as in daemontools. A file whose fsync fails is
//!   set to 0644 and stays `.u` (a retried fsync could "succeed" after the
//!   kernel dropped the data).
//! * `n` is applied when `current` becomes `@….u`, counting files still
//!   being finished, so it holds at every moment.
//! * With a processor the daemontools protocol (`previous`, `processed`,
//!   `state`, `newstate`) is kept exactly; the processor runs on the
//!   background thread, and the next rotation waits for it.
//! * The directory itself is fsynced after each rotation and recovery, so a
//!   finished `@….s` survives power loss.
//! * `lock` is also locked with an `fcntl` record lock, so `s6-log` cannot
//!   write into a directory we hold.
//! * Files inside the directory are opened with `O_NOFOLLOW`.
//! * Archive names are strictly increasing within one process even if the
//!   clock steps back.
//! * Output is written in large blocks; rotation points follow the rule
//!   "close at the first newline at or past s−2000 bytes, cut at exactly s if
//!   none", independent of buffering.

mod compress;
mod finisher;
mod processor;
mod recover;
mod retention;
mod space;
mod startup;
mod stepwise;
mod syncer;
#[cfg(test)]
mod testutil;
mod timer;

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use memchr::memchr;
use rustix::fs::{Mode, OFlags};

use super::retry::{complain, retry};
use super::script::DirExt;
use crate::logdir::names::{Kind, CURRENT, PREVIOUS};
use crate::tai64::Tai64N;
use finisher::{Finisher, Job};
pub(crate) use recover::booted;
use retention::rename_noreplace;
pub(crate) use space::Freer;
pub(crate) use startup::Locked;

/// A file is closed at the first newline once it is within this many bytes of `s`.
pub(crate) const ROTATE_SLACK: u64 = 2000;
/// Size of the per-directory output buffer.
pub(crate) const OUTBUF: usize = 256 * 1024;
/// Rotated files that may wait for their fsync before input is held up.
pub(crate) const MAX_IN_FLIGHT: usize = 8;

const APPEND: OFlags = OFlags::WRONLY
    .union(OFlags::APPEND)
    .union(OFlags::CREATE)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);
const TRUNC: OFlags = OFlags::WRONLY
    .union(OFlags::TRUNC)
    .union(OFlags::CREATE)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);
const READ: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);

/// Owner-x: `current` was closed cleanly, `processed` is complete
/// (daemontools' meaning).
const COMPLETE: u32 = 0o100;
/// The mode of a rotated file until it is `.s`: owner-x (complete) plus
/// group-x, which daemontools never sets, so an `@….u` in this mode is
/// ours and a complete rotation (daemontools' recovery of `previous` makes
/// 0744 `.u` files, which are left alone).
const ROTATED: u32 = 0o754;

/// How a file is written to disk; tests inject failures.
type Fsync = fn(&File) -> io::Result<()>;

/// What the writer and the finishing thread share.
struct Shared {
    name: String,
    dirfd: OwnedFd,
    num: u64,
    processor: Option<Vec<u8>>,
    /// The extension settings (`S`, `Z`, `N`; `R` lives in [`LogDir`]).
    ext: DirExt,
    last_stamp: Mutex<Tai64N>,
    /// Held while listing the directory for `filesfit` and while renaming
    /// `.u` to `.s`, so one listing cannot see a file under both names.
    listing: Mutex<()>,
    fsync: Fsync,
    /// `N`: archives removed and not yet announced ([`space`]).
    freed: Mutex<space::Freed>,
}

/// An open log directory.
pub(crate) struct LogDir {
    sh: Arc<Shared>,
    size: u64,
    current: File,
    bytes: u64,
    buf: Vec<u8>,
    finisher: Finisher,
    age: timer::Age,
    /// Rotations wait for [`LogDir::force_rotate`] between steps (stdin
    /// read by peeking): a write never passes a rotation point.
    defer: bool,
    /// The last byte written to `current` was a newline (or nothing was).
    last_nl: bool,
    /// `F<ms>`: the thread that fsyncs `current`.
    syncer: Option<syncer::Syncer>,
    _lock: OwnedFd,
}

impl LogDir {
    /// Bytes `current` can still take before it reaches `s` (buffer included).
    #[must_use]
    pub(crate) fn room(&self) -> usize {
        let used = self.bytes + self.buf.len() as u64;
        usize::try_from(self.size.saturating_sub(used)).unwrap_or(usize::MAX)
    }

    /// Append bytes for `current` (buffered).
    #[inline]
    pub(crate) fn put(&mut self, data: &[u8]) {
        // Deferred, nothing is written until the step is recorded.
        if self.defer {
            self.buf.extend_from_slice(data);
            return;
        }
        if self.buf.len() + data.len() > OUTBUF {
            self.flush();
            if data.len() >= OUTBUF {
                self.write_through(data);
                return;
            }
        }
        self.buf.extend_from_slice(data);
    }

    /// Append `prefix`, `text` and a newline (one line).
    #[inline]
    pub(crate) fn put_line(&mut self, prefix: &[u8], text: &[u8]) {
        let n = prefix.len() + text.len() + 1;
        if self.buf.len() + n > OUTBUF && !self.defer {
            self.put(prefix);
            self.put(text);
            self.put(b"\n");
            return;
        }
        self.buf.extend_from_slice(prefix);
        self.buf.extend_from_slice(text);
        self.buf.push(b'\n');
    }

    /// Write the buffer out (rotating as needed).
    pub(crate) fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        self.write_through(&buf);
        self.buf = buf;
        self.buf.clear();
    }

    /// `c_write`: write `data` to `current`, rotating at the first newline
    /// at or past `s - 2000` bytes, or cutting at exactly `s`.
    fn write_through(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.bytes >= self.size {
                self.rotate();
            }
            let room = usize::try_from(self.size - self.bytes).unwrap_or(usize::MAX);
            let mut chunk = &data[..data.len().min(room)];
            let thresh = self.size.saturating_sub(ROTATE_SLACK);
            let from = usize::try_from(thresh.saturating_sub(self.bytes + 1)).unwrap_or(usize::MAX);
            let mut rotate_after = false;
            if from < chunk.len() {
                if let Some(j) = memchr(b'\n', &chunk[from..]) {
                    chunk = &chunk[..from + j + 1];
                    rotate_after = true;
                }
            }
            self.age.wrote();
            space::write_all(&self.sh, &mut self.current, chunk);
            self.bytes += chunk.len() as u64;
            if let Some(s) = &self.syncer {
                s.written
                    .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Release);
            }
            self.last_nl = chunk.last() == Some(&b'\n');
            data = &data[chunk.len()..];
            // Deferred, the rotation is [`LogDir::rotation_due`] and is
            // done between steps; a step never goes past one.
            if rotate_after && !(self.defer && data.is_empty()) {
                self.rotate();
            }
        }
    }

    /// Rotate if `current` is not empty (SIGALRM).
    pub(crate) fn force_rotate(&mut self) {
        self.flush();
        if self.bytes > 0 {
            self.rotate();
        }
    }

    /// `fullcurrent`: move `current` aside, open a new `current`, and have
    /// the old one finished in the background. First wait until fewer than
    /// [`MAX_IN_FLIGHT`] files are waiting (with a processor: until the
    /// previous one is processed, as `previous` is a single name).
    fn rotate(&mut self) {
        let sh = &self.sh;
        let name = &sh.name;
        let archive = if sh.processor.is_some() {
            self.finisher.make_room(1);
            retry(
                || format!("unable to rename current to previous in directory {name}"),
                || rustix::fs::renameat(&sh.dirfd, CURRENT, &sh.dirfd, PREVIOUS),
            );
            None
        } else {
            self.finisher.make_room(MAX_IN_FLIGHT);
            let mut target = sh.next_name(Kind::U);
            loop {
                match rename_noreplace(&sh.dirfd, CURRENT, &target) {
                    Ok(()) => break,
                    Err(e) => {
                        complain(
                            &format!("unable to rename current to {target} in directory {name}"),
                            &e,
                        );
                        target = sh.next_name(Kind::U);
                    }
                }
            }
            // An `@….u` in mode ROTATED is a complete rotation, which the
            // next start finishes if we are killed before the finisher is
            // done with it. Marked after the rename: a `current` with x
            // would be resumed, and the next process's first bytes may be
            // the tail of a line. (Killed in between, the file stays `.u`:
            // still at most one `.u` per kill.)
            retry(
                || format!("unable to set mode of {name}/{target}"),
                || rustix::fs::fchmod(&self.current, Mode::from_raw_mode(ROTATED)),
            );
            Some(target)
        };
        let new = retry(
            || format!("unable to create {name}/current"),
            || rustix::fs::openat(&sh.dirfd, CURRENT, APPEND, Mode::from_raw_mode(0o600)),
        );
        retry(
            || format!("unable to set mode of {name}/current"),
            || rustix::fs::fchmod(&new, Mode::from_raw_mode(0o644)),
        );
        if archive.is_some() {
            // `filesfit` now, counting the files still being finished, so
            // `n` holds at every moment.
            sh.trim();
        }
        let old = std::mem::replace(&mut self.current, File::from(new));
        self.bytes = 0;
        self.age.reset();
        self.last_nl = true;
        let job = match archive {
            Some(name) => Job::Archive {
                file: Arc::new(old),
                name,
            },
            None => Job::Previous(Arc::new(old)),
        };
        self.finisher.submit(&self.sh, job);
    }

    /// `c_quit`: flush, wait for the finishing thread, fsync `current` and
    /// mark it cleanly closed (0744).
    pub(crate) fn quit(&mut self) {
        self.flush();
        drop(self.syncer.take());
        self.finisher.make_room(1);
        let name = &self.sh.name;
        retry(
            || format!("unable to write {name}/current to disk"),
            || self.current.sync_all(),
        );
        retry(
            || format!("unable to set mode of {name}/current"),
            || rustix::fs::fchmod(&self.current, Mode::from_raw_mode(0o744)),
        );
        self.sh.say_freed();
    }

    /// Would [`LogDir::put`] of `n` bytes (or a `put_line` of that length)
    /// only copy them into the buffer, with no write that could pause?
    /// The engine prints pending `e` alerts before any write that might.
    #[must_use]
    pub(crate) fn buffers(&self, n: usize) -> bool {
        self.defer || self.buf.len() + n <= OUTBUF
    }
}

impl Shared {
    /// fsync the directory so renames, links and unlinks are durable.
    fn sync_dir(&self) {
        let name = &self.name;
        retry(
            || format!("unable to write directory {name} to disk"),
            || rustix::fs::fsync(&self.dirfd),
        );
    }

    /// Hold off `filesfit`'s listing (see [`Shared::listing`]).
    fn lock_listing(&self) -> MutexGuard<'_, ()> {
        self.listing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
