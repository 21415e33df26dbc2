//! Hostile input and a hostile environment: a 1 GiB line, random bytes and
//! NULs, processors that crash or hang, a `state` file that disappears, a
//! log directory made immutable while multilog runs. In every case: no
//! panic, daemontools' messages, recovery once the fault is gone, and no
//! line lost or doubled.

use crate::support::faults as faults_common;
use crate::support::logdir::logged_bytes;
use crate::support::wait_for;
use faults_common::workdir;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faults_common::{
    lines, multilog, read_logdir, skip_or_fail, wait_limit, wait_rusage, Captured, Feed, Reaper,
    Rng,
};

const LIMIT: Duration = Duration::from_secs(60);

/// The input as multilog logs it: a final newline is added if missing.
fn with_newline(input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    if v.last().is_some_and(|&c| c != b'\n') {
        v.push(b'\n');
    }
    v
}

fn assert_same(got: &[u8], want: &[u8]) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "logged {} bytes, want {}; first difference at {at:?}",
            got.len(),
            want.len()
        );
    }
}

// ---------------------------------------------------------------------------
// Input.

#[test]
fn one_gib_line_without_newline_in_bounded_memory() {
    const GIB: u64 = 1 << 30;
    const S: usize = 16_777_215;
    let dir = workdir();
    let mut feed = Feed::generated(GIB, |b| b.fill(b'x'));
    let mut child = Reaper(
        multilog(dir.path(), &["e", "=st", "s16777215", "n3", "./d"])
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    let t = Instant::now();
    let (st, maxrss_kib) = wait_rusage(&mut child, Duration::from_secs(240));
    feed.join();
    eprintln!(
        "1 GiB line: {:?}, maximum RSS {} KiB",
        t.elapsed(),
        maxrss_kib
    );
    assert_eq!(st.code(), Some(0), "{}", err.text());
    assert!(
        maxrss_kib < 64 * 1024,
        "maximum RSS {maxrss_kib} KiB >= 64 MiB"
    );
    // `e` shows the first 200 bytes and `...`; `=` the first 1000.
    assert_eq!(err.finish(LIMIT), format!("{}...\n", "x".repeat(200)));
    let mut want_st = vec![b'x'; 1000];
    want_st.push(b'\n');
    assert_eq!(std::fs::read(dir.path().join("st")).unwrap(), want_st);
    // The line is cut at exactly s: 64 full files (n3 keeps the last two),
    // and the last 64 bytes plus the added newline in `current`.
    let lf = read_logdir(&dir.path().join("d"));
    assert_eq!(lf.others, ["lock", "state"]);
    assert_eq!(lf.archives.len(), 2);
    for (n, b) in &lf.archives {
        assert!(n.ends_with(".s"));
        assert_eq!(b.len(), S);
        assert!(b.iter().all(|&c| c == b'x'));
    }
    let full = usize::try_from(GIB).unwrap() / S * S;
    let mut want_cur = vec![b'x'; usize::try_from(GIB).unwrap() - full];
    want_cur.push(b'\n');
    assert_eq!(lf.current.unwrap(), want_cur);
}

#[test]
fn four_mib_of_random_bytes() {
    let input = Rng::new(0x0bad_5eed).bytes(4 << 20);
    let dir = workdir();
    let mut feed = Feed::lines(input.clone(), Duration::ZERO);
    let mut child = Reaper(
        multilog(dir.path(), &["s4096", "n100000", "./d"])
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    let (st, rss) = wait_rusage(&mut child, LIMIT);
    feed.join();
    eprintln!("4 MiB random: maximum RSS {rss} KiB");
    assert_eq!(st.code(), Some(0), "{}", err.text());
    let lf = read_logdir(&dir.path().join("d"));
    assert_eq!(lf.others, ["lock", "state"]);
    assert!(lf.archives.iter().all(|(_, b)| b.len() <= 4096));
    assert_same(&lf.all(), &with_newline(&input));
}

#[test]
fn random_bytes_with_timestamps_and_patterns() {
    let input = Rng::new(0x7a11).bytes(1 << 20);
    let dir = workdir();
    let mut feed = Feed::lines(input.clone(), Duration::ZERO);
    // ./a gets every line stamped; ./b every line whose text does not
    // start with 'A' ("* " skips the stamp, whatever its digits).
    let mut child = Reaper(
        multilog(dir.path(), &["t", "n100000", "./a", "-* A*", "./b"])
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    let st = wait_limit(&mut child, LIMIT);
    feed.join();
    assert_eq!(st.code(), Some(0), "{}", err.text());
    let a = read_logdir(&dir.path().join("a")).all();
    let want = with_newline(&input);
    let want_lines: Vec<&[u8]> = want[..want.len() - 1].split(|&c| c == b'\n').collect();
    let got_lines: Vec<&[u8]> = a[..a.len() - 1].split(|&c| c == b'\n').collect();
    assert_eq!(got_lines.len(), want_lines.len());
    for (g, w) in got_lines.iter().zip(&want_lines) {
        assert!(
            g.len() >= 26 && g[0] == b'@' && g[25] == b' ',
            "no stamp: {g:?}"
        );
        assert_eq!(&g[26..], *w);
    }
    let b = read_logdir(&dir.path().join("b")).all();
    let kept: Vec<&[u8]> = if b.is_empty() {
        Vec::new()
    } else {
        b[..b.len() - 1]
            .split(|&c| c == b'\n')
            .map(|l| &l[26..])
            .collect()
    };
    let want_b: Vec<&[u8]> = want_lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with(b"A"))
        .collect();
    assert_eq!(kept, want_b);
}

#[test]
fn nul_bytes_pass_through() {
    let mut input = vec![0u8; 1 << 20];
    input.extend_from_slice(b"\n\0\n\n\0\0\0\n");
    input.extend(std::iter::repeat_n(0u8, 5000));
    let dir = workdir();
    let mut feed = Feed::lines(input.clone(), Duration::ZERO);
    let mut child = Reaper(
        multilog(dir.path(), &["s4096", "n100000", "./d"])
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let st = wait_limit(&mut child, LIMIT);
    feed.join();
    assert_eq!(st.code(), Some(0));
    assert_same(
        &read_logdir(&dir.path().join("d")).all(),
        &with_newline(&input),
    );
}

// ---------------------------------------------------------------------------
// Processors.

/// Run `args` on `input` (written by the test, in `pieces`), calling
/// `during` after the first piece; returns stderr. Asserts exit 0.
fn run_pieces(
    dir: &Path,
    args: &[&str],
    pieces: &[&[u8]],
    during: &dyn Fn(&Child, &Captured),
) -> String {
    let mut child = Reaper(multilog(dir, args).stdin(Stdio::piped()).spawn().unwrap());
    let err = Captured::start(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    for (i, p) in pieces.iter().enumerate() {
        stdin.write_all(p).unwrap();
        stdin.flush().unwrap();
        if i == 0 {
            during(&child, &err);
        }
    }
    drop(stdin);
    let st = wait_limit(&mut child, LIMIT);
    let text = err.finish(LIMIT);
    assert_eq!(st.code(), Some(0), "stderr:\n{text}");
    text
}

/// Every archive `.s` and at most `size` bytes, and all of them followed by
/// `current` equal `want`; `extra` names may exist besides lock and state.
fn check_dir(dir: &Path, size: usize, want: &[u8], extra: &[&str]) {
    let lf = read_logdir(dir);
    let mut others = vec!["lock", "state"];
    others.extend_from_slice(extra);
    others.sort_unstable();
    assert_eq!(lf.others, others);
    for (n, b) in &lf.archives {
        assert!(n.ends_with(".s"), "{n}");
        assert!(b.len() <= size, "{n}: {} bytes", b.len());
    }
    assert_same(&lf.all(), want);
}

#[test]
fn processor_killed_by_a_signal_is_rerun() {
    let dir = workdir();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    // Crashes (SIGKILL to itself) on its first three runs, then copies.
    let proc_ = "!n=$(cat crashes 2>/dev/null || echo 0); \
                 if [ $n -lt 3 ]; then echo $((n+1)) > crashes; kill -9 $$; fi; cat";
    let input = lines(400, 100);
    let text = run_pieces(
        dir.path(),
        &["s4096", "n100000", proc_, "./d"],
        &[&input],
        &|_, _| {},
    );
    assert_eq!(
        text.matches("multilog: warning: processor crashed in ./d, pausing: file does not exist\n")
            .count(),
        3,
        "{text}"
    );
    assert_eq!(
        text.matches("multilog: warning: processor failed in ./d, pausing\n")
            .count(),
        3,
        "{text}"
    );
    check_dir(&dir.path().join("d"), 4096, &input, &["crashes"]);
}

#[test]
fn processor_that_hangs_delays_but_loses_nothing() {
    let dir = workdir();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::fs::write(dir.path().join("d/hang"), b"").unwrap();
    let proc_ = "!if [ -e hang ]; then rm hang; sleep 2; fi; cat";
    let input = lines(600, 100);
    let (a, b) = input.split_at(input.len() / 2);
    let t = Instant::now();
    let text = run_pieces(
        dir.path(),
        &["s4096", "n100000", proc_, "./d"],
        &[a, b],
        &|_, _| {},
    );
    assert!(t.elapsed() >= Duration::from_secs(2));
    assert_eq!(text, "");
    check_dir(&dir.path().join("d"), 4096, &input, &[]);
}

#[test]
fn processor_fails_while_state_is_missing() {
    let dir = workdir();
    let d = dir.path().join("d");
    let first = lines(10, 50);
    let rest: Vec<u8> = (10..400).flat_map(|k| faults_common::line(k, 50)).collect();
    let text = run_pieces(
        dir.path(),
        &["s4096", "n100000", "!cat", "./d"],
        &[&first, &rest],
        &|_, err| {
            // multilog has started (it read the first lines): remove
            // `state`, let a rotation fail, then put `state` back.
            assert!(wait_for(LIMIT, || std::fs::metadata(d.join("current"))
                .is_ok_and(|m| m.len() > 0)));
            std::fs::remove_file(d.join("state")).unwrap();
            let d2 = d.clone();
            let err = err.clone();
            std::thread::spawn(move || {
                // Put it back once a rotation has failed and its retry
                // too.
                let failed = "multilog: warning: processor failed in ./d, pausing\n";
                assert!(wait_for(LIMIT, || err.text().matches(failed).count() >= 2));
                std::fs::write(d2.join("state"), b"").unwrap();
            });
        },
    );
    assert!(
        text.contains("multilog: fatal: unable to run cat: file does not exist\n"),
        "{text}"
    );
    let mut input = first.clone();
    input.extend_from_slice(&rest);
    check_dir(&d, 4096, &input, &[]);
}

// ---------------------------------------------------------------------------
// An immutable log directory (chattr +i, root only).

struct Immutable(Vec<std::path::PathBuf>);

impl Immutable {
    fn set(paths: &[&Path]) -> Immutable {
        for p in paths {
            let st = Command::new("chattr").arg("+i").arg(p).status().unwrap();
            assert!(st.success(), "chattr +i {}", p.display());
        }
        Immutable(paths.iter().map(|p| p.to_path_buf()).collect())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
    }
}

/// Can we make files immutable here? And does that stop writes through a
/// descriptor opened before (ext4 checks, tmpfs does not)?
fn chattr_works(test: &str, dir: &Path) -> Option<bool> {
    if !rustix::process::geteuid().is_root() {
        skip_or_fail(test, "needs root for chattr +i");
        return None;
    }
    let probe = dir.join("probe");
    let mut f = std::fs::File::create(&probe).unwrap();
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let blocks_writes = ok && f.write_all(b"x").is_err();
    let _ = Command::new("chattr").arg("-i").arg(&probe).status();
    let _ = std::fs::remove_file(&probe);
    if !ok {
        skip_or_fail(test, "chattr +i is not supported on this file system");
        return None;
    }
    Some(blocks_writes)
}

#[test]
fn log_directory_made_immutable_mid_run() {
    // On the disk file system: tmpfs does not refuse writes to an open
    // immutable file.
    let dir = tempfile::tempdir().unwrap();
    let Some(blocks_writes) = chattr_works("log_directory_made_immutable_mid_run", dir.path())
    else {
        return;
    };
    let d = dir.path().join("d");
    let input = lines(3000, 100);
    // Three pieces of whole lines: a quarter, a quarter, the rest.
    let cut = |n: usize| input[..n].iter().rposition(|&c| c == b'\n').unwrap() + 1;
    let (a, b) = (cut(input.len() / 4), cut(input.len() / 2));
    let (p1, p2, p3) = (&input[..a], &input[a..b], &input[b..]);
    let mut child = Reaper(
        multilog(dir.path(), &["s4096", "n100000", "./d"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let wait_size = |n: u64| {
        assert!(
            wait_for(LIMIT, || std::fs::metadata(d.join("current"))
                .map_or(0, |m| m.len())
                >= n),
            "{}",
            err.text()
        );
    };
    stdin.write_all(b"first\n").unwrap();
    wait_size(6);
    // 1. The directory is immutable: rotation cannot rename `current`.
    {
        let _guard = Immutable::set(&[&d]);
        stdin.write_all(p1).unwrap();
        err.wait_for("multilog: warning: unable to rename current to @", LIMIT);
        assert!(
            err.text()
                .contains(".u in directory ./d, pausing: permission denied\n"),
            "{}",
            err.text()
        );
    }
    // 2. `current` itself is immutable: writes fail.
    stdin.write_all(p2).unwrap();
    stdin.flush().unwrap();
    // Wait until multilog has written all of it (and so is idle).
    let total = (6 + p1.len() + p2.len()) as u64;
    assert!(
        wait_for(LIMIT, || logged_bytes(&d) >= total),
        "{}",
        err.text()
    );
    if blocks_writes {
        let cur = d.join("current");
        let _guard = Immutable::set(&[&cur]);
        stdin.write_all(b"second\n").unwrap();
        err.wait_for(
            "multilog: warning: unable to write to ./d/current, pausing: permission denied\n",
            LIMIT,
        );
    } else {
        eprintln!("part skipped: this file system lets an open immutable file be written");
        stdin.write_all(b"second\n").unwrap();
    }
    stdin.write_all(p3).unwrap();
    drop(stdin);
    let st = wait_limit(&mut child, LIMIT);
    err.finish(LIMIT);
    assert_eq!(st.code(), Some(0), "{}", err.text());
    let mut want = b"first\n".to_vec();
    want.extend_from_slice(p1);
    want.extend_from_slice(p2);
    want.extend_from_slice(b"second\n");
    want.extend_from_slice(p3);
    check_dir(&d, 4096, &want, &[]);
}

// ---------------------------------------------------------------------------
// Descriptor exhaustion (prlimit on the running process).

fn set_nofile(pid: u32, soft: u64) {
    let st = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:")])
        .status();
    assert!(st.is_ok_and(|s| s.success()), "prlimit failed");
}

#[test]
fn descriptor_exhaustion_mid_run() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        skip_or_fail(
            "descriptor_exhaustion_mid_run",
            "prlimit (util-linux) is not installed",
        );
        return;
    }
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1024);
    let dir = workdir();
    let d = dir.path().join("d");
    let input = lines(2000, 100);
    let mut child = Reaper(
        multilog(dir.path(), &["s4096", "n100000", "./d"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    assert!(wait_for(LIMIT, || logged_bytes(&d) >= 6));
    // No descriptor can be opened any more: the next rotation cannot
    // create the new `current`.
    set_nofile(child.id(), 3);
    stdin.write_all(&input[..input.len() / 2]).unwrap();
    err.wait_for(
        "multilog: warning: unable to create ./d/current, pausing: process cannot open more files\n",
        LIMIT,
    );
    set_nofile(child.id(), soft);
    stdin.write_all(&input[input.len() / 2..]).unwrap();
    drop(stdin);
    let st = wait_limit(&mut child, LIMIT);
    err.finish(LIMIT);
    assert_eq!(st.code(), Some(0), "{}", err.text());
    let mut want = b"first\n".to_vec();
    want.extend_from_slice(&input);
    check_dir(&d, 4096, &want, &[]);
}
