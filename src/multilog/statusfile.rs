//! `=file` status files (ports `multilog.c:f_init` and the `=` branch of
//! `doit`): the last selected line's first 1000 bytes, padded with newlines
//! to exactly 1001 bytes, written at offset 0, never truncated.
//!
//! Differences from daemontools: the file is rewritten once per input block
//! (before multilog waits for more input) with the last selected line,
//! instead of once per line; its contents whenever multilog is idle are the
//! same.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;

use rustix::fs::{Mode, OFlags};

use super::retry::{complain, retry};
use crate::error::{Fatal, Unable};

/// Size of a status record.
pub(crate) const RECORD: usize = 1001;

/// One open status file.
pub(crate) struct StatusFile {
    name: String,
    file: File,
    record: Box<[u8; RECORD]>,
    dirty: bool,
}

impl StatusFile {
    /// `f_init`: create the file if needed (0600), then open it for writing.
    ///
    /// # Errors
    /// `unable to create FILE` / `unable to write FILE`, fatal.
    pub(crate) fn open(startfd: &OwnedFd, path: &[u8]) -> Result<StatusFile, Fatal> {
        let name = String::from_utf8_lossy(path).into_owned();
        let f = rustix::fs::openat(
            startfd,
            path,
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .unable(|| format!("create {name}"))?;
        drop(f);
        let f = rustix::fs::openat(
            startfd,
            path,
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unable(|| format!("write {name}"))?;
        Ok(StatusFile {
            name,
            file: File::from(f),
            record: Box::new([b'\n'; RECORD]),
            dirty: false,
        })
    }

    /// Remember `head` (at most 1000 bytes) as the latest selected line.
    #[inline]
    pub(crate) fn set(&mut self, head: &[u8]) {
        let n = head.len().min(RECORD - 1);
        self.record[..n].copy_from_slice(&head[..n]);
        self.record[n..].fill(b'\n');
        self.dirty = true;
    }

    /// Write the record if it changed, retrying forever on errors.
    pub(crate) fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        let name = &self.name;
        retry(
            || format!("unable to move to beginning of {name}"),
            || self.file.seek(SeekFrom::Start(0)),
        );
        loop {
            match self.file.write(&self.record[..]) {
                Ok(RECORD) => break,
                Ok(_) => {
                    complain(
                        &format!("unable to write {name}"),
                        &std::io::Error::from_raw_os_error(0),
                    );
                    retry(
                        || format!("unable to move to beginning of {name}"),
                        || self.file.seek(SeekFrom::Start(0)),
                    );
                }
                Err(e) => complain(&format!("unable to write {name}"), &e),
            }
        }
        self.dirty = false;
    }
}
