//! `tai64nlocal` under hostile and corrupt time zones: a `TZ` naming
//! `/dev/zero`, a huge file or a FIFO stays bounded in memory and time;
//! truncated and corrupt TZif files give what daemontools (glibc's
//! `__tzfile_read`) gives on the same labels.

use crate::support as common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::filters::{moments, run};
use common::{ours, reference};

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
