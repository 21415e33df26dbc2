//! Reading log directories: snapshots with timestamps masked (for
//! comparing with daemontools), and the archives/`current` split the fault
//! suites check line by line.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Replace every `@` + 24 lowercase hex digits by `@x`.
pub fn mask(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@'
            && i + 25 <= bytes.len()
            && bytes[i + 1..i + 25]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        {
            out.extend_from_slice(b"@x");
            i += 25;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// One entry of a directory snapshot: masked name, mode bits, masked contents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub name: String,
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// A sorted listing of `dir` (not recursive) with timestamps masked. FIFOs
/// and directories get empty contents.
pub fn snapshot(dir: &Path) -> Vec<Entry> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.unwrap();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        let contents = if md.is_file() {
            mask(&std::fs::read(e.path()).unwrap())
        } else {
            Vec::new()
        };
        v.push(Entry {
            name: String::from_utf8_lossy(&mask(e.file_name().as_encoded_bytes())).into_owned(),
            mode: md.permissions().mode() & 0o7777,
            contents,
        });
    }
    v.sort();
    v
}

/// Is `name` an archive name `@` + 24 lowercase hex + `.s` or `.u`?
pub fn is_archive(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 27
        && b[0] == b'@'
        && b[1..25]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && (name.ends_with(".s") || name.ends_with(".u"))
}

/// The files of a log directory: `(name, contents)`, archives in name
/// order, then `current` (if present). Other names are returned as well,
/// in `others`.
pub struct LogFiles {
    pub archives: Vec<(String, Vec<u8>)>,
    pub current: Option<Vec<u8>>,
    pub others: Vec<String>,
}

pub fn read_logdir(dir: &Path) -> LogFiles {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut lf = LogFiles {
        archives: Vec::new(),
        current: None,
        others: Vec::new(),
    };
    for n in names {
        if is_archive(&n) {
            let b = std::fs::read(dir.join(&n)).unwrap();
            lf.archives.push((n, b));
        } else if n == "current" {
            lf.current = Some(std::fs::read(dir.join(&n)).unwrap());
        } else {
            lf.others.push(n);
        }
    }
    lf
}

impl LogFiles {
    /// Archives then `current`, concatenated.
    pub fn all(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.archives.iter().flat_map(|(_, b)| b.clone()).collect();
        if let Some(c) = &self.current {
            v.extend_from_slice(c);
        }
        v
    }
}

/// Recursive snapshot of `root`: every directory with its sorted entries.
pub fn tree(root: &Path) -> Vec<(String, Vec<Entry>)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = snapshot(&dir);
        for e in &entries {
            let p = dir.join(&e.name);
            if std::fs::symlink_metadata(&p)
                .map(|m| m.is_dir())
                .unwrap_or(false)
            {
                stack.push(rel.join(&e.name));
            }
        }
        out.push((rel.display().to_string(), entries));
    }
    out.sort();
    out
}

/// Bytes in `current` and the archives of `d`.
pub fn logged_bytes(d: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(d) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            n == "current" || is_archive(&n.to_string_lossy())
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
