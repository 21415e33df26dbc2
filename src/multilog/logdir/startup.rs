//! Start-up of one log directory (`multilog.c:restart`): create and lock
//! it ([`LogDir::lock`]), then finish complete rotations and resume or
//! recover `current` ([`Locked::start`]). Split in two so that stepwise
//! input (`multilog::steps`) can settle the in-flight record between the
//! halves: after every directory is locked, before `current` is looked at.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::finisher::{Finisher, Job};
use super::{syncer, timer, Fsync, LogDir, Shared, APPEND, COMPLETE, MAX_IN_FLIGHT, OUTBUF, READ};
use crate::error::{Fatal, Unable};
use crate::logdir::names::{CURRENT, LOCK};
use crate::multilog::script::DirSpec;
use crate::tai64::Tai64N;

/// A locked log directory whose `current` has not been looked at yet.
pub(crate) struct Locked {
    sh: Arc<Shared>,
    lock: OwnedFd,
    size: u64,
    fsync_ms: u64,
}

impl LogDir {
    /// Set up the directory as `restart` does: create, lock, resume a cleanly
    /// closed `current` or recover after a crash; then finish the complete
    /// rotations a killed process left as `.u`.
    ///
    /// # Errors
    /// Every failure is fatal with daemontools' message.
    pub(crate) fn start(startfd: &OwnedFd, spec: &DirSpec) -> Result<LogDir, Fatal> {
        Self::start_with(startfd, spec, File::sync_all)
    }

    pub(super) fn start_with(
        startfd: &OwnedFd,
        spec: &DirSpec,
        fsync: Fsync,
    ) -> Result<LogDir, Fatal> {
        Self::lock_with(startfd, spec, fsync)?.start(false)
    }

    /// The first half of [`LogDir::start`]: create and lock the directory.
    ///
    /// # Errors
    /// Every failure is fatal with daemontools' message.
    pub(crate) fn lock(startfd: &OwnedFd, spec: &DirSpec) -> Result<Locked, Fatal> {
        Self::lock_with(startfd, spec, File::sync_all)
    }

    fn lock_with(startfd: &OwnedFd, spec: &DirSpec, fsync: Fsync) -> Result<Locked, Fatal> {
        let name = String::from_utf8_lossy(&spec.name).into_owned();
        let _ = rustix::fs::mkdirat(startfd, &spec.name[..], Mode::from_raw_mode(0o700));
        let dirfd = rustix::fs::openat(
            startfd,
            &spec.name[..],
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unable(|| format!("open directory {name}"))?;
        let lock = rustix::fs::openat(&dirfd, LOCK, APPEND, Mode::from_raw_mode(0o600))
            .unable(|| format!("lock directory {name}"))?;
        rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive)
            .unable(|| format!("lock directory {name}"))?;
        rustix::fs::fcntl_lock(&lock, FlockOperation::NonBlockingLockExclusive)
            .unable(|| format!("lock directory {name}"))?;

        let sh = Arc::new(Shared {
            name,
            dirfd,
            num: spec.num,
            processor: spec.processor.clone(),
            ext: spec.ext,
            last_stamp: Mutex::new(Tai64N::default()),
            listing: Mutex::new(()),
            fsync,
            freed: Mutex::new(super::space::Freed::default()),
        });
        Ok(Locked {
            sh,
            lock,
            size: spec.size,
            fsync_ms: spec.ext.fsync_ms,
        })
    }
}

impl Locked {
    /// The directory's descriptor.
    pub(crate) fn dirfd(&self) -> &OwnedFd {
        &self.sh.dirfd
    }

    /// The directory's name as written in the script.
    pub(crate) fn name(&self) -> &str {
        &self.sh.name
    }

    /// The second half of [`LogDir::start`]: finish complete rotations,
    /// then resume a cleanly closed `current` or recover after a crash.
    /// With `keep`, a `current` left by a killed process is known to be
    /// consistent (the in-flight record has settled it) and is continued
    /// instead of being archived as `.u`.
    ///
    /// # Errors
    /// Every failure is fatal with daemontools' message.
    pub(crate) fn start(self, keep: bool) -> Result<LogDir, Fatal> {
        let Locked {
            sh,
            lock,
            size,
            fsync_ms,
        } = self;
        sh.clean_compression()?;
        let rotated = sh.finish_rotations()?;
        let name = &sh.name;
        let (current, bytes) =
            match rustix::fs::statat(&sh.dirfd, CURRENT, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if st.st_mode & COMPLETE != 0 => {
                    let f =
                        rustix::fs::openat(&sh.dirfd, CURRENT, APPEND, Mode::from_raw_mode(0o600))
                            .unable(|| format!("append to {name}/current"))?;
                    rustix::fs::fchmod(&f, Mode::from_raw_mode(0o644))
                        .unable(|| format!("set mode of {name}/current"))?;
                    (File::from(f), st.st_size as u64)
                }
                Ok(st) if keep => (sh.recover(true)?, st.st_size as u64),
                Ok(_) | Err(Errno::NOENT) => (sh.recover(false)?, 0),
                Err(e) => {
                    return Err(Fatal::new(
                        format!("unable to stat {name}/current"),
                        io::Error::from(e),
                    ))
                }
            };
        let mut age = timer::Age::new(sh.ext.rotate_secs);
        if bytes > 0 {
            age.wrote();
        }
        // Whether `current` ends at a line boundary decides whether it is
        // at a rotation point (a killed process's may end inside a line).
        let mut last = [b'\n'];
        if bytes > 0 {
            if let Ok(f) = rustix::fs::openat(&sh.dirfd, CURRENT, READ, Mode::empty()) {
                let _ = rustix::io::pread(&f, &mut last, bytes - 1);
            }
        }
        let mut d = LogDir {
            last_nl: last[0] == b'\n',
            syncer: syncer::Syncer::start(&sh, fsync_ms),
            sh,
            size,
            current,
            bytes,
            buf: Vec::with_capacity(OUTBUF),
            finisher: Finisher::default(),
            age,
            defer: false,
            _lock: lock,
        };
        // `Z`: a killed process's complete rotations are compressed in the
        // background, as its own finisher would have done.
        for (file, name) in rotated {
            d.finisher.make_room(MAX_IN_FLIGHT);
            let job = Job::Archive {
                file: Arc::new(file),
                name,
            };
            d.finisher.submit(&d.sh, job);
        }
        Ok(d)
    }
}
