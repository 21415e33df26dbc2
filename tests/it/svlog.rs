//! `svlog`: the default dump against `cat @*.s current | tai64nlocal`
//! (daemontools') over several zones, `-n` against the tail of the dump,
//! time ranges against a linear scan over random directories with clock
//! steps, the error forms, and `-f` under multilog (full speed with
//! rotations and SIGALRMs, kill and restart with `.u` recovery, a
//! processor, retention deleting archives unread).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::faults::Rng;
use crate::support::{ours, reference, run_input, wait_deadline, wait_for, wait_limit, SOON};

fn svlog(args: &[&str], tz: &str) -> std::process::Output {
    svlog_cache(args, tz, Path::new("/dev/null/svlog-index"))
}

/// `svlog` keeping its range index in `cache` (tests never write to
/// `$HOME`; under `/dev/null` it cannot be made, even by root).
fn svlog_cache(args: &[&str], tz: &str, cache: &Path) -> std::process::Output {
    let child = Command::new(ours("svlog"))
        .args(args)
        .env("TZ", tz)
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn svlog");
    wait_deadline(child, SOON)
}

/// A log directory written by our multilog `t s4096` from `lines` lines.
fn multilog_dir(root: &Path, lines: usize) -> std::path::PathBuf {
    let dir = root.join("log");
    let mut input = Vec::new();
    for i in 0..lines {
        input.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 97)).as_bytes());
    }
    // A line without a trailing stamp-able start is still stamped by `t`;
    // add a long one too.
    input.extend_from_slice(&vec![b'y'; 10_000]);
    input.push(b'\n');
    let out = run_input(
        Command::new(ours("multilog")).args(["t", "s4096", "n1000", dir.to_str().unwrap()]),
        &input,
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "multilog: {out:?}");
    dir
}

/// `cat` of the archives in name order and `current`.
fn cat_dir(dir: &Path) -> Vec<u8> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('@') && (n.ends_with(".s") || n.ends_with(".u")))
        .collect();
    names.sort();
    names.push("current".into());
    let mut all = Vec::new();
    for n in names {
        all.extend(std::fs::read(dir.join(n)).unwrap());
    }
    all
}

#[test]
fn dump_matches_tai64nlocal_across_zones() {
    let Some(reference) = reference("tai64nlocal") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let dir = multilog_dir(root.path(), 3000);
    let archives = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".s")
        })
        .count();
    assert!(archives > 10, "only {archives} archives");
    let input = cat_dir(&dir);
    for tz in ["UTC", "Europe/Berlin", "America/New_York"] {
        let want = run_input(
            Command::new(&reference).env("TZ", tz),
            &input,
            Duration::from_secs(30),
        );
        let got = svlog(&[dir.to_str().unwrap()], tz);
        assert!(got.status.success(), "{got:?}");
        assert!(got.stderr.is_empty());
        assert!(
            got.stdout == want.stdout,
            "TZ={tz}: svlog differs from cat | tai64nlocal"
        );
        // The service directory form gives the same.
    }
    let svc = root.path().join("svc");
    std::fs::create_dir_all(svc.join("log")).unwrap();
    std::fs::rename(&dir, svc.join("log/main")).unwrap();
    let a = svlog(&[svc.to_str().unwrap()], "UTC");
    let b = svlog(&[svc.join("log/main").to_str().unwrap()], "UTC");
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert!(!a.stdout.is_empty());
}

#[test]
fn last_lines_are_the_tail_of_the_dump() {
    let root = tempfile::tempdir().unwrap();
    let dir = multilog_dir(root.path(), 2000);
    let d = dir.to_str().unwrap();
    let all = svlog(&[d], "UTC").stdout;
    let lines: Vec<&[u8]> = all.split_inclusive(|&c| c == b'\n').collect();
    for n in [0usize, 1, 2, 7, 100, 1999, 2001, 5000] {
        let got = svlog(&["-n", &n.to_string(), d], "UTC");
        assert!(got.status.success(), "{got:?}");
        let want: Vec<u8> = lines[lines.len().saturating_sub(n)..].concat();
        assert!(got.stdout == want, "-n {n}");
    }
}

/// A random log directory: archives named by their rotation time, labels
/// rising with random gaps and the odd clock step back, lines of random
/// length (some unlabelled). Returns the lines in order.
fn random_dir(dir: &Path, rng: &mut Rng, steps: bool) -> Vec<(Option<u64>, Vec<u8>)> {
    std::fs::create_dir_all(dir).unwrap();
    let mut t: u64 = 1_000_000;
    let mut all = Vec::new();
    let files = rng.range(1, 6);
    for f in 0..files {
        let mut data = Vec::new();
        let n = rng.range(0, 2000);
        for _ in 0..n {
            t += rng.range(0, 3);
            if steps && rng.range(0, 1000) == 0 {
                t -= t.min(rng.range(1, 500));
            }
            let text = vec![b'a' + rng.range(0, 26) as u8; rng.range(0, 200) as usize];
            let mut line = Vec::new();
            let label = if !data.is_empty() && rng.range(0, 50) == 0 {
                None
            } else {
                let l = daemontools::tai64::Tai64N::from_unix(t as i64, 0);
                line.extend_from_slice(&l.stamp());
                Some(t)
            };
            line.extend_from_slice(&text);
            line.push(b'\n');
            data.extend_from_slice(&line);
            all.push((label, line));
        }
        t += 1;
        let name = if f + 1 == files {
            "current".to_string()
        } else {
            let l = daemontools::tai64::Tai64N::from_unix(t as i64, 0);
            format!("{}.s", String::from_utf8(l.label().to_vec()).unwrap())
        };
        std::fs::write(dir.join(name), data).unwrap();
    }
    all
}

#[test]
fn ranges_match_a_linear_scan() {
    let root = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(crate::support::faults::seed(12));
    for round in 0..25 {
        let dir = root.path().join(format!("d{round}"));
        let lines = random_dir(&dir, &mut rng, round % 2 == 1);
        let stamped: Vec<u64> = lines.iter().filter_map(|(l, _)| *l).collect();
        let (lo, hi) = (
            stamped.iter().min().copied().unwrap_or(1_000_000),
            stamped.iter().max().copied().unwrap_or(1_000_000),
        );
        for _ in 0..4 {
            let since = rng.range(lo.saturating_sub(5), hi + 5);
            let until = rng.range(since, hi + 10);
            let lab = |t: u64| {
                String::from_utf8(
                    daemontools::tai64::Tai64N::from_unix(t as i64, 0)
                        .label()
                        .to_vec(),
                )
                .unwrap()
            };
            // Linear: an unlabelled line goes with the line before it in
            // its file; files here start with labelled lines often enough
            // that we simply track across the whole stream and compare
            // against svlog only where no unlabelled line opens a file.
            let mut want = Vec::new();
            let mut sel = false;
            for (l, line) in &lines {
                if let Some(t) = l {
                    sel = *t >= since && *t < until;
                }
                if sel {
                    want.extend_from_slice(line);
                }
            }
            let args = [
                "--since",
                &lab(since),
                "--until",
                &lab(until),
                dir.to_str().unwrap(),
            ];
            // Without an index, then making one, then reading it.
            let got = svlog(&args, "UTC");
            assert!(got.status.success(), "{got:?}");
            for _ in 0..2 {
                let again = svlog_cache(&args, "UTC", &root.path().join("cache"));
                assert!(again.status.success(), "{again:?}");
                assert!(again.stdout == got.stdout, "round {round}: with the index");
            }
            let want = run_input(
                Command::new(ours("tai64nlocal")).env("TZ", "UTC"),
                &want,
                SOON,
            )
            .stdout;
            assert!(
                got.stdout == want,
                "round {round}: --since {since} --until {until}: got {} bytes, want {}",
                got.stdout.len(),
                want.len()
            );
        }
    }
}

#[test]
fn errors() {
    let out = svlog(&["/nonexistent/svlog-dir"], "UTC");
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "svlog: fatal: unable to open directory /nonexistent/svlog-dir: file does not exist\n"
    );
    for bad in [&[][..], &["-x", "d"], &["-n", "x", "d"]] {
        let out = svlog(bad, "UTC");
        assert_eq!(out.status.code(), Some(100), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("svlog: usage: svlog "));
    }
    let out = svlog(&["--since", "soon", "d"], "UTC");
    assert_eq!(out.status.code(), Some(100));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "svlog: fatal: unable to parse time: soon\n"
    );
}

/// A log directory holding `current` = `data`.
fn dir_with(root: &Path, name: &str, data: &[u8]) -> String {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("current"), data).unwrap();
    d.to_str().unwrap().to_string()
}

#[test]
fn output_formats() {
    let root = tempfile::tempdir().unwrap();
    let d = dir_with(
        root.path(),
        "svc",
        b"@400000006b050c5709c2505c hi \"x\"\nplain\n@400000006b050c5709c2505c \xff\n",
    );
    let cases: &[(&str, &str)] = &[
        (
            "utc",
            "2026-11-24 04:02:21.163729500 hi \"x\"\nplain\n2026-11-24 04:02:21.163729500 \u{fffd}\n",
        ),
        (
            "rfc3339",
            "2026-11-24T04:02:21.163729500Z hi \"x\"\nplain\n2026-11-24T04:02:21.163729500Z \u{fffd}\n",
        ),
        (
            "epoch",
            "1795492941.163729500 hi \"x\"\nplain\n1795492941.163729500 \u{fffd}\n",
        ),
        (
            "json",
            concat!(
                "{\"time\":\"2026-11-24T04:02:21.163729500Z\",\"label\":\"@400000006b050c5709c2505c\",\"service\":\"svc\",\"text\":\"hi \\\"x\\\"\"}\n",
                "{\"time\":null,\"label\":null,\"service\":\"svc\",\"text\":\"plain\"}\n",
                "{\"time\":\"2026-11-24T04:02:21.163729500Z\",\"label\":\"@400000006b050c5709c2505c\",\"service\":\"svc\",\"text\":\"\u{fffd}\"}\n",
            ),
        ),
    ];
    for (fmt, want) in cases {
        let got = svlog(&["-o", fmt, &d], "Europe/Berlin");
        assert!(got.status.success(), "{got:?}");
        assert_eq!(String::from_utf8_lossy(&got.stdout), *want, "-o {fmt}");
    }
    let raw = svlog(&["-o", "raw", &d], "UTC");
    assert_eq!(
        raw.stdout,
        std::fs::read(root.path().join("svc/current")).unwrap()
    );
    let local = svlog(&["-o", "local", &d], "Europe/Berlin");
    assert!(local
        .stdout
        .starts_with(b"2026-11-24 05:02:21.163729500 hi"));
    assert_eq!(svlog(&["-o", "bogus", &d], "UTC").status.code(), Some(100));
}

#[test]
fn grep_and_merge() {
    let root = tempfile::tempdir().unwrap();
    let lab = |t: i64| {
        String::from_utf8(daemontools::tai64::Tai64N::from_unix(t, 0).stamp().to_vec()).unwrap()
    };
    let a = dir_with(
        root.path(),
        "a",
        format!("{}a1\n{}a3\ncont\n{}a5 match\n", lab(1), lab(3), lab(5)).as_bytes(),
    );
    std::fs::create_dir_all(root.path().join("svc/b/log")).unwrap();
    dir_with(
        root.path(),
        "svc/b/log/main",
        format!("{}b2 match\n{}b3\n{}b6\n", lab(2), lab(3), lab(6)).as_bytes(),
    );
    let b = root.path().join("svc/b");
    let b = b.to_str().unwrap();
    let got = svlog(&["-o", "raw", &a, b], "UTC");
    assert!(got.status.success(), "{got:?}");
    let want = format!(
        "a: {}a1\nb: {}b2 match\na: {}a3\na: cont\nb: {}b3\na: {}a5 match\nb: {}b6\n",
        lab(1),
        lab(2),
        lab(3),
        lab(3),
        lab(5),
        lab(6)
    );
    assert_eq!(String::from_utf8_lossy(&got.stdout), want);
    let got = svlog(&["-o", "raw", "-g", "match$", &a, b], "UTC");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        format!("b: {}b2 match\na: {}a5 match\n", lab(2), lab(5))
    );
    let got = svlog(&["-o", "raw", "-g", "^b", "-n", "2", b], "UTC");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        format!("{}b3\n{}b6\n", lab(3), lab(6))
    );
    let got = svlog(
        &["-o", "raw", "-g", "^a", "--until", &lab(4)[..25], &a],
        "UTC",
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        format!("{}a1\n{}a3\n", lab(1), lab(3))
    );
    // -n counts the merged lines; json names each line's service.
    let got = svlog(&["-o", "raw", "-n", "3", &a, b], "UTC");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        format!("b: {}b3\na: {}a5 match\nb: {}b6\n", lab(3), lab(5), lab(6))
    );
    let got = svlog(&["-o", "json", "-g", "match", &a, b], "UTC");
    let services: Vec<String> = String::from_utf8_lossy(&got.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                v["service"].as_str().unwrap(),
                v["text"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(services, ["b b2 match", "a a5 match"]);
    let bad = svlog(&["-g", "(", &a], "UTC");
    assert_eq!(bad.status.code(), Some(100));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "svlog: fatal: unable to parse regex (: unclosed group\n"
    );
}

/// A running `svlog -f`, its output collected by threads.
struct Follow {
    child: std::process::Child,
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

fn signal(pid: u32, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

impl Follow {
    fn start(args: &[&str]) -> Follow {
        let mut cmd = Command::new(ours("svlog"));
        cmd.args(args);
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
    fn spawn(mut cmd: Command) -> Follow {
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
    fn len(&self) -> usize {
        self.out.lock().unwrap().len()
    }
    fn wait_len(&self, n: usize) {
        let ok = wait_for(SOON, || self.len() >= n);
        assert!(
            ok,
            "svlog -f printed {} bytes of {n}: {}",
            self.len(),
            self.stderr()
        );
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }
    /// SIGTERM: it must exit 0; its output.
    /// Wait until svlog has printed as much as `want`, stop it, and check
    /// it printed exactly `want` and no warning.
    fn expect_exactly(self, want: &[u8], what: &str) {
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

    fn stop(mut self) -> Vec<u8> {
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
fn multilog(args: &[&str], dir: &Path) -> std::process::Child {
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
    let mut ml = multilog(&["s4096", "n50"], &dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let input = follow_input(0, 30_000);
    let start = std::time::Instant::now();
    let mut stdin = ml.stdin.take().unwrap();
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
fn cat_live(dir: &Path) -> Vec<u8> {
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
    let mut ml = multilog(&["s4096", "n10000"], &dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let first = follow_input(0, 3000);
    let mut stdin = ml.stdin.take().unwrap();
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
    let mut ml = multilog(&["s4096", "n10000"], &dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let first = follow_input(0, 3000);
    let mut stdin = ml.stdin.take().unwrap();
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
    let mut ml = multilog(&["s4096", "n3"], &dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let mut stdin = ml.stdin.take().unwrap();
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
fn grep_decides_on_a_long_line_head() {
    let root = tempfile::tempdir().unwrap();
    let mut data = b"@400000006b050c5709c2505c key ".to_vec();
    data.extend(vec![b'z'; 1_000_000]);
    data.extend_from_slice(b"\nshort\n");
    let d = dir_with(root.path(), "l", &data);
    let got = svlog(&["-o", "raw", "-g", "^key", &d], "UTC");
    assert_eq!(got.stdout, data[..data.len() - 6]);
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
    let mut ml = multilog(&["s4096", "n10000", "!cat"], &dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let input = follow_input(0, 3000);
    let mut stdin = ml.stdin.take().unwrap();
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
    let mut ml = multilog(&["s4096", "n200", "Z"], &dir);
    assert!(wait_for(SOON, || dir.join("current").exists()));
    let f = Follow::start(&["-f", dir.to_str().unwrap()]);
    let mut stdin = ml.stdin.take().unwrap();
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
