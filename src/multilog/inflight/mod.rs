//! The in-flight record: one small file, `inflight` in the first log
//! directory, that lets a multilog started after a `SIGKILL` on the same
//! pipe log exactly what its predecessor had not logged (see
//! [`super::steps`] for the protocol, [`codec`] and docs/durability.md for
//! the format).
//!
//! The file is a 4096-byte header followed by input bytes that were taken
//! off stdin: from offset `logged` to the end of the file they are the
//! *carry*, input consumed but not yet logged (the start of an incomplete
//! line, taken so that multilog can wait for its end; or nothing). Bytes
//! before `logged` are witnesses of earlier steps and mean nothing more.
//!
//! A header made on another pipe, for another script, in the first
//! format, or with any field out of range is refused with a warning (and
//! the directories recover as daemontools does).

pub mod codec;

use std::fs::File;
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::logdir::Freer;
use super::retry::retry;
use crate::error::{Fatal, Unable};
use codec::{Ctx, Refused};
pub(crate) use codec::{Found, PipeId, Step, HDR, MAX_DIRS};

/// The record's file name, in the first log directory.
pub(crate) const NAME: &str = crate::logdir::names::INFLIGHT;
/// The witness bytes are dropped (the file truncated to its header) once
/// they pass this size and there is no carry.
const RESET_AT: u64 = HDR + (1 << 20);

/// The open record.
pub(crate) struct Record {
    pub(crate) file: File,
    /// Size of the file.
    pub(crate) end: u64,
    /// Start of the carry.
    pub(crate) logged: u64,
    names: u64,
    ndirs: usize,
    pipe: PipeId,
    /// The header on disk says idle at this `logged`.
    idle_at: Option<u64>,
    /// The engine's long-line state after the last step, kept in an idle
    /// header too: a step may end inside a long line.
    pub(crate) long: (bool, Vec<bool>),
    buf: Vec<u8>,
    dir: String,
    /// `N` of the first directory: frees space for the record's writes.
    pub(crate) free: Option<Freer>,
}

/// Read the header of `fd` (a record of `len` bytes) and check it.
fn read_header(fd: &impl std::os::fd::AsFd, buf: &mut [u8], ctx: &Ctx) -> Result<Found, Refused> {
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::pread(fd, &mut buf[got..], got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    if got < buf.len() {
        return Err(Refused::NotRecord);
    }
    codec::decode(buf, ctx)
}

/// The warning for a refused record: `ignoring DIR/inflight: WHY`.
pub(crate) fn refusal(dir: &str, why: &Refused) -> String {
    format!("ignoring {dir}/{NAME}: {}", why.why())
}

impl Record {
    /// Open (or create) the record in `dirfd` (the first directory, named
    /// `dir`) for a script whose directories are `names`, reading `pipe`.
    /// `seen` is what [`Record::look`] found before the directories were
    /// locked: the record is used only if it still says exactly that;
    /// otherwise it is emptied (no carry, nothing to settle).
    ///
    /// # Errors
    /// The file cannot be opened or read.
    pub(crate) fn open(
        dirfd: &OwnedFd,
        dir: &str,
        names: &[&[u8]],
        pipe: PipeId,
        seen: &Found,
    ) -> Result<(Record, Found), Fatal> {
        let fd = rustix::fs::openat(
            dirfd,
            NAME,
            OFlags::RDWR | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        )
        .unable(|| format!("open {dir}/{NAME}"))?;
        let file = File::from(fd);
        let st = rustix::fs::fstat(&file).unable(|| format!("stat {dir}/{NAME}"))?;
        let end = st.st_size as u64;
        let mut rec = Record {
            file,
            end,
            logged: HDR,
            names: codec::names_hash(names),
            ndirs: names.len(),
            pipe,
            idle_at: None,
            long: (false, vec![false; names.len()]),
            buf: vec![0; HDR as usize],
            dir: dir.to_string(),
            free: None,
        };
        let ctx = rec.ctx();
        let found = match read_header(&rec.file, &mut rec.buf, &ctx) {
            Ok(f) if &f == seen => f,
            _ => Found::Nothing,
        };
        match found {
            Found::Idle(l, ..) => rec.logged = l.min(rec.end),
            Found::Step(_) => {}
            Found::Nothing => {
                // Nothing here can be trusted: no carry, and a header of
                // zeros until the first write.
                rec.buf.fill(0);
                rustix::io::pwrite(&rec.file, &rec.buf, 0)
                    .unable(|| format!("write {dir}/{NAME}"))?;
                rustix::fs::ftruncate(&rec.file, HDR).unable(|| format!("write {dir}/{NAME}"))?;
                rec.end = HDR;
            }
        }
        Ok((rec, found))
    }

    /// What the record in directory `dir` (relative to `startfd`) says to
    /// a multilog reading `pipe`, read before the directories are locked
    /// and started (each is started before the next is locked, as
    /// daemontools does). No record: `Ok(Found::Nothing)`.
    ///
    /// # Errors
    /// The record is not one to act on.
    pub(crate) fn look(
        startfd: &OwnedFd,
        dir: &[u8],
        names: &[&[u8]],
        pipe: PipeId,
    ) -> Result<Found, Refused> {
        let mut path = dir.to_vec();
        path.extend_from_slice(b"/");
        path.extend_from_slice(NAME.as_bytes());
        let Ok(fd) = rustix::fs::openat(
            startfd,
            &path[..],
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK,
            Mode::empty(),
        ) else {
            return Ok(Found::Nothing);
        };
        let len = match rustix::fs::fstat(&fd) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                st.st_size as u64
            }
            _ => return Err(Refused::NotRecord),
        };
        if len == 0 {
            return Ok(Found::Nothing);
        }
        let ctx = Ctx {
            ndirs: names.len(),
            names: codec::names_hash(names),
            pipe,
            len,
        };
        read_header(&fd, &mut vec![0u8; HDR as usize], &ctx)
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            ndirs: self.ndirs,
            names: self.names,
            pipe: self.pipe,
            len: self.end,
        }
    }

    /// Encode and write the header (`step` `None`: idle at `self.logged`).
    fn write(&mut self, step: Option<&Step>) {
        let what = match step {
            None => Found::Idle(self.logged, self.long.0, self.long.1.clone()),
            Some(s) => Found::Step(s.clone()),
        };
        let ctx = self.ctx();
        codec::encode(&mut self.buf, &ctx, &what);
        let (file, data, dir) = (&self.file, &self.buf[..], &self.dir);
        let free = &self.free;
        retry(
            || format!("unable to write to {dir}/{NAME}"),
            || loop {
                match rustix::io::pwrite(file, data, 0).map_err(std::io::Error::from) {
                    Err(e) if free.as_ref().is_some_and(|f| f(&e)) => {}
                    r => return r,
                }
            },
        );
        self.idle_at = if step.is_none() {
            Some(self.logged)
        } else {
            None
        };
    }

    /// Record a step before its writes.
    pub(crate) fn begin(&mut self, step: &Step) {
        self.write(Some(step));
    }

    /// Make the header say "idle at `logged`" (before a rotation, which
    /// changes `current`, and before bytes are added to the carry).
    pub(crate) fn idle(&mut self) {
        if self.idle_at != Some(self.logged) {
            self.write(None);
        }
    }

    /// The carry's bytes.
    ///
    /// # Errors
    /// The file cannot be read.
    pub(crate) fn carry(&self) -> Result<Vec<u8>, Fatal> {
        let n = usize::try_from(self.end - self.logged).unwrap_or(0);
        let mut v = vec![0; n];
        let mut got = 0;
        while got < n {
            match rustix::io::pread(&self.file, &mut v[got..], self.logged + got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) => return Err(Fatal::new(format!("unable to read {}/{NAME}", self.dir), e)),
            }
        }
        v.truncate(got);
        Ok(v)
    }

    /// Drop the witnesses of past steps when they have grown and there is
    /// no carry: idle first, so that no step is judged by a shorter file.
    pub(crate) fn maybe_reset(&mut self) {
        if self.end < RESET_AT || self.logged != self.end {
            return;
        }
        self.idle();
        let (file, dir) = (&self.file, &self.dir);
        retry(
            || format!("unable to write to {dir}/{NAME}"),
            || rustix::fs::ftruncate(file, HDR),
        );
        self.end = HDR;
        self.logged = HDR;
    }

    /// After a clean exit with nothing carried: remove the record.
    pub(crate) fn remove(self, dirfd: &OwnedFd) {
        if self.logged == self.end {
            let _ = rustix::fs::unlinkat(dirfd, NAME, AtFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, OwnedFd) {
        let t = tempfile::tempdir().unwrap();
        let fd = rustix::fs::open(
            t.path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        (t, fd)
    }

    const PIPE: PipeId = PipeId { dev: 7, ino: 42 };

    #[test]
    fn step_round_trips_and_a_torn_foreign_or_stale_header_is_refused() {
        let (t, fd) = dir();
        let names: &[&[u8]] = &[b"./a", b"./b"];
        let (mut r, found) = Record::open(&fd, "./a", names, PIPE, &Found::Nothing).unwrap();
        assert_eq!(found, Found::Nothing);
        let step = Step {
            logged0: HDR,
            w0: HDR,
            carry_used: 0,
            npipe: 100,
            j: 99,
            b0: b'L',
            long_before: false,
            long_after: true,
            dirs: vec![(10, 20, false, true), (0, 0, false, false)],
        };
        r.begin(&step);
        drop(r);
        let seen = Record::look(&fd, b".", names, PIPE).unwrap();
        assert_eq!(seen, Found::Step(step.clone()));
        let (_, found) = Record::open(&fd, "./a", names, PIPE, &seen).unwrap();
        assert_eq!(found, Found::Step(step));
        // Another script, another pipe: refused.
        let other = Record::look(&fd, b".", &[b"./a"], PIPE);
        assert_eq!(other, Err(Refused::OtherScript));
        let pipe = PipeId { dev: 7, ino: 43 };
        let other = Record::look(&fd, b".", names, pipe);
        assert_eq!(other, Err(Refused::OtherPipe { carry: 0 }));
        // A flipped byte: refused, and open() empties the record.
        let p = t.path().join(NAME);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[50] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(Record::look(&fd, b".", names, PIPE), Err(Refused::Corrupt));
        let (mut r, found) = Record::open(&fd, "./a", names, PIPE, &Found::Nothing).unwrap();
        assert_eq!(found, Found::Nothing);
        assert!(std::fs::read(&p).unwrap().iter().all(|&c| c == 0));
        r.idle();
        let idle = Found::Idle(HDR, false, vec![false, false]);
        assert_eq!(Record::look(&fd, b".", names, PIPE), Ok(idle.clone()));
        // What open() reads must be what look() saw, else nothing is used.
        let (_, found) = Record::open(&fd, "./a", names, PIPE, &Found::Nothing).unwrap();
        assert_eq!(found, Found::Nothing);
    }
}
