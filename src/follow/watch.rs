//! One inotify instance for the whole process, shared by every follower:
//! the per-user limit on instances (`fs.inotify.max_user_instances`, 128
//! by default, shared with svscan, svwait and `svlog -f`) made logship
//! with 140 directories fail at start. Each follower adds a watch on its
//! directory (inotify_add_watch(2)); the events read from the instance
//! are dispatched by watch descriptor to the followers that watch it
//! (two followers of one directory share its watch).
//!
//! Without inotify (inotify_init1(2) or inotify_add_watch(2) failed, or
//! `DTOOLS_TEST_NO_INOTIFY` is set, for tests only), a follower polls: it
//! lists its directory when asked for events, at most every [`POLL`],
//! and always at its start and at a switch. The descriptor it gives to
//! poll(2) is then a pipe that never becomes readable: callers wake on
//! their own timeout (at most 100 ms in svlog and logship).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustix::fs::inotify;
use rustix::io::Errno;

use crate::error::{self, Fatal};

use super::MAX_NAMES;

/// How often a directory is listed without inotify.
pub(super) const POLL: Duration = Duration::from_secs(1);

/// The process's instance, `None` if none could be made.
fn instance(prog: &str) -> Option<&'static OwnedFd> {
    static FD: OnceLock<Option<OwnedFd>> = OnceLock::new();
    FD.get_or_init(|| {
        if std::env::var_os("DTOOLS_TEST_NO_INOTIFY").is_some() {
            error::warn(
                prog,
                "inotify not used: polling directories every second",
                None,
            );
            return None;
        }
        match inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC) {
            Ok(fd) => Some(fd),
            Err(e) => {
                let text = "unable to create inotify instance, polling directories every second";
                error::warn(prog, text, Some(&io::Error::from(e)));
                None
            }
        }
    })
    .as_ref()
}

/// A pipe never written to: what a polling follower gives to poll(2).
fn idle() -> BorrowedFd<'static> {
    static PIPE: OnceLock<Option<(OwnedFd, OwnedFd)>> = OnceLock::new();
    static NULL: OnceLock<OwnedFd> = OnceLock::new();
    let p = PIPE.get_or_init(|| rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ok());
    match p {
        Some((r, _)) => r.as_fd(),
        // No pipe either: a descriptor poll(2) ignores (never readable
        // is not promised, but callers read events, not the descriptor).
        None => NULL
            .get_or_init(|| {
                rustix::fs::open(
                    "/dev/null",
                    rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .unwrap_or_else(|_| rustix::io::dup(rustix::stdio::stderr()).expect("dup"))
            })
            .as_fd(),
    }
}

/// A follower's share of the instance.
struct Sub {
    id: u64,
    wd: i32,
    names: Vec<Vec<u8>>,
    overflow: bool,
}

#[derive(Default)]
struct Subs {
    list: Vec<Sub>,
    next: u64,
}

fn subs() -> std::sync::MutexGuard<'static, Subs> {
    static SUBS: Mutex<Subs> = Mutex::new(Subs {
        list: Vec::new(),
        next: 0,
    });
    SUBS.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A follower's watch of its directory.
pub(super) enum Watch {
    /// A watch in the shared instance.
    Inotify {
        fd: &'static OwnedFd,
        id: u64,
        wd: i32,
    },
    /// Polling: when the directory was last listed.
    Poll(Option<Instant>),
}

impl Watch {
    /// Watch `dir` for the names multilog makes.
    ///
    /// # Errors
    /// inotify_add_watch(2) failed other than for want of watches or
    /// memory (then the directory is polled).
    pub(super) fn new(prog: &str, dir: &Path) -> Result<Watch, Fatal> {
        let Some(fd) = instance(prog) else {
            return Ok(Watch::Poll(None));
        };
        let mask = inotify::WatchFlags::MODIFY
            | inotify::WatchFlags::CREATE
            | inotify::WatchFlags::MOVED_TO
            | inotify::WatchFlags::MOVED_FROM
            | inotify::WatchFlags::DELETE
            | inotify::WatchFlags::CLOSE_WRITE
            | inotify::WatchFlags::ONLYDIR;
        // Under the lock: no event of the new watch is read before its
        // follower is listed.
        let mut s = subs();
        match inotify::add_watch(fd, dir, mask) {
            Ok(wd) => {
                let id = s.next;
                s.next += 1;
                s.list.push(Sub {
                    id,
                    wd,
                    names: Vec::new(),
                    overflow: false,
                });
                Ok(Watch::Inotify { fd, id, wd })
            }
            Err(e @ (Errno::NOSPC | Errno::NOMEM)) => {
                let text = format!("unable to watch {}, polling it every second", dir.display());
                error::warn(prog, &text, Some(&io::Error::from(e)));
                Ok(Watch::Poll(None))
            }
            Err(e) => Err(Fatal::new(
                format!("unable to watch {}", dir.display()),
                io::Error::from(e),
            )),
        }
    }

    /// The descriptor to poll for readability.
    pub(super) fn fd(&self) -> BorrowedFd<'static> {
        match self {
            Watch::Inotify { fd, .. } => (*fd).as_fd(),
            Watch::Poll(_) => idle(),
        }
    }

    /// The names made in `dir` (created or renamed to) since the last
    /// call, in order, and whether some were lost (the queue overflowed).
    /// Polling: the names in the directory, if `now` or [`POLL`] since
    /// the last listing, else none.
    ///
    /// # Errors
    /// The instance or the directory cannot be read.
    pub(super) fn names(&mut self, dir: &Path, now: bool) -> Result<(Vec<Vec<u8>>, bool), Fatal> {
        match self {
            Watch::Inotify { fd, id, .. } => {
                let mut s = subs();
                read_all(fd, &mut s)?;
                let Some(me) = s.list.iter_mut().find(|x| x.id == *id) else {
                    return Ok((Vec::new(), false));
                };
                Ok((
                    std::mem::take(&mut me.names),
                    std::mem::take(&mut me.overflow),
                ))
            }
            Watch::Poll(last) => {
                if !now && last.is_some_and(|t| t.elapsed() < POLL) {
                    return Ok((Vec::new(), false));
                }
                *last = Some(Instant::now());
                let bad = |e| Fatal::new(format!("unable to read directory {}", dir.display()), e);
                let mut v = Vec::new();
                for e in std::fs::read_dir(dir).map_err(bad)? {
                    v.push(e.map_err(bad)?.file_name().as_bytes().to_vec());
                }
                v.sort_unstable();
                Ok((v, false))
            }
        }
    }
}

/// Read every event queued in the instance into the followers' lists.
fn read_all(fd: &OwnedFd, s: &mut Subs) -> Result<(), Fatal> {
    let mut evbuf = [MaybeUninit::<u8>::uninit(); 16 * 1024];
    let mut r = inotify::Reader::new(fd, &mut evbuf);
    loop {
        match r.next() {
            Ok(ev) => {
                if ev.events().contains(inotify::ReadFlags::QUEUE_OVERFLOW) {
                    for x in &mut s.list {
                        x.overflow = true;
                    }
                    continue;
                }
                if !ev
                    .events()
                    .intersects(inotify::ReadFlags::MOVED_TO | inotify::ReadFlags::CREATE)
                {
                    continue;
                }
                let Some(n) = ev.file_name() else { continue };
                for x in s.list.iter_mut().filter(|x| x.wd == ev.wd()) {
                    if x.names.len() >= MAX_NAMES {
                        x.overflow = true;
                    } else {
                        x.names.push(n.to_bytes().to_vec());
                    }
                }
            }
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return Ok(()),
            Err(e) => {
                return Err(Fatal::new(
                    "unable to read inotify events",
                    io::Error::from(e),
                ))
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Watch::Inotify { fd, id, wd } = self {
            let mut s = subs();
            s.list.retain(|x| x.id != *id);
            if !s.list.iter().any(|x| x.wd == *wd) {
                let _ = inotify::remove_watch(fd, *wd);
            }
        }
    }
}
