//! Helpers shared by every integration test module: our binaries and the
//! reference ones, the one skip rule, the one deadline loop, running a
//! child with a deadline; log directories in [`logdir`], the fault suites'
//! tools in [`faults`], supervise/svscan process helpers in [`supervise`],
//! a process's state from `/proc` (to wait on instead of sleeping) in
//! [`procstate`].
#![allow(dead_code)]

pub mod faults;
pub mod http;
pub mod logdir;
pub mod pki;
pub mod procstate;
pub mod relp_peer;
pub mod rsyslog;
pub mod rsyslog_tls;
pub mod ship;
pub mod supervise;
pub mod svinit;
pub mod svlog;
pub mod syslog_ng;
pub mod tls_peer;

pub use logdir::{mask, Entry};

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Generous deadline for anything that should happen "soon".
pub const SOON: Duration = Duration::from_secs(8);

/// The directory holding our binaries (cargo builds them next to the test
/// executable's `deps/`).
pub fn bin_dir() -> PathBuf {
    let mut p = std::env::current_exe().expect("current_exe");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p
}

/// Path of one of our binaries.
pub fn ours(prog: &str) -> PathBuf {
    let p = bin_dir().join(prog);
    assert!(p.exists(), "our binary {} is not built", p.display());
    p
}

/// Path of one of our binaries in a copy any user can execute, for tests
/// that run our programs as an unprivileged user (`setuidgid nobody …`):
/// such a user cannot reach `target/` when the checkout lives under a
/// directory only root may enter (root's home, a `mktemp -d`). Once per test
/// run, every executable file of [`bin_dir`] is copied into a new 0755
/// directory directly under `/tmp` (a few MB, left for /tmp's cleaning).
pub fn ours_public(prog: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::Builder::new()
            .prefix("dtools-it-bin.")
            .tempdir_in("/tmp")
            .expect("tempdir in /tmp")
            .keep();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for e in std::fs::read_dir(bin_dir()).expect("read target dir") {
            let e = e.unwrap();
            let md = e.metadata().unwrap();
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                let to = d.join(e.file_name());
                std::fs::copy(e.path(), &to).unwrap();
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        d
    });
    let p = dir.join(prog);
    assert!(p.exists(), "our binary {prog} is not built");
    p
}

/// A copy of our `prog` alone in a directory of its own (made once per test
/// run under `/tmp`, left for its cleaning): for svscan, which prefers the
/// `supervise` beside its own executable, in tests whose `$PATH` decides
/// which supervise runs (daemontools', a stand-in, or none at all).
pub fn ours_alone(prog: &str) -> PathBuf {
    static DIRS: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut dirs = DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, p)) = dirs.iter().find(|(n, _)| n == prog) {
        return p.clone();
    }
    let d = tempfile::Builder::new()
        .prefix("dtools-it-alone.")
        .tempdir_in("/tmp")
        .expect("tempdir in /tmp")
        .keep();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let to = d.join(prog);
    std::fs::copy(ours(prog), &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    dirs.push((prog.to_string(), to.clone()));
    to
}

/// The one skip rule: print `test skipped: WHY` and return, unless the
/// environment variable `require` (`DTOOLS_REQUIRE_REFERENCE` or
/// `DTOOLS_REQUIRE_ROOT_TESTS`, both set by CI) is `1`, which makes the
/// skip a failure.
pub fn skip(require: &str, why: &str) {
    if std::env::var_os(require).is_some_and(|v| v == "1") {
        panic!("{why}, and {require}=1");
    }
    eprintln!("test skipped: {why}");
}

/// `/usr/bin/PROG` from Debian package `package`, or `None` after
/// [`skip`] under `DTOOLS_REQUIRE_REFERENCE`.
pub fn installed(prog: &str, package: &str) -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin").join(prog);
    if p.exists() {
        return Some(p);
    }
    skip(
        "DTOOLS_REQUIRE_REFERENCE",
        &format!("{} not installed (apt-get install {package})", p.display()),
    );
    None
}

/// Path of the daemontools reference binary, or `None` after a loud skip.
pub fn reference(prog: &str) -> Option<PathBuf> {
    installed(prog, "daemontools")
}

/// Are we root? If not, [`skip`] under `DTOOLS_REQUIRE_ROOT_TESTS`.
pub fn root_or_skip(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    skip("DTOOLS_REQUIRE_ROOT_TESTS", &format!("{test}: needs root"));
    false
}

/// The one deadline loop: poll `cond` until it holds (true) or `deadline`
/// passes (false). The 5 ms sleep is the poll interval.
pub fn wait_for(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        // The poll interval.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait for `child` to exit, up to `deadline`; `None` if it is still
/// running then (it is left running).
pub fn try_wait_for(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let mut st = None;
    wait_for(deadline, || {
        st = child.try_wait().expect("try_wait");
        st.is_some()
    });
    st
}

/// Wait for `child`, killing and reaping it and failing after `limit`.
pub fn wait_limit(child: &mut Child, limit: Duration) -> ExitStatus {
    if let Some(st) = try_wait_for(child, limit) {
        return st;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("child did not finish within {limit:?}");
}

/// Run `cmd` with `input` on stdin, killing it after `deadline`.
pub fn run_input(cmd: &mut Command, input: &[u8], deadline: Duration) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = wait_deadline(child, deadline);
    let _ = feeder.join();
    out
}

/// Wait for a child, collecting its output (the reader threads are joined
/// before returning), killing it after `deadline`.
pub fn wait_deadline(mut child: Child, deadline: Duration) -> Output {
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = so.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = se.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let status = wait_limit(&mut child, deadline);
    Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    }
}

/// Run a program to completion (stdin empty) with a 20 s deadline.
pub fn run(prog: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_deadline(child, Duration::from_secs(20))
}
