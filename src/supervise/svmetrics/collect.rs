//! One scrape: every service under the scan directory, as svscan finds them
//! (entries not starting with `.`, symlinks followed, `NAME/log` as a
//! service of its own when it is a directory), and each service's log
//! directory `NAME/log/main` (the layout of daemontools' documentation,
//! `multilog t ./main`; the one svlog looks at).
//!
//! Everything is read through directory descriptors (`openat`, `fstatat`):
//! a few system calls per service, no `chdir`.

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, Dir, FileType};

use std::path::PathBuf;

use super::expo::{unix_seconds, Exposition, Family, Kind};
use super::logship::Found;
use crate::logdir::archive_kind;
use crate::logdir::names::{twin_names, CURRENT};
use crate::supervise::extstatus::Death;
use crate::supervise::observe;
use crate::tai64::Tai64N;

macro_rules! families {
    ($($id:ident = $name:literal, $kind:ident, $help:literal;)*) => {
        /// Every metric family, in output order.
        pub(crate) const FAMILIES: &[Family] = &[
            $(Family { name: $name, help: $help, kind: Kind::$kind },)*
        ];
        /// The families' indexes in [`FAMILIES`].
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy)]
        pub(crate) enum Metric { $($id,)* }
    };
}

families! {
    SUPERVISE = "daemontools_supervise_running", Gauge,
        "1 if supervise runs in the service directory (it holds supervise/ok open).";
    UP = "daemontools_service_up", Gauge, "1 if the service has a process.";
    PID = "daemontools_service_pid", Gauge, "Process id of the service; 0 when down.";
    CHANGE = "daemontools_service_state_change_timestamp_seconds", Gauge,
        "Unix time of the last pid change (supervise/status).";
    WANT_UP = "daemontools_service_want_up", Gauge,
        "1 if supervise keeps the service up; 0 for down or once.";
    NORMALLY_UP = "daemontools_service_normally_up", Gauge,
        "1 if the service directory has no down file.";
    PAUSED = "daemontools_service_paused", Gauge, "1 if the service is paused (svc -p).";
    READY = "daemontools_service_ready", Gauge,
        "1 if up and ready; equals up without supervise/extstatus.";
    READY_AT = "daemontools_service_ready_timestamp_seconds", Gauge,
        "Unix time the service became ready since its last start.";
    DEATHS = "daemontools_service_deaths_total", Counter,
        "Deaths of ./run since supervise started (needs supervise/extstatus).";
    RESTARTS = "daemontools_service_restarts_total", Counter,
        "Restarts since supervise started (needs supervise/extstatus).";
    EXIT_CODE = "daemontools_service_last_exit_code", Gauge,
        "Exit code of the last death, if ./run exited.";
    SIGNAL = "daemontools_service_last_signal", Gauge,
        "Signal number of the last death, if ./run was killed.";
    PERMANENT = "daemontools_service_permanent_failure", Gauge,
        "1 if finish exited 125 and the service stays down.";
    FINISHING = "daemontools_service_finish_running", Gauge, "1 while ./finish runs.";
    DELAY = "daemontools_service_restart_delay_seconds", Gauge,
        "Current pause before the next restart.";
    LOG_CURRENT = "daemontools_log_current_bytes", Gauge,
        "Size of the log directory's current file.";
    LOG_ARCHIVES = "daemontools_log_archives", Gauge,
        "Number of archived log files (@*.s, @*.u, @*.s.zst).";
    LOG_ARCHIVE_BYTES = "daemontools_log_archive_bytes", Gauge,
        "Total size of the archived log files on disk (compressed as they are).";
    LOG_WRITE = "daemontools_log_last_write_timestamp_seconds", Gauge,
        "Unix time of the last write to current (its mtime).";
    LOGSHIP_LAG_BYTES = "daemontools_logship_lag_bytes", Gauge,
        "Bytes of the log directory the destination has not acknowledged (logship's status file).";
    LOGSHIP_LAG_LINES = "daemontools_logship_lag_lines", Gauge,
        "Lines the destination has not acknowledged; approximate for lines not read yet.";
    LOGSHIP_LAST_ACK = "daemontools_logship_last_ack_timestamp_seconds", Gauge,
        "Unix time of the destination's last acknowledgement of this directory's lines.";
    LOGSHIP_UP = "daemontools_logship_up", Gauge,
        "1 if logship has a session ready with the destination; 0 waiting, refused or stopped.";
    LOGSHIP_REFUSED = "daemontools_logship_refused", Gauge,
        "1 if the destination refused logship's session, messages or certificate.";
    LOGSHIP_UPDATED = "daemontools_logship_status_timestamp_seconds", Gauge,
        "Unix time logship last wrote its status file (at least every 10 s while it runs).";
}

impl Exposition {
    fn add(&mut self, f: Metric, service: &str, v: &dyn std::fmt::Display) {
        self.sample(f as usize, service, v);
    }
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// The samples of the service directory `dir`, labelled `name`.
fn service(e: &mut Exposition, name: &str, dir: &OwnedFd) {
    let running = observe::open_ok_at(dir).is_ok();
    e.add(Metric::SUPERVISE, name, &flag(running));
    let Ok(o) = observe::observe(dir) else {
        return;
    };
    let st = &o.status;
    e.add(Metric::UP, name, &flag(o.up()));
    e.add(Metric::PID, name, &st.pid);
    e.add(Metric::CHANGE, name, &unix_seconds(st.when));
    e.add(Metric::WANT_UP, name, &flag(st.want == b'u'));
    if let Ok(nu) = observe::normally_up_at(dir) {
        e.add(Metric::NORMALLY_UP, name, &flag(nu));
    }
    e.add(Metric::PAUSED, name, &flag(o.up() && st.paused));
    e.add(Metric::READY, name, &flag(o.ready()));
    e.add(Metric::PERMANENT, name, &flag(o.permanent_failure()));
    let Some(x) = o.ext else {
        return;
    };
    if let Some(t) = o.ready_at() {
        e.add(Metric::READY_AT, name, &unix_seconds(t));
    }
    e.add(Metric::DEATHS, name, &x.deaths);
    e.add(Metric::RESTARTS, name, &x.restarts);
    match x.last_death {
        Death::None => {}
        Death::Exited(c) => e.add(Metric::EXIT_CODE, name, &c),
        Death::Killed(s) => e.add(Metric::SIGNAL, name, &s),
    }
    e.add(Metric::FINISHING, name, &flag(x.finishing));
    let ms = x.delay_ms;
    e.add(
        Metric::DELAY,
        name,
        &format!("{}.{:03}", ms / 1000, ms % 1000),
    );
}

/// The samples of the log directory `main` (already open), labelled `name`.
fn logdir(e: &mut Exposition, name: &str, main: OwnedFd) {
    if let Ok(st) = rustix::fs::statat(&main, CURRENT, AtFlags::empty()) {
        e.add(Metric::LOG_CURRENT, name, &st.st_size);
        let nanos = u32::try_from(st.st_mtime_nsec).unwrap_or(0);
        let t = Tai64N::from_unix(st.st_mtime, nanos);
        e.add(Metric::LOG_WRITE, name, &unix_seconds(t));
    }
    // Reads the directory through `main` itself (no reopen of ".").
    let Ok(mut dir) = Dir::new(main) else {
        return;
    };
    let mut archives = Vec::new();
    while let Some(Ok(ent)) = dir.read() {
        if archive_kind(ent.file_name().to_bytes()).is_some() {
            archives.push(ent.file_name().to_owned());
        }
    }
    let Ok(fd) = dir.fd() else {
        return;
    };
    let (mut count, mut bytes) = (0u64, 0i64);
    let mut counted = std::collections::BTreeSet::new();
    for n in &archives {
        // Every file on disk is counted (a compressor's twin too: these
        // are gauges of disk use), once; one renamed since the listing
        // (finished, compressed) under the first of its twin names there.
        let listed = std::path::Path::new(std::ffi::OsStr::from_bytes(n.to_bytes()));
        crate::logdir::open::race_point(listed);
        let names: Vec<_> = std::iter::once(listed.to_path_buf())
            .chain(twin_names(listed))
            .collect();
        let stat = |p: &std::path::Path| {
            let at = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
            rustix::fs::statat(fd, at.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(std::io::Error::from)
        };
        if let Ok(Some((p, st))) = crate::logdir::open::first_found(&names, stat) {
            if counted.insert(p) {
                count += 1;
                bytes += st.st_size;
            }
        }
    }
    e.add(Metric::LOG_ARCHIVES, name, &count);
    e.add(Metric::LOG_ARCHIVE_BYTES, name, &bytes);
}

/// Is `name` in `base` a directory (following symlinks)?
fn open_service(base: impl AsFd, name: &CStr) -> Option<OwnedFd> {
    observe::open_dir_at(base, name).ok()
}

/// The names in `scan` that svscan would supervise, sorted bytewise.
fn names(scan: &OwnedFd) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut v = Vec::new();
    for ent in Dir::read_from(scan)? {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n.first() == Some(&b'.') {
            continue;
        }
        // Plain files are skipped cheaply; unknown types and symlinks are
        // sorted out by the directory open.
        if matches!(ent.file_type(), FileType::RegularFile | FileType::Fifo) {
            continue;
        }
        v.push(n.to_vec());
    }
    v.sort_unstable();
    Ok(v)
}

/// The samples of the services `names` of `scan` (whole slices of them go
/// to one worker each).
fn services(scan: &OwnedFd, names: &[Vec<u8>]) -> (Exposition, Found) {
    let mut e = Exposition::new(FAMILIES);
    let mut found = Found::default();
    for n in names {
        let Ok(c) = std::ffi::CString::new(n.as_slice()) else {
            continue;
        };
        let Some(dir) = open_service(scan, &c) else {
            continue;
        };
        let label = String::from_utf8_lossy(n).into_owned();
        service(&mut e, &label, &dir);
        found.scan(&dir);
        if let Some(log) = open_service(&dir, c"log") {
            service(&mut e, &format!("{label}/log"), &log);
            if let Some(main) = open_service(&log, c"main") {
                logdir(&mut e, &label, main);
            }
        }
    }
    (e, found)
}

/// Below this many services one thread does the whole scrape.
const PARALLEL_FROM: usize = 200;
/// At most this many threads per scrape.
const MAX_THREADS: usize = 4;

/// One scrape of the scan directory `scan`, and of logship's status files
/// in the service directories and in `extra` (`-c DIR`). Nearly all the
/// time goes to the kernel's `openat` path lookups, so large directories
/// are split between up to [`MAX_THREADS`] threads (one per CPU), each
/// taking a contiguous run of names; their samples are joined in name
/// order.
///
/// # Errors
/// The scan directory cannot be read.
pub(crate) fn scrape(scan: &OwnedFd, extra: &[PathBuf]) -> rustix::io::Result<String> {
    let names = names(scan)?;
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = if names.len() < PARALLEL_FROM {
        1
    } else {
        cpus.clamp(1, MAX_THREADS)
    };
    let parts: Vec<(Exposition, Found)> = if threads == 1 {
        vec![services(scan, &names)]
    } else {
        split(scan, &names, names.len().div_ceil(threads))
    };
    let mut all = Exposition::new(FAMILIES);
    let mut found = Found::default();
    for (e, f) in parts {
        all.append(e);
        found.join(f);
    }
    for d in extra {
        if let Ok(fd) = observe::open_dir_at(rustix::fs::CWD, d.as_path()) {
            found.scan(&fd);
        }
    }
    found.samples(&mut all);
    Ok(all.finish())
}

/// The parts of a scrape, `chunk` names per thread, in name order.
fn split(scan: &OwnedFd, names: &[Vec<u8>], chunk: usize) -> Vec<(Exposition, Found)> {
    std::thread::scope(|s| {
        // A part whose thread cannot be created (EAGAIN: RLIMIT_NPROC,
        // memory) is done here, after the others have been started.
        let mut workers = Vec::new();
        let mut here = Vec::new();
        for (i, part) in names.chunks(chunk).enumerate() {
            match std::thread::Builder::new().spawn_scoped(s, move || services(scan, part)) {
                Ok(w) => workers.push((i, w)),
                Err(_) => here.push((i, part)),
            }
        }
        let mut parts: Vec<(usize, (Exposition, Found))> = here
            .into_iter()
            .map(|(i, part)| (i, services(scan, part)))
            .collect();
        // A worker that panicked contributes nothing rather than taking
        // the server down.
        parts.extend(
            workers
                .into_iter()
                .filter_map(|(i, w)| w.join().ok().map(|e| (i, e))),
        );
        parts.sort_by_key(|(i, _)| *i);
        parts.into_iter().map(|(_, e)| e).collect()
    })
}
