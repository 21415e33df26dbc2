//! Helpers shared by the supervise and svscan process tests.

pub use super::{run, wait_for, SOON};

/// The pause after each start our supervise is given in these tests (ms),
/// shortened from daemontools' 1 s.
pub const START_PAUSE_MS: &str = "50";

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daemontools::supervise::status::Status;

/// Create `root/name` with an executable `run` script.
pub fn service(root: &Path, name: &str, run: &str) -> PathBuf {
    let d = root.join(name);
    fs::create_dir_all(&d).unwrap();
    write_script(&d.join("run"), run);
    d
}

/// Write an executable script.
pub fn write_script(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The decoded status record of `dir`, if readable.
pub fn status(dir: &Path) -> Option<Status> {
    Status::decode(&fs::read(dir.join("supervise/status")).ok()?)
}

/// Raw status bytes.
pub fn status_bytes(dir: &Path) -> Vec<u8> {
    fs::read(dir.join("supervise/status")).unwrap_or_default()
}

/// Wait until the status satisfies `cond`; panic with the last status if not.
pub fn wait_status(dir: &Path, what: &str, cond: impl Fn(&Status) -> bool) -> Status {
    let mut last = None;
    let ok = wait_for(SOON, || {
        last = status(dir);
        last.as_ref().is_some_and(&cond)
    });
    assert!(
        ok,
        "{}: status never became {what}; last {last:?}",
        dir.display()
    );
    last.unwrap()
}

/// Is `pid` alive (and not a zombie)?
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Process state letter from /proc (R, S, T, Z, ...).
pub fn proc_state(pid: u32) -> Option<char> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit(')').next()?.trim_start().chars().next()
}

/// Send control bytes directly (no svc), like `echo -n x > control`.
pub fn control(dir: &Path, bytes: &[u8]) -> bool {
    match fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join("supervise/control"))
    {
        Ok(mut f) => f.write_all(bytes).is_ok(),
        Err(_) => false,
    }
}

/// Does supervise hold `supervise/ok` open (what svok tests)?
pub fn ok(dir: &Path) -> bool {
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join("supervise/ok"))
        .is_ok()
}

/// A supervise process under test; stopped (dx, then KILL) on drop.
pub struct Sup {
    /// The supervise process.
    pub child: Child,
    /// The service directory.
    pub dir: PathBuf,
    /// Where supervise's stderr goes.
    pub stderr: PathBuf,
}

impl Sup {
    /// Start `bin` (a supervise) on `dir`, stderr to `dir.err` next to it.
    ///
    /// Our supervise pauses [`START_PAUSE_MS`] after each start instead of
    /// 1 s (`DTOOLS_TEST_SUPERVISE_PAUSE_MS`; daemontools' ignores it); use
    /// [`Sup::start_real_pause`] to check the real pause.
    pub fn start(bin: &Path, dir: &Path) -> Sup {
        Sup::spawn(bin, dir, Some(START_PAUSE_MS))
    }

    /// [`Sup::start`] with supervise's real 1 s pause after each start.
    pub fn start_real_pause(bin: &Path, dir: &Path) -> Sup {
        Sup::spawn(bin, dir, None)
    }

    /// [`Sup::running`] with a pause of `pause_ms` after each start.
    pub fn running_with_pause(bin: &Path, dir: &Path, pause_ms: &str) -> Sup {
        Sup::wait_running(Sup::spawn(bin, dir, Some(pause_ms)))
    }

    fn spawn(bin: &Path, dir: &Path, pause_ms: Option<&str>) -> Sup {
        let stderr = dir.with_extension("err");
        let err = fs::File::create(&stderr).unwrap();
        let mut cmd = Command::new(bin);
        if let Some(ms) = pause_ms {
            cmd.env("DTOOLS_TEST_SUPERVISE_PAUSE_MS", ms);
        }
        let child = cmd
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        Sup {
            child,
            dir: dir.to_path_buf(),
            stderr,
        }
    }

    /// Start and wait until supervise answers on `supervise/ok` (the status
    /// file is written before `ok` is opened, so it is not enough).
    pub fn running(bin: &Path, dir: &Path) -> Sup {
        Sup::wait_running(Sup::start(bin, dir))
    }

    /// [`Sup::running`] with the real 1 s pause after each start.
    pub fn running_real_pause(bin: &Path, dir: &Path) -> Sup {
        Sup::wait_running(Sup::start_real_pause(bin, dir))
    }

    fn wait_running(s: Sup) -> Sup {
        let dir = &s.dir;
        assert!(
            wait_for(SOON, || status(dir).is_some() && ok(dir)),
            "supervise on {} did not start",
            dir.display()
        );
        s
    }

    /// Wait for supervise itself to exit.
    pub fn wait_exit(&mut self, d: Duration) -> Option<std::process::ExitStatus> {
        super::try_wait_for(&mut self.child, d)
    }

    /// stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Sup {
    fn drop(&mut self) {
        let svc_pid = status(&self.dir).map_or(0, |s| s.pid);
        control(&self.dir, b"dx");
        if self.wait_exit(Duration::from_secs(3)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if svc_pid != 0 && alive(svc_pid) {
            let _ = Command::new("kill")
                .args(["-9", &svc_pid.to_string()])
                .status();
        }
    }
}

/// Write `DIR/supervise/extstatus` by hand, atomically (a new file renamed
/// over it, as supervise does), with the one codec. For the decoding edge
/// cases supervise never writes on its own (a stale ready stamp); every
/// other test reads what supervise writes.
pub fn write_extstatus(dir: &Path, e: &daemontools::supervise::extstatus::ExtStatus) {
    use daemontools::supervise::extstatus::{EXTSTATUS_NEW_PATH, EXTSTATUS_PATH};
    let new = dir.join(EXTSTATUS_NEW_PATH);
    fs::write(&new, e.encode()).unwrap();
    fs::rename(&new, dir.join(EXTSTATUS_PATH)).unwrap();
}

/// A service that becomes ready when told: `notification-fd` 5, and
/// `./run` is `cat` copying the FIFO `DIR/gate` to descriptor 5, so the
/// newline the test writes with [`open_gate`] is the service's readiness
/// newline. `./run` ends (and supervise restarts it) when the test closes
/// the gate.
pub fn notifying_service(root: &Path, name: &str) -> PathBuf {
    let d = service(root, name, "#!/bin/sh\nexec cat gate >&5\n");
    fs::write(d.join("notification-fd"), "5\n").unwrap();
    assert!(Command::new("mkfifo")
        .arg(d.join("gate"))
        .status()
        .unwrap()
        .success());
    d
}

/// Open `DIR/gate` of a [`notifying_service`] for writing, once its `./run`
/// has it open for reading (a FIFO refuses a non-blocking writer without a
/// reader, ENXIO).
pub fn open_gate(dir: &Path) -> fs::File {
    let mut gate = None;
    assert!(
        super::wait_for(super::SOON, || {
            gate = fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(dir.join("gate"))
                .ok();
            gate.is_some()
        }),
        "./run never opened {}/gate",
        dir.display()
    );
    gate.unwrap()
}
