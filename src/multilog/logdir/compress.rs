//! The extension `Z`: finished archives compressed with zstd, on the
//! directory's finishing thread, into `@<label>.s.zst` (the label the `.s`
//! had, so names still sort by time and `zstd -d` gives back exactly the
//! archive's bytes).
//!
//! Crash safety: the compressed stream goes to `compressing<i>` (a name
//! that is no archive, so retention never counts it), is fsynced, renamed
//! to `@<label>.s.zst`, the directory fsynced, and only then the source
//! (`@<label>.u` just rotated, or a processor's `@<label>.s`) removed.
//! Killed at any moment, the directory holds the complete source, or the
//! complete `.s.zst` (with, at worst, the source still beside it);
//! start-up ([`Shared::clean_compression`]) removes `compressing*` and
//! such a source; a `.u` left alone is finished as `.s` as usual.
//!
//! Back-pressure: compression runs inside the finishing of a rotation, so
//! the writer waits (in `Finisher::make_room`) once `MAX_IN_FLIGHT` rotated
//! files are unfinished; memory stays that of one encoder.

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode};
use rustix::io::Errno;

use super::retention::rename_noreplace;
use super::{Shared, READ, TRUNC};
use crate::error::{self, Fatal, Unable};

use crate::logdir::names::{with_kind, Kind, COMPRESSING, S, U, ZST};
/// zstd's own compression threads per encoder. Two let a rotation be
/// compressed on both cores while the writer waits for input: with 400 MB of
/// gen-log through `t s16777215 n10 Z`, 2.9 s against 3.5–4.8 s for the
/// single-threaded encoder on a loaded 2-core machine, the same CPU time
/// (BENCHMARKS.md). The frame is the same format (`zstd -d` reads it).
const WORKERS: u32 = 2;
/// Read size while compressing.
const CHUNK: usize = 256 * 1024;

/// fsync a list of files (concurrently, on the finisher's pool).
pub(super) type SyncAll<'a> = dyn Fn(&[Arc<File>]) -> Vec<io::Result<()>> + 'a;

/// The temporary name of the `i`-th compression of a batch.
fn temp_name(i: usize) -> String {
    format!("{COMPRESSING}{i}")
}

impl Shared {
    /// `Z` for rotated `@….u` files (mode 0754, not yet on disk): compress
    /// each straight to `@<label>.s.zst` and remove the `.u`, so the plain
    /// bytes need never be written to disk. Killed before the rename, a
    /// `.u` is still a complete rotation that the next start finishes as
    /// `.s`. The batch's compressed files are fsynced together and the
    /// directory once. Returns the names done with (compressed, or trimmed
    /// away meanwhile); the caller finishes the others as `.s`.
    pub(super) fn compress_rotated(
        &self,
        targets: &[&str],
        level: i32,
        sync_all: &SyncAll<'_>,
    ) -> Vec<String> {
        let pairs: Vec<(String, String)> = targets
            .iter()
            .map(|t| ((*t).to_string(), with_kind(t, Kind::Zst)))
            .collect();
        self.compress_all(&pairs, level, sync_all)
    }

    /// `Z` for a finished `@….s` (a processor's output): compress it to
    /// `@….s.zst`; on failure the `.s` stays as it is.
    pub(super) fn compress(&self, done: &str, level: i32) {
        let pairs = [(done.to_string(), with_kind(done, Kind::Zst))];
        self.compress_all(&pairs, level, &|files| {
            files.iter().map(|f| (self.fsync)(f)).collect()
        });
    }

    /// Compress each `(src, zst)`; return the `src` names dealt with.
    /// A failure is announced and leaves that `src` as it was.
    fn compress_all(
        &self,
        pairs: &[(String, String)],
        level: i32,
        sync_all: &SyncAll<'_>,
    ) -> Vec<String> {
        let name = &self.name;
        let d = &self.dirfd;
        let warn = |src: &str, i: usize, e: &io::Error| {
            error::warn(
                "multilog",
                &format!("unable to compress {name}/{src}, leaving it uncompressed"),
                Some(e),
            );
            let _ = rustix::fs::unlinkat(d, temp_name(i).as_str(), AtFlags::empty());
        };
        let mut done = Vec::new();
        let mut written = Vec::new();
        for (i, (src, _)) in pairs.iter().enumerate() {
            match self.compress_one(src, &temp_name(i), level) {
                Ok(Some(f)) => written.push((i, Arc::new(f))),
                Ok(None) => done.push(src.clone()),
                Err(e) => warn(src, i, &e),
            }
        }
        let files: Vec<Arc<File>> = written.iter().map(|w| Arc::clone(&w.1)).collect();
        let synced = sync_all(&files);
        let mut renamed = Vec::new();
        {
            // Under the listing lock: retention sees each archive once, and
            // cannot remove a `src` between the check and the rename.
            let _listing = self.lock_listing();
            for ((i, _), synced) in written.into_iter().zip(synced) {
                let (src, zst) = &pairs[i];
                let r = synced.and_then(|()| self.put_in_place(src, &temp_name(i), zst));
                match r {
                    Ok(true) => renamed.push(src.clone()),
                    Ok(false) => done.push(src.clone()),
                    Err(e) => warn(src, i, &e),
                }
            }
            if !renamed.is_empty() {
                // The `.s.zst` names are on disk before a `src` goes.
                self.sync_dir();
                for src in &renamed {
                    let _ = rustix::fs::unlinkat(d, src.as_str(), AtFlags::empty());
                }
            }
        }
        if !renamed.is_empty() {
            self.trim_with(true);
        }
        done.extend(renamed);
        done
    }

    /// Compress `src` into `temp` (not yet synced); `None` if `src` is gone.
    fn compress_one(&self, src: &str, temp: &str, level: i32) -> io::Result<Option<File>> {
        let d = &self.dirfd;
        let mut input = match rustix::fs::openat(d, src, READ, Mode::empty()) {
            Ok(f) => File::from(f),
            // Trimmed away meanwhile.
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = input.metadata()?.len();
        let tmp = File::from(rustix::fs::openat(
            d,
            temp,
            TRUNC,
            Mode::from_raw_mode(0o600),
        )?);
        let mut enc = encoder(tmp, level, size)?;
        let mut buf = vec![0u8; CHUNK];
        let mut left = size;
        while left > 0 {
            let n = input.read(&mut buf)?;
            if n == 0 {
                // The file shrank: not an archive we made.
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            enc.write_all(&buf[..n])?;
            left = left.saturating_sub(n as u64);
        }
        let tmp = enc.finish()?;
        rustix::fs::fchmod(&tmp, Mode::from_raw_mode(0o744))?;
        Ok(Some(tmp))
    }

    /// Rename the synced `temp` to `zst` if `src` is still there (true),
    /// else drop it (false). The caller holds the listing lock.
    fn put_in_place(&self, src: &str, temp: &str, zst: &str) -> io::Result<bool> {
        let d = &self.dirfd;
        match rustix::fs::statat(d, src, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => {}
            Err(Errno::NOENT) => {
                let _ = rustix::fs::unlinkat(d, temp, AtFlags::empty());
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        rename_noreplace(d, temp, zst)?;
        Ok(true)
    }

    /// Start-up: remove what an interrupted compression left, the partial
    /// `compressing` and a `.s` or `.u` whose `.s.zst` is complete (renamed
    /// into place only after its fsync). Done whatever the script says, so a
    /// directory once written with `Z` is consistent without it.
    pub(super) fn clean_compression(&self) -> Result<(), Fatal> {
        let name = &self.name;
        let d = &self.dirfd;
        let mut twins = Vec::new();
        let dir = rustix::fs::Dir::read_from(d).unable(|| format!("read {name}"))?;
        for ent in dir {
            let ent = ent.unable(|| format!("read {name}"))?;
            let n = ent.file_name().to_bytes();
            if n.starts_with(COMPRESSING.as_bytes()) {
                twins.push(n.to_vec());
            } else if n.first() == Some(&b'@') && n.ends_with(ZST.as_bytes()) {
                let stem = &n[..n.len() - ZST.len()];
                for suffix in [S, U] {
                    twins.push([stem, suffix.as_bytes()].concat());
                }
            }
        }
        for s in twins {
            match rustix::fs::unlinkat(d, &s[..], AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => {
                    let s = String::from_utf8_lossy(&s);
                    return Err(Fatal::new(format!("unable to remove {name}/{s}"), e));
                }
            }
        }
        Ok(())
    }
}

/// The encoder for an archive of `size` bytes: a checksum, so `zstd -t`
/// can verify an archive, and the size up front, so the frame records it.
fn encoder<W: Write>(out: W, level: i32, size: u64) -> io::Result<zstd::Encoder<'static, W>> {
    let mut enc = zstd::stream::write::Encoder::new(out, level)?;
    enc.multithread(WORKERS)?;
    enc.include_checksum(true)?;
    enc.set_pledged_src_size(Some(size))?;
    Ok(enc)
}

/// Compress `data` as [`Shared::compress`] does.
#[cfg(test)]
fn encode(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let mut enc = encoder(Vec::new(), level, data.len() as u64)?;
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{open_dir, put_file, real_fsync, start_ext};
    use super::*;
    use crate::multilog::script::DirExt;

    fn zext() -> DirExt {
        DirExt {
            zstd: Some(3),
            ..DirExt::default()
        }
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rotation_ends_as_zst_that_decodes_exactly() {
        let tmp = tempfile::tempdir().unwrap();
        let startfd = open_dir(tmp.path());
        let mut d = start_ext(&startfd, None, real_fsync, zext());
        let mut want = Vec::new();
        for i in 0..3 {
            let line = format!("line {i} {}\n", "x".repeat(i * 100));
            d.put(line.as_bytes());
            d.force_rotate();
            want.push(line.into_bytes());
        }
        d.quit();
        let dir = tmp.path().join("d");
        let zst: Vec<String> = names(&dir)
            .into_iter()
            .filter(|n| n.starts_with('@'))
            .collect();
        assert_eq!(zst.len(), 3, "{zst:?}");
        for (n, w) in zst.iter().zip(&want) {
            assert!(n.ends_with(".s.zst") && n.len() == 31, "{n}");
            let got = zstd::decode_all(&std::fs::read(dir.join(n)).unwrap()[..]).unwrap();
            assert_eq!(&got, w);
        }
        assert!(!names(&dir).iter().any(|n| n.starts_with(COMPRESSING)));
    }

    #[test]
    fn leftovers_cleaned_at_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let a = "@400000000000000000000001.s";
        let b = "@400000000000000000000002.s";
        put_file(&dir, a, b"a\n", 0o744);
        put_file(
            &dir,
            &format!("{a}.zst"),
            &encode(b"a\n", 3).unwrap(),
            0o744,
        );
        put_file(&dir, b, b"b\n", 0o744);
        let c = "@400000000000000000000003.s";
        put_file(&dir, "@400000000000000000000003.u", b"c\n", 0o754);
        put_file(
            &dir,
            &format!("{c}.zst"),
            &encode(b"c\n", 3).unwrap(),
            0o744,
        );
        put_file(&dir, &temp_name(0), b"partial", 0o600);
        put_file(&dir, &temp_name(3), b"partial", 0o600);
        put_file(&dir, "current", b"", 0o744);
        drop(start_ext(&open_dir(tmp.path()), None, real_fsync, zext()));
        assert_eq!(
            names(&dir),
            [
                &format!("{a}.zst"),
                b,
                &format!("{c}.zst"),
                "current",
                "lock"
            ]
            .map(String::from)
        );
    }
}
