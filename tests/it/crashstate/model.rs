//! A conservative model of what a power cut may leave of one directory,
//! and the crash states it allows after each prefix of a trace.
//!
//! Assumptions (ext4-like ordering, otherwise POSIX):
//! * Name and inode-metadata operations (create, rename, link, unlink,
//!   mkdir, chmod) reach the disk in the order they were made, each
//!   atomically: a crash after operation k leaves exactly the names and
//!   modes of the first k (ext4's journal commits in order).
//! * File data (writes, truncations) is durable only once the file is
//!   fsynced; until then any of it may be missing. The model keeps, per
//!   file, the contents at its last fsync ("durable") and now ("volatile"),
//!   and offers a bounded set of [`Cut`]s between them.
//! * fsync of a file makes its data durable (and, by the ordering above,
//!   nothing more is needed for its name).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};

use super::trace::Op;

/// One file: volatile contents, contents at the last fsync, mode.
#[derive(Debug, Clone)]
pub struct Inode {
    pub data: Vec<u8>,
    pub durable: Vec<u8>,
    pub mode: u32,
}

/// The directory after some operations.
#[derive(Debug, Clone, Default)]
pub struct Fs {
    pub exists: bool,
    pub names: BTreeMap<String, usize>,
    pub inodes: Vec<Inode>,
    pub umask: u32,
}

impl Fs {
    /// A directory holding `files` (name, contents, mode, inode key: equal
    /// keys are hard links), all durable.
    pub fn new(files: &[(String, Vec<u8>, u32, u64)], exists: bool, umask: u32) -> Fs {
        let mut fs = Fs {
            exists,
            umask,
            ..Fs::default()
        };
        let mut by_key = BTreeMap::new();
        for (name, data, mode, key) in files {
            let i = *by_key.entry(key).or_insert_with(|| {
                fs.inodes.push(Inode {
                    data: data.clone(),
                    durable: data.clone(),
                    mode: *mode,
                });
                fs.inodes.len() - 1
            });
            fs.names.insert(name.clone(), i);
        }
        fs
    }

    fn ino(&mut self, name: &str) -> Option<&mut Inode> {
        let i = *self.names.get(name)?;
        Some(&mut self.inodes[i])
    }

    /// Apply one operation as the kernel did (it succeeded).
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Mkdir => self.exists = true,
            Op::Open {
                name,
                create,
                trunc,
            } => {
                if let (Some(mode), false) = (create, self.names.contains_key(name)) {
                    self.inodes.push(Inode {
                        data: Vec::new(),
                        durable: Vec::new(),
                        mode: mode & !self.umask,
                    });
                    self.names.insert(name.clone(), self.inodes.len() - 1);
                }
                if *trunc {
                    if let Some(f) = self.ino(name) {
                        f.data.clear();
                    }
                }
            }
            Op::Write { name, data } => {
                if let Some(f) = self.ino(name) {
                    f.data.extend_from_slice(data);
                }
            }
            Op::WriteAt { name, offset, data } => {
                if let Some(f) = self.ino(name) {
                    let at = usize::try_from(*offset).unwrap();
                    if f.data.len() < at + data.len() {
                        f.data.resize(at + data.len(), 0);
                    }
                    f.data[at..at + data.len()].copy_from_slice(data);
                }
            }
            Op::Truncate { name, len } => {
                if let Some(f) = self.ino(name) {
                    f.data.resize(usize::try_from(*len).unwrap(), 0);
                }
            }
            Op::Fsync { name } => {
                if let Some(f) = self.ino(name) {
                    f.durable = f.data.clone();
                }
            }
            Op::Chmod { name, mode } => {
                if let Some(f) = self.ino(name) {
                    f.mode = *mode;
                }
            }
            Op::Rename { from, to } => {
                if let Some(i) = self.names.remove(from) {
                    self.names.insert(to.clone(), i);
                }
            }
            Op::Link { from, to } => {
                if let Some(&i) = self.names.get(from) {
                    self.names.insert(to.clone(), i);
                }
            }
            Op::Unlink { name } => {
                self.names.remove(name);
            }
        }
    }
}

/// How much of a file's unsynced data survives the crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cut {
    /// Only the durable contents.
    None,
    /// Everything written.
    All,
    /// Durable plus half of the rest (usually mid-line).
    Half,
    /// Durable plus the rest up to the last newline before its middle, as
    /// when a page boundary falls on a line end.
    Line,
    /// The size grew but the new blocks read as zeros (data=writeback).
    Zeros,
}

const PARTIAL: [Cut; 4] = [Cut::None, Cut::Half, Cut::Line, Cut::Zeros];

/// A file's contents after the crash under `cut`; `None` if the cut does
/// not apply (e.g. no newline to cut at).
pub fn cut(f: &Inode, cut: Cut) -> Option<Vec<u8>> {
    let d = &f.durable;
    let v = &f.data;
    // After a truncation the durable contents need not be a prefix.
    let base = if v.starts_with(d) { d.len() } else { 0 };
    let mid = base + (v.len() - base) / 2;
    match cut {
        Cut::None => Some(d.clone()),
        Cut::All => Some(v.clone()),
        Cut::Half => (mid > base).then(|| v[..mid].to_vec()),
        Cut::Line => {
            let nl = v[base..mid].iter().rposition(|&c| c == b'\n')?;
            Some(v[..base + nl + 1].to_vec())
        }
        Cut::Zeros => (base == d.len() && v.len() > base).then(|| {
            let mut z = v[..base].to_vec();
            z.resize(v.len(), 0);
            z
        }),
    }
}

/// One crash state: the directory's names and modes after a prefix of
/// the operations, and each file's surviving contents.
#[derive(Debug, Clone)]
pub struct State {
    /// Operations applied.
    pub prefix: usize,
    /// A power cut (then a new boot); otherwise the process was killed and
    /// everything written is still there (the page cache survives).
    pub power: bool,
    pub exists: bool,
    /// name → inode.
    pub names: BTreeMap<String, usize>,
    /// Per inode: surviving contents, mode, durable contents.
    pub files: BTreeMap<usize, (Vec<u8>, u32, Vec<u8>)>,
    /// The cut of each file with unsynced data, for reports.
    pub cuts: Vec<(usize, Cut)>,
}

impl State {
    fn key(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (self.exists, self.power).hash(&mut h);
        self.names.hash(&mut h);
        for (i, (c, m, _)) in &self.files {
            (i, c, m).hash(&mut h);
        }
        h.finish()
    }
}

/// How thoroughly to combine cuts of several unsynced files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explore {
    /// All-none, all-all, and each file's partial cuts with the others
    /// all-none or all-all (linear in the number of unsynced files).
    Linear,
    /// Every combination of cuts, up to `PRODUCT_CAP` per prefix (then
    /// linear).
    Product,
}

const PRODUCT_CAP: usize = 625;

/// The cut vectors over `dirty` files.
fn choices(n: usize, explore: Explore) -> Vec<Vec<Cut>> {
    let all = [Cut::None, Cut::All, Cut::Half, Cut::Line, Cut::Zeros];
    if explore == Explore::Product && all.len().pow(u32::try_from(n).unwrap_or(99)) <= PRODUCT_CAP {
        let mut out = vec![Vec::new()];
        for _ in 0..n {
            out = out
                .into_iter()
                .flat_map(|v| {
                    all.iter().map(move |c| {
                        let mut v = v.clone();
                        v.push(*c);
                        v
                    })
                })
                .collect();
        }
        return out;
    }
    let mut out = vec![vec![Cut::None; n], vec![Cut::All; n]];
    for i in 0..n {
        for c in PARTIAL {
            for rest in [Cut::None, Cut::All] {
                let mut v = vec![rest; n];
                v[i] = c;
                out.push(v);
            }
        }
    }
    out
}

/// Every distinct crash state of `ops` from `init` (prefix 0 to all), in
/// order: after each prefix, a kill and the power cuts of `explore`; the
/// count before removing duplicates is returned too.
pub fn states(init: &Fs, ops: &[Op], explore: Explore) -> (Vec<State>, usize) {
    let mut fs = init.clone();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut raw = 0;
    for k in 0..=ops.len() {
        if k > 0 {
            fs.apply(&ops[k - 1]);
        }
        let live: Vec<usize> = {
            let mut v: Vec<usize> = fs.names.values().copied().collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let dirty: Vec<usize> = live
            .iter()
            .copied()
            .filter(|&i| fs.inodes[i].data != fs.inodes[i].durable)
            .collect();
        // The kill: every file as written, all of it as good as durable.
        raw += 1;
        let st = State {
            prefix: k,
            power: false,
            exists: fs.exists,
            names: fs.names.clone(),
            files: live
                .iter()
                .map(|&i| {
                    let f = &fs.inodes[i];
                    (i, (f.data.clone(), f.mode, f.data.clone()))
                })
                .collect(),
            cuts: Vec::new(),
        };
        if seen.insert(st.key()) {
            out.push(st);
        }
        for choice in choices(dirty.len(), explore) {
            let mut files = BTreeMap::new();
            let mut ok = true;
            for &i in &live {
                let f = &fs.inodes[i];
                let c = dirty
                    .iter()
                    .position(|&d| d == i)
                    .map_or(Cut::All, |j| choice[j]);
                match cut(f, c) {
                    Some(data) => {
                        files.insert(i, (data, f.mode, f.durable.clone()));
                    }
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            raw += 1;
            let st = State {
                prefix: k,
                power: true,
                exists: fs.exists,
                names: fs.names.clone(),
                files,
                cuts: dirty.iter().copied().zip(choice.iter().copied()).collect(),
            };
            if seen.insert(st.key()) {
                out.push(st);
            }
        }
    }
    (out, raw)
}

/// Each inode's contents at the end of the trace.
pub fn finals(init: &Fs, ops: &[Op]) -> Vec<Vec<u8>> {
    let mut fs = init.clone();
    for op in ops {
        fs.apply(op);
    }
    fs.inodes.into_iter().map(|f| f.data).collect()
}

#[test]
fn cuts_of_an_appended_file() {
    let f = Inode {
        data: b"a\nbb\ncc\ndd\n".to_vec(),
        durable: b"a\n".to_vec(),
        mode: 0o644,
    };
    assert_eq!(cut(&f, Cut::None).unwrap(), b"a\n");
    assert_eq!(cut(&f, Cut::Half).unwrap(), b"a\nbb\nc");
    assert_eq!(cut(&f, Cut::Line).unwrap(), b"a\nbb\n");
    assert_eq!(cut(&f, Cut::Zeros).unwrap(), b"a\n\0\0\0\0\0\0\0\0\0");
    assert_eq!(choices(2, Explore::Product).len(), 25);
    assert_eq!(choices(2, Explore::Linear).len(), 2 + 2 * 4 * 2);
}
