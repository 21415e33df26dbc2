//! `svlog`: the default dump against `cat @*.s current | tai64nlocal`
//! (daemontools') over several zones, `-n` against the tail of the dump,
//! time ranges against a linear scan over random directories with clock
//! steps, the error forms, the output formats, `-g` and the merge of
//! several DIRs (`-f`: `svlog_follow.rs`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::faults::Rng;
use crate::support::svlog::{svlog, svlog_cache};
use crate::support::{ours, reference, run_input, SOON};

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
pub(crate) fn cat_dir(dir: &Path) -> Vec<u8> {
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
