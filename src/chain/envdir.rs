//! `envdir DIR CHILD...`: run CHILD with environment variables set from the
//! files in DIR.
//!
//! Ports `envdir.c` (and `openreadclose.c`). Every entry of DIR whose name
//! does not start with `.` is read, in `readdir` order, from inside DIR:
//!
//! * a 0-byte file unsets the variable;
//! * otherwise the value is the first line, with trailing spaces and tabs
//!   removed and NUL bytes turned into newlines (it may be empty);
//! * an entry that cannot be opened because it does not exist (a dangling
//!   symlink, a file removed meanwhile) **reuses the previous entry's
//!   buffer**, which by then holds the processed value plus its terminating
//!   NUL — so it gets the previous value followed by a newline, or the part
//!   before the first newline of that value ([`Reader`] models this);
//! * the name splits at its first `=` ([`EnvEdits`]);
//! * any other error, including a subdirectory (`is a directory`), is fatal.
//!
//! `PATH` for finding CHILD is the one envdir was started with, not one set
//! from DIR (as in daemontools). The usage exit code is 111, not 100.
//!
//! # Differences from daemontools
//! None known.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags};

use super::prologue::{die, exec_or_die, start, usage};
use crate::error::EXIT_TEMP;
use crate::sys::pathexec::EnvEdits;

const PROG: &str = "envdir";

/// djb's `sa` buffer, carried from one entry to the next.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    sa: Vec<u8>,
}

impl Reader {
    /// A fresh reader (empty buffer).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Process one entry: `Some(contents)` for a file that was read, `None`
    /// for one whose open failed with `ENOENT` (the buffer is reused).
    /// Returns the value to set, or `None` to unset the variable.
    pub fn entry(&mut self, contents: Option<Vec<u8>>) -> Option<Vec<u8>> {
        if let Some(c) = contents {
            self.sa = c;
        }
        if self.sa.is_empty() {
            return None;
        }
        let sa = &mut self.sa;
        if let Some(nl) = memchr::memchr(b'\n', sa) {
            sa.truncate(nl);
        }
        while matches!(sa.last(), Some(b' ' | b'\t')) {
            sa.pop();
        }
        for b in sa.iter_mut() {
            if *b == 0 {
                *b = b'\n';
            }
        }
        let value = sa.clone();
        sa.push(0); // stralloc_0
        Some(value)
    }
}

/// The value a file with `contents` gives on its own (`None` = unset).
#[must_use]
pub fn value(contents: &[u8]) -> Option<Vec<u8>> {
    Reader::new().entry(Some(contents.to_vec()))
}

/// `openreadclose`: `Ok(None)` if the file does not exist.
fn openreadclose(name: &OsStr) -> io::Result<Option<Vec<u8>>> {
    let fd = match rustix::fs::open(
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut v = Vec::new();
    File::from(fd).read_to_end(&mut v)?;
    Ok(Some(v))
}

/// Read DIR (the cwd is already DIR) into edits, or the fatal exit.
fn read_dir(dir: &OsStr) -> Result<EnvEdits, u8> {
    let unable_dir = |e: &io::Error| {
        die(
            PROG,
            &[b"unable to read directory ", dir.as_bytes(), b": "],
            Some(e),
            EXIT_TEMP,
        )
    };
    let entries = std::fs::read_dir(".").map_err(|e| unable_dir(&e))?;
    let mut reader = Reader::new();
    let mut edits = EnvEdits::new();
    for entry in entries {
        let entry = entry.map_err(|e| unable_dir(&e))?;
        let name = entry.file_name();
        if name.as_bytes().first() == Some(&b'.') {
            continue;
        }
        let contents = openreadclose(&name).map_err(|e| {
            die(
                PROG,
                &[
                    b"unable to read ",
                    dir.as_bytes(),
                    b"/",
                    name.as_bytes(),
                    b": ",
                ],
                Some(&e),
                EXIT_TEMP,
            )
        })?;
        match reader.entry(contents) {
            Some(v) => edits.set(&name, OsStr::from_bytes(&v)),
            None => edits.unset(&name),
        }
    }
    Ok(edits)
}

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Run with a full `argv`; returns only on failure (or usage).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    start();
    let args = &main.argv[..];
    if args.len() < 3 {
        return usage(PROG, "envdir dir child", EXIT_TEMP);
    }
    let dir = &args[1];
    let orig = match rustix::fs::open(".", OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            return die(
                PROG,
                &[b"unable to switch to current directory: "],
                Some(&e.into()),
                EXIT_TEMP,
            )
        }
    };
    if let Err(e) = rustix::process::chdir(dir.as_os_str()) {
        return die(
            PROG,
            &[b"unable to switch to directory ", dir.as_bytes(), b": "],
            Some(&e.into()),
            EXIT_TEMP,
        );
    }
    let edits = match read_dir(dir) {
        Ok(e) => e,
        Err(code) => return code,
    };
    if let Err(e) = rustix::process::fchdir(&orig) {
        return die(
            PROG,
            &[b"unable to switch to starting directory: "],
            Some(&e.into()),
            EXIT_TEMP,
        );
    }
    drop(orig);
    exec_or_die(PROG, &args[2..], &edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(value(b""), None);
        assert_eq!(value(b"\n"), Some(vec![]));
        assert_eq!(value(b"  \t\n"), Some(vec![]));
        assert_eq!(value(b"a b \t \nsecond"), Some(b"a b".to_vec()));
        assert_eq!(value(b"x\0y\0"), Some(b"x\ny\n".to_vec()));
        assert_eq!(value(b"x\0 "), Some(b"x\n".to_vec()));
        assert_eq!(value(b" lead"), Some(b" lead".to_vec()));
    }

    #[test]
    fn dangling_reuses_buffer() {
        let mut r = Reader::new();
        assert_eq!(r.entry(None), None);
        assert_eq!(r.entry(Some(b"ab".to_vec())), Some(b"ab".to_vec()));
        assert_eq!(r.entry(None), Some(b"ab\n".to_vec()));
        assert_eq!(r.entry(None), Some(b"ab".to_vec()));
        assert_eq!(r.entry(Some(b"x\0y".to_vec())), Some(b"x\ny".to_vec()));
        assert_eq!(r.entry(None), Some(b"x".to_vec()));
        assert_eq!(r.entry(Some(Vec::new())), None);
        assert_eq!(r.entry(None), None);
    }
}
