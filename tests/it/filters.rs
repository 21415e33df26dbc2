//! Integration tests for `tai64n`, `tai64nlocal` and `tai64nfrac`: the
//! built binaries, golden files in `fixtures/filters/`, and differential runs
//! against `/usr/bin/tai64n` and `/usr/bin/tai64nlocal`.

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

fn run(prog: &Path, tz: Option<&str>, input: &[u8]) -> Output {
    let mut cmd = Command::new(prog);
    match tz {
        Some(z) => cmd.env("TZ", z),
        None => cmd.env_remove("TZ"),
    };
    run_input(&mut cmd, input, DEADLINE)
}

fn label(unix: i64, nanos: u32) -> String {
    format!("@{:016x}{:08x}", BASE.wrapping_add(unix as u64), nanos)
}

/// Moments worth checking in every zone: DST edges, 1970, before 1970,
/// 2038, far future and past, odd nanoseconds.
fn moments() -> Vec<u8> {
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

/// Peak RSS (`VmHWM`) of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Our `tai64nlocal` with `TZ=tz` under a 512 MiB address-space limit (so
/// a regression cannot take the machine's memory): feeds `input`, waits
/// (deadline 10 s) for the first output line, reads the peak RSS while the
/// process is still alive, then closes stdin. Returns (output, peak KiB).
fn local_with_tz_bounded(tz: &str, input: &[u8]) -> (Vec<u8>, u64) {
    let start = Instant::now();
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -v 524288 && exec \"$0\""])
        .arg(ours("tai64nlocal"))
        .env("TZ", tz)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    if all.contains(&b'\n') {
                        let _ = tx.send(());
                    }
                }
            }
        }
        all
    });
    stdin.write_all(input).unwrap();
    stdin.flush().unwrap();
    if rx.recv_timeout(Duration::from_secs(10)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("TZ={tz}: no output within 10 s");
    }
    let peak = peak_rss_kib(child.id());
    drop(stdin);
    let out = common::wait_deadline(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0), "TZ={tz}");
    assert!(out.stderr.is_empty(), "TZ={tz}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "TZ={tz}: took {:?}",
        start.elapsed()
    );
    (reader.join().unwrap(), peak)
}

/// Regression: `TZ=:/dev/zero` grew until allocation failed, a 100 MB file
/// was read whole (and a 3 GB one took 3 GB and 8 s), a FIFO without a
/// writer hung. glibc reads the 44-byte header and gives up; the zone is
/// then the POSIX string, here UTC. (For the FIFO, glibc's `fopen` blocks
/// forever, so daemontools hangs at the first label; its answer for the same
/// `TZ` with no file there is the reference.)
#[test]
fn tai64nlocal_hostile_tz_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = dir.path().join("sparse");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let subdir = dir.path().join("subdir");
    std::fs::create_dir(&subdir).unwrap();
    let fifo = dir.path().join("fifo");
    let input = b"@400000006b050c5709c2505c hi\nplain\n@4000000037c219bf2ef02e94\n";
    let reference = reference("tai64nlocal");
    // The reference's answer for the FIFO's TZ while nothing is there.
    let fifo_tz = format!(":{}", fifo.display());
    let fifo_want = reference
        .as_ref()
        .map(|r| run(r, Some(&fifo_tz), input).stdout);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let cases = [
        ":/dev/zero".to_string(),
        "/dev/zero".to_string(),
        ":/dev/null".to_string(),
        format!(":{}", sparse.display()),
        format!(":{}", subdir.display()),
        fifo_tz.clone(),
    ];
    for tz in &cases {
        let (out, peak) = local_with_tz_bounded(tz, input);
        assert!(peak < 32 * 1024, "TZ={tz}: peak RSS {peak} KiB");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "2026-11-24 04:02:21.163729500 hi\nplain\n1999-08-24 04:04:05.787492500\n",
            "TZ={tz}"
        );
        let want = if *tz == fifo_tz {
            fifo_want.clone()
        } else {
            reference.as_ref().map(|r| run(r, Some(tz), input).stdout)
        };
        if let Some(want) = want {
            assert_eq!(out, want, "TZ={tz}: differs from daemontools");
        }
    }
}

/// The six header counts of the TZif header at `at`.
fn tzif_counts(b: &[u8], at: usize) -> [u64; 6] {
    let mut c = [0u64; 6];
    for (k, v) in c.iter_mut().enumerate() {
        let i = at + 20 + 4 * k;
        *v = u64::from(u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    }
    c
}

/// Body length after a header with counts `c` (isut, isstd, leap, time,
/// type, char) and `w`-byte times.
fn tzif_body(c: [u64; 6], w: u64) -> usize {
    let [isut, isstd, leap, time, typ, chr] = c;
    usize::try_from(time * (w + 1) + typ * 6 + chr + leap * (w + 4) + isstd + isut).unwrap()
}

fn put_be32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Truncated and corrupt variants of real TZif files, each checked against
/// daemontools (glibc's `__tzfile_read` checks) on the same labels.
fn corrupt_tzif_variants(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let c1 = tzif_counts(data, 0);
    let h2 = 44 + tzif_body(c1, 4);
    let c2 = tzif_counts(data, h2);
    let body2 = h2 + 44;
    let foot = body2 + tzif_body(c2, 8);
    let types2 = body2 + usize::try_from(c2[3] * 9).unwrap();
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    let mut cut: Vec<usize> = vec![0, 3, 4, 5, 20, 43, 44, 45, h2 - 1, h2, h2 + 43, h2 + 44];
    cut.extend([body2 + 100, types2, foot - 1, foot, foot + 1, foot + 2]);
    cut.extend([data.len() - 2, data.len() - 1]);
    cut.extend((0..data.len()).step_by(211));
    for n in cut {
        v.push((
            format!("truncated to {n}"),
            data[..n.min(data.len())].to_vec(),
        ));
    }
    // Footer mutations need a footer: Debian's right/ files have an empty
    // one, so give them Berlin's rule first.
    let mut ruled = data.to_vec();
    if ruled.len() - foot <= 2 {
        ruled.truncate(foot);
        ruled.extend_from_slice(b"\nCET-1CEST,M3.5.0,M10.5.0/3\n");
    }
    let mut m = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut d = if name.contains("footer") {
            ruled.clone()
        } else {
            data.to_vec()
        };
        f(&mut d);
        v.push((name.to_string(), d));
    };
    m("version NUL (32-bit data only)", &|d| d[4] = 0);
    m("version '1'", &|d| d[4] = b'1');
    m("version 'x'", &|d| d[4] = b'x');
    m("isstdcnt > typecnt, first header", &|d| {
        put_be32(d, 24, u32::try_from(c1[4] + 1).unwrap());
    });
    m("isutcnt > typecnt, second header", &|d| {
        put_be32(d, h2 + 20, u32::try_from(c2[4] + 1).unwrap());
    });
    m("timecnt 0xffffffff, second header", &|d| {
        put_be32(d, h2 + 32, u32::MAX);
    });
    m("charcnt 0x7fffffff, second header", &|d| {
        put_be32(d, h2 + 40, 0x7fff_ffff);
    });
    m("typecnt 0 in both headers", &|d| {
        put_be32(d, 36, 0);
        put_be32(d, h2 + 36, 0);
    });
    m("isdst 2", &|d| d[types2 + 4] = 2);
    m("abbreviation index past charcnt", &|d| d[types2 + 5] = 0xff);
    m("type index past typecnt", &|d| {
        d[body2 + usize::try_from(c2[3] * 8).unwrap()] = 0xfe;
    });
    m("no footer (body ends the file)", &|d| d.truncate(foot));
    m("footer of one newline", &|d| {
        d.truncate(foot);
        d.push(b'\n');
    });
    m("empty footer", &|d| {
        d.truncate(foot);
        d.extend_from_slice(b"\n\n");
    });
    m("footer without its closing newline", &|d| {
        d.pop();
    });
    m("footer not starting with newline", &|d| d[foot] = b'X');
    m("NUL inside the footer", &|d| {
        let l = d.len();
        d[l - 5] = 0;
    });
    m("newline inside the footer", &|d| {
        let i = foot + 1 + d[foot + 1..].iter().position(|&c| c == b',').unwrap();
        d[i] = b'\n';
    });
    m("footer unchanged", &|_| {});
    m("junk after the footer", &|d| {
        d.extend_from_slice(b"junk\n");
        d.extend(std::iter::repeat_n(b'Z', 100_000));
    });
    m("junk glued to the footer", &|d| {
        d.pop();
        d.extend_from_slice(b"5");
    });
    m("footer replaced by a US rule", &|d| {
        d.truncate(foot);
        d.extend_from_slice(b"\nEST5EDT,M3.2.0,M11.1.0\n");
    });
    v
}

#[test]
fn tai64nlocal_corrupt_tzif_matches_reference() {
    let Some(reference) = reference("tai64nlocal") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = moments();
    let mut compared = 0;
    for zone in ["Europe/Berlin", "right/Europe/Berlin"] {
        let path = Path::new("/usr/share/zoneinfo").join(zone);
        let Ok(data) = std::fs::read(&path) else {
            eprintln!("test skipped: {} missing", path.display());
            continue;
        };
        assert!(&data[..5] >= b"TZif2", "{zone}: not a version 2+ file");
        for (k, (name, bytes)) in corrupt_tzif_variants(&data).into_iter().enumerate() {
            let file = dir.path().join(format!("v{k}"));
            std::fs::write(&file, &bytes).unwrap();
            let tz = format!(":{}", file.display());
            let a = run(&ours("tai64nlocal"), Some(&tz), &input);
            let b = run(&reference, Some(&tz), &input);
            assert_eq!(a.status.code(), Some(0), "{zone}: {name}");
            if b.status.code() != Some(0) {
                // glibc aborts on some corruptions (an assert in
                // __tzfile_read); nothing to compare with.
                eprintln!("{zone}: {name}: reference died ({:?})", b.status);
                continue;
            }
            if a.stdout != b.stdout {
                let (sa, sb) = (
                    String::from_utf8_lossy(&a.stdout),
                    String::from_utf8_lossy(&b.stdout),
                );
                let first = sa.lines().zip(sb.lines()).find(|(x, y)| x != y);
                panic!("{zone}: {name}: outputs differ, first: {first:?}");
            }
            compared += 1;
        }
    }
    assert!(compared >= 40, "only {compared} variants compared");
}
