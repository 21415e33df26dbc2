//! logship's start: the log directories resolved (waiting a moment for a
//! `current` being replaced), their cursors loaded and their followers
//! opened there.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Fatal;
use crate::follow::{Follower, Pos, Start};
use crate::logdir::{resolve, service_name};

use super::lag::Lag;
use super::reader::Reader;
use super::syslog::Header;
use super::{args, cursor, status, Dir, Ship, BACKOFF_MIN, PROG};

/// The host's name (`uname -n`).
fn hostname() -> Vec<u8> {
    rustix::system::uname().nodename().to_bytes().to_vec()
}

/// `f()`, again while it fails because a file does not exist (multilog
/// renamed `current` and has not made the new one yet), every 10 ms for
/// at most 1 s.
fn missing_retried<T>(mut f: impl FnMut() -> Result<T, Fatal>) -> Result<T, Fatal> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e)
                if tries < 100
                    && e.cause
                        .as_ref()
                        .is_some_and(|c| c.kind() == io::ErrorKind::NotFound) =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// A damaged cursor (`why`) of directory `d` kept aside as `NAME.bad`,
/// with a warning: the directory is shipped from its oldest archive, as
/// without a cursor, rather than not at all.
fn set_aside(d: &Path, cpath: &Path, why: &str) {
    let mut bad = cpath.as_os_str().to_owned();
    bad.push(".bad");
    let bad = PathBuf::from(bad);
    let text = format!(
        "{}: cursor {} {why}: kept as {}, shipping from the oldest archive",
        d.display(),
        cpath.display(),
        bad.display()
    );
    match std::fs::rename(cpath, &bad) {
        Ok(()) => crate::error::warn(PROG, &text, None),
        Err(e) => {
            let what = format!(
                "{}: cursor {} {why}: unable to rename it",
                d.display(),
                cpath.display()
            );
            crate::error::warn(PROG, &what, Some(&e));
        }
    }
}

/// The lock on the cursor `cpath` of (`url`, `dir`).
fn lock_cursor(cpath: &Path, url: &str, dir: &Path) -> Result<OwnedFd, Fatal> {
    cursor::lock(cpath).map_err(|e| match e {
        cursor::LockError::Held(lp) => Fatal::plain(format!(
            "unable to lock {}: another logship ships {} to {url}",
            lp.display(),
            dir.display()
        )),
        cursor::LockError::Io(lp, e) => Fatal::new(format!("unable to lock {}", lp.display()), e),
    })
}

/// The cursor `p` of directory `d`: its position and whether it is in the
/// older form; a damaged one is set aside ([`set_aside`]) and reads as none.
fn load(d: &Path, p: &Path) -> Result<Option<(Pos, bool)>, Fatal> {
    match cursor::load(p) {
        Ok(l) => Ok(l),
        Err(e) if e.raw_os_error() == Some(libc::EPROTO) => {
            set_aside(d, p, "is damaged");
            Ok(None)
        }
        Err(e) => Err(Fatal::new(format!("unable to read {}", p.display()), e)),
    }
}

/// The cursor saved in `cpath`, else in the cursor an older version named
/// `legacy`, which is then saved under `cpath` and removed.
fn load_or_migrate(
    d: &Path,
    cpath: &Path,
    legacy: Option<&Path>,
) -> Result<Option<(Pos, bool)>, Fatal> {
    if let Some(l) = load(d, cpath)? {
        return Ok(Some(l));
    }
    let Some(old) = legacy else {
        return Ok(None);
    };
    let Some(l) = load(d, old)? else {
        return Ok(None);
    };
    cursor::save(cpath, &l.0)
        .map_err(|e| Fatal::new(format!("unable to write {}", cpath.display()), e))?;
    std::fs::remove_file(old)
        .map_err(|e| Fatal::new(format!("unable to remove {}", old.display()), e))?;
    Ok(Some(l))
}

/// Start: directories resolved, followers opened at their cursors.
pub(super) fn start(o: args::Opts) -> Result<Ship, Fatal> {
    let host = o.host.clone().unwrap_or_else(hostname);
    let mut dirs = Vec::new();
    for d in &o.dirs {
        let dir = missing_retried(|| resolve(d))?;
        let abs = std::fs::canonicalize(&dir)
            .map_err(|e| Fatal::new(format!("unable to open directory {}", dir.display()), e))?;
        let cpath = cursor::path(&o.cursors, &o.dest.url, &abs);
        // The same directory named twice (`d` and `d/log/main`, a link) is
        // shipped once: its cursor is this process's already.
        if dirs.iter().any(|x: &Dir| x.cursor == cpath) {
            continue;
        }
        let lock = lock_cursor(&cpath, &o.dest.url, &abs)?;
        let legacy = cursor::legacy_path(&o.cursors, &o.dest.url, &abs);
        let loaded = load_or_migrate(d, &cpath, legacy.as_deref())?;
        if loaded.is_some_and(|l| l.1) {
            let what = format!(
                "{}: cursor {} in the older form: its file is known by inode, labels and size only",
                d.display(),
                cpath.display()
            );
            crate::error::warn(PROG, &what, None);
        }
        let mut saved = loaded.map(|l| l.0);
        // `-e` without a cursor: only what is written from now on.
        let fresh = if o.end { Start::Tail(0) } else { Start::All };
        let start = saved.map_or(fresh, Start::At);
        let follower = missing_retried(|| Follower::open(PROG, &abs, start))?;
        if follower.bad_position() {
            set_aside(d, &cpath, "points beyond the end of its file");
            saved = None;
        }
        let name = service_name(&abs);
        let app = o.app.clone().unwrap_or_else(|| name.clone().into_bytes());
        let header = Header::new(o.pri, &host, &app);
        let max = o.max - header.overhead();
        let lag = Lag::new(
            cursor::status_path(&cpath),
            abs.to_string_lossy().into_owned(),
            name.clone(),
            &o.dest.url,
        );
        dirs.push(Dir {
            lag,
            name: d.display().to_string(),
            reader: Reader::new(follower, max),
            header,
            saver: super::cursor_saver::Saver::new(cpath.clone()),
            cursor: cpath,
            _lock: lock,
            acked: saved,
            saved,
        });
    }
    Ok(Ship {
        dest: o.dest,
        dirs,
        window: o.window,
        inflight: VecDeque::new(),
        unsaved: 0,
        spare: Vec::new(),
        last_save: Instant::now(),
        conn: None,
        ack_timeout: o.ack_timeout,
        connect_timeout: o.connect_timeout,
        progress_at: Instant::now(),
        retry_at: Instant::now(),
        backoff: BACKOFF_MIN,
        rr: 0,
        broken_since: None,
        refused: false,
        report_state: status::State::Waiting,
        report_at: Instant::now(),
        read_at: Instant::now(),
    })
}
