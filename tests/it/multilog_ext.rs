//! multilog's extensions (multilog.8, EXTENSIONS): `T`, `S`, `R`, `Z`,
//! `~+`/`~-` and `N`, through our binary. Every daemontools script is
//! covered, unchanged, by the differential suite in `multilog.rs`.

use crate::support as common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::faults::{
    is_prefix_of_some_line, lines, multilog, parse_line, workdir, Captured, Feed, Reaper, Tmpfs,
};
use common::{installed, ours, run_input, wait_for};
use daemontools::tai64::rfc3339;

const DEADLINE: Duration = Duration::from_secs(30);

/// Run our multilog with `args` in `dir` on `input`; stderr and exit code.
fn run_in(dir: &Path, args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    let out = run_input(
        Command::new(ours("multilog"))
            .args(args)
            .current_dir(dir)
            .env("DTOOLS_TEST_PAUSE_MS", "10"),
        input,
        DEADLINE,
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Names in `dir`, sorted (none if it does not exist yet).
fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Archives in label order: (name, size on disk, bytes decompressed with
/// the zstd crate).
fn archives(dir: &Path) -> Vec<(String, u64, Vec<u8>)> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('@'))
        .map(|n| {
            let raw = std::fs::read(dir.join(&n)).unwrap();
            let size = raw.len() as u64;
            let bytes = if n.ends_with(".zst") {
                zstd::decode_all(&raw[..]).unwrap_or_else(|e| panic!("{n}: {e}"))
            } else {
                raw
            };
            (n, size, bytes)
        })
        .collect()
}

/// Archives (decompressed) then `current`, concatenated.
fn logged(dir: &Path) -> Vec<u8> {
    let mut v: Vec<u8> = archives(dir).into_iter().flat_map(|a| a.2).collect();
    v.extend(std::fs::read(dir.join("current")).unwrap_or_default());
    v
}

fn text_lines(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("line {i} {}\n", "abcdefghij".repeat(i % 13)).into_bytes())
        .collect()
}

#[test]
fn capital_t_stamps_rfc3339_and_patterns_see_the_stamp() {
    let tmp = tempfile::tempdir().unwrap();
    let before = daemontools::tai64::Tai64N::now();
    let input = b"hello\nother\nhello\n";
    let (code, err) = run_in(tmp.path(), &["T", "./a", "-*", "+2* hello", "./b"], input);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let after = daemontools::tai64::Tai64N::now();
    let a = std::fs::read(tmp.path().join("a/current")).unwrap();
    let texts: Vec<&[u8]> = a
        .split_inclusive(|&c| c == b'\n')
        .map(|l| {
            let (t, n) = rfc3339::line_stamp(l).expect("a T stamp");
            assert!(before <= t && t <= after, "{}", String::from_utf8_lossy(l));
            assert_eq!(n, rfc3339::LEN);
            assert_eq!(l[n], b' ');
            &l[n + 1..]
        })
        .collect();
    assert_eq!(texts, [&b"hello\n"[..], b"other\n", b"hello\n"]);
    let b = std::fs::read(tmp.path().join("b/current")).unwrap();
    assert_eq!(b.len(), 2 * (rfc3339::LEN + 1 + 6));
    // Only as the first argument, as `t`.
    let (code, _) = run_in(tmp.path(), &["./c", "T"], b"x\n");
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read(tmp.path().join("c/current")).unwrap(), b"x\n");
}

#[test]
fn z_archives_are_what_the_zstd_command_decompresses() {
    let Some(zstd_cmd) = installed("zstd", "zstd") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = text_lines(1500);
    let (code, err) = run_in(tmp.path(), &["s4096", "n1000", "Z", "./d"], &input);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let d = tmp.path().join("d");
    let arch = archives(&d);
    assert!(arch.len() > 10, "{:?}", names(&d));
    let mut all = Vec::new();
    for (n, _, _) in &arch {
        assert!(n.len() == 31 && n.ends_with(".s.zst"), "{n}");
        let out = Command::new(&zstd_cmd)
            .args(["-dc", "--"])
            .arg(d.join(n))
            .output()
            .unwrap();
        assert!(out.status.success(), "zstd -dc {n}");
        all.extend(out.stdout);
    }
    all.extend(std::fs::read(d.join("current")).unwrap());
    assert_eq!(all, input);
    assert!(!names(&d).iter().any(|n| n.starts_with("compressing")));
}

#[test]
fn z_compresses_the_processors_output() {
    let tmp = tempfile::tempdir().unwrap();
    let input = text_lines(600);
    let args = ["s4096", "n1000", "!tr a-z A-Z", "Z", "./d"];
    let (code, err) = run_in(tmp.path(), &args, &input);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let d = tmp.path().join("d");
    let arch = archives(&d);
    assert!(arch.len() > 3);
    assert!(
        arch.iter().all(|a| a.0.ends_with(".s.zst")),
        "{:?}",
        names(&d)
    );
    let upper: Vec<u8> = arch.iter().flat_map(|a| a.2.clone()).collect();
    assert_eq!(upper, input[..upper.len()].to_ascii_uppercase());
}

#[test]
fn s_caps_the_archives_compressed_or_not() {
    for z in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let input = text_lines(3000);
        let mut args = vec!["s4096", "n1000", "S20000"];
        if z {
            args.push("Z");
        }
        args.push("./d");
        let (code, err) = run_in(tmp.path(), &args, &input);
        assert_eq!((code, err.as_str()), (Some(0), ""));
        let d = tmp.path().join("d");
        let arch = archives(&d);
        let total: u64 = arch.iter().map(|a| a.1).sum();
        assert!(total <= 20_000, "{total} bytes in {:?}", names(&d));
        // Without Z about 4 full archives fit; compressed, many more.
        assert!(arch.len() >= if z { 8 } else { 3 }, "{:?}", names(&d));
        assert!(input.ends_with(&logged(&d)));
    }
}

#[test]
fn r_rotates_an_idle_current() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Reaper(
        Command::new(ours("multilog"))
            .args(["R1", "./d"])
            .current_dir(tmp.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    let d = tmp.path().join("d");
    assert!(
        wait_for(DEADLINE, || names(&d).iter().any(|n| n.ends_with(".s"))),
        "no rotation: {:?}",
        names(&d)
    );
    stdin.write_all(b"second\n").unwrap();
    drop(stdin);
    let st = common::wait_limit(&mut child, DEADLINE);
    assert!(st.success());
    let arch = archives(&d);
    assert_eq!(arch[0].2, b"first\n");
    assert_eq!(logged(&d), b"first\nsecond\n");
}

#[test]
fn regex_selection_after_the_stamp() {
    let tmp = tempfile::tempdir().unwrap();
    let input = b"ERROR one\nok\nabc ERR\nERROR skip-me\nWARN x\nabcdef\n";
    let args = [
        "t", "-*", "~+^ERR", "~+WARN", "~-skip", "./a", "-*", "~+^abc", "./b",
    ];
    let (code, err) = run_in(tmp.path(), &args, input);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let unstamped = |p: &str| -> Vec<u8> {
        std::fs::read(tmp.path().join(p))
            .unwrap()
            .split_inclusive(|&c| c == b'\n')
            .flat_map(|l| l[26..].to_vec())
            .collect()
    };
    assert_eq!(unstamped("a/current"), b"ERROR one\nWARN x\n");
    assert_eq!(unstamped("b/current"), b"abc ERR\nabcdef\n");
}

#[test]
fn bad_regex_is_fatal_before_any_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, err) = run_in(tmp.path(), &["~+ok", "~-a(", "./d"], b"x\n");
    assert_eq!(code, Some(111));
    assert!(
        err.starts_with("multilog: fatal: unable to compile regular expression a(: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!tmp.path().join("d").exists());
}

/// With `N2` a full disk costs the oldest archives, announced as a count
/// and a byte total at most once per pause and at the end (not one line per
/// file), and never a pause.
#[test]
fn n_frees_space_on_a_full_disk() {
    let Some(fs) = Tmpfs::mount("n_frees_space_on_a_full_disk", "size=256k") else {
        return;
    };
    let input = text_lines(12_000);
    assert!(input.len() > 600_000);
    let (code, err) = run_in(fs.path(), &["s4096", "n1000", "N2", "./d"], &input);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("pausing"), "{err}");
    let announced: Vec<&str> = err.lines().collect();
    // The run takes well under a pause: the first removal and the rest at
    // the end (a slow machine may need a line per 5 s more).
    assert!((1..=4).contains(&announced.len()), "{err}");
    let mut total = 0;
    for l in &announced {
        let rest = l
            .strip_prefix("multilog: warning: unable to write to ./d/current, removed ")
            .and_then(|r| r.strip_suffix(" from ./d: out of disk space"))
            .unwrap_or_else(|| panic!("unexpected: {l}"));
        let (count, bytes) = rest.split_once(' ').unwrap();
        let count: u64 = count.parse().unwrap();
        let bytes = bytes
            .trim_start_matches("archives (")
            .trim_start_matches("archive (")
            .trim_end_matches(" bytes)");
        assert!(bytes.parse::<u64>().unwrap() >= count * 2_000, "{l}");
        total += count;
    }
    // Every archive made and gone was announced: the names left and the
    // ones removed add up to the rotations made.
    assert!(total > 10, "{err}");
    let d = fs.path().join("d");
    assert!(archives(&d).len() >= 2);
    assert!(input.ends_with(&logged(&d)));
}

/// Killed during compression, again and again: every archive is a
/// complete `.s`/`.u` or a complete `.s.zst`, no leftovers after a start,
/// and the lines are in order. (A start compresses the rotations a killed
/// process left, so a round may be killed before reading any input.)
#[test]
fn z_survives_sigkill_during_compression() {
    const MAXLEN: usize = 100;
    let work = workdir();
    let d = work.path().join("d");
    const LINES: usize = 100_000;
    let input = lines(LINES, MAXLEN);
    let mut feed = Feed::lines(input, Duration::ZERO);
    let args = ["s200000", "n1000", "Z9", "./d"];
    for round in 0..4 {
        let mut child = Reaper(
            multilog(work.path(), &args)
                .stdin(feed.stdin())
                .spawn()
                .unwrap(),
        );
        let err = Captured::start(&mut child);
        // Kill mid-compression, or just after a rename (odd rounds).
        let zst_before = count(&d, ".s.zst");
        let seen = wait_for(DEADLINE, || {
            if round % 2 == 0 {
                names(&d).iter().any(|n| n.starts_with("compressing"))
            } else {
                count(&d, ".s.zst") > zst_before
            }
        });
        assert!(seen, "round {round}: {:?}", names(&d));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(err.finish(DEADLINE), "");
    }
    let mut child = Reaper(
        multilog(work.path(), &args)
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    feed.join();
    assert!(common::wait_limit(&mut child, DEADLINE).success());
    assert_eq!(err.finish(DEADLINE), "");
    let all = names(&d);
    assert!(!all.iter().any(|n| n.starts_with("compressing")), "{all:?}");
    let labels: Vec<&str> = all
        .iter()
        .filter(|n| n.starts_with('@'))
        .map(|n| &n[..25])
        .collect();
    let mut dedup = labels.clone();
    dedup.dedup();
    assert_eq!(labels, dedup, "one file per label: {all:?}");
    // Per file: whole lines in increasing order; a file may start with the
    // rest of a line a killed process had read part of, and a killed
    // process's `current` (now `.u`) may end inside a line.
    let mut files: Vec<Vec<u8>> = archives(&d).into_iter().map(|a| a.2).collect();
    files.push(std::fs::read(d.join("current")).unwrap());
    let mut last = None;
    for f in &files {
        let mut parts: Vec<&[u8]> = f.split(|&c| c == b'\n').collect();
        let tail = parts.pop().unwrap();
        assert!(is_prefix_of_some_line(tail, MAXLEN), "{tail:?}");
        for (i, l) in parts.iter().enumerate() {
            match parse_line(l, MAXLEN) {
                Some(k) => {
                    assert!(last.is_none_or(|p| k > p), "line {k} after {last:?}");
                    last = Some(k);
                }
                None => assert!(i == 0 && l.ends_with(b"#"), "{l:?}"),
            }
        }
    }
    assert_eq!(last, Some(LINES - 1));
}

fn count(dir: &Path, suffix: &str) -> usize {
    names(dir).iter().filter(|n| n.ends_with(suffix)).count()
}

/// The claim the extensions rest on: daemontools 0.76 ignores every one of
/// their arguments, so a script using them still runs there, as the same
/// script without them.
#[test]
fn daemontools_ignores_the_extension_arguments() {
    let Some(refbin) = common::reference("multilog") else {
        return;
    };
    // About 17 files of s4096: n10 (the default) keeps 9 archives.
    let input = text_lines(1000);
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "T", "s4096", "S5000", "R1", "Z", "Z9", "N2", "~+line 1", "~-x", "./d",
    ];
    let out = run_input(
        Command::new(&refbin).args(args).current_dir(tmp.path()),
        &input,
        DEADLINE,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let d = tmp.path().join("d");
    let all = names(&d);
    assert!(all.iter().all(|n| !n.ends_with(".zst")), "{all:?}");
    // No stamp, nothing deselected, no S cap: n10 alone trims.
    let got = logged(&d);
    assert!(got.len() > 9 * 2000);
    assert!(input.ends_with(&got));
    assert_eq!(all.iter().filter(|n| n.starts_with('@')).count(), 9);
}
