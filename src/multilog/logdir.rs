//! One log directory: start-up and crash recovery, writing `current` with
//! size rotation, finishing rotated files, retention and the processor
//! (ports `multilog.c:restart`, `c_write`, `fullcurrent`, `finish`,
//! `filesfit`, `startprocessor`, `c_quit`).
//!
//! The on-disk protocol is daemontools': `current` is 0644 while written and
//! 0744 after a clean exit; a rotated file goes `current` → `previous`
//! (→ processor → `processed`) → `@<tai64n>.s`; a crash leaves a `current`
//! without the owner-x bit, archived as `.u` at the next start.
//!
//! Differences from daemontools:
//! * Without a processor, a full `current` is renamed at once to
//!   `@<tai64n>.u` (the name daemontools gives a file that may be incomplete)
//!   and finished on a per-directory background thread: fsync, chmod 0744,
//!   rename to `@<tai64n>.s`, retention. Input keeps flowing into the new
//!   `current` meanwhile; several rotated files (at most [`MAX_IN_FLIGHT`])
//!   may wait, and their fsyncs run concurrently so the file system commits
//!   them together. A crash at any point leaves a consistent directory: a
//!   file is named `.s` only once it is on disk. Exit waits for all of them.
//! * With a processor the daemontools protocol (`previous`, `processed`,
//!   `state`, `newstate`) is kept exactly; the processor runs on the
//!   background thread, and the next rotation waits for it.
//! * The directory itself is fsynced after each rotation and recovery, so a
//!   finished `@….s` survives power loss.
//! * `lock` is also locked with an `fcntl` record lock, so `s6-log` cannot
//!   write into a directory we hold.
//! * Files inside the directory are opened with `O_NOFOLLOW`.
//! * Archive names are strictly increasing within one process even if the
//!   clock steps back.
//! * Output is written in large blocks; rotation points follow the rule
//!   "close at the first newline at or past s−2000 bytes, cut at exactly s if
//!   none", independent of buffering.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use memchr::memchr;
use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::retry::{self, complain, retry, rx};
use super::script::DirSpec;
use crate::error::{self, Fatal, Unable};
use crate::tai64::Tai64N;

/// A file is closed at the first newline once it is within this many bytes of `s`.
pub const ROTATE_SLACK: u64 = 2000;
/// Size of the per-directory output buffer.
pub const OUTBUF: usize = 256 * 1024;
/// Rotated files that may wait for their fsync before input is held up.
pub const MAX_IN_FLIGHT: usize = 8;

const APPEND: OFlags = OFlags::WRONLY
    .union(OFlags::APPEND)
    .union(OFlags::CREATE)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);
const TRUNC: OFlags = OFlags::WRONLY
    .union(OFlags::TRUNC)
    .union(OFlags::CREATE)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);
const READ: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// What the writer and the finishing thread share.
struct Shared {
    name: String,
    dirfd: OwnedFd,
    num: u64,
    processor: Option<Vec<u8>>,
    last_stamp: Mutex<Tai64N>,
}

/// A rotated file for the finishing thread.
enum Job {
    /// `current` renamed to the `.u` name; fsync it and make it `.s`.
    Archive { file: File, name: String },
    /// `current` renamed to `previous`; run the daemontools finish path.
    Previous(File),
}

struct Worker {
    jobs: Sender<Job>,
    done: Receiver<()>,
    pending: usize,
}

/// An open log directory.
pub struct LogDir {
    sh: Arc<Shared>,
    size: u64,
    current: File,
    bytes: u64,
    buf: Vec<u8>,
    worker: Option<Worker>,
    _lock: OwnedFd,
}

impl LogDir {
    /// Set up the directory as `restart` does: create, lock, resume a cleanly
    /// closed `current` or recover after a crash.
    ///
    /// # Errors
    /// Every failure is fatal with daemontools' message.
    pub fn start(startfd: &OwnedFd, spec: &DirSpec) -> Result<LogDir, Fatal> {
        let name = String::from_utf8_lossy(&spec.name).into_owned();
        let _ = rustix::fs::mkdirat(startfd, &spec.name[..], Mode::from_raw_mode(0o700));
        let dirfd = rustix::fs::openat(
            startfd,
            &spec.name[..],
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unable(|| format!("open directory {name}"))?;
        let lock = rustix::fs::openat(&dirfd, "lock", APPEND, Mode::from_raw_mode(0o600))
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
            last_stamp: Mutex::new(Tai64N::default()),
        });
        let name = &sh.name;
        let (current, bytes) =
            match rustix::fs::statat(&sh.dirfd, "current", AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if st.st_mode & 0o100 != 0 => {
                    let f = rustix::fs::openat(
                        &sh.dirfd,
                        "current",
                        APPEND,
                        Mode::from_raw_mode(0o600),
                    )
                    .unable(|| format!("append to {name}/current"))?;
                    rustix::fs::fchmod(&f, Mode::from_raw_mode(0o644))
                        .unable(|| format!("set mode of {name}/current"))?;
                    (File::from(f), st.st_size as u64)
                }
                Ok(_) | Err(Errno::NOENT) => (sh.recover()?, 0),
                Err(e) => {
                    return Err(Fatal::new(
                        format!("unable to stat {name}/current"),
                        io_err(e),
                    ))
                }
            };
        Ok(LogDir {
            sh,
            size: spec.size,
            current,
            bytes,
            buf: Vec::with_capacity(OUTBUF),
            worker: None,
            _lock: lock,
        })
    }

    /// The directory name as written in the script.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.sh.name
    }

    /// Bytes in `current` (written, not counting the buffer).
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes `current` can still take before it reaches `s` (buffer included).
    #[must_use]
    pub fn room(&self) -> usize {
        let used = self.bytes + self.buf.len() as u64;
        usize::try_from(self.size.saturating_sub(used)).unwrap_or(usize::MAX)
    }

    /// Append bytes for `current` (buffered).
    #[inline]
    pub fn put(&mut self, data: &[u8]) {
        if self.buf.len() + data.len() > OUTBUF {
            self.flush();
            if data.len() >= OUTBUF {
                self.write_through(data);
                return;
            }
        }
        self.buf.extend_from_slice(data);
    }

    /// Append `prefix`, `text` and a newline (one line).
    #[inline]
    pub fn put_line(&mut self, prefix: &[u8], text: &[u8]) {
        let n = prefix.len() + text.len() + 1;
        if self.buf.len() + n > OUTBUF {
            self.put(prefix);
            self.put(text);
            self.put(b"\n");
            return;
        }
        self.buf.extend_from_slice(prefix);
        self.buf.extend_from_slice(text);
        self.buf.push(b'\n');
    }

    /// Write the buffer out (rotating as needed).
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        self.write_through(&buf);
        self.buf = buf;
        self.buf.clear();
    }

    /// `c_write`: write `data` to `current`, rotating at the first newline
    /// at or past `s - 2000` bytes, or cutting at exactly `s`.
    fn write_through(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.bytes >= self.size {
                self.rotate();
            }
            let room = usize::try_from(self.size - self.bytes).unwrap_or(usize::MAX);
            let mut chunk = &data[..data.len().min(room)];
            let thresh = self.size.saturating_sub(ROTATE_SLACK);
            let from = usize::try_from(thresh.saturating_sub(self.bytes + 1)).unwrap_or(usize::MAX);
            let mut rotate_after = false;
            if from < chunk.len() {
                if let Some(j) = memchr(b'\n', &chunk[from..]) {
                    chunk = &chunk[..from + j + 1];
                    rotate_after = true;
                }
            }
            let name = &self.sh.name;
            retry::write_all(&mut self.current, chunk, || {
                format!("unable to write to {name}/current")
            });
            self.bytes += chunk.len() as u64;
            data = &data[chunk.len()..];
            if rotate_after {
                self.rotate();
            }
        }
    }

    /// Rotate if `current` is not empty (SIGALRM).
    pub fn force_rotate(&mut self) {
        self.flush();
        if self.bytes > 0 {
            self.rotate();
        }
    }

    /// Wait until every rotated file is finished.
    fn wait(&mut self) {
        if let Some(w) = &mut self.worker {
            while w.pending > 0 {
                if w.done.recv().is_err() {
                    break;
                }
                w.pending -= 1;
            }
        }
    }

    /// `fullcurrent`: move `current` aside, open a new `current`, and have
    /// the old one finished (in the background when possible).
    fn rotate(&mut self) {
        let job = if self.sh.processor.is_some() {
            self.wait();
            let sh = &self.sh;
            let name = &sh.name;
            retry(
                || format!("unable to rename current to previous in directory {name}"),
                || {
                    rx(rustix::fs::renameat(
                        &sh.dirfd, "current", &sh.dirfd, "previous",
                    ))
                },
            );
            None
        } else {
            let sh = &self.sh;
            let name = &sh.name;
            let mut target = sh.next_name(b'u');
            loop {
                match rename_noreplace(&sh.dirfd, "current", &target) {
                    Ok(()) => break,
                    Err(e) => {
                        complain(
                            &format!("unable to rename current to {target} in directory {name}"),
                            &e,
                        );
                        target = sh.next_name(b'u');
                    }
                }
            }
            Some(target)
        };
        let sh = &self.sh;
        let name = &sh.name;
        let new = retry(
            || format!("unable to create {name}/current"),
            || {
                rx(rustix::fs::openat(
                    &sh.dirfd,
                    "current",
                    APPEND,
                    Mode::from_raw_mode(0o600),
                ))
            },
        );
        retry(
            || format!("unable to set mode of {name}/current"),
            || rx(rustix::fs::fchmod(&new, Mode::from_raw_mode(0o644))),
        );
        let old = std::mem::replace(&mut self.current, File::from(new));
        self.bytes = 0;
        let job = match job {
            Some(name) => Job::Archive { file: old, name },
            None => Job::Previous(old),
        };
        if self.worker.is_none() {
            self.worker = spawn_worker(&self.sh);
        }
        match &mut self.worker {
            Some(w) => match w.jobs.send(job) {
                Ok(()) => w.pending += 1,
                Err(e) => {
                    self.worker = None;
                    self.sh.finish_batch(vec![e.into_inner()]);
                }
            },
            None => self.sh.finish_batch(vec![job]),
        }
    }

    /// `c_quit`: flush, wait for the finishing thread, fsync `current` and
    /// mark it cleanly closed (0744).
    pub fn quit(&mut self) {
        self.flush();
        self.wait();
        let name = &self.sh.name;
        retry(
            || format!("unable to write {name}/current to disk"),
            || self.current.sync_all(),
        );
        retry(
            || format!("unable to set mode of {name}/current"),
            || {
                rx(rustix::fs::fchmod(
                    &self.current,
                    Mode::from_raw_mode(0o744),
                ))
            },
        );
    }

    /// Would [`LogDir::put`] of `n` bytes (or a `put_line` of that length)
    /// only copy them into the buffer, with no write that could pause?
    /// The engine prints pending `e` alerts before any write that might.
    #[must_use]
    pub fn buffers(&self, n: usize) -> bool {
        self.buf.len() + n <= OUTBUF
    }
}

fn spawn_worker(sh: &Arc<Shared>) -> Option<Worker> {
    let (jobs, rx_jobs) = bounded::<Job>(MAX_IN_FLIGHT);
    let (tx_done, done) = unbounded::<()>();
    let sh = Arc::clone(sh);
    std::thread::Builder::new()
        .name("finish".into())
        .spawn(move || {
            while let Ok(job) = rx_jobs.recv() {
                let mut batch = vec![job];
                while batch.len() < MAX_IN_FLIGHT {
                    match rx_jobs.try_recv() {
                        Ok(j) => batch.push(j),
                        Err(_) => break,
                    }
                }
                let n = batch.len();
                sh.finish_batch(batch);
                for _ in 0..n {
                    if tx_done.send(()).is_err() {
                        return;
                    }
                }
            }
        })
        .ok()?;
    Some(Worker {
        jobs,
        done,
        pending: 0,
    })
}

/// `renameat2(RENAME_NOREPLACE)`, falling back to `renameat` where the file
/// system does not support it.
fn rename_noreplace(d: &OwnedFd, from: &str, to: &str) -> io::Result<()> {
    match rustix::fs::renameat_with(d, from, d, to, rustix::fs::RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL | Errno::NOSYS) => rx(rustix::fs::renameat(d, from, d, to)),
        Err(e) => Err(io_err(e)),
    }
}

impl Shared {
    /// Crash recovery (the non-x-bit branch of `restart`).
    fn recover(&self) -> Result<File, Fatal> {
        let name = &self.name;
        let d = &self.dirfd;
        let _ = rustix::fs::unlinkat(d, "state", AtFlags::empty());
        let _ = rustix::fs::unlinkat(d, "newstate", AtFlags::empty());
        match rustix::fs::statat(d, "processed", AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & 0o100 != 0 => {
                let _ = rustix::fs::unlinkat(d, "previous", AtFlags::empty());
                self.finish("processed", b's');
            }
            Ok(_) | Err(Errno::NOENT) => {
                let _ = rustix::fs::unlinkat(d, "processed", AtFlags::empty());
                self.finish("previous", b'u');
            }
            Err(e) => {
                return Err(Fatal::new(
                    format!("unable to stat {name}/processed"),
                    io_err(e),
                ))
            }
        }
        self.finish("current", b'u');
        let state = rustix::fs::openat(d, "state", TRUNC, Mode::from_raw_mode(0o644))
            .unable(|| format!("write to {name}/state"))?;
        drop(state);
        let cur = rustix::fs::openat(d, "current", APPEND, Mode::from_raw_mode(0o600))
            .unable(|| format!("write to {name}/current"))?;
        rustix::fs::fchmod(&cur, Mode::from_raw_mode(0o644))
            .unable(|| format!("set mode of {name}/current"))?;
        self.sync_dir();
        Ok(File::from(cur))
    }

    /// Finish rotated files in order. Their fsyncs run concurrently, so
    /// the file system can commit them together.
    fn finish_batch(&self, batch: Vec<Job>) {
        let name = &self.name;
        let sync = |f: &File| {
            retry(
                || format!("unable to write {name}/current to disk"),
                || f.sync_all(),
            );
        };
        let files: Vec<&File> = batch
            .iter()
            .map(|j| match j {
                Job::Archive { file, .. } | Job::Previous(file) => file,
            })
            .collect();
        if let [only] = files[..] {
            sync(only);
        } else {
            std::thread::scope(|s| {
                for f in &files[1..] {
                    if std::thread::Builder::new()
                        .spawn_scoped(s, || sync(f))
                        .is_err()
                    {
                        sync(f);
                    }
                }
                sync(files[0]);
            });
        }
        for job in batch {
            match job {
                Job::Archive { file, name: target } => self.finish_archive(&file, &target),
                Job::Previous(file) => {
                    retry(
                        || format!("unable to set mode of {name}/previous"),
                        || rx(rustix::fs::fchmod(&file, Mode::from_raw_mode(0o744))),
                    );
                    drop(file);
                    match &self.processor {
                        None => self.finish("previous", b's'),
                        Some(p) => self.process(p),
                    }
                }
            }
        }
        self.sync_dir();
    }

    /// A durable rotated file: mark it complete (0744) and rename its `.u`
    /// name to `.s`, then trim. A file already trimmed away is skipped.
    fn finish_archive(&self, file: &File, target: &str) {
        let name = &self.name;
        retry(
            || format!("unable to set mode of {name}/{target}"),
            || rx(rustix::fs::fchmod(file, Mode::from_raw_mode(0o744))),
        );
        let stem = &target[..target.len() - 1];
        let mut done = format!("{stem}s");
        loop {
            match rename_noreplace(&self.dirfd, target, &done) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => done = self.next_name(b's'),
                Err(e) => complain(
                    &format!("unable to rename {target} to {done} in directory {name}"),
                    &e,
                ),
            }
        }
        while !self.filesfit() {}
    }

    /// fsync the directory so renames, links and unlinks are durable.
    fn sync_dir(&self) {
        let name = &self.name;
        retry(
            || format!("unable to write directory {name} to disk"),
            || rx(rustix::fs::fsync(&self.dirfd)),
        );
    }

    /// A fresh archive name `@<tai64n>.<code>`, strictly after the last one.
    fn next_name(&self, code: u8) -> String {
        let mut last = self
            .last_stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut now = Tai64N::now();
        if now <= *last {
            now = *last;
            now.nanos += 1000;
            if now.nanos >= 1_000_000_000 {
                now.nanos -= 1_000_000_000;
                now.secs += 1;
            }
        }
        *last = now;
        let label = now.label();
        format!("{}.{}", String::from_utf8_lossy(&label), code as char)
    }

    /// `finish`: link `file` to a fresh `@….code` name, remove it, trim.
    fn finish(&self, file: &str, code: u8) {
        let name = &self.name;
        let d = &self.dirfd;
        let st = loop {
            match rustix::fs::statat(d, file, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => break st,
                Err(Errno::NOENT) => return,
                Err(e) => complain(&format!("unable to stat {name}/{file}"), &io_err(e)),
            }
        };
        if st.st_nlink == 1 {
            loop {
                let target = self.next_name(code);
                match rustix::fs::linkat(d, file, d, target.as_str(), AtFlags::empty()) {
                    Ok(()) => break,
                    Err(e) => complain(&format!("unable to link to {name}/{target}"), &io_err(e)),
                }
            }
        }
        retry(
            || format!("unable to remove {name}/{file}"),
            || match rustix::fs::unlinkat(d, file, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io_err(e)),
            },
        );
        while !self.filesfit() {}
    }

    /// One pass of `filesfit`: true when at most `n - 1` archives remain,
    /// otherwise the oldest is removed and false returned.
    fn filesfit(&self) -> bool {
        let name = &self.name;
        let mut names: Vec<Vec<u8>> = Vec::new();
        let listing = (|| -> io::Result<()> {
            let dir = rustix::fs::Dir::read_from(&self.dirfd).map_err(io_err)?;
            for ent in dir {
                let ent = ent.map_err(io_err)?;
                let n = ent.file_name().to_bytes();
                if n.len() >= 25 && n[0] == b'@' {
                    names.push(n.to_vec());
                }
            }
            Ok(())
        })();
        if let Err(e) = listing {
            complain(&format!("unable to read {name}"), &e);
            return false;
        }
        if (names.len() as u64) < self.num {
            return true;
        }
        let Some(oldest) = names.iter().map(|n| &n[..25]).min() else {
            return true;
        };
        let victim = names
            .iter()
            .find(|n| n.starts_with(oldest))
            .cloned()
            .unwrap_or_default();
        if let Err(e) = rustix::fs::unlinkat(&self.dirfd, &victim[..], AtFlags::empty()) {
            if e != Errno::NOENT {
                complain(
                    &format!(
                        "unable to remove {name}/{}",
                        String::from_utf8_lossy(&victim)
                    ),
                    &io_err(e),
                );
            }
        }
        false
    }

    /// The processor branch of `fullcurrent` (steps 8a–8h).
    fn process(&self, processor: &[u8]) {
        let name = &self.name;
        let d = &self.dirfd;
        let shown = String::from_utf8_lossy(processor);
        loop {
            match self.run_processor(processor) {
                Ok(status) if status.success() => break,
                Ok(status) if status.code().is_none() => {
                    // Killed by a signal: daemontools prints a stale errno here.
                    complain(
                        &format!("processor crashed in {name}"),
                        &io::Error::from_raw_os_error(libc::ENOENT),
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    error::emit(
                        format!(
                            "multilog: fatal: unable to run {shown}: {}\n",
                            error::reason(&e)
                        )
                        .as_bytes(),
                    );
                }
            }
            error::warn(
                "multilog",
                &format!("processor failed in {name}, pausing"),
                None,
            );
            retry::pause();
        }
        let f = retry(
            || format!("unable to create {name}/processed"),
            || {
                rx(rustix::fs::openat(
                    d,
                    "processed",
                    APPEND,
                    Mode::from_raw_mode(0o600),
                ))
            },
        );
        retry(
            || format!("unable to write {name}/processed to disk"),
            || rx(rustix::fs::fsync(&f)),
        );
        retry(
            || format!("unable to set mode of {name}/processed"),
            || rx(rustix::fs::fchmod(&f, Mode::from_raw_mode(0o744))),
        );
        drop(f);
        let f = retry(
            || format!("unable to create {name}/newstate"),
            || {
                rx(rustix::fs::openat(
                    d,
                    "newstate",
                    APPEND,
                    Mode::from_raw_mode(0o600),
                ))
            },
        );
        retry(
            || format!("unable to write {name}/newstate to disk"),
            || rx(rustix::fs::fsync(&f)),
        );
        drop(f);
        retry(
            || format!("unable to remove {name}/previous"),
            || match rustix::fs::unlinkat(d, "previous", AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io_err(e)),
            },
        );
        retry(
            || format!("unable to rename newstate to state in directory {name}"),
            || rx(rustix::fs::renameat(d, "newstate", d, "state")),
        );
        self.finish("processed", b's');
    }

    /// Run the processor once: `/bin/sh -c PROC` in the directory with
    /// fd 0 = previous, 1 = processed, 4 = state, 5 = newstate.
    fn run_processor(&self, processor: &[u8]) -> io::Result<std::process::ExitStatus> {
        let d = &self.dirfd;
        let open = |f: &str, flags: OFlags| {
            rx(rustix::fs::openat(d, f, flags, Mode::from_raw_mode(0o644)))
        };
        let stdin = open("previous", READ)?;
        let stdout = open("processed", TRUNC)?;
        let state = open("state", READ)?;
        let newstate = open("newstate", TRUNC)?;
        crate::sys::processor::run(d.as_fd(), processor, stdin, stdout, state, newstate)
    }
}
