//! The follower of a multilog log directory: every byte multilog writes, in
//! order, across rotations, processor runs, retention deletions and
//! restarts, with a durable position. Used by `svlog -f` and `logship`.
//!
//! The follower reads a queue of files: archives not read yet, then the
//! *followed* file, the `current` it opened. At the end of the followed
//! file it compares it with the directory's `current` by (device, inode).
//! When they differ (a rotation, or a restart that archived `current` as
//! `.u`), nothing more is written to the followed file: it is read to its
//! end once more through the descriptor held, never again by name (its
//! archive is the same inode), and the archives written since are worked
//! out before the new `current` is followed from offset 0 (`switch.rs`):
//!
//! * Every archive name (`@<label>.u`/`.s`/`.s.zst`, the last read
//!   decompressed, [`crate::logdir::decompress`]) with a label above the newest
//!   one accounted for is opened as soon as the follower hears of it
//!   (inotify `IN_MOVED_TO`/`IN_CREATE`, or the listing at the switch) and
//!   held open (within the bounds of [`held`]), so retention cannot take its bytes.
//!   Beyond that its identity and size are noted, and it is opened when its
//!   turn comes.
//! * The followed file's archive is the one with its inode; the archives
//!   after it are rotations not read yet: they are queued in name order
//!   before the new `current`.
//! * If no archive has its inode, the followed file was deleted by
//!   retention (its archive was the oldest new name), or went through a
//!   processor (`previous` → `processed` → `@….s`, a new inode): its
//!   archive is the first new name, or will be; such pending archives are
//!   counted and not read. An unread `previous` (more than a rotation
//!   behind) is read.
//! * Data deleted before it was read is counted ([`Lost`]): the size of
//!   each archive noted but gone when its turn came, and the number of
//!   names gone before even their size could be known. Callers report it
//!   ([`Lost::warn`]), never skip it silently.
//!
//! At the start (`start.rs`) the directory is watched (`watch.rs`: one
//! inotify instance per process, or polling without one), then listed until
//! `current` is the same file before and after the listing; archives the
//! listing missed (readdir(3) may return a file renamed meanwhile, the
//! finisher's `.u` → `.s`, under neither name) are taken from the events.
//!
//! A position ([`Pos`]) names a file by (device, inode), which a rotation
//! keeps, and an offset in it, plus the newest archive label accounted for
//! when it was taken. [`Follower::open`] with [`Start::At`] finds the file
//! again among the archives, `previous` and `current`; if it has gone, the
//! archives named after that label are read and the loss is reported.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{self, Fatal};
use crate::logdir::{decompress, read_at_as};
use crate::tai64::Tai64N;

mod backlog;
mod held;
mod lost;
mod resume;
mod start;
mod switch;
mod watch;

pub(crate) use lost::Lost;
pub(crate) use resume::{CursorLoss, HEAD};

/// A file's identity: (device, inode).
pub(crate) type Id = (u64, u64);

/// Archive names remembered at most between two rotations of `current`.
const MAX_NAMES: usize = 100_000;
/// Attempts at a listing during which `current` stays the same file.
const SNAPSHOT_TRIES: usize = 1000;

/// A durable position in a log directory's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    /// The file's device.
    pub dev: u64,
    /// The file's inode.
    pub ino: u64,
    /// The offset in it.
    pub off: u64,
    /// The newest archive label before the file or, for an archive, its
    /// own: where to go on if the file has gone.
    pub after: Option<Tai64N>,
    /// `after` is the file's own label (it is an archive): if its inode
    /// has gone, `@<after>.s.zst` is the same bytes compressed, and the
    /// offset (in the decompressed bytes) goes on in it.
    pub own: bool,
    /// The file's birth time (seconds, nanoseconds), where the file
    /// system keeps one ([`resume`]).
    pub born: Option<(i64, u32)>,
    /// The length and checksum of the file's first bytes (at most
    /// [`resume::HEAD`]; not kept for archives, which `after` names).
    pub head: Option<(u32, u64)>,
    /// The file's size as known when the position was taken (at least
    /// `off`): what is lost at least if the file goes unread.
    pub size: u64,
}

/// Where to start.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start {
    /// The oldest archive.
    All,
    /// The last N lines.
    Tail(u64),
    /// A position saved before.
    At(Pos),
}

/// What [`Follower::read`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Got {
    /// `n` bytes, the first at `at`.
    Data {
        /// How many bytes were read into the buffer.
        n: usize,
        /// Where the first of them is.
        at: Pos,
    },
    /// Nothing more for now.
    Idle,
}

/// A file in the reading queue.
struct Src {
    path: PathBuf,
    /// The archive's label (`None`: `current` or `previous`).
    label: Option<Tai64N>,
    /// The file, once opened (archives are opened when their turn comes
    /// unless they are held).
    file: Option<File>,
    /// Its identity as noted when heard of.
    id: Option<Id>,
    /// Its size as noted when heard of (for the count of lost bytes).
    size: Option<u64>,
    /// Where reading goes on.
    off: u64,
    /// An archive that turns out to have this identity is the `current`
    /// queued after it: it is not read twice.
    not: Option<Id>,
    /// `file` holds a `.s.zst` still compressed: it is decompressed when
    /// its turn comes (held compressed, so retention cannot take it).
    /// `id` stays the compressed file's, the durable one.
    zst: bool,
    /// Its birth time, once opened (`born_known`).
    born: Option<(i64, u32)>,
    born_known: bool,
    /// The checksum of its first bytes read so far (`current` and
    /// `previous`: an archive is known by its label).
    head: Option<(u32, u64)>,
    /// Its size as known: read up to there, or an archive's whole size.
    end: u64,
    /// `file` is counted in the follower's [`held::Held`] with `size`.
    held: bool,
}

/// An archive heard of.
struct Heard {
    name: Vec<u8>,
    file: Option<File>,
    id: Option<Id>,
    size: Option<u64>,
    /// Not a regular file: skipped (with a warning), not lost.
    skip: bool,
    /// `file` is counted in the follower's [`held::Held`].
    held: bool,
}

/// A log directory being followed.
pub(crate) struct Follower {
    prog: &'static str,
    dir: PathBuf,
    cur_path: PathBuf,
    /// Files to read; the last is the followed `current`.
    queue: VecDeque<Src>,
    /// The followed file's identity.
    cur_id: Id,
    /// `current` is another file: the followed one is complete.
    cur_done: bool,
    /// The newest archive label accounted for.
    seen: Option<Tai64N>,
    /// Archives heard of since.
    new: BTreeMap<Tai64N, Heard>,
    /// The directory's watch in the process's inotify instance.
    watch: watch::Watch,
    /// The archives held open.
    held: held::Held,
    /// Names were lost (inotify queue overflow, or too many).
    names_lost: bool,
    /// A processor runs (`previous` or `processed` seen).
    processor: bool,
    /// Files read whose processed archive has not appeared yet.
    pending: usize,
    lost: Lost,
    /// The saved position started from was damaged (past the end of its
    /// file): started from the oldest archive instead.
    bad: bool,
}

fn id_of(f: &File) -> Option<Id> {
    f.metadata().ok().map(|m| (m.dev(), m.ino()))
}

fn stat_id(p: &Path) -> Option<Id> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Open `path` to read without following a link and without waiting for
/// a FIFO's writer ([`crate::logdir::open::open_regular`]).
///
/// # Errors
/// open(2)'s, but `ELOOP` (a link).
pub(crate) fn open_regular(path: &Path) -> io::Result<Option<File>> {
    crate::logdir::open::open_regular(path, true)
}

/// Warn that `path`, named like a log file, is not a regular file.
fn skipped(prog: &str, path: &Path) {
    let what = format!("skipped {}: not a regular file", path.display());
    error::warn(prog, &what, None);
}

impl Follower {
    /// The descriptor to poll for readability: the directory changed.
    #[must_use]
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.watch.fd()
    }

    /// Done with the queue's first file.
    fn pop(&mut self) {
        if let Some(s) = self.queue.pop_front() {
            if s.held {
                self.held.give(s.size.unwrap_or(0));
            }
        }
    }

    /// Whether the saved position given to [`Follower::open`] was
    /// damaged (beyond the end of its file), so that reading started from
    /// the oldest archive.
    #[must_use]
    pub(crate) fn bad_position(&self) -> bool {
        self.bad
    }

    /// What was lost since the last call.
    pub(crate) fn take_lost(&mut self) -> Lost {
        if std::mem::take(&mut self.names_lost) {
            self.lost.names = true;
        }
        let mut l = std::mem::take(&mut self.lost);
        if l.bytes == 0 && l.archives == 0 {
            // Said only with a loss it may explain.
            self.lost.unheld = std::mem::take(&mut l.unheld);
        }
        l
    }

    /// Read the next bytes into `buf`: from the queue's first file, else
    /// [`Got::Idle`] when the followed file is at its end and `current` is
    /// still that file (or not stable yet). Call [`Follower::events`] when
    /// [`Follower::fd`] is readable, even while not reading.
    ///
    /// # Errors
    /// The directory or the inotify events cannot be read.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<Got, Fatal> {
        loop {
            let last = self.queue.len() == 1;
            let seen = self.seen;
            let Some(src) = self.queue.front_mut() else {
                return Ok(Got::Idle);
            };
            if src.file.is_none() {
                match switch::open_archive(&src.path) {
                    switch::Opened::File(f, _) if id_of(&f).is_some_and(|i| Some(i) == src.not) => {
                        self.pop();
                        continue;
                    }
                    switch::Opened::File(f, p) => {
                        src.id = id_of(&f);
                        src.file = Some(f);
                        src.zst = switch::is_zst(&p);
                        src.path = p;
                    }
                    switch::Opened::Skipped(p) => {
                        skipped(self.prog, &p);
                        self.pop();
                        continue;
                    }
                    switch::Opened::Gone | switch::Opened::Failed(..) => {
                        match src.size {
                            Some(s) => self.lost.bytes += s,
                            None => self.lost.archives += 1,
                        }
                        self.pop();
                        continue;
                    }
                }
            }
            if !src.born_known {
                src.born_known = true;
                src.born = src.file.as_ref().and_then(resume::born);
            }
            if std::mem::take(&mut src.zst) {
                // Its bytes as multilog wrote them: offsets in a `.s.zst`
                // are offsets in the archive it was.
                let raw = src.file.take();
                src.file = raw.and_then(|f| decompress(self.prog, &src.path, f));
            }
            let (Some(f), Some(id)) = (&src.file, src.id) else {
                self.pop();
                continue;
            };
            match read_at_as(self.prog, f, &src.path, buf, src.off) {
                Some(0) => {}
                Some(n) => {
                    let upto = src.off + n as u64;
                    if src.label.is_none()
                        && src.head.map_or(0, |h| u64::from(h.0)) < upto.min(resume::HEAD)
                    {
                        src.head = resume::head(f, upto);
                    }
                    if src.label.is_some() && src.end == 0 {
                        src.end = f.metadata().map_or(0, |m| m.len());
                    }
                    src.end = src.end.max(upto);
                    let at = Pos {
                        dev: id.0,
                        ino: id.1,
                        off: src.off,
                        after: src.label.or(seen),
                        own: src.label.is_some(),
                        born: src.born,
                        head: src.head,
                        size: src.end,
                    };
                    src.off = upto;
                    return Ok(Got::Data { n, at });
                }
                // Warned; an archive is given up, `current` tried again.
                None if last => return Ok(Got::Idle),
                None => {}
            }
            if !last {
                self.pop();
                continue;
            }
            if self.cur_done {
                if !self.switch()? {
                    return Ok(Got::Idle);
                }
                self.cur_done = false;
                continue;
            }
            match stat_id(&self.cur_path) {
                // `current` is another file: nothing more is written to the
                // followed one. Whatever reached it after the last read is
                // taken from the open file, never from its archive.
                Some(id) if id != self.cur_id => self.cur_done = true,
                // Unchanged, or briefly missing (a restart between
                // archiving `current` and creating it anew).
                _ => return Ok(Got::Idle),
            }
        }
    }
}

#[cfg(test)]
mod tests;
