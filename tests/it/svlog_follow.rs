//! `svlog -f` under multilog: full speed with rotations and SIGALRMs,
//! `-n` then new lines, kill and restart with `.u` recovery, a processor,
//! retention deleting archives unread, compressed archives, the reader
//! going away (the combinations with other options: `svlog_follow_with.rs`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ours, run_input, wait_for, wait_limit, SOON};
use crate::svlog::cat_dir;

/// A running `svlog -f`, its output collected by threads.
pub(crate) struct Follow {
    pub child: std::process::Child,
    out: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    err: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn collect(
    mut r: impl std::io::Read + Send + 'static,
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    std::thread::JoinHandle<()>,
) {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let b = buf.clone();
    let t = std::thread::spawn(move || {
        let mut chunk = vec![0u8; 64 * 1024];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, t)
}

pub(crate) fn signal(pid: u32, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

impl Follow {
    pub(crate) fn start(args: &[&str]) -> Follow {
        Follow::start_in(Path::new("/dev/null/svlog-index"), args)
    }
    /// svlog keeping its range index in `cache`.
    pub(crate) fn start_in(cache: &Path, args: &[&str]) -> Follow {
        let mut cmd = Command::new(ours("svlog"));
        cmd.args(args).env("XDG_CACHE_HOME", cache);
        Follow::spawn(cmd)
    }
    /// svlog with at most `fds` open descriptors.
    fn start_with_fds(fds: u32, args: &[&str]) -> Follow {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {fds} && exec \"$0\" \"$@\""))
            .arg(ours("svlog"))
            .args(args);
        Follow::spawn(cmd)
    }
    pub(crate) fn spawn(mut cmd: Command) -> Follow {
        let mut child = cmd
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn svlog");
        let (out, t1) = collect(child.stdout.take().unwrap());
        let (err, t2) = collect(child.stderr.take().unwrap());
        Follow {
            child,
            out,
            err,
            threads: vec![t1, t2],
        }
    }
    /// What it printed so far.
    pub(crate) fn output(&self) -> Vec<u8> {
        self.out.lock().unwrap().clone()
    }
    /// Wait until what it printed ends with `tail`.
    pub(crate) fn wait_end(&self, tail: &[u8]) {
        let ok = wait_for(SOON, || self.output().ends_with(tail));
        assert!(
            ok,
            "svlog -f did not print {:?}: {:?}; stderr: {}",
            String::from_utf8_lossy(tail),
            String::from_utf8_lossy(&self.output()),
            self.stderr()
        );
    }
    pub(crate) fn len(&self) -> usize {
        self.out.lock().unwrap().len()
    }
    pub(crate) fn wait_len(&self, n: usize) {
        let ok = wait_for(SOON, || self.len() >= n);
        assert!(
            ok,
            "svlog -f printed {} bytes of {n}: {}",
            self.len(),
            self.stderr()
        );
    }
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }
    /// SIGTERM: it must exit 0; its output.
    /// Wait until svlog has printed as much as `want`, stop it, and check
    /// it printed exactly `want` and no warning.
    pub(crate) fn expect_exactly(self, want: &[u8], what: &str) {
        let ok = wait_for(SOON, || self.len() >= want.len());
        let err = self.stderr();
        let got = self.stop();
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        assert!(
            ok && got == want,
            "svlog -f {what}: {} bytes, want {}, first difference at {at:?}; stderr: {err}",
            got.len(),
            want.len(),
        );
        assert!(err.is_empty(), "{err}");
    }

    pub(crate) fn stop(mut self) -> Vec<u8> {
        signal(self.child.id(), rustix::process::Signal::TERM);
        let st = wait_limit(&mut self.child, SOON);
        assert!(st.success(), "svlog -f: {st:?}: {}", self.stderr());
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.out.lock().unwrap())
    }
}

/// Our multilog on `dir` with `args` before it, stdin piped.
pub(crate) fn multilog(args: &[&str], dir: &Path) -> std::process::Child {
    Command::new(ours("multilog"))
        .args(args)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn multilog")
}

/// `lines` numbered lines, some longer than 4096 bytes (cut across files).
/// multilog `args` on `dir`, its stdin, and `svlog -f dir` started once
/// `current` is there.
fn multilog_followed(
    args: &[&str],
    dir: &Path,
) -> (std::process::Child, std::process::ChildStdin, Follow) {
    let mut ml = multilog(args, dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let stdin = ml.stdin.take().unwrap();
    (ml, stdin, f)
}

fn follow_input(from: usize, lines: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..from + lines {
        let pad = if i % 997 == 0 { 9000 } else { i % 113 };
        v.extend_from_slice(format!("line {i} {}\n", "x".repeat(pad)).as_bytes());
    }
    v
}

#[test]
fn follow_full_speed_with_rotations_and_alarms() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    // n1000: every archive is kept (about 560 are made), so a follower
    // that a loaded machine slows down is never outrun by retention (which
    // it would rightly report as lines lost).
    let (mut ml, mut stdin, f) = multilog_followed(&["s4096", "n1000"], &dir);
    let input = follow_input(0, 30_000);
    let start = std::time::Instant::now();
    for (i, chunk) in input.chunks(64 * 1024).enumerate() {
        stdin.write_all(chunk).unwrap();
        if i % 5 == 4 {
            signal(ml.id(), rustix::process::Signal::ALARM);
        }
    }
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    f.wait_len(input.len());
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "svlog -f: {} bytes through multilog s4096 followed in {secs:.3} s ({:.1} MB/s)",
        input.len(),
        input.len() as f64 / secs / 1e6
    );
    let err = f.stderr();
    let got = f.stop();
    assert!(err.is_empty(), "{err}");
    assert!(got == input, "svlog -f output differs from the input");
}

#[test]
fn follow_last_lines_then_new_ones_and_latency() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let mut ml = multilog(&["s4096", "n50"], &dir);
    let mut stdin = ml.stdin.take().unwrap();
    stdin.write_all(b"a\nb\nc\n").unwrap();
    assert!(wait_for(SOON, || std::fs::metadata(dir.join("current"))
        .is_ok_and(|m| m.len() == 6)));
    let f = Follow::start(&["-f", "-n", "2", dir.to_str().unwrap()]);
    f.wait_len(4);
    let mut want = b"b\nc\n".to_vec();
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let line = format!("late {i}\n");
        let t = std::time::Instant::now();
        stdin.write_all(line.as_bytes()).unwrap();
        want.extend_from_slice(line.as_bytes());
        f.wait_len(want.len());
        worst = worst.max(t.elapsed());
    }
    eprintln!("svlog -f: worst latency over 20 lines {worst:?}");
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    let got = f.stop();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
}

/// [`cat_dir`] of a directory a multilog is writing: read again if a file
/// was renamed (`.u` → `.s`) between the listing and the read.
pub(crate) fn cat_live(dir: &Path) -> Vec<u8> {
    let once = || -> std::io::Result<Vec<u8>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let n = e?.file_name().to_string_lossy().into_owned();
            if n.starts_with('@') && (n.ends_with(".s") || n.ends_with(".u")) {
                names.push(n);
            }
        }
        names.sort();
        names.push("current".into());
        let mut all = Vec::new();
        for n in names {
            all.extend(std::fs::read(dir.join(n))?);
        }
        Ok(all)
    };
    let mut last = None;
    for _ in 0..1000 {
        match once() {
            Ok(v) => return v,
            Err(e) => last = Some(e),
        }
    }
    panic!("unable to read {}: {last:?}", dir.display());
}

/// The names of `dir`'s `.u` archives.
fn u_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('@') && n.ends_with(".u"))
        .collect()
}

/// A killed multilog leaves `current` without its x bit; without an
/// in-flight record the next start archives it as `.u` (link, then unlink)
/// and opens a new `current`.
/// svlog keeps reading the killed file through its descriptor and does not
/// read the `.u` (the same inode) again. The directory (nothing deleted:
/// large `n`) is the truth.
#[test]
fn follow_across_multilog_restart() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let (mut ml, mut stdin, f) = multilog_followed(&["s4096", "n10000"], &dir);
    let first = follow_input(0, 3000);
    stdin.write_all(&first).unwrap();
    // Written, and the rotations finished (`.s`): everything in the
    // directory, and any `.u` after the restart is the recovered `current`.
    assert!(wait_for(SOON, || u_files(&dir).is_empty()
        && cat_live(&dir).len() == first.len()));
    ml.kill().unwrap();
    ml.wait().unwrap();
    drop(stdin);
    // Reading a pipe, the killed multilog left an in-flight record, with
    // which the next start continues `current`; without it (stdin not a
    // pipe, or daemontools' directory) `current` is archived as `.u`,
    // the case followed here.
    restart_with_u_recovery(&dir, first.len(), f, &[]);
}

/// As above, but killed with rotations not yet finished (`.u` in flight):
/// the next start finishes those as `.s` and archives `current` as a new
/// `.u`.
#[test]
fn follow_across_multilog_kill_mid_rotation() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let (mut ml, mut stdin, f) = multilog_followed(&["s4096", "n10000"], &dir);
    let first = follow_input(0, 3000);
    stdin.write_all(&first).unwrap();
    // Written, and the rotations finished (`.s`): everything in the
    // directory, and any `.u` after the restart is the recovered `current`.
    assert!(wait_for(SOON, || cat_live(&dir).len() == first.len()));
    let before = u_files(&dir);
    ml.kill().unwrap();
    ml.wait().unwrap();
    drop(stdin);
    // Reading a pipe, the killed multilog left an in-flight record, with
    // which the next start continues `current`; without it (stdin not a
    // pipe, or daemontools' directory) `current` is archived as `.u`,
    // the case followed here.
    restart_with_u_recovery(&dir, first.len(), f, &before);
}

/// The second half of the restart tests: multilog started again on `dir`
/// (after `first` bytes) without the in-flight record, so that it archives
/// `current` as a `.u` not among `before`; `f` must print the directory.
fn restart_with_u_recovery(dir: &Path, first: usize, f: Follow, before: &[String]) {
    use std::io::Write;
    std::fs::remove_file(dir.join("inflight")).unwrap();
    let mut ml = multilog(&["s4096", "n10000"], dir);
    let mut stdin = ml.stdin.take().unwrap();
    let second = follow_input(3000, 300);
    stdin.write_all(&second[..100]).unwrap();
    assert!(
        wait_for(SOON, || u_files(dir).iter().any(|u| !before.contains(u))),
        "no .u recovery"
    );
    stdin.write_all(&second[100..]).unwrap();
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    let all = cat_dir(dir);
    assert_eq!(all.len(), first + second.len());
    f.expect_exactly(&all, "output differs across a restart");
}

#[test]
fn follow_reports_archives_deleted_unread() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let (mut ml, mut stdin, f) = multilog_followed(&["s4096", "n3"], &dir);
    let first = follow_input(0, 10);
    stdin.write_all(&first).unwrap();
    f.wait_len(first.len());
    signal(f.child.id(), rustix::process::Signal::STOP);
    stdin.write_all(&follow_input(10, 3000)).unwrap();
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    let left = cat_dir(&dir);
    signal(f.child.id(), rustix::process::Signal::CONT);
    assert!(
        wait_for(SOON, || f
            .stderr()
            .contains("deleted before they could be read")),
        "stderr: {}",
        f.stderr()
    );
    f.wait_len(first.len() + left.len());
    let err = f.stderr();
    assert!(err.starts_with("svlog: warning: "), "{err}");
    let got = f.stop();
    assert!(got.starts_with(&first));
    assert!(
        got.ends_with(&left),
        "the archives left and current not at the end"
    );
}

#[test]
fn follow_ends_when_the_reader_goes_away() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("current"), b"x\n").unwrap();
    let (r, w) = std::io::pipe().unwrap();
    let mut child = Command::new(ours("svlog"))
        .args(["-f", dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(w)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut r = r;
    let mut two = [0u8; 2];
    std::io::Read::read_exact(&mut r, &mut two).unwrap();
    drop(r);
    let st = wait_limit(&mut child, SOON);
    assert_eq!(st.code(), Some(0));
}

/// With a processor (`!cat`: its output is its input) every rotation goes
/// `current` → `previous` → `processed` → `@….s`, a new inode: svlog has
/// read the file as `current` and does not print its archive again.
#[test]
fn follow_through_a_processor() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let (mut ml, mut stdin, f) = multilog_followed(&["s4096", "n10000", "!cat"], &dir);
    let input = follow_input(0, 3000);
    for (i, chunk) in input.chunks(16 * 1024).enumerate() {
        stdin.write_all(chunk).unwrap();
        if i % 3 == 2 {
            signal(ml.id(), rustix::process::Signal::ALARM);
        }
    }
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    assert_eq!(cat_dir(&dir), input);
    f.expect_exactly(&input, "through a processor");
}

/// Archives compressed by multilog's `Z` while svlog -f is stopped (so it
/// hears of them only as `.s.zst`) are read decompressed: nothing lost.
#[test]
fn follow_reads_compressed_archives() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let (mut ml, mut stdin, f) = multilog_followed(&["s4096", "n200", "Z"], &dir);
    let first = follow_input(0, 10);
    stdin.write_all(&first).unwrap();
    f.wait_len(first.len());
    signal(f.child.id(), rustix::process::Signal::STOP);
    let rest = follow_input(10, 2000);
    stdin.write_all(&rest).unwrap();
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    let zst = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            let e = e.as_ref().unwrap();
            e.file_name().to_string_lossy().ends_with(".s.zst")
        })
        .count();
    assert!(zst > 10, "{zst} compressed archives");
    signal(f.child.id(), rustix::process::Signal::CONT);
    f.expect_exactly(&[first, rest].concat(), "with compressed archives");
}

#[test]
fn follow_tail_opens_only_the_archives_it_reaches() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let input: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    let out = run_input(
        Command::new(ours("multilog"))
            .args(["s4096", "n2000"])
            .arg(&dir),
        input.as_bytes(),
        SOON,
    );
    assert!(out.status.success());
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(files > 200, "{files} files");
    // Fewer descriptors than archives: -n must not open them all.
    let tail: String = (100_000 - 2999..=100_000)
        .map(|i| format!("{i}\n"))
        .collect();
    let f = Follow::start_with_fds(
        64,
        &["-f", "-o", "raw", "-n", "3000", dir.to_str().unwrap()],
    );
    f.expect_exactly(
        tail.as_bytes(),
        "-n 3000 over 300 archives with 64 descriptors",
    );
}
