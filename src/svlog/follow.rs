//! `-f`: print the directory (or its last `-n` lines), then every line as
//! multilog writes it, across rotations, processor runs, retention
//! deletions and restarts, through the shared follower
//! ([`crate::follow`]), which also says how the rotations are followed.
//!
//! Here: the wake-ups (inotify events on the directory, and at least every
//! 100 ms), the wait for a `current` briefly missing at the start, the
//! report of data deleted before it was read (after flushing what was
//! printed before it), and a warning when the directory goes away or is
//! replaced, or its `current` stays missing for a second ([`Gone`]): no
//! more lines will come from there, which should not look like a quiet
//! log.
//!
//! Ends with exit 0 on SIGINT and SIGTERM, and when the reader of a pipe on
//! standard output goes away (poll reports an error on it even while
//! nothing is written).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::error::{self, Fatal};
use crate::follow::{Follower, Got, Start};
use crate::sys::signals;
use crate::tai64::tz::Zone;

use super::{resolve, Opts, Out, Stop, BLOCK, PROG};

/// The safety-net wake-up.
const WAKE: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};
/// How long to wait for a `current` that is briefly missing.
const RETRY: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 10_000_000,
};
/// Retries of a start-up that found no `current` (1 s in all).
const MISSING_TRIES: usize = 100;

/// Wait up to `t` for the self-pipe or, if given, `fd`; true if a signal
/// to end came.
fn wait(sig_r: &OwnedFd, fd: Option<BorrowedFd<'_>>, t: &Timespec) -> Result<bool, Stop> {
    let mut fds = vec![PollFd::new(sig_r, PollFlags::IN)];
    if let Some(fd) = fd {
        fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
    }
    let stdout = rustix::stdio::stdout();
    fds.push(PollFd::from_borrowed_fd(stdout, PollFlags::empty()));
    match poll(&mut fds, Some(t)) {
        Ok(_) | Err(Errno::INTR) => {}
        Err(e) => return Err(Fatal::new("unable to poll", io::Error::from(e)).into()),
    }
    let gone = fds
        .last()
        .is_some_and(|p| p.revents().intersects(PollFlags::ERR | PollFlags::HUP));
    drop(fds);
    let mut b = [0u8; 64];
    while matches!(rustix::io::read(sig_r, &mut b), Ok(n) if n > 0) {}
    Ok(gone || signals::caught(libc::SIGINT) || signals::caught(libc::SIGTERM))
}

/// `f()`, again while it fails because a file does not exist (a starting
/// multilog leaves no `current` for a moment), at most [`MISSING_TRIES`]
/// times in all; `None` if a signal to end came meanwhile.
fn retry_missing<T>(
    sig_r: &OwnedFd,
    missing: &mut usize,
    mut f: impl FnMut() -> Result<T, Fatal>,
) -> Result<Option<T>, Stop> {
    loop {
        match f() {
            Ok(v) => return Ok(Some(v)),
            Err(e)
                if *missing < MISSING_TRIES
                    && e.cause
                        .as_ref()
                        .is_some_and(|c| c.kind() == io::ErrorKind::NotFound) =>
            {
                *missing += 1;
                if wait(sig_r, None, &RETRY)? {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Print DIR as `opts` asks (all of it, or the last `-n` lines), then
/// follow it until a signal or the reader goes away.
///
/// # Errors
/// A fatal error, or the reader went away.
pub(crate) fn follow<W: io::Write>(opts: &Opts, zone: Zone, w: W) -> Result<(), Stop> {
    let (sig_r, sig_w) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
    )
    .map_err(|e| Fatal::new("unable to create pipe", io::Error::from(e)))?;
    signals::selfpipe_catch(&[libc::SIGINT, libc::SIGTERM], sig_w)
        .map_err(|e| Fatal::new("unable to catch signals", e))?;
    let mut out = Out::new(w, opts.format, zone);
    let mut missing = 0;
    // A missing DIR is fatal at once.
    if !opts.dirs[0].is_dir() {
        resolve(&opts.dirs[0])?;
    }
    let Some(dir) = retry_missing(&sig_r, &mut missing, || resolve(&opts.dirs[0]))? else {
        return out.finish();
    };
    let start = opts.last.map_or(Start::All, Start::Tail);
    let Some(mut f) = retry_missing(&sig_r, &mut missing, || Follower::open(PROG, &dir, start))?
    else {
        return out.finish();
    };
    let mut buf = vec![0u8; BLOCK];
    let mut gone = Gone::new(&dir);
    loop {
        gone.check();
        f.events()?;
        while let Got::Data { n, .. } = f.read(&mut buf)? {
            out.feed(&buf[..n])?;
        }
        out.flush()?;
        let lost = f.take_lost();
        if !lost.is_empty() {
            lost.warn(PROG, "");
        }
        if wait(&sig_r, Some(f.fd()), &WAKE)? {
            return out.finish();
        }
    }
}

/// How long `current` may be missing before it is reported (multilog
/// renames it and makes the next one at once).
const CURRENT_GRACE: Duration = Duration::from_secs(1);

/// What is said about the followed directory going away: each warning
/// once, again only after the directory or `current` came back.
struct Gone {
    dir: PathBuf,
    id: Option<(u64, u64)>,
    dir_said: bool,
    missing_since: Option<Instant>,
    current_said: bool,
}

impl Gone {
    fn new(dir: &Path) -> Gone {
        Gone {
            dir: dir.to_path_buf(),
            id: std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino())),
            dir_said: false,
            missing_since: None,
            current_said: false,
        }
    }

    /// Warn if the directory has gone or been replaced, or `current` has
    /// been missing for [`CURRENT_GRACE`].
    fn check(&mut self) {
        let d = self.dir.display();
        match std::fs::metadata(&self.dir) {
            Ok(m) if Some((m.dev(), m.ino())) == self.id => self.dir_said = false,
            Ok(_) => {
                if !std::mem::replace(&mut self.dir_said, true) {
                    let what = format!("{d} was replaced: still following the directory it was");
                    error::warn(PROG, &what, None);
                }
                return;
            }
            Err(e) => {
                if !std::mem::replace(&mut self.dir_said, true) {
                    error::warn(PROG, &format!("unable to open directory {d}"), Some(&e));
                }
                return;
            }
        }
        let cur = self.dir.join(crate::logdir::names::CURRENT);
        match std::fs::symlink_metadata(&cur) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let since = *self.missing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= CURRENT_GRACE && !self.current_said {
                    self.current_said = true;
                    error::warn(PROG, &format!("unable to open {d}/current"), Some(&e));
                }
            }
            _ => {
                self.missing_since = None;
                self.current_said = false;
            }
        }
    }
}
