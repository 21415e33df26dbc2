//! Running svinit under test: as PID 1 of a new PID namespace
//! (`unshare --pid --fork --mount-proc`, root only, as a container runs
//! it), or as a child subreaper in this one. Whatever is left is killed on
//! drop: the namespace dies with its PID 1; in this namespace svinit's
//! process tree is killed from the leaves up.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::supervise::START_PAUSE_MS;
use super::{bin_dir, ours, root_or_skip, try_wait_for, wait_for, SOON};

/// Where svinit runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PID 1 of a new PID namespace (root only).
    Pid1,
    /// A child subreaper here.
    Subreaper,
}

/// A running svinit.
pub struct Init {
    /// `unshare` (in [`Mode::Pid1`]) or svinit itself.
    pub child: Child,
    /// svinit's pid, as seen from here.
    pub pid: u32,
    /// Where its stderr goes.
    pub stderr: PathBuf,
    /// The scan directory.
    pub scan: PathBuf,
}

/// `$PATH` for svinit: our programs first (the services' `multilog`).
pub fn path() -> String {
    format!("{}:/usr/bin:/bin", bin_dir().display())
}

/// The children of `pid` (from `/proc/PID/task/PID/children`).
pub fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Every process below `pid`, leaves last.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children(p) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

impl Init {
    /// Start svinit on `scan` with `args` (`-t ms`, then `prog ...` after
    /// the scan directory: `before` go before it, `after` after it).
    /// `None` (after a loud skip) when [`Mode::Pid1`] is not to be had.
    pub fn start(mode: Mode, scan: &Path, before: &[&str], after: &[&str]) -> Option<Init> {
        Init::start_after(mode, "", scan, before, after)
    }

    /// [`Init::start`], but in [`Mode::Pid1`] the shell command `setup`
    /// runs first as the namespace's PID 1 (in its own mount namespace,
    /// e.g. to mount a small file system), then execs svinit.
    pub fn start_after(
        mode: Mode,
        setup: &str,
        scan: &Path,
        before: &[&str],
        after: &[&str],
    ) -> Option<Init> {
        let stderr = scan.with_extension("err");
        let mut cmd = match mode {
            Mode::Pid1 => {
                if !root_or_skip("svinit as PID 1 (unshare --pid)") {
                    return None;
                }
                let mut c = Command::new("unshare");
                c.args(["--pid", "--fork", "--mount-proc"]);
                if !setup.is_empty() {
                    c.args(["sh", "-c", &format!("{setup} && exec \"$@\""), "sh"]);
                }
                c.arg(ours("svinit"));
                c
            }
            Mode::Subreaper => Command::new(ours("svinit")),
        };
        let child = cmd
            .args(before)
            .arg(scan)
            .args(after)
            .env("PATH", path())
            .env("DTOOLS_TEST_SUPERVISE_PAUSE_MS", START_PAUSE_MS)
            .stdin(Stdio::null())
            .stdout(fs::File::create(scan.with_extension("out")).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn svinit");
        let mut pid = child.id();
        if mode == Mode::Pid1 {
            let outer = pid;
            let mut found = None;
            assert!(
                wait_for(SOON, || {
                    found = children(outer).first().copied();
                    found.is_some()
                }),
                "unshare started no svinit"
            );
            pid = found.unwrap();
        }
        Some(Init {
            child,
            pid,
            stderr,
            scan: scan.to_path_buf(),
        })
    }

    /// Send `sig` to svinit.
    pub fn signal(&self, sig: i32) {
        let pid = rustix::process::Pid::from_raw(self.pid as i32).unwrap();
        let sig = rustix::process::Signal::from_named_raw(sig).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    /// Wait for svinit (or unshare) to exit, up to `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        try_wait_for(&mut self.child, limit)
    }

    /// svinit's stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// svinit's stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(self.scan.with_extension("out")).unwrap_or_default()
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let mut all = tree(self.pid);
        all.reverse();
        all.insert(0, self.pid);
        for p in all {
            if let Some(pid) = rustix::process::Pid::from_raw(p as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
