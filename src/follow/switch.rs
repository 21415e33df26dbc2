//! The follower's directory events and its switch from a complete
//! followed file to the archives after it and the new `current`.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::Fatal;
pub(super) use crate::logdir::names::is_zst;
use crate::logdir::names::{twin_names, PREVIOUS, PROCESSED};
pub(super) use crate::logdir::open::Opened;
use crate::logdir::open::{first_found, open_twin};
use crate::logdir::{archive_kind, archives, LogFile};
use crate::tai64::Tai64N;

use super::{
    id_of, open_regular, skipped, stat_id, Follower, Heard, Id, Src, MAX_NAMES, SNAPSHOT_TRIES,
};

/// Open archive `path` under the first of its names still there, in the
/// twin rule's order ([`twin_names`]); a name that fails to open
/// otherwise is as good as gone.
pub(super) fn open_archive(path: &Path) -> Opened {
    match open_twin(path) {
        Opened::Failed(..) => Opened::Gone,
        o => o,
    }
}

/// Identity and size of archive `path` under the first of its [`twin_names`]
/// still there, without opening it (a `.s.zst`'s compressed size); `None`
/// if it is gone or not a regular file.
pub(super) fn stat_archive(path: &Path) -> Option<(Id, u64)> {
    // Any error is taken as not there: the next name is tried.
    let stat =
        |p: &Path| std::fs::symlink_metadata(p).map_err(|_| std::io::ErrorKind::NotFound.into());
    let (_, m) = first_found(&twin_names(path), stat).ok()??;
    m.is_file().then(|| ((m.dev(), m.ino()), m.len()))
}

/// `previous` is still `p1`, and not gone while `processed` is there: a
/// processor's output between the removal of `previous` and its archive
/// (`processed` → `@….s`) is in no file the follower lists.
pub(super) fn stable(dir: &Path, p1: Option<Id>) -> bool {
    let p2 = stat_id(&dir.join(PREVIOUS));
    p2 == p1 && (p2.is_some() || !dir.join(PROCESSED).exists())
}

/// The new `current` opened, its identity, that of `previous`, and the
/// archives, listed with neither name changing meanwhile.
type Snapshot = (File, Id, Option<Id>, Vec<LogFile>);

impl Follower {
    pub(super) fn note(&mut self, name: &[u8]) {
        if name == PREVIOUS.as_bytes() || name == PROCESSED.as_bytes() {
            self.processor = true;
            return;
        }
        let Some((l, _)) = archive_kind(name) else {
            return;
        };
        if self.seen.is_some_and(|s| l <= s) {
            return;
        }
        if self.new.get(&l).is_some_and(|h| h.file.is_some() || h.skip) {
            return;
        }
        if self.new.len() >= MAX_NAMES && !self.new.contains_key(&l) {
            self.names_lost = true;
            return;
        }
        let path = self.dir.join(std::ffi::OsStr::from_bytes(name));
        let mut heard = Heard {
            name: name.to_vec(),
            file: None,
            id: None,
            size: None,
            skip: false,
            held: false,
        };
        match open_archive(&path) {
            Opened::File(f, p) => {
                if let Ok(m) = f.metadata() {
                    heard.id = Some((m.dev(), m.ino()));
                    heard.size = Some(m.len());
                }
                if let Some(n) = p.file_name() {
                    heard.name = n.as_bytes().to_vec();
                }
                if self.held.take(heard.size.unwrap_or(0)) {
                    heard.file = Some(f);
                    heard.held = true;
                } else if !self.new.contains_key(&l) {
                    self.lost.unheld += 1;
                }
            }
            Opened::Skipped(p) => {
                skipped(self.prog, &p);
                heard.skip = true;
            }
            Opened::Gone | Opened::Failed(..) => {}
        }
        self.new.insert(l, heard);
    }

    /// An archive heard of that will not be read: closed.
    fn let_go(&mut self, h: &Heard) {
        if h.held {
            self.held.give(h.size.unwrap_or(0));
        }
    }

    /// The names the directory's events report as made (created or
    /// renamed to), in order; polling (no inotify), the names in the
    /// directory if `now` or it is time.
    ///
    /// # Errors
    /// The inotify instance or the directory cannot be read.
    pub(super) fn event_names(&mut self, now: bool) -> Result<Vec<Vec<u8>>, Fatal> {
        let (names, lost) = self.watch.names(&self.dir, now)?;
        self.names_lost |= lost;
        Ok(names)
    }

    /// Take in the directory's events: open the archives made since.
    ///
    /// # Errors
    /// The inotify instance cannot be read.
    pub(crate) fn events(&mut self) -> Result<(), Fatal> {
        for n in self.event_names(false)? {
            self.note(&n);
        }
        Ok(())
    }

    /// A snapshot, not in the moment a processor's output is only
    /// `processed` (see [`stable`]).
    fn snapshot(&mut self) -> Result<Option<Snapshot>, Fatal> {
        let prev_path = self.dir.join(PREVIOUS);
        for _ in 0..SNAPSHOT_TRIES {
            let Ok(Some(cur)) = open_regular(&self.cur_path) else {
                return Ok(None);
            };
            let Some(cid) = id_of(&cur) else {
                return Ok(None);
            };
            let p1 = stat_id(&prev_path);
            let list = archives(&self.dir)?;
            if p1.is_some() || self.dir.join(PROCESSED).exists() {
                self.processor = true;
            }
            if stable(&self.dir, p1) && stat_id(&self.cur_path) == Some(cid) {
                return Ok(Some((cur, cid, p1, list)));
            }
        }
        Ok(None)
    }

    /// Queue the archives between the complete followed file and the new
    /// `current`, then that. `false`: not now (no stable `current`).
    pub(super) fn switch(&mut self) -> Result<bool, Fatal> {
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
        for n in self.event_names(true)? {
            self.note(&n);
        }
        let mut order: Vec<(Tai64N, Heard)> = std::mem::take(&mut self.new).into_iter().collect();
        // An identity noted without holding the file is stale once the
        // file is deleted: its inode may be a newer file's (`current`'s).
        for (_, h) in order
            .iter_mut()
            .filter(|(_, h)| h.file.is_none() && !h.skip)
        {
            let path = self.dir.join(std::ffi::OsStr::from_bytes(&h.name));
            h.id = stat_archive(&path).map(|(id, _)| id);
        }
        // Names made since (the new `current` rotated already: its archive
        // and later ones) wait for the next switch.
        if let Some(k) = order.iter().position(|(_, h)| h.id == Some(cid)) {
            for (l, h) in order.drain(k..) {
                self.new.insert(l, h);
            }
        }
        if let Some((l, _)) = order.last() {
            self.seen = Some(self.seen.map_or(*l, |s| s.max(*l)));
        }
        // Processed archives of files already read come first.
        let skip = self.pending.min(order.len());
        self.pending -= skip;
        for (_, h) in order.drain(..skip) {
            self.let_go(&h);
        }
        let mine = order.iter().position(|(_, h)| h.id == Some(self.cur_id));
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
        while !self.queue.is_empty() {
            self.pop();
        }
        for (i, (l, h)) in order.into_iter().enumerate() {
            if i < from || h.skip {
                self.let_go(&h);
                continue;
            }
            if h.id.is_none() && h.file.is_none() {
                // Gone: its size if it was noted.
                match h.size {
                    Some(z) => self.lost.bytes += z,
                    None => self.lost.archives += 1,
                }
                continue;
            }
            let path = self.dir.join(std::ffi::OsStr::from_bytes(&h.name));
            self.queue.push_back(Src {
                zst: h.file.is_some() && is_zst(&path),
                path,
                label: Some(l),
                file: h.file,
                id: h.id,
                size: h.size,
                off: 0,
                not: Some(cid),
                born: None,
                born_known: false,
                head: None,
                end: 0,
                held: h.held,
            });
        }
        if self.processor {
            if let Some(p) = prev.filter(|p| *p != self.cur_id && *p != cid) {
                // `previous` is a rotation not seen as `current`.
                let path = self.dir.join(PREVIOUS);
                if let Ok(Some(f)) = open_regular(&path) {
                    if id_of(&f) == Some(p) {
                        self.queue.push_back(Src::opened(path, f, Some(p)));
                        self.pending += 1;
                    }
                }
            }
        }
        self.queue
            .push_back(Src::opened(self.cur_path.clone(), cur, Some(cid)));
        self.cur_id = cid;
        Ok(true)
    }
}

impl Src {
    /// An open file that is not an archive, read from 0.
    pub(super) fn opened(path: std::path::PathBuf, f: File, id: Option<Id>) -> Src {
        Src {
            path,
            label: None,
            file: Some(f),
            id,
            size: None,
            off: 0,
            not: None,
            zst: false,
            born: None,
            born_known: false,
            head: None,
            end: 0,
            held: false,
        }
    }
}
