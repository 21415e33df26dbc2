//! logship's lag: the status files logship keeps beside its cursors
//! (`crate::logship::status`, the one parser), found in every service
//! directory of the scan directory (logship's default `-c .` under
//! supervise is its service directory) and in each `-c DIR` given.
//!
//! The files are untrusted: opened without following links or waiting
//! for a FIFO, at most [`status::MAX_BYTES`] read; one that is not a
//! status file is skipped and counted in a warning printed at most every
//! [`super::rare::WARN_EVERY`]. The same (directory, destination) found
//! twice (two `-c` naming one directory, a copy) is shown once, from the
//! file written last.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;
use std::time::Instant;

use rustix::fs::{Dir, Mode, OFlags};

use super::collect::Metric as M;
use super::expo::Exposition;
use crate::logship::status::{self, State, Status};

/// Status files that could not be read since the last warning, and the
/// warning's pacing.
static BAD: Mutex<Option<super::rare::Rare>> = Mutex::new(None);

/// The statuses gathered in one scrape.
#[derive(Default)]
pub(crate) struct Found {
    /// Keyed by (directory, destination).
    by: BTreeMap<(String, String), Status>,
}

/// Read the status file `name` in `dir`.
fn read_at(dir: impl AsFd, name: &CStr) -> Option<Status> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return None;
    }
    let mut b = vec![0u8; status::MAX_BYTES + 1];
    let mut n = 0;
    while n < b.len() {
        match rustix::io::read(&fd, &mut b[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return None,
        }
    }
    status::parse(&b[..n])
}

impl Found {
    /// Take in the status files of the directory `dir` (already open).
    pub(crate) fn scan(&mut self, dir: &OwnedFd) {
        let Ok(d) = Dir::read_from(dir) else {
            return;
        };
        let mut bad = 0;
        for ent in d.flatten() {
            let name = ent.file_name();
            if !name.to_bytes().starts_with(status::PREFIX.as_bytes()) {
                continue;
            }
            match read_at(dir, name) {
                Some(s) => self.add(s),
                None => bad += 1,
            }
        }
        if bad > 0 {
            note_bad(bad);
        }
    }

    fn add(&mut self, s: Status) {
        let key = (s.directory.clone(), s.destination.clone());
        match self.by.get(&key) {
            Some(old) if old.updated >= s.updated => {}
            _ => {
                self.by.insert(key, s);
            }
        }
    }

    /// Add `other`'s statuses.
    pub(crate) fn join(&mut self, other: Found) {
        for s in other.by.into_values() {
            self.add(s);
        }
    }

    /// The samples, in (directory, destination) order.
    pub(crate) fn samples(self, e: &mut Exposition) {
        for s in self.by.values() {
            let labels = [
                ("service", s.service.as_str()),
                ("directory", s.directory.as_str()),
                ("destination", s.destination.as_str()),
            ];
            e.sample_labels(M::LOGSHIP_LAG_BYTES as usize, &labels, &s.lag_bytes);
            e.sample_labels(M::LOGSHIP_LAG_LINES as usize, &labels, &s.lag_lines);
            if let Some(t) = s.last_ack {
                e.sample_labels(M::LOGSHIP_LAST_ACK as usize, &labels, &t);
            }
            let up = u8::from(s.state == State::Sending);
            e.sample_labels(M::LOGSHIP_UP as usize, &labels, &up);
            let refused = u8::from(s.state == State::Refused);
            e.sample_labels(M::LOGSHIP_REFUSED as usize, &labels, &refused);
            e.sample_labels(M::LOGSHIP_UPDATED as usize, &labels, &s.updated);
        }
    }
}

/// Count `n` status files skipped; warn when due.
fn note_bad(n: u64) {
    let Ok(mut g) = BAD.lock() else {
        return;
    };
    let r = g.get_or_insert_with(Default::default);
    r.note(n, None);
    r.flush(Instant::now(), |c| {
        format!("{c} logship status files unreadable or not status files, skipped")
    });
}
