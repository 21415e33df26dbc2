//! The in-flight record: one small file, `inflight` in the first log
//! directory, that lets a multilog started after a `SIGKILL` on the same
//! pipe log exactly what its predecessor had not logged (see
//! [`super::steps`] for the protocol, docs/durability.md for the format).
//!
//! The file is a 4096-byte header followed by input bytes that were taken
//! off stdin: from offset `logged` to the end of the file they are the
//! *carry*, input consumed but not yet logged (the start of an incomplete
//! line, taken so that multilog can wait for its end; or nothing). Bytes
//! before `logged` are witnesses of earlier steps and mean nothing more.
//!
//! Header, little-endian; written with one `pwrite(2)` into one page, so a
//! kill leaves either the old or the new one:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic `mlinfl1\n` |
//! | 8 | 4 | state: 0 idle, 1 step |
//! | 12 | 4 | number of directories `D` (at most [`MAX_DIRS`]) |
//! | 16 | 8 | FNV-1a 64 of the directory names, each followed by a NUL |
//! | 24 | 8 | `logged` (idle), `logged` before the step (step) |
//! | 32 | 8 | `w0`: file size when the step began |
//! | 40 | 8 | `carry_used`: carry bytes the step logs |
//! | 48 | 8 | `npipe`: stdin bytes the step logs |
//! | 56 | 8 | `j`: of those, bytes taken off stdin without a witness |
//! | 64 | 1 | `b0`: the first of the `npipe` bytes |
//! | 65 | 1 | inside a long line before the step (0/1) |
//! | 66 | 1 | inside a long line after the step (idle: now) (0/1) |
//! | 67 | 5 | zero |
//! | 72 + 24k | 8 | `A`: size of directory k's `current` before the step |
//! | 80 + 24k | 8 | `B`: its size after the step |
//! | 88 + 24k | 1 | long line goes to directory k, before the step (0/1) |
//! | 89 + 24k | 1 | the same after the step (idle: now) |
//! | 90 + 24k | 6 | zero |
//! | 72 + 24D | 8 | FNV-1a 64 of bytes 0 .. 72 + 24D |
//!
//! A header whose magic, size or checksum is wrong, or whose names differ
//! from the script's, is ignored (and the directories recover as
//! daemontools does).

use std::fs::File;
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, Mode, OFlags};

use super::logdir::Freer;
use super::retry::retry;
use crate::error::{Fatal, Unable};

/// The record's file name, in the first log directory.
pub(crate) const NAME: &str = "inflight";
/// Size of the header; input bytes follow it.
pub(crate) const HDR: u64 = 4096;
const MAGIC: &[u8; 8] = b"mlinfl1\n";
const FIXED: usize = 72;
const PER_DIR: usize = 24;
/// Most directories one header can describe; with more, multilog reads
/// stdin as daemontools does.
pub(crate) const MAX_DIRS: usize = (HDR as usize - FIXED - 8) / PER_DIR;
/// The witness bytes are dropped (the file truncated to its header) once
/// they pass this size and there is no carry.
const RESET_AT: u64 = HDR + (1 << 20);

/// One step, as recorded before its writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Step {
    pub logged0: u64,
    pub w0: u64,
    pub carry_used: u64,
    pub npipe: u64,
    pub j: u64,
    pub b0: u8,
    pub long_before: bool,
    pub long_after: bool,
    /// Per directory: `A`, `B`, long-line selection before and after.
    pub dirs: Vec<(u64, u64, bool, bool)>,
}

/// What a start-up found in the record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No usable record: recover as daemontools does.
    Nothing,
    /// No step in flight; the carry starts at `logged`; the long-line
    /// state (inside one, and to which directories it goes).
    Idle(u64, bool, Vec<bool>),
    /// A step was in flight when the previous process died.
    Step(Step),
}

/// The open record.
pub(crate) struct Record {
    pub(crate) file: File,
    /// Size of the file.
    pub(crate) end: u64,
    /// Start of the carry.
    pub(crate) logged: u64,
    names: u64,
    ndirs: usize,
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

/// FNV-1a, 64 bits.
fn fnv(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

impl Record {
    /// Open (or create) the record in `dirfd` (the first directory, named
    /// `dir`) for a script whose directories are `names`, and read what
    /// the previous process left.
    ///
    /// # Errors
    /// The file cannot be opened or read.
    pub(crate) fn open(
        dirfd: &OwnedFd,
        dir: &str,
        names: &[&[u8]],
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
        let mut h = FNV0;
        for n in names {
            h = fnv(n, h);
            h = fnv(&[0], h);
        }
        let mut rec = Record {
            file,
            end,
            logged: HDR,
            names: h,
            ndirs: names.len(),
            idle_at: None,
            long: (false, vec![false; names.len()]),
            buf: vec![0; HDR as usize],
            dir: dir.to_string(),
            free: None,
        };
        let found = if end < HDR {
            // New (or cut short): start from an empty record.
            rustix::fs::ftruncate(&rec.file, HDR).unable(|| format!("write {dir}/{NAME}"))?;
            rec.end = HDR;
            Found::Nothing
        } else {
            let mut got = 0;
            while got < rec.buf.len() {
                match rustix::io::pread(&rec.file, &mut rec.buf[got..], got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) => return Err(Fatal::new(format!("unable to read {dir}/{NAME}"), e)),
                }
            }
            rec.decode()
        };
        match found {
            Found::Idle(l, ..) => rec.logged = l.min(rec.end),
            Found::Step(_) => {}
            Found::Nothing => {
                // Nothing here can be trusted: no carry.
                rustix::fs::ftruncate(&rec.file, HDR).unable(|| format!("write {dir}/{NAME}"))?;
                rec.end = HDR;
            }
        }
        Ok((rec, found))
    }

    /// What the record in directory `dir` (relative to `startfd`) says,
    /// read before the directories are locked and started (each is
    /// started before the next is locked, as daemontools does).
    pub(crate) fn look(startfd: &OwnedFd, dir: &[u8], names: &[&[u8]]) -> Found {
        let mut path = dir.to_vec();
        path.extend_from_slice(b"/");
        path.extend_from_slice(NAME.as_bytes());
        let Ok(fd) = rustix::fs::openat(
            startfd,
            &path[..],
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK,
            Mode::empty(),
        ) else {
            return Found::Nothing;
        };
        let mut h = FNV0;
        for n in names {
            h = fnv(n, h);
            h = fnv(&[0], h);
        }
        let mut buf = vec![0u8; HDR as usize];
        let mut got = 0;
        while got < buf.len() {
            match rustix::io::pread(&fd, &mut buf[got..], got as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        if got < buf.len() {
            return Found::Nothing;
        }
        decode(&buf, names.len(), h)
    }

    fn decode(&self) -> Found {
        decode(&self.buf, self.ndirs, self.names)
    }
}

fn decode(b: &[u8], want_dirs: usize, names: u64) -> Found {
    {
        if &b[..8] != MAGIC {
            return Found::Nothing;
        }
        let ndirs = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
        if ndirs != want_dirs || ndirs > MAX_DIRS || u64_at(b, 16) != names {
            return Found::Nothing;
        }
        let used = FIXED + PER_DIR * ndirs;
        if u64_at(b, used) != fnv(&b[..used], FNV0) {
            return Found::Nothing;
        }
        match u32::from_le_bytes([b[8], b[9], b[10], b[11]]) {
            0 => Found::Idle(
                u64_at(b, 24),
                b[66] != 0,
                (0..ndirs)
                    .map(|k| b[FIXED + PER_DIR * k + 17] != 0)
                    .collect(),
            ),
            1 => Found::Step(Step {
                logged0: u64_at(b, 24),
                w0: u64_at(b, 32),
                carry_used: u64_at(b, 40),
                npipe: u64_at(b, 48),
                j: u64_at(b, 56),
                b0: b[64],
                long_before: b[65] != 0,
                long_after: b[66] != 0,
                dirs: (0..ndirs)
                    .map(|k| {
                        let o = FIXED + PER_DIR * k;
                        (
                            u64_at(b, o),
                            u64_at(b, o + 8),
                            b[o + 16] != 0,
                            b[o + 17] != 0,
                        )
                    })
                    .collect(),
            }),
            _ => Found::Nothing,
        }
    }
}

impl Record {
    /// Encode and write the header (`step` `None`: idle at `self.logged`).
    fn write(&mut self, step: Option<&Step>) {
        let used = FIXED + PER_DIR * self.ndirs;
        let b = &mut self.buf[..used + 8];
        b.fill(0);
        b[..8].copy_from_slice(MAGIC);
        b[12..16].copy_from_slice(&(self.ndirs as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.names.to_le_bytes());
        match step {
            None => {
                b[24..32].copy_from_slice(&self.logged.to_le_bytes());
                b[66] = u8::from(self.long.0);
                for (k, &on) in self.long.1.iter().enumerate() {
                    b[FIXED + PER_DIR * k + 17] = u8::from(on);
                }
            }
            Some(s) => {
                b[8] = 1;
                for (off, v) in [
                    (24, s.logged0),
                    (32, s.w0),
                    (40, s.carry_used),
                    (48, s.npipe),
                    (56, s.j),
                ] {
                    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
                }
                b[64] = s.b0;
                b[65] = u8::from(s.long_before);
                b[66] = u8::from(s.long_after);
                for (k, &(a, bb, before, after)) in s.dirs.iter().enumerate() {
                    let o = FIXED + PER_DIR * k;
                    b[o..o + 8].copy_from_slice(&a.to_le_bytes());
                    b[o + 8..o + 16].copy_from_slice(&bb.to_le_bytes());
                    b[o + 16] = u8::from(before);
                    b[o + 17] = u8::from(after);
                }
            }
        }
        let sum = fnv(&b[..used], FNV0);
        b[used..used + 8].copy_from_slice(&sum.to_le_bytes());
        let (file, data, dir) = (&self.file, &self.buf[..used + 8], &self.dir);
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

    #[test]
    fn step_round_trips_and_a_torn_or_foreign_header_is_ignored() {
        let (t, fd) = dir();
        let names: &[&[u8]] = &[b"./a", b"./b"];
        let (mut r, found) = Record::open(&fd, "./a", names).unwrap();
        assert_eq!(found, Found::Nothing);
        let step = Step {
            logged0: HDR,
            w0: HDR + 3,
            carry_used: 3,
            npipe: 100,
            j: 99,
            b0: b'L',
            long_before: false,
            long_after: true,
            dirs: vec![(10, 20, false, true), (0, 0, false, false)],
        };
        r.begin(&step);
        drop(r);
        let (_, found) = Record::open(&fd, "./a", names).unwrap();
        assert_eq!(found, Found::Step(step));
        // Another script: ignored.
        let (_, found) = Record::open(&fd, "./a", &[b"./a"]).unwrap();
        assert_eq!(found, Found::Nothing);
        // A flipped byte: ignored.
        let p = t.path().join(NAME);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[50] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        let (mut r, found) = Record::open(&fd, "./a", names).unwrap();
        assert_eq!(found, Found::Nothing);
        r.idle();
        let (_, found) = Record::open(&fd, "./a", names).unwrap();
        assert_eq!(found, Found::Idle(HDR, false, vec![false, false]));
    }
}
