//! Helpers shared by the fault suites (`tests/it/faults_*.rs`): root and mount
//! checks, a tmpfs guard, self-checking input lines, a feeder over a pipe
//! that outlives the multilog processes reading it, stderr capture, and a
//! reader for log directories (re-exported from [`super::logdir`]).

pub use super::logdir::read_logdir;
pub use super::{ours, wait_limit};

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The retry pause used by the fault suites (ms), shortened from 5 s.
pub const PAUSE_MS: &str = "20";

/// Skip (loudly) or fail, depending on `DTOOLS_REQUIRE_ROOT_TESTS`.
pub fn skip_or_fail(test: &str, why: &str) {
    super::skip("DTOOLS_REQUIRE_ROOT_TESTS", &format!("{test}: {why}"));
}

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop.
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount a tmpfs with `opts` (e.g. `size=1m`), or `None` after
    /// [`skip_or_fail`] when mounting is not permitted here.
    pub fn mount(test: &str, opts: &str) -> Option<Tmpfs> {
        if !rustix::process::geteuid().is_root() {
            skip_or_fail(test, "needs root to mount a tmpfs");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                opts,
                "faults",
                dir.path().to_str().unwrap(),
            ])
            .output()
            .expect("run mount");
        if !out.status.success() {
            skip_or_fail(
                test,
                &format!(
                    "cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `mount -o remount,OPTS`.
    pub fn remount(&self, opts: &str) {
        let st = Command::new("mount")
            .args([
                "-o",
                &format!("remount,{opts}"),
                self.path().to_str().unwrap(),
            ])
            .status()
            .expect("run mount");
        assert!(st.success(), "remount {opts} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let p = self.path().to_str().unwrap().to_owned();
        let ok = Command::new("umount")
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has it open: detach it so it goes away later.
            let _ = Command::new("umount").args(["-l", &p]).status();
        }
    }
}

/// A small deterministic generator (xorshift64*), so every run of a suite
/// sees the same input and the same kill moments for a given seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// Seed from `FAULTS_SEED` (to replay a failure) or a fixed default.
pub fn seed(default: u64) -> u64 {
    std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Input line number `k` (with its newline): `L<k:08> <len:04> <filler>#`
/// where the filler is `len` bytes derived from `k`, so any line can be
/// checked on its own and a cut-off line is recognisable.
pub fn line(k: usize, maxlen: usize) -> Vec<u8> {
    let len = (k.wrapping_mul(2_654_435_761) >> 7) % maxlen;
    let mut s = String::with_capacity(len + 20);
    write!(s, "L{k:08} {len:04} ").unwrap();
    for i in 0..len {
        s.push(char::from(b'a' + ((k + i) % 26) as u8));
    }
    s.push_str("#\n");
    s.into_bytes()
}

/// Parse and verify one logged line (without its newline): its number.
pub fn parse_line(l: &[u8], maxlen: usize) -> Option<usize> {
    let s = std::str::from_utf8(l).ok()?;
    let k: usize = s.get(1..9)?.parse().ok()?;
    let mut want = line(k, maxlen);
    want.pop();
    (s.as_bytes() == want.as_slice()).then_some(k)
}

/// Is `l` a proper prefix of input line `k`'s text (a line cut by a crash)?
pub fn is_prefix_of_some_line(l: &[u8], maxlen: usize) -> bool {
    if l.len() < 9 {
        return l.first().is_none_or(|&c| c == b'L');
    }
    let Some(k) = std::str::from_utf8(&l[1..9])
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return false;
    };
    line(k, maxlen).starts_with(l)
}

/// The lines `0..n`, concatenated.
pub fn lines(n: usize, maxlen: usize) -> Vec<u8> {
    (0..n).flat_map(|k| line(k, maxlen)).collect()
}

/// A pipe whose read end is handed to one multilog after another, so the
/// input a killed multilog did not read stays for the next one.
pub struct Feed {
    pub read: OwnedFd,
    pub writer: Option<std::thread::JoinHandle<()>>,
}

impl Feed {
    /// Write `data` to a new pipe from a thread, in writes of whole lines of
    /// at most `PIPE_BUF` bytes (atomic, so every read by multilog returns
    /// whole lines), pausing `gap` after each write; close it at the end.
    pub fn lines(data: Vec<u8>, gap: Duration) -> Feed {
        let (read, write) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
        let writer = std::thread::spawn(move || {
            let mut w = std::fs::File::from(write);
            let mut rest = &data[..];
            while !rest.is_empty() {
                let mut n = rest.len().min(4096);
                if n < rest.len() {
                    n = match rest[..n].iter().rposition(|&c| c == b'\n') {
                        Some(i) => i + 1,
                        None => n,
                    };
                }
                if w.write_all(&rest[..n]).is_err() {
                    return;
                }
                rest = &rest[n..];
                if !gap.is_zero() {
                    // pacing: the feed's rate, chosen by the caller.
                    std::thread::sleep(gap);
                }
            }
        });
        Feed {
            read,
            writer: Some(writer),
        }
    }

    /// Write `total` bytes produced by `gen` (called with a buffer to fill)
    /// in large writes, then close.
    pub fn generated(total: u64, mut gen: impl FnMut(&mut [u8]) + Send + 'static) -> Feed {
        let (read, write) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
        let writer = std::thread::spawn(move || {
            let mut w = std::fs::File::from(write);
            let mut buf = vec![0u8; 1 << 20];
            let mut left = total;
            while left > 0 {
                let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
                gen(&mut buf[..n]);
                if w.write_all(&buf[..n]).is_err() {
                    return;
                }
                left -= n as u64;
            }
        });
        Feed {
            read,
            writer: Some(writer),
        }
    }

    pub fn stdin(&self) -> Stdio {
        Stdio::from(self.read.try_clone().expect("dup pipe"))
    }

    pub fn join(&mut self) {
        if let Some(w) = self.writer.take() {
            w.join().unwrap();
        }
    }
}

/// stderr of a child, collected by a thread as it arrives.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>, Arc<AtomicBool>);

impl Captured {
    pub fn start(child: &mut Child) -> Captured {
        let c = Captured::default();
        let mut err = child.stderr.take().expect("stderr piped");
        let sink = c.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            sink.1.store(true, Ordering::SeqCst);
        });
        c
    }

    /// Everything the child wrote: waits (up to `limit`) until the reader
    /// has seen end of file, i.e. every writer of the pipe has closed it.
    /// Once the child has exited that is at once, unless a processor it
    /// forked still holds the pipe; then the text so far.
    pub fn finish(&self, limit: Duration) -> String {
        super::wait_for(limit, || self.1.load(Ordering::SeqCst));
        self.text()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Wait until the text contains `what`; panic with the text after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration) {
        assert!(
            super::wait_for(limit, || self.text().contains(what)),
            "no {what:?} on stderr within {limit:?}; stderr so far:\n{}",
            self.text()
        );
    }
}

/// Wait for `child` (up to `limit`) and return its status and peak RSS in
/// KiB. The peak is the largest `VmHWM` seen in `/proc/PID/status` while it
/// ran, not `ru_maxrss`: Linux carries the pre-exec high-water mark of the
/// forking process into the child's `ru_maxrss`, and this test process,
/// which runs many tests at once, can be far bigger than what is measured.
pub fn wait_rusage(child: &mut Child, limit: Duration) -> (ExitStatus, u64) {
    use std::os::unix::process::ExitStatusExt;
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut got = None;
    let mut hwm = 0u64;
    super::wait_for(limit, || {
        if let Some(k) = vm_hwm_kib(pid) {
            hwm = hwm.max(k);
        }
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid out-pointer to a live local; WNOHANG
        // never blocks; a null rusage pointer is allowed.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, std::ptr::null_mut()) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            got = Some(ExitStatus::from_raw(status));
        }
        got.is_some()
    });
    match got {
        Some(st) => (st, hwm),
        None => {
            let _ = child.kill();
            panic!("child {pid} did not finish within {limit:?}");
        }
    }
}

/// `VmHWM` of a running process, in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// Set the retry pause and the usual environment on a multilog command.
pub fn multilog(dir: &Path, args: &[&str]) -> Command {
    multilog_bin(&super::ours("multilog"), dir, args)
}

/// [`multilog`] with another binary (daemontools' for comparisons).
pub fn multilog_bin(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args)
        .current_dir(dir)
        .env("DTOOLS_TEST_PAUSE_MS", PAUSE_MS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// A child that is killed and reaped when dropped, so a failing test does
/// not leave a multilog behind (holding a tmpfs busy, for one).
pub struct Reaper(pub Child);

impl std::ops::Deref for Reaper {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaper {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A scratch directory on tmpfs when there is one (fast fsync), else on
/// disk.
pub fn workdir() -> tempfile::TempDir {
    if Path::new("/dev/shm").is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("faults")
            .tempdir_in("/dev/shm")
        {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}
