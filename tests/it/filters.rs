//! Integration tests for `tai64n`, `tai64nlocal` and `tai64nfrac`: the
//! built binaries, golden files in `fixtures/filters/`, and differential runs
//! against `/usr/bin/tai64n` and `/usr/bin/tai64nlocal`. Hostile and
//! corrupt time zones are in `filters_tz`.

use crate::support as common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{mask, ours, reference, run_input};

const DEADLINE: Duration = Duration::from_secs(60);
const BASE: u64 = (1 << 62) + 10;

/// Run filter `prog` with `TZ=tz` (unset if `None`) on `input`.
pub(super) fn run(prog: &Path, tz: Option<&str>, input: &[u8]) -> Output {
    let mut cmd = Command::new(prog);
    match tz {
        Some(z) => cmd.env("TZ", z),
        None => cmd.env_remove("TZ"),
    };
    run_input(&mut cmd, input, DEADLINE)
}

/// The TAI64N label of a Unix moment.
pub(super) fn label(unix: i64, nanos: u32) -> String {
    format!("@{:016x}{:08x}", BASE.wrapping_add(unix as u64), nanos)
}

/// Moments worth checking in every zone: DST edges, 1970, before 1970,
/// 2038, far future and past, odd nanoseconds.
pub(super) fn moments() -> Vec<u8> {
    let mut ts: Vec<i64> = vec![
        0,
        -1,
        1,
        -11,
        i64::from(i32::MAX),
        i64::from(i32::MAX) + 1,
        i64::from(i32::MIN),
        253_402_300_799,
        253_402_300_800,
        -62_167_219_200,
        -62_167_219_201,
        67_767_976_233_525_456, // year 2147483647
        -2_208_988_800,         // 1900
        -5_000_000_000,
    ];
    // DST edges: New York, London, Lord Howe (half hour), 2024.
    for e in [
        1_710_054_000i64,
        1_730_613_600,
        1_711_846_800,
        1_729_990_800,
        1_712_430_000,
        1_728_142_200,
    ] {
        ts.extend((-2..=2).map(|d| e + d));
        ts.extend([e - 1800, e + 1800]);
    }
    // A spread over ±300 years, and some huge ones.
    let mut x: i64 = 88_172_645_463_325_252;
    for i in 0..400i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ts.push(-10_000_000_000 + i * 50_000_000 + x.rem_euclid(50_000_000));
        if i % 20 == 0 {
            ts.push(x % 60_000_000_000_000_000);
        }
    }
    let nanos = [
        0u32,
        500,
        999_999_999,
        1_000_000_000,
        0xffff_ffff,
        123_456_789,
    ];
    let mut out = String::new();
    for (i, t) in ts.iter().enumerate() {
        out.push_str(&label(*t, nanos[i % nanos.len()]));
        out.push_str(if i % 7 == 0 {
            "\n"
        } else {
            " some text @ here\n"
        });
    }
    out.push_str("no label\n\n@400000006b050c5709c2505c\n");
    out.push_str("@0000400000006b050c5709c2505c 28 digits\n");
    out.into_bytes()
}

const ZONES: &[Option<&str>] = &[
    Some("UTC"),
    Some("America/New_York"),
    Some("Europe/London"),
    Some("Australia/Lord_Howe"),
    Some("Asia/Kolkata"),
    Some("EST5EDT,M3.2.0,M11.1.0"),
    Some("AEST-10AEDT,M10.1.0,M4.1.0/3"),
    Some("<+0330>-3:30"),
    Some(":/usr/share/zoneinfo/Europe/Paris"),
    Some("right/Europe/Berlin"),
    Some(""),
    Some("No/Such/Zone"),
    None,
];

#[test]
fn tai64nlocal_matches_reference_in_many_zones() {
    let Some(reference) = reference("tai64nlocal") else {
        return;
    };
    let input = moments();
    for tz in ZONES {
        let a = run(&ours("tai64nlocal"), *tz, &input);
        let b = run(&reference, *tz, &input);
        assert_eq!(b.status.code(), Some(0), "reference failed for TZ={tz:?}");
        assert_eq!(a.status.code(), Some(0));
        assert!(a.stderr.is_empty());
        if a.stdout != b.stdout {
            let (sa, sb) = (
                String::from_utf8_lossy(&a.stdout),
                String::from_utf8_lossy(&b.stdout),
            );
            let first = sa.lines().zip(sb.lines()).find(|(x, y)| x != y);
            panic!("TZ={tz:?}: outputs differ, first: {first:?}");
        }
    }
}

#[test]
fn tai64nlocal_matches_reference_on_edge_inputs() {
    let Some(reference) = reference("tai64nlocal") else {
        return;
    };
    // Inputs the reference survives: partial lines, EOF inside digits, long
    // and short (but convertible) digit runs, other bytes.
    let cases: &[&[u8]] = &[
        b"",
        b"\n",
        b"plain",
        b"@400000006b050c5709c2505c",
        b"@400000006b050c5709c2505c tail without newline",
        b"@400000006b050c57",
        b"x\n@400000006b050c5709c2",
        b"@400000006b050c5709c2505cZ\n",
        b"@400000006b050c5709c2505c\t\xff\x00bin\n",
        b"@000000000400000006b050c5709c2505c 33 digits\n",
        b"@0400000006b050c5709c2505c 25 digits\n",
    ];
    for tz in [Some("UTC"), Some("America/New_York")] {
        for c in cases {
            let a = run(&ours("tai64nlocal"), tz, c);
            let b = run(&reference, tz, c);
            assert_eq!(
                a.status.code(),
                b.status.code(),
                "{:?}",
                String::from_utf8_lossy(c)
            );
            assert_eq!(a.stdout, b.stdout, "{:?}", String::from_utf8_lossy(c));
        }
    }
}

#[test]
fn tai64nlocal_large_input_matches_reference() {
    let Some(reference) = reference("tai64nlocal") else {
        return;
    };
    let mut input = Vec::new();
    let mut t = 1_700_000_000i64;
    let mut i = 0u32;
    while input.len() < 6_000_000 {
        t += i64::from(i % 5000);
        input.extend_from_slice(label(t, i.wrapping_mul(2_654_435_761) % 1_000_000_000).as_bytes());
        input.extend_from_slice(b" ");
        input.extend(std::iter::repeat_n(
            b'a' + (i % 26) as u8,
            (i % 300) as usize,
        ));
        if i % 1000 == 0 {
            input.extend_from_slice(&vec![b'L'; 200_000]); // a long line
        }
        input.push(b'\n');
        i += 1;
    }
    for tz in [Some("Europe/London"), None] {
        let a = run(&ours("tai64nlocal"), tz, &input);
        let b = run(&reference, tz, &input);
        assert_eq!(a.status.code(), Some(0));
        assert!(a.stdout == b.stdout, "large input differs for TZ={tz:?}");
    }
}

/// Golden cases: `fixtures/filters/<prog>/<case>.{stdin,stdout}` with an
/// optional `<case>.tz`. These cover what the references cannot (crashes,
/// no tai64nfrac binary).
#[test]
fn golden_fixtures() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/filters");
    let mut n = 0;
    for prog in ["tai64nlocal", "tai64nfrac"] {
        let dir = root.join(prog);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixtures dir")
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for stdin in entries
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "stdin"))
        {
            let want = std::fs::read(stdin.with_extension("stdout")).expect("stdout fixture");
            let tz = std::fs::read_to_string(stdin.with_extension("tz")).ok();
            let input = std::fs::read(stdin).unwrap();
            let out = run(
                &ours(prog),
                Some(tz.as_deref().map_or("UTC", str::trim)),
                &input,
            );
            assert_eq!(out.status.code(), Some(0), "{}", stdin.display());
            assert!(out.stderr.is_empty());
            assert!(
                out.stdout == want,
                "{}: got\n{}",
                stdin.display(),
                String::from_utf8_lossy(&out.stdout)
            );
            n += 1;
        }
    }
    assert!(n >= 3, "fixtures missing");
}

/// The reference really does crash on the golden-only bad labels; if a
/// future reference stops crashing, these should become differential.
#[test]
fn reference_crashes_where_we_do_not() {
    let Some(reference) = reference("tai64nlocal") else {
        return;
    };
    for line in [
        "@ x\n",
        "@zz\n",
        "@4000000000000000 y\n",
        "@400000006B050C5709C2505C up\n",
    ] {
        let b = run(&reference, Some("UTC"), line.as_bytes());
        assert_eq!(b.status.signal(), Some(11), "{line:?}");
        let a = run(&ours("tai64nlocal"), Some("UTC"), line.as_bytes());
        assert_eq!(a.status.code(), Some(0));
        assert_eq!(a.stdout, line.as_bytes());
    }
}

fn check_tai64n_shape(input: &[u8], out: &[u8]) {
    let lines_in: Vec<&[u8]> = input.split_inclusive(|&c| c == b'\n').collect();
    let lines_out: Vec<&[u8]> = out.split_inclusive(|&c| c == b'\n').collect();
    assert_eq!(lines_in.len(), lines_out.len());
    let mut last = [0u8; 24];
    for (i, o) in lines_in.iter().zip(&lines_out) {
        assert_eq!(o[0], b'@');
        let hex = &o[1..25];
        assert!(hex
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)));
        assert_eq!(o[25], b' ');
        assert_eq!(&o[26..], *i);
        assert!(hex >= &last[..], "labels go backwards");
        last.copy_from_slice(hex);
        // daemontools nanoseconds end in 500; the clock is near now.
        let secs = u64::from_str_radix(std::str::from_utf8(&hex[..16]).unwrap(), 16).unwrap();
        let nanos = u32::from_str_radix(std::str::from_utf8(&hex[16..]).unwrap(), 16).unwrap();
        assert_eq!(nanos % 1000, 500);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(secs.abs_diff(BASE + now) < 120, "label far from now");
    }
}

#[test]
fn tai64n_structure() {
    let mut input = Vec::new();
    for i in 0..200_000u32 {
        input.extend_from_slice(format!("line {i} {}\n", "x".repeat((i % 97) as usize)).as_bytes());
    }
    input.extend_from_slice(b"\n\nunterminated");
    let a = run(&ours("tai64n"), None, &input);
    assert_eq!(a.status.code(), Some(0));
    assert!(a.stderr.is_empty());
    check_tai64n_shape(&input, &a.stdout);
    assert!(a.stdout.ends_with(b" unterminated"));
    if let Some(reference) = reference("tai64n") {
        let b = run(&reference, None, &input);
        assert_eq!(b.status.code(), Some(0));
        assert_eq!(mask(&a.stdout), mask(&b.stdout));
    }
}

#[test]
fn tai64n_small_cases_match_reference_structure() {
    for input in [&b""[..], b"\n", b"a", b"a\nb", b"\n\n\n", b"\xff\x00\n@x\n"] {
        let a = run(&ours("tai64n"), None, input);
        assert_eq!(a.status.code(), Some(0));
        check_tai64n_shape(input, &a.stdout);
        if let Some(reference) = reference("tai64n") {
            let b = run(&reference, None, input);
            assert_eq!(mask(&a.stdout), mask(&b.stdout), "{input:?}");
        }
    }
}

#[test]
fn arguments_are_ignored() {
    for prog in ["tai64n", "tai64nlocal", "tai64nfrac"] {
        let mut cmd = Command::new(ours(prog));
        cmd.args(["-x", "--help", "junk"]).env("TZ", "UTC");
        let o = run_input(&mut cmd, b"plain\n", DEADLINE);
        assert_eq!(o.status.code(), Some(0), "{prog}");
        assert!(o.stderr.is_empty());
    }
}

fn run_with_stdin_file(prog: &Path, stdin: &Path, stdout: Stdio) -> Output {
    let child = Command::new(prog)
        .stdin(std::fs::File::open(stdin).unwrap())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_deadline(child, DEADLINE)
}

#[test]
fn read_and_write_errors() {
    // stdin is a directory: read fails with EISDIR.
    for (prog, code) in [("tai64n", 111), ("tai64nlocal", 111), ("tai64nfrac", 0)] {
        let o = run_with_stdin_file(&ours(prog), Path::new("/"), Stdio::piped());
        assert_eq!(
            o.status.code(),
            Some(code),
            "{prog} with a directory on stdin"
        );
        assert!(o.stderr.is_empty() && o.stdout.is_empty());
        // There is no reference tai64nfrac.
        if prog != "tai64nfrac" {
            if let Some(r) = reference(prog) {
                let o = run_with_stdin_file(&r, Path::new("/"), Stdio::piped());
                assert_eq!(o.status.code(), Some(code), "reference {prog}");
            }
        }
    }
    // stdout is /dev/full: write fails with ENOSPC.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::write(&input, b"@400000006b050c5709c2505c hello\n").unwrap();
    for (prog, code) in [("tai64n", 111), ("tai64nlocal", 111), ("tai64nfrac", 0)] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = run_with_stdin_file(&ours(prog), &input, Stdio::from(full));
        assert_eq!(o.status.code(), Some(code), "{prog} > /dev/full");
        assert!(
            o.stderr.is_empty(),
            "{prog}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A reader that goes away: the filter dies of SIGPIPE, as the C one does.
#[test]
fn sigpipe_kills_like_daemontools() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let line = b"@400000006b050c5709c2505c some text for the pipe\n";
    std::fs::write(&input, line.repeat(200_000)).unwrap();
    let mut progs: Vec<(String, PathBuf)> = ["tai64n", "tai64nlocal", "tai64nfrac"]
        .iter()
        .map(|p| (format!("ours {p}"), ours(p)))
        .collect();
    for p in ["tai64n", "tai64nlocal"] {
        if let Some(r) = reference(p) {
            progs.push((format!("reference {p}"), r));
        }
    }
    for (name, prog) in progs {
        let mut child = Command::new(&prog)
            .stdin(std::fs::File::open(&input).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("TZ", "UTC")
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 10];
        std::io::Read::read_exact(&mut out, &mut first).unwrap();
        drop(out);
        let o = common::wait_deadline(child, DEADLINE);
        assert_eq!(o.status.signal(), Some(13), "{name}: {:?}", o.status);
        assert!(o.stderr.is_empty(), "{name}");
    }
}

/// Write one line, read its output back before writing the next.
fn interactive(prog: &Path, lines: &[&str], check: impl Fn(&str, &str)) {
    let mut child = Command::new(prog)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            if tx.send(l.unwrap()).is_err() {
                break;
            }
        }
    });
    for l in lines {
        stdin.write_all(l.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        let start = Instant::now();
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{}: no output for {l:?} within 10 s", prog.display()));
        assert!(start.elapsed() < Duration::from_secs(10));
        check(l, &got);
    }
    drop(stdin);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(0));
}

#[test]
fn interactive_line_at_a_time() {
    let lines = [
        "@400000006b050c5709c2505c first",
        "second",
        "@400000006b050c5709c2505d third",
    ];
    interactive(&ours("tai64nlocal"), &lines, |i, o| {
        if let Some(rest) = i.strip_prefix("@400000006b050c5709c2505c") {
            assert_eq!(o, format!("2026-11-24 04:02:21.163729500{rest}"));
        } else if i.starts_with('@') {
            assert!(o.starts_with("2026-11-24 04:02:21.163729501"));
        } else {
            assert_eq!(o, i);
        }
    });
    interactive(&ours("tai64nfrac"), &lines, |i, o| {
        if let Some(rest) = i.strip_prefix("@400000006b050c5709c2505c") {
            assert_eq!(o, format!("1795492941.163729500{rest}"));
        } else if !i.starts_with('@') {
            assert_eq!(o, i);
        }
    });
    interactive(&ours("tai64n"), &lines, |i, o| {
        assert_eq!(o.len(), i.len() + 26);
        assert_eq!(&o[26..], i);
    });
}

#[test]
fn tai64nfrac_vectors() {
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"@400000006b050c5709c2505c hi\n",
            b"1795492941.163729500 hi\n",
        ),
        (b"@400000006b050c5700000001\n", b"1795492941.000000001\n"),
        (b"@ x\n", b"13835058055282163702.000000000 x\n"),
        (
            b"@3fffffffffffffff00000000 neg\n",
            b"18446744073709551605.000000000 neg\n",
        ),
        (
            b"@400000006B050C57 up\n",
            b"13835058055282163706.000000006B050C57 up\n",
        ),
        (b"@400000006b050c5709c2505c", b"1795492941.163729500"),
        (b"not a label\n", b"not a label\n"),
    ];
    for (i, want) in cases {
        let o = run(&ours("tai64nfrac"), None, i);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(&o.stdout, want, "{:?}", String::from_utf8_lossy(i));
    }
}

#[test]
fn round_trip_tai64n_to_tai64nfrac() {
    let stamped = run(&ours("tai64n"), None, b"one\ntwo\n").stdout;
    let frac = run(&ours("tai64nfrac"), None, &stamped).stdout;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for l in String::from_utf8(frac).unwrap().lines() {
        let (num, _) = l.split_once(' ').unwrap();
        let secs: f64 = num.parse().unwrap();
        assert!((secs - now).abs() < 60.0, "{l}");
    }
}
