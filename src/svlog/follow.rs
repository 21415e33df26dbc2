//! `-f`: print what the options select now (`history.rs`), then every
//! line as multilog writes it, across rotations, processor runs,
//! retention deletions and restarts, through the shared follower
//! ([`crate::follow`]), which also says how the rotations are followed.
//! Each directory is watched before it is listed, and its follower goes on
//! from the byte the history reached in the `current` it read
//! ([`crate::follow::Watched`]): nothing lost or repeated at the seam.
//!
//! Here: one poll loop for every directory (their watches share the
//! process's inotify instance; a wake-up at least every 100 ms), the wait
//! for a `current` briefly missing at the start, the report of data
//! deleted before it was read (after flushing what was printed before
//! it), a directory whose follower fails given up while others remain,
//! and a warning when a directory goes away or is replaced, or its
//! `current` stays missing for a second ([`Gone`]): no more lines will
//! come from there, which should not look like a quiet log. How lines are
//! printed: `live.rs`.
//!
//! Ends with exit 0 on SIGINT and SIGTERM, and when the reader of a pipe on
//! standard output goes away (poll reports an error on it even while
//! nothing is written).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::error::{self, Fatal};
use crate::follow::Follower;
use crate::sys::signals;
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

use super::files::Entry;
use super::gone::Gone;
use super::history;
use super::live::{Mode, Tail};
use super::{resolve, Opts, Out, Stop, BLOCK, PROG};
use crate::logdir::service::resolve_named;

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

/// Print the DIRs as `opts` asks (the history: all, the last `-n` lines,
/// or from `--since`), then follow them until a signal, the reader goes
/// away, or a line at or after `--until`.
///
/// # Errors
/// A fatal error, or the reader went away.
pub(crate) fn follow<W: io::Write>(
    opts: &Opts,
    re: Option<&regex::bytes::Regex>,
    zone: Zone,
    w: W,
) -> Result<(), Stop> {
    let (sig_r, sig_w) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
    )
    .map_err(|e| Fatal::new("unable to create pipe", io::Error::from(e)))?;
    signals::selfpipe_catch(&[libc::SIGINT, libc::SIGTERM], sig_w)
        .map_err(|e| Fatal::new("unable to catch signals", e))?;
    let mut out = Out::new(w, opts.format, zone);
    let mut missing = 0;
    let (mut dirs, mut watched) = (Vec::new(), Vec::new());
    for d in &opts.dirs {
        // A missing DIR is fatal at once; a missing `current` is waited for.
        if !d.is_dir() {
            resolve(d)?;
        }
        let Some((dir, name)) = retry_missing(&sig_r, &mut missing, || resolve_named(d))? else {
            return out.finish();
        };
        // Watched before it is listed: every archive made from then on is
        // heard of.
        watched.push(Follower::watch(PROG, &dir)?);
        let listed = || history::list_in(dir.clone(), name.clone(), opts);
        let Some(l) = retry_missing(&sig_r, &mut missing, listed)? else {
            return out.finish();
        };
        dirs.push(l);
    }
    let ends = history::print(opts, re, &mut dirs, &mut out, true)?;
    for d in &dirs {
        d.index.save(&d.files);
    }
    out.flush()?;
    if opts.until.is_some_and(|u| u <= Tai64N::now()) {
        // Every line to come is stamped after it.
        return out.finish();
    }
    let merge = dirs.len() > 1;
    let mut tails = Vec::with_capacity(dirs.len());
    for ((d, end), w) in dirs.into_iter().zip(ends).zip(watched) {
        // From where the history ended, in the `current` it read, even if
        // that file has been archived since.
        let after = d.files.iter().filter_map(|e| e.lf.label).max();
        let cur = d.files.last().and_then(Entry::held_file);
        let cur = cur
            .map(std::fs::File::try_clone)
            .transpose()
            .map_err(|e| Fatal::new(format!("unable to open {}/current", d.dir.display()), e))?
            .ok_or_else(|| Fatal::plain(format!("unable to open {}/current", d.dir.display())))?;
        // `previous` was read (it comes before `current`, unlabelled).
        let n = d.files.len();
        let prev_read = n >= 2 && d.files[n - 2].kind.is_none();
        let f = w.follow(cur, end, after, prev_read);
        tails.push(Tail::new(d.name, f, Gone::new(&d.dir), merge));
    }
    let mode = Mode {
        lines: merge || re.is_some() || out.line_only() || opts.until.is_some(),
        merge,
        re,
        until: opts.until,
    };
    let mut buf = vec![0u8; BLOCK];
    loop {
        // Inside a long line, only its directory is read.
        let only = tails.iter().position(Tail::in_line);
        let mut k = 0;
        while k < tails.len() {
            let t = &mut tails[k];
            t.gone.check();
            let res = match t.f.events() {
                Err(e) => Err(e.into()),
                Ok(()) if only.is_some_and(|o| o != k) => Ok(false),
                Ok(()) => t.pump(&mode, &mut buf, &mut out),
            };
            match res {
                Ok(true) => return out.finish(),
                Ok(false) => {}
                Err(Stop::Fatal(f)) if tails.len() > 1 => {
                    // That directory alone is given up.
                    out.flush()?;
                    f.warn(PROG);
                    let what = format!("no longer following {}", tails[k].name);
                    error::warn(PROG, &what, None);
                    tails.remove(k);
                    continue;
                }
                Err(e) => return Err(e),
            }
            let lost = tails[k].f.take_lost();
            if !lost.is_empty() {
                out.flush()?;
                lost.warn(PROG, if merge { &tails[k].name } else { "" });
            }
            k += 1;
        }
        out.flush()?;
        if wait(&sig_r, Some(tails[0].f.fd()), &WAKE)? {
            return out.finish();
        }
    }
}
