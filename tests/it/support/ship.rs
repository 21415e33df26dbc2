//! logship under test: a log directory fed by our multilog ([`Logger`]),
//! a running logship with its standard error gathered ([`Ship`]), and the
//! numbered test lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ours, try_wait_for, wait_for, wait_limit, SOON};

/// A test line: its number, padded so lines are about 60 bytes.
pub fn line(n: usize) -> String {
    format!("line {n:08} the quick brown fox jumps over the lazy dog\n")
}

/// The number in a received MSG.
pub fn number(msg: &str) -> Option<usize> {
    msg.trim_start()
        .strip_prefix("line ")?
        .get(..8)?
        .parse()
        .ok()
}

/// A service's log directory `ROOT/app/log/main` fed by our multilog.
pub struct Logger {
    pub dir: PathBuf,
    ml: Child,
    stdin: Option<ChildStdin>,
}

impl Logger {
    pub fn start(root: &Path, script: &[&str]) -> Logger {
        let dir = root.join("app/log/main");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let mut ml = Command::new(ours("multilog"))
            .args(script)
            .arg(&dir)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = ml.stdin.take();
        assert!(wait_for(SOON, || dir.join("current").exists()));
        Logger { dir, ml, stdin }
    }
    pub fn write(&mut self, from: usize, to: usize) {
        let mut s = String::new();
        for n in from..to {
            s.push_str(&line(n));
        }
        self.stdin
            .as_mut()
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
        self.stdin.as_mut().unwrap().flush().unwrap();
    }
    /// Log `input` as it is (lines of any bytes).
    pub fn write_bytes(&mut self, input: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(input).unwrap();
        stdin.flush().unwrap();
    }
    pub fn finish(mut self) {
        drop(self.stdin.take());
        assert!(wait_limit(&mut self.ml, SOON).success());
    }
}

/// A running logship; killed when dropped.
pub struct Ship {
    pub child: Child,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Ship {
    /// Our logship with `args`, run in `cwd`.
    pub fn start(args: &[&str], cwd: &Path) -> Ship {
        Ship::spawn(Command::new(ours("logship")).args(args).current_dir(cwd))
    }
    /// `cmd` (a logship, or a shell that execs one), its standard error
    /// gathered.
    pub fn spawn(cmd: &mut Command) -> Ship {
        let mut child = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let e = err.clone();
        std::thread::spawn(move || {
            let mut b = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut pipe, &mut b) {
                if n == 0 {
                    break;
                }
                e.lock().unwrap().extend_from_slice(&b[..n]);
            }
        });
        Ship { child, err }
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }
    /// SIGTERM: exit 0.
    pub fn stop(mut self) -> String {
        self.signal(rustix::process::Signal::TERM);
        let st = wait_limit(&mut self.child, SOON);
        assert!(st.success(), "logship: {st:?}: {}", self.stderr());
        self.stderr()
    }
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Ship {
    fn drop(&mut self) {
        if try_wait_for(&mut self.child, Duration::ZERO).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The status file logship keeps in `dir` (one expected), if there is one.
pub fn status_in(dir: &Path) -> Option<daemontools::logship::status::Status> {
    use daemontools::logship::status;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(status::PREFIX))
        .and_then(|e| status::parse(&std::fs::read(e.path()).ok()?))
}
