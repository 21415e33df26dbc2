//! `-f`: print the directory (or its last `-n` lines), then every line as
//! multilog writes it, across rotations, processor runs, retention
//! deletions and restarts.
//!
//! svlog keeps `current` open as it was when opened (the *followed* file)
//! with the offset printed to. It wakes on inotify events on the directory,
//! and at least every 100 ms. On each wake it reads the followed file to its
//! end, then compares it with the directory's `current` by (device, inode).
//! When they differ (a rotation, or a restart that archived `current` as
//! `.u`), nothing more is written to the followed file: it is read to its
//! end once more, never again by name (its archive is the same inode), and
//! the archives written since are worked out before svlog follows the new
//! `current` from offset 0:
//!
//! * Every archive name (`@<label>.u`/`.s`) with a label above the newest
//!   one accounted for is opened as soon as svlog hears of it (inotify
//!   `IN_MOVED_TO`/`IN_CREATE`, or the listing at the switch) and held open,
//!   so retention cannot take its bytes once it has been opened.
//! * The followed file's archive is the one with its inode; the archives
//!   after it are rotations svlog has not read: they are printed in name
//!   order before the new `current`.
//! * If no archive has its inode, the followed file was deleted by
//!   retention (its archive was the oldest new name), or went through a
//!   processor (`previous` → `processed` → `@….s`, a new inode): its
//!   archive is the first new name, or will be; such pending archives are
//!   counted and not printed. An unread `previous` (svlog was more than a
//!   rotation behind) is printed.
//! * An archive whose name svlog learnt but which had gone before svlog
//!   could open it is reported (`svlog: warning: N archives deleted before
//!   they could be read`), never skipped silently. Their sizes cannot be
//!   known.
//!
//! At the start, `current` is opened and the archives listed until
//! `current` is the same file after the listing, so no archive printed is
//! newer than the followed file.
//!
//! Ends with exit 0 on SIGINT and SIGTERM, and when the reader of a pipe on
//! standard output goes away (poll reports an error on it even while
//! nothing is written).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;
use rustix::io::Errno;

use crate::error::{self, Fatal};
use crate::sys::signals;
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

use super::{archive_label, archives, find_tail, open_all, resolve, LogFile};
use super::{copy, Opts, Out, Stop, BLOCK, PROG};

type Id = (u64, u64);

/// The safety-net wake-up.
const WAKE: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};
/// How long to wait for a `current` that is briefly missing.
const RETRY: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 10_000_000,
};
/// Retries of a start-up that found no `current` (1 s in all).
const MISSING_TRIES: usize = 100;
/// Archives held open at most (beyond, names are kept without a file).
const MAX_HELD: usize = 256;
/// Archive names remembered at most between two rotations of `current`.
const MAX_NAMES: usize = 100_000;
/// Attempts at a listing during which `current` stays the same file.
const SNAPSHOT_TRIES: usize = 1000;

fn id_of(f: &File) -> Option<Id> {
    f.metadata().ok().map(|m| (m.dev(), m.ino()))
}

fn stat_id(p: &Path) -> Option<Id> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Open archive `name` of `dir`; a `.u` gone is looked for as its `.s`.
fn open_archive(dir: &Path, name: &[u8]) -> Option<File> {
    let p = dir.join(std::ffi::OsStr::from_bytes(name));
    match File::open(&p) {
        Ok(f) => Some(f),
        Err(_) if name.ends_with(b".u") => File::open(p.with_extension("s")).ok(),
        Err(_) => None,
    }
}

/// An archive heard of: its name and, if it could be opened, the file.
struct Heard {
    name: Vec<u8>,
    file: Option<File>,
}

struct Follower<'a> {
    dir: &'a Path,
    cur_path: PathBuf,
    /// The followed file, its identity and the offset printed to.
    cur: File,
    cur_id: Id,
    off: u64,
    /// The newest archive label accounted for.
    seen: Option<Tai64N>,
    /// Archives heard of since.
    new: BTreeMap<Tai64N, Heard>,
    /// The inotify instance watching the directory.
    ino: OwnedFd,
    held: usize,
    /// Names were lost (inotify queue overflow, or too many).
    names_lost: bool,
    /// A processor runs (`previous` or `processed` seen).
    processor: bool,
    /// Files read whose processed archive has not appeared yet.
    pending: usize,
}

impl Follower<'_> {
    fn note(&mut self, name: &[u8]) {
        if name == b"previous" || name == b"processed" {
            self.processor = true;
            return;
        }
        let Some(l) = archive_label(name) else {
            return;
        };
        if self.seen.is_some_and(|s| l <= s) {
            return;
        }
        if self.new.get(&l).is_some_and(|h| h.file.is_some()) {
            return;
        }
        if self.new.len() >= MAX_NAMES && !self.new.contains_key(&l) {
            self.names_lost = true;
            return;
        }
        let file = if self.held < MAX_HELD {
            open_archive(self.dir, name)
        } else {
            None
        };
        self.held += usize::from(file.is_some());
        self.new.insert(
            l,
            Heard {
                name: name.to_vec(),
                file,
            },
        );
    }

    fn read_events(&mut self) -> Result<(), Stop> {
        let mut evbuf = [MaybeUninit::<u8>::uninit(); 16 * 1024];
        let mut r = inotify::Reader::new(&self.ino, &mut evbuf);
        let mut names: Vec<Vec<u8>> = Vec::new();
        loop {
            match r.next() {
                Ok(ev) => {
                    if ev.events().contains(inotify::ReadFlags::QUEUE_OVERFLOW) {
                        self.names_lost = true;
                    }
                    if ev
                        .events()
                        .intersects(inotify::ReadFlags::MOVED_TO | inotify::ReadFlags::CREATE)
                    {
                        if let Some(n) = ev.file_name() {
                            names.push(n.to_bytes().to_vec());
                        }
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(e) => {
                    return Err(
                        Fatal::new("unable to read inotify events", io::Error::from(e)).into(),
                    );
                }
            }
        }
        for n in names {
            self.note(&n);
        }
        Ok(())
    }

    fn drain<W: io::Write>(&mut self, out: &mut Out<W>, buf: &mut [u8]) -> Result<(), Stop> {
        self.off = copy(&self.cur_path, &self.cur, self.off, buf, out)?;
        Ok(())
    }

    /// Print what is new; switch files as often as `current` changed.
    fn step<W: io::Write>(&mut self, out: &mut Out<W>, buf: &mut [u8]) -> Result<(), Stop> {
        loop {
            self.drain(out, buf)?;
            match stat_id(&self.cur_path) {
                Some(id) if id != self.cur_id => {}
                // Unchanged, or briefly missing (a restart between
                // archiving `current` and creating it anew).
                _ => return Ok(()),
            }
            // `current` is another file: nothing more is written to the
            // followed one. Whatever reached it after the last read is
            // taken from the open file, never from its archive.
            self.drain(out, buf)?;
            if !self.switch(out, buf)? {
                return Ok(());
            }
        }
    }

    /// A snapshot: the new `current` opened, the identity of `previous`,
    /// the archives listed, with neither name changing meanwhile, and not
    /// in the moment a processor's output is only `processed` (see
    /// [`stable`]).
    #[allow(clippy::type_complexity)]
    fn snapshot(&mut self) -> Result<Option<(File, Id, Option<Id>, Vec<LogFile>)>, Stop> {
        let prev_path = self.dir.join("previous");
        for _ in 0..SNAPSHOT_TRIES {
            let Ok(cur) = File::open(&self.cur_path) else {
                return Ok(None);
            };
            let Some(cid) = id_of(&cur) else {
                return Ok(None);
            };
            let p1 = stat_id(&prev_path);
            let list = archives(self.dir)?;
            if p1.is_some() || self.dir.join("processed").exists() {
                self.processor = true;
            }
            if stable(self.dir, p1) && stat_id(&self.cur_path) == Some(cid) {
                return Ok(Some((cur, cid, p1, list)));
            }
        }
        Ok(None)
    }

    /// Read the archives between the followed file and the new `current`,
    /// then follow that. `false`: not now (no stable `current`).
    fn switch<W: io::Write>(&mut self, out: &mut Out<W>, buf: &mut [u8]) -> Result<bool, Stop> {
        let Some((cur, cid, prev, list)) = self.snapshot()? else {
            return Ok(false);
        };
        for a in &list {
            if let Some(name) = a.path.file_name() {
                self.note(name.as_bytes());
            }
        }
        // Every name made before the snapshot is heard of now (inotify
        // queues an event with the change), so the first new name is the
        // followed file's archive when nothing has its inode.
        self.read_events()?;
        let mut order: Vec<(Tai64N, Heard)> = std::mem::take(&mut self.new).into_iter().collect();
        self.held = 0;
        // Names made since (the new `current` rotated already: its archive
        // and later ones) wait for the next switch.
        if let Some(k) = order
            .iter()
            .position(|(_, h)| h.file.as_ref().and_then(id_of) == Some(cid))
        {
            for (l, h) in order.drain(k..) {
                self.held += usize::from(h.file.is_some());
                self.new.insert(l, h);
            }
        }
        if let Some((l, _)) = order.last() {
            self.seen = Some(self.seen.map_or(*l, |s| s.max(*l)));
        }
        // Processed archives of files already read come first.
        let skip = self.pending.min(order.len());
        self.pending -= skip;
        order.drain(..skip);
        let mine = order
            .iter()
            .position(|(_, h)| h.file.as_ref().and_then(id_of) == Some(self.cur_id));
        let from = if let Some(p) = mine {
            p + 1
        } else if prev == Some(self.cur_id) {
            // Still `previous`: its archive is yet to come.
            self.processor = true;
            self.pending += 1;
            order.len()
        } else if order.is_empty() {
            if self.processor {
                self.pending += 1;
            }
            0
        } else {
            // Deleted by retention, or processed: the first new name.
            1
        };
        let mut lost = 0usize;
        for (_, h) in order.iter_mut().skip(from) {
            if h.file.is_none() {
                h.file = open_archive(self.dir, &h.name);
            }
            match &h.file {
                Some(f) if id_of(f) != Some(cid) => {
                    let path = self.dir.join(std::ffi::OsStr::from_bytes(&h.name));
                    copy(&path, f, 0, buf, out)?;
                }
                Some(_) => {}
                None => lost += 1,
            }
        }
        if self.processor {
            if let Some(p) = prev.filter(|p| *p != self.cur_id && *p != cid) {
                // `previous` is a rotation svlog did not see as `current`.
                let path = self.dir.join("previous");
                if let Ok(f) = File::open(&path) {
                    if id_of(&f) == Some(p) {
                        copy(&path, &f, 0, buf, out)?;
                        self.pending += 1;
                    }
                }
            }
        }
        if lost > 0 {
            out.flush()?;
            error::warn(
                PROG,
                &format!("{lost} archives deleted before they could be read"),
                None,
            );
        }
        if std::mem::take(&mut self.names_lost) {
            out.flush()?;
            error::warn(
                PROG,
                "inotify events lost: archives deleted unread may not have been reported",
                None,
            );
        }
        self.cur = cur;
        self.cur_id = cid;
        self.off = 0;
        Ok(true)
    }
}

/// Wait up to `t` for the self-pipe or, if given, `fd`; true if a signal
/// to end came.
fn wait(sig_r: &OwnedFd, fd: Option<&OwnedFd>, t: &Timespec) -> Result<bool, Stop> {
    let mut fds = vec![PollFd::new(sig_r, PollFlags::IN)];
    if let Some(fd) = fd {
        fds.push(PollFd::new(fd, PollFlags::IN));
    }
    let stdout = rustix::stdio::stdout();
    fds.push(PollFd::from_borrowed_fd(stdout, PollFlags::empty()));
    match poll(&mut fds, Some(t)) {
        Ok(_) | Err(Errno::INTR) => {}
        Err(e) => return Err(Fatal::new("unable to poll", io::Error::from(e)).into()),
    }
    let gone = fds
        .last()
        .is_some_and(|p| p.revents().intersects(PollFlags::ERR | PollFlags::HUP));
    drop(fds);
    let mut b = [0u8; 64];
    while matches!(rustix::io::read(sig_r, &mut b), Ok(n) if n > 0) {}
    Ok(gone || signals::caught(libc::SIGINT) || signals::caught(libc::SIGTERM))
}

/// `previous` is still `p1`, and not gone while `processed` is there: a
/// processor's output between the removal of `previous` and its archive
/// (`processed` → `@….s`) is in no file svlog lists.
fn stable(dir: &Path, p1: Option<Id>) -> bool {
    let p2 = stat_id(&dir.join("previous"));
    p2 == p1 && (p2.is_some() || !dir.join("processed").exists())
}

/// `f()`, again while it fails because a file does not exist (a starting
/// multilog leaves no `current` for a moment), at most [`MISSING_TRIES`]
/// times in all; `None` if a signal to end came meanwhile.
fn retry_missing<T>(
    sig_r: &OwnedFd,
    missing: &mut usize,
    mut f: impl FnMut() -> Result<T, Fatal>,
) -> Result<Option<T>, Stop> {
    loop {
        match f() {
            Ok(v) => return Ok(Some(v)),
            Err(e)
                if *missing < MISSING_TRIES
                    && e.cause
                        .as_ref()
                        .is_some_and(|c| c.kind() == io::ErrorKind::NotFound) =>
            {
                *missing += 1;
                if wait(sig_r, None, &RETRY)? {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Print DIR as `opts` asks (all of it, or the last `-n` lines), then
/// follow it until a signal or the reader goes away.
///
/// # Errors
/// A fatal error, or the reader went away.
pub(crate) fn follow<W: io::Write>(opts: &Opts, zone: Zone, w: W) -> Result<(), Stop> {
    let (sig_r, sig_w) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
    )
    .map_err(|e| Fatal::new("unable to create pipe", io::Error::from(e)))?;
    signals::selfpipe_catch(&[libc::SIGINT, libc::SIGTERM], sig_w)
        .map_err(|e| Fatal::new("unable to catch signals", e))?;
    let mut out = Out::new(w, opts.format, zone);
    let mut missing = 0;
    // A missing DIR is fatal at once.
    if !opts.dirs[0].is_dir() {
        resolve(&opts.dirs[0])?;
    }
    let Some(dir) = retry_missing(&sig_r, &mut missing, || resolve(&opts.dirs[0]))? else {
        return out.finish();
    };
    let dir = dir.as_path();
    let ino = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)
        .map_err(|e| Fatal::new("unable to create inotify instance", io::Error::from(e)))?;
    let mask = inotify::WatchFlags::MODIFY
        | inotify::WatchFlags::CREATE
        | inotify::WatchFlags::MOVED_TO
        | inotify::WatchFlags::MOVED_FROM
        | inotify::WatchFlags::DELETE
        | inotify::WatchFlags::CLOSE_WRITE
        | inotify::WatchFlags::ONLYDIR;
    inotify::add_watch(&ino, dir, mask).map_err(|e| {
        Fatal::new(
            format!("unable to watch {}", dir.display()),
            io::Error::from(e),
        )
    })?;
    let cur_path = dir.join("current");
    // `current` opened and the archives listed with `current` the same file
    // throughout; a starting multilog can leave no `current` for a moment.
    let mut tries = 0;
    // A `previous` (a processor runs on it) goes between the archives and
    // `current`; its archive, to come, is not printed.
    let prev_path = dir.join("previous");
    let (mut files, prev) = loop {
        let p1 = stat_id(&prev_path);
        let Some(files) = retry_missing(&sig_r, &mut missing, || open_all(dir))? else {
            return out.finish();
        };
        let prev = File::open(&prev_path).ok();
        tries += 1;
        let same = files
            .last()
            .and_then(|(_, f)| id_of(f))
            .is_some_and(|id| stat_id(&cur_path) == Some(id))
            && prev.as_ref().and_then(id_of) == p1
            && stable(dir, p1);
        if same || tries >= SNAPSHOT_TRIES {
            break (files, prev);
        }
    };
    let pending = usize::from(prev.is_some());
    if let Some(p) = prev {
        let lf = LogFile {
            path: prev_path,
            label: None,
        };
        files.insert(files.len().saturating_sub(1), (lf, p));
    }
    let mut buf = vec![0u8; BLOCK];
    let mut reached = 0;
    let (first, from) = match opts.last {
        Some(n) => {
            let sized: Vec<(u64, &File)> = files
                .iter()
                .map(|(_, f)| (f.metadata().map_or(0, |m| m.len()), f))
                .collect();
            reached = sized.last().map_or(0, |s| s.0);
            find_tail(&sized, n, &mut buf)
                .map_err(|e| Fatal::new(format!("unable to read {}", dir.display()), e))?
        }
        None => (0, 0),
    };
    for (i, (lf, f)) in files.iter().enumerate().skip(first) {
        let start = if i == first { from } else { 0 };
        reached = copy(&lf.path, f, start, &mut buf, &mut out)?;
    }
    out.flush()?;
    let Some((_, cur)) = files.pop() else {
        return out.finish();
    };
    let seen = files.iter().filter_map(|(lf, _)| lf.label).max();
    drop(files);
    let cur_id = id_of(&cur).ok_or_else(|| {
        Fatal::new(
            format!("unable to stat {}", cur_path.display()),
            io::Error::last_os_error(),
        )
    })?;
    let mut f = Follower {
        dir,
        cur_path,
        cur,
        cur_id,
        off: reached,
        seen,
        new: BTreeMap::new(),
        ino,
        held: 0,
        names_lost: false,
        processor: pending > 0 || dir.join("processed").exists(),
        pending,
    };
    loop {
        f.read_events()?;
        f.step(&mut out, &mut buf)?;
        out.flush()?;
        if wait(&sig_r, Some(&f.ino), &WAKE)? {
            return out.finish();
        }
    }
}
