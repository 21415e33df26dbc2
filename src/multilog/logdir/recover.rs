//! Start-up recovery: the crash branch of `multilog.c:restart`, and the
//! finishing of complete rotations a killed process left as `.u`.

use std::fs::File;

use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;

use super::{Shared, APPEND, MAX_IN_FLIGHT, READ, ROTATED, TRUNC};
use crate::error::{Fatal, Unable};
use crate::logdir::names::{loose_kind, Kind, CURRENT, NEWSTATE, PREVIOUS, PROCESSED, STATE};

impl Shared {
    /// Crash recovery (the non-x-bit branch of `restart`), exactly as
    /// daemontools: `processed` complete → `.s`, else `previous` → `.u`;
    /// `current` → `.u`; empty `state`; new `current`. Also trims first.
    ///
    /// With `keep_current`, `current` is continued instead of archived:
    /// the in-flight record has cut it back to the end of the last step
    /// that was complete (see `multilog::inflight`).
    pub(super) fn recover(&self, keep_current: bool) -> Result<File, Fatal> {
        let name = &self.name;
        let d = &self.dirfd;
        // A process killed between renaming `current` to `@….u` and
        // trimming left `n` archives; trim first, or archiving `current`
        // would make `n + 1`. (The archives left at the end are the same:
        // the ones made here are the newest.)
        self.trim();
        let _ = rustix::fs::unlinkat(d, STATE, AtFlags::empty());
        let _ = rustix::fs::unlinkat(d, NEWSTATE, AtFlags::empty());
        match rustix::fs::statat(d, PROCESSED, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & super::COMPLETE != 0 => {
                let _ = rustix::fs::unlinkat(d, PREVIOUS, AtFlags::empty());
                self.finish(PROCESSED, Kind::S);
            }
            Ok(_) | Err(Errno::NOENT) => {
                let _ = rustix::fs::unlinkat(d, PROCESSED, AtFlags::empty());
                self.finish(PREVIOUS, Kind::U);
            }
            Err(e) => return Err(Fatal::new(format!("unable to stat {name}/processed"), e)),
        }
        if !keep_current {
            self.finish(CURRENT, Kind::U);
        }
        let state = rustix::fs::openat(d, STATE, TRUNC, Mode::from_raw_mode(0o644))
            .unable(|| format!("write to {name}/state"))?;
        drop(state);
        let cur = rustix::fs::openat(d, CURRENT, APPEND, Mode::from_raw_mode(0o600))
            .unable(|| format!("write to {name}/current"))?;
        rustix::fs::fchmod(&cur, Mode::from_raw_mode(0o644))
            .unable(|| format!("set mode of {name}/current"))?;
        self.sync_dir();
        Ok(File::from(cur))
    }

    /// Finish, in label order, every `@….u` in mode [`ROTATED`]: rotations
    /// that were complete when a previous multilog was killed before its
    /// finisher got to them (fsync, `.s` under the same label, 0744). Only
    /// without a processor, whose rotations never make `.u` files. With
    /// `Z` they are returned instead, for the finishing thread.
    ///
    /// Only files marked since the system booted: the mark is set before
    /// the data is on disk, so a rotation marked before a power cut may
    /// have lost data that no fsync now brings back (found by the
    /// crash-state checker, tests/it/crashstate). A kill leaves the data in
    /// the page cache, a power cut means a new boot; a file marked in an
    /// earlier boot stays `.u`.
    pub(super) fn finish_rotations(&self) -> Result<Vec<(File, String)>, Fatal> {
        self.finish_rotations_since(booted())
    }

    /// [`Shared::finish_rotations`] for files whose mark (inode change
    /// time) is not older than `boot` (seconds, nanoseconds).
    fn finish_rotations_since(&self, boot: (i64, i64)) -> Result<Vec<(File, String)>, Fatal> {
        let mut left = Vec::new();
        if self.processor.is_some() {
            return Ok(left);
        }
        let name = &self.name;
        let mut found = Vec::new();
        let mut done = Vec::new();
        let dir = rustix::fs::Dir::read_from(&self.dirfd).unable(|| format!("read {name}"))?;
        for ent in dir {
            let ent = ent.unable(|| format!("read {name}"))?;
            let n = ent.file_name().to_bytes();
            match loose_kind(n) {
                Some(Kind::U) => found.push(String::from_utf8_lossy(n).into_owned()),
                Some(Kind::S) => done.push(String::from_utf8_lossy(n).into_owned()),
                _ => {}
            }
        }
        found.sort();
        done.sort();
        self.finish_modes(&done[done.len().saturating_sub(MAX_IN_FLIGHT)..])?;
        let mut any = false;
        for target in found {
            let f = match rustix::fs::openat(&self.dirfd, target.as_str(), READ, Mode::empty()) {
                Ok(f) => f,
                Err(Errno::NOENT | Errno::LOOP) => continue,
                Err(e) => return Err(Fatal::new(format!("unable to read {name}/{target}"), e)),
            };
            let st = rustix::fs::fstat(&f).unable(|| format!("stat {name}/{target}"))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
                || st.st_mode & 0o7777 != ROTATED
                || (st.st_ctime, i64::try_from(st.st_ctime_nsec).unwrap_or(0)) < boot
            {
                continue;
            }
            let file = File::from(f);
            if self.ext.zstd.is_some() {
                left.push((file, target));
                continue;
            }
            let synced = (self.fsync)(&file);
            self.finish_archive(&file, &target, synced);
            any = true;
        }
        if any {
            self.sync_dir();
        }
        Ok(left)
    }
}

impl Shared {
    /// Give daemontools' 0744 to each of `archives` (`.s` names) still in
    /// [`ROTATED`]: a crash between the finisher's rename to `.s` and its
    /// chmod leaves that (found by the crash-state checker). Only the
    /// newest few can be: one batch of the finisher.
    fn finish_modes(&self, archives: &[String]) -> Result<(), Fatal> {
        let name = &self.name;
        for a in archives {
            let f = match rustix::fs::openat(&self.dirfd, a.as_str(), READ, Mode::empty()) {
                Ok(f) => f,
                Err(Errno::NOENT | Errno::LOOP) => continue,
                Err(e) => return Err(Fatal::new(format!("unable to read {name}/{a}"), e)),
            };
            let st = rustix::fs::fstat(&f).unable(|| format!("stat {name}/{a}"))?;
            if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                && st.st_mode & 0o7777 == ROTATED
            {
                rustix::fs::fchmod(&f, Mode::from_raw_mode(0o744))
                    .unable(|| format!("set mode of {name}/{a}"))?;
            }
        }
        Ok(())
    }
}

/// When the system booted (`CLOCK_REALTIME` − `CLOCK_BOOTTIME`), as
/// (seconds, nanoseconds) since the epoch; `DTOOLS_TEST_BOOT_TIME`
/// (seconds) overrides it for the crash-state tests, whose states stand
/// for a power cut just before the start-up.
pub(crate) fn booted() -> (i64, i64) {
    if let Some(t) = std::env::var("DTOOLS_TEST_BOOT_TIME")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return (t, 0);
    }
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    let up = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let nanos = now.tv_nsec - up.tv_nsec;
    let secs = now.tv_sec - up.tv_sec;
    if nanos < 0 {
        (secs - 1, nanos + 1_000_000_000)
    } else {
        (secs, nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{open_dir, put_file, real_fsync, start, survey, Entry};

    /// Labels older than any fresh name, so fixtures sort first.
    const U1: &str = "@400000000000000000000001.u";
    const U2: &str = "@400000000000000000000002.u";
    const S3: &str = "@400000000000000000000003.s";

    struct Case {
        what: &'static str,
        processor: Option<&'static str>,
        before: &'static [(&'static str, &'static [u8], u32)],
        after: &'static [(&'static str, u32, &'static [u8])],
    }

    const CASES: &[Case] = &[
        Case {
            what: "empty directory",
            processor: None,
            before: &[],
            after: &[
                ("current", 0o644, b""),
                ("lock", 0o600, b""),
                ("state", 0o644, b""),
            ],
        },
        Case {
            what: "clean current (x) is resumed, nothing else touched",
            processor: None,
            before: &[("current", b"a\n", 0o744), ("previous", b"p\n", 0o644)],
            after: &[
                ("current", 0o644, b"a\n"),
                ("lock", 0o600, b""),
                ("previous", 0o644, b"p\n"),
            ],
        },
        Case {
            what: "crashed current (no x) becomes .u",
            processor: None,
            before: &[
                ("current", b"a\n", 0o644),
                ("state", b"s\n", 0o644),
                ("newstate", b"n\n", 0o644),
            ],
            after: &[
                ("@.u", 0o644, b"a\n"),
                ("current", 0o644, b""),
                ("lock", 0o600, b""),
                ("state", 0o644, b""),
            ],
        },
        Case {
            what: "rotated .u (0754) finished, other .u kept, after a crash",
            processor: None,
            before: &[
                (U1, b"r1\n", 0o754),
                (U2, b"k\n", 0o644),
                (S3, b"s3\n", 0o744),
                ("current", b"a\n", 0o644),
            ],
            after: &[
                ("@.s", 0o744, b"r1\n"),
                ("@.u", 0o644, b"k\n"),
                ("@.s", 0o744, b"s3\n"),
                ("@.u", 0o644, b"a\n"),
                ("current", 0o644, b""),
                ("lock", 0o600, b""),
                ("state", 0o644, b""),
            ],
        },
        Case {
            what: "a .s left in 0754 (crash before its chmod) gets 0744",
            processor: None,
            before: &[(S3, b"s3\n", 0o754), ("current", b"a\n", 0o744)],
            after: &[
                ("@.s", 0o744, b"s3\n"),
                ("current", 0o644, b"a\n"),
                ("lock", 0o600, b""),
            ],
        },
        Case {
            what: "rotated .u finished after a clean exit too; 0744 .u is daemontools'",
            processor: None,
            before: &[
                (U1, b"r1\n", 0o754),
                (U2, b"p\n", 0o744),
                ("current", b"a\n", 0o744),
            ],
            after: &[
                ("@.s", 0o744, b"r1\n"),
                ("@.u", 0o744, b"p\n"),
                ("current", 0o644, b"a\n"),
                ("lock", 0o600, b""),
            ],
        },
        Case {
            what: "processor: incomplete processed dropped, previous and current become .u",
            processor: Some("cat"),
            before: &[
                (U1, b"r1\n", 0o754),
                ("previous", b"p\n", 0o744),
                ("processed", b"half", 0o644),
                ("state", b"s\n", 0o644),
                ("newstate", b"n\n", 0o644),
                ("current", b"a\n", 0o644),
            ],
            after: &[
                ("@.u", 0o754, b"r1\n"),
                ("@.u", 0o744, b"p\n"),
                ("@.u", 0o644, b"a\n"),
                ("current", 0o644, b""),
                ("lock", 0o600, b""),
                ("state", 0o644, b""),
            ],
        },
        Case {
            what: "processor: complete processed (x) becomes .s, previous dropped",
            processor: Some("cat"),
            before: &[
                ("previous", b"p\n", 0o744),
                ("processed", b"P\n", 0o744),
                ("state", b"s\n", 0o644),
                ("current", b"", 0o644),
            ],
            after: &[
                ("@.s", 0o744, b"P\n"),
                ("@.u", 0o644, b""),
                ("current", 0o644, b""),
                ("lock", 0o600, b""),
                ("state", 0o644, b""),
            ],
        },
        Case {
            what: "no processor: complete processed still becomes .s",
            processor: None,
            before: &[("previous", b"p\n", 0o744), ("processed", b"P\n", 0o744)],
            after: &[
                ("@.s", 0o744, b"P\n"),
                ("current", 0o644, b""),
                ("lock", 0o600, b""),
                ("state", 0o644, b""),
            ],
        },
    ];

    /// A complete rotation marked before the last boot (a power cut may
    /// have taken its data) stays `.u`; one marked since is finished.
    #[test]
    fn rotation_marked_before_boot_stays_u() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        let dir = start(&open_dir(tmp.path()), None, real_fsync);
        put_file(&d, U1, b"r1\n", 0o754);
        let later = rustix::time::clock_gettime(rustix::time::ClockId::Realtime).tv_sec + 2;
        dir.sh.finish_rotations_since((later, 0)).unwrap();
        assert_eq!(survey(&d)[0], ("@.u".to_string(), 0o754, b"r1\n".to_vec()));
        dir.sh.finish_rotations_since((0, 0)).unwrap();
        assert_eq!(survey(&d)[0], ("@.s".to_string(), 0o744, b"r1\n".to_vec()));
    }

    /// `LogDir::start` over directory states; the result is described by
    /// suffix, mode and contents, archives in label order.
    #[test]
    fn recovery_table() {
        for c in CASES {
            let tmp = tempfile::tempdir().unwrap();
            let d = tmp.path().join("d");
            std::fs::create_dir(&d).unwrap();
            for (name, contents, mode) in c.before {
                put_file(&d, name, contents, *mode);
            }
            drop(start(&open_dir(tmp.path()), c.processor, real_fsync));
            let want: Vec<Entry> = c
                .after
                .iter()
                .map(|(n, m, b)| ((*n).to_string(), *m, b.to_vec()))
                .collect();
            assert_eq!(survey(&d), want, "{}", c.what);
        }
    }

    /// With an in-flight record (`keep`), a killed process's `current` is
    /// continued, not archived; the processor leftovers still recover as
    /// daemontools'.
    #[test]
    fn kept_current_is_continued() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        std::fs::create_dir(&d).unwrap();
        put_file(&d, "current", b"a\n", 0o644);
        put_file(&d, "previous", b"p\n", 0o744);
        put_file(&d, "newstate", b"n\n", 0o644);
        let spec = crate::multilog::script::DirSpec {
            name: b"d".to_vec(),
            size: 4096,
            num: 100,
            processor: Some(b"cat".to_vec()),
            ext: Default::default(),
        };
        let mut dir = super::super::LogDir::lock(&open_dir(tmp.path()), &spec)
            .unwrap()
            .start(true)
            .unwrap();
        assert_eq!(dir.written(), 2);
        dir.put(b"b\n");
        dir.quit();
        drop(dir);
        let got = survey(&d);
        let want: Vec<Entry> = vec![
            ("@.u".into(), 0o744, b"p\n".to_vec()),
            ("current".into(), 0o744, b"a\nb\n".to_vec()),
            ("lock".into(), 0o600, vec![]),
            ("state".into(), 0o644, vec![]),
        ];
        assert_eq!(got, want);
    }
}
