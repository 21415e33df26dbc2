//! The follower's start: `current` opened and the archives listed with
//! `current` the same file throughout, then the queue from the start asked
//! for (everything, the last lines, or a saved position).

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Fatal;
use crate::logdir::names::{is_zst, CURRENT, PREVIOUS, PROCESSED};
use crate::logdir::{archives, decompress, tail_start, LogFile};
use crate::tai64::Tai64N;

use super::resume::Resumed;
use super::switch::{open_archive, stable, stat_archive, Opened};
use super::watch::Watch;
use super::{
    id_of, open_regular, skipped, stat_id, Follower, Id, Lost, Src, Start, SNAPSHOT_TRIES,
};

/// The directory at one moment: `current` (opened), `previous` (opened,
/// if any) and the archives' names.
struct Listing {
    cur: File,
    cur_id: Id,
    prev: Option<(File, Id)>,
    archives: Vec<LogFile>,
}

/// `current` opened, then `previous` and the archives, again until
/// neither changed meanwhile (so nothing listed is newer than `current`).
///
/// # Errors
/// `current` cannot be opened (`NotFound` while a multilog starts), or
/// the directory cannot be read.
fn listing(dir: &Path) -> Result<Listing, Fatal> {
    let cur_path = dir.join(CURRENT);
    let prev_path = dir.join(PREVIOUS);
    let mut tries = 0;
    loop {
        let p1 = stat_id(&prev_path);
        let cur = open_regular(&cur_path)
            .map_err(|e| Fatal::new(format!("unable to open {}", cur_path.display()), e))?
            .ok_or_else(|| {
                Fatal::plain(format!(
                    "unable to open {}: not a regular file",
                    cur_path.display()
                ))
            })?;
        let cur_id = id_of(&cur).ok_or_else(|| {
            Fatal::new(
                format!("unable to stat {}", cur_path.display()),
                io::Error::last_os_error(),
            )
        })?;
        let list = archives(dir)?;
        let prev = open_regular(&prev_path)
            .ok()
            .flatten()
            .and_then(|f| id_of(&f).map(|i| (f, i)));
        tries += 1;
        let same = stat_id(&cur_path) == Some(cur_id)
            && prev.as_ref().map(|p| p.1) == p1
            && stable(dir, p1);
        if same || tries >= SNAPSHOT_TRIES {
            return Ok(Listing {
                cur,
                cur_id,
                prev,
                archives: list,
            });
        }
    }
}

pub(super) fn lazy(a: LogFile, not: Id) -> Src {
    Src {
        path: a.path,
        label: a.label,
        file: None,
        id: None,
        size: None,
        off: 0,
        not: Some(not),
        zst: false,
        born: None,
        born_known: false,
        head: None,
        end: 0,
        held: false,
    }
}

/// A log directory watched before it is read some other way (svlog's
/// history): [`Watched::follow`] then goes on from where that reading
/// ended, and hears of every archive made since it began.
pub(crate) struct Watched {
    prog: &'static str,
    dir: PathBuf,
    watch: Watch,
}

impl Watched {
    /// The follower of the directory as if it had followed `cur` to offset
    /// `off`: `cur` was `current` when the archives up to label `after`
    /// were listed (opened before that listing); `prev_read`: `previous`
    /// was there then, and read (its processed archive, to come, is not
    /// read again). The rotations since are
    /// followed as any rotation is (`switch.rs`), from `cur`'s descriptor
    /// and its inode: nothing of `cur` is read twice or skipped, even if
    /// it has been archived, processed or deleted meanwhile.
    pub(crate) fn follow(
        self,
        cur: File,
        off: u64,
        after: Option<Tai64N>,
        prev_read: bool,
    ) -> Follower {
        let cur_path = self.dir.join(CURRENT);
        let id = id_of(&cur).unwrap_or_default();
        let prev = stat_id(&self.dir.join(PREVIOUS));
        let pending = usize::from(prev_read);
        let mut s = Src::opened(cur_path.clone(), cur, Some(id));
        s.off = off;
        s.end = off;
        Follower {
            prog: self.prog,
            processor: prev_read || prev.is_some() || self.dir.join(PROCESSED).exists(),
            dir: self.dir,
            cur_path,
            queue: VecDeque::from([s]),
            cur_id: id,
            cur_done: false,
            seen: after,
            new: BTreeMap::new(),
            watch: self.watch,
            held: super::held::Held::default(),
            names_lost: false,
            pending,
            lost: Lost::default(),
            bad: false,
        }
    }
}

impl Follower {
    /// Watch log directory `dir` (resolved: it has `current`) before
    /// reading it: see [`Watched`].
    ///
    /// # Errors
    /// The directory cannot be watched.
    pub(crate) fn watch(prog: &'static str, dir: &Path) -> Result<Watched, Fatal> {
        Ok(Watched {
            prog,
            dir: dir.to_path_buf(),
            watch: Watch::new(prog, dir)?,
        })
    }

    /// Start following log directory `dir` (resolved: it has `current`)
    /// from `start`; `prog` names the program in warnings.
    ///
    /// # Errors
    /// `current` cannot be opened (a `NotFound` cause while a multilog
    /// starts: the caller may try again), the directory cannot be read or
    /// watched.
    pub(crate) fn open(prog: &'static str, dir: &Path, start: Start) -> Result<Follower, Fatal> {
        // The watch first: every name made after the listing is heard of.
        let watch = Watch::new(prog, dir)?;
        let mut l = listing(dir)?;
        let pending = usize::from(l.prev.is_some());
        let mut f = Follower {
            prog,
            dir: dir.to_path_buf(),
            cur_path: dir.join(CURRENT),
            queue: VecDeque::new(),
            cur_id: l.cur_id,
            cur_done: false,
            seen: None,
            new: BTreeMap::new(),
            watch,
            held: super::held::Held::default(),
            names_lost: false,
            processor: pending > 0 || dir.join(PROCESSED).exists(),
            pending,
            lost: Lost::default(),
            bad: false,
        };
        let later = f.missed(&mut l)?;
        f.seen = l.archives.iter().filter_map(|a| a.label).max();
        for n in later {
            f.note(&n);
        }
        let prev_path = dir.join(PREVIOUS);
        let (cur, cid) = (l.cur, l.cur_id);
        let mut tail = None;
        let mut resumed = Resumed::Queued;
        match start {
            Start::All => {
                for a in l.archives {
                    f.queue.push_back(lazy(a, cid));
                }
            }
            Start::Tail(n) => tail = Some(f.queue_tail(l.archives, n, &l.prev, &cur)?),
            Start::At(pos) => resumed = f.queue_at(l.archives, pos, &l.prev, &cur, cid),
        }
        f.bad = resumed == Resumed::Bad;
        let at_cur = resumed == Resumed::Cur;
        let at_prev = resumed == Resumed::Prev;
        if let Some((pf, pid)) = l.prev {
            if !at_cur {
                // `previous` (a processor works on it) goes between the
                // archives and `current`; its archive, to come, is not read.
                let mut s = Src::opened(prev_path, pf, Some(pid));
                if let (true, Start::At(p)) = (at_prev, start) {
                    s.off = p.off;
                }
                f.queue.push_back(s);
            }
        }
        let mut s = Src::opened(f.cur_path.clone(), cur, Some(cid));
        if let (true, Start::At(p)) = (at_cur, start) {
            s.off = p.off;
        }
        f.queue.push_back(s);
        if let Some(t) = tail {
            f.trim_tail(t);
        }
        Ok(f)
    }

    /// Archives the listing missed: a name renamed while the directory is
    /// read (the finisher's `.u` → `.s`) may be returned under neither
    /// name (readdir(3) leaves it unspecified). The watch was made before
    /// the listing, so every such rename is in the events: an archive
    /// heard of, not listed and older than `current`'s own archive (which
    /// has `current`'s inode) joins the listing. The names from
    /// `current`'s archive on are returned, to be noted as new.
    fn missed(&mut self, l: &mut Listing) -> Result<Vec<Vec<u8>>, Fatal> {
        let names = self.event_names(true)?;
        let listed: std::collections::BTreeSet<_> =
            l.archives.iter().filter_map(|a| a.label).collect();
        let mut heard: BTreeMap<crate::tai64::Tai64N, Vec<u8>> = BTreeMap::new();
        let mut other = Vec::new();
        for n in names {
            match crate::logdir::archive_kind(&n).map(|k| k.0) {
                Some(lb) if !listed.contains(&lb) => {
                    heard.insert(lb, n);
                }
                Some(_) => {}
                None => other.push(n),
            }
        }
        let mut later = other;
        let mut future = false;
        for (lb, n) in heard {
            let path = self.dir.join(std::ffi::OsStr::from_bytes(&n));
            let id = stat_archive(&path).map(|(i, _)| i);
            future = future || id == Some(l.cur_id);
            if future || id.is_none() {
                later.push(n);
            } else {
                l.archives.push(LogFile {
                    path,
                    label: Some(lb),
                });
            }
        }
        l.archives.sort_by_key(|a| a.label);
        Ok(later)
    }

    /// The last `n` lines, reading backwards from `current` (then
    /// `previous`, then the archives from the newest): an archive is opened
    /// (a `.s.zst` decompressed) only when the search reaches it, so the
    /// descriptors and memory held do not grow with the directory. The
    /// archive the start lies in is queued open; the newer ones, read
    /// whole, are queued to be opened in their turn. `current` and
    /// `previous` are queued by the caller, then the files before the
    /// start are dropped ([`Follower::trim_tail`]): where the start is (file
    /// index, offset) and the size of `current` seen.
    fn queue_tail(
        &mut self,
        list: Vec<LogFile>,
        n: u64,
        prev: &Option<(File, Id)>,
        cur: &File,
    ) -> Result<(usize, u64, u64), Fatal> {
        let cid = id_of(cur);
        let cur_len = cur.metadata().map_or(0, |m| m.len());
        if n == 0 {
            return Ok((usize::MAX, 0, cur_len));
        }
        let dir = self.dir.display().to_string();
        let bad = |e| Fatal::new(format!("unable to read {dir}"), e);
        let (mut need, mut skip_nl) = (n, true);
        let mut buf = vec![0u8; 128 * 1024];
        let mut last: Vec<(u64, &File)> = Vec::new();
        if let Some((p, _)) = prev {
            last.push((p.metadata().map_or(0, |m| m.len()), p));
        }
        last.push((cur_len, cur));
        for (i, (size, f)) in last.iter().enumerate().rev() {
            if let Some(off) =
                tail_start(f, *size, &mut need, &mut skip_nl, &mut buf).map_err(bad)?
            {
                return Ok((i, off, cur_len));
            }
        }
        let mut newer = Vec::new();
        let mut from = 0;
        for a in list.into_iter().rev() {
            let (file, path) = match open_archive(&a.path) {
                Opened::File(f, p) => (f, p),
                Opened::Skipped(p) => {
                    skipped(self.prog, &p);
                    continue;
                }
                Opened::Gone | Opened::Failed(..) => continue,
            };
            let id = id_of(&file);
            let file = if is_zst(&path) {
                decompress(self.prog, &path, file)
            } else {
                Some(file)
            };
            let Some(file) = file.filter(|_| id != cid) else {
                continue;
            };
            let size = file.metadata().map_or(0, |m| m.len());
            if let Some(off) =
                tail_start(&file, size, &mut need, &mut skip_nl, &mut buf).map_err(bad)?
            {
                let mut s = Src::opened(path, file, id);
                s.label = a.label;
                self.queue.push_back(s);
                from = off;
                break;
            }
            newer.push(a);
        }
        let not = cid.unwrap_or_default();
        self.queue
            .extend(newer.into_iter().rev().map(|a| lazy(a, not)));
        Ok((0, from, cur_len))
    }

    /// Drop the files before the start [`Follower::queue_tail`] found.
    fn trim_tail(&mut self, (first, from, cur_len): (usize, u64, u64)) {
        if first >= self.queue.len() {
            // Nothing to print: follow `current` from the end seen.
            let mut last = self.queue.pop_back();
            if let Some(s) = last.as_mut() {
                s.off = cur_len;
            }
            self.queue.clear();
            self.queue.extend(last);
            return;
        }
        self.queue.drain(..first);
        if let Some(s) = self.queue.front_mut() {
            s.off = from;
        }
    }
}
