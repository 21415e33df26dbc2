//! `svlog` on what else a log directory may hold or be reached through:
//! RFC 3339 stamps (multilog's `T`) beside TAI64N labels, archives
//! compressed with zstd (`@….s.zst`), and a service directory whose
//! running multilog (under our supervise) writes somewhere else than
//! `log/main`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use daemontools::tai64::Tai64N;

use crate::support::supervise::{write_script, Sup};
use crate::support::{ours, run_input, wait_deadline, wait_for, SOON};

fn svlog(args: &[&str], tz: &str) -> std::process::Output {
    let child = Command::new(ours("svlog"))
        .args(args)
        .env("TZ", tz)
        .env("XDG_CACHE_HOME", "/dev/null/svlog-index")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn svlog");
    wait_deadline(child, SOON)
}

fn name(t: i64, ext: &str) -> String {
    format!(
        "{}{ext}",
        String::from_utf8(Tai64N::from_unix(t, 0).label().to_vec()).unwrap()
    )
}

/// Lines from second `from`, each stamped with either kind (`rfc` picks
/// which), with a clock step back in the middle. Returns the lines and the
/// same lines with every stamp as a TAI64N label.
fn lines(from: i64, n: i64, rfc: impl Fn(i64) -> bool) -> (Vec<u8>, Vec<u8>) {
    let (mut v, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let t = Tai64N::from_unix(from + i - if i == n / 2 { 7 } else { 0 }, 123_456_789);
        if rfc(i) {
            assert!(daemontools::tai64::rfc3339::format(t, &mut v));
            v.push(b' ');
        } else {
            v.extend_from_slice(&t.stamp());
        }
        labels.extend_from_slice(&t.stamp());
        for out in [&mut v, &mut labels] {
            out.extend_from_slice(format!("line {from} {i}\n").as_bytes());
            if i % 5 == 0 {
                out.extend_from_slice(b"unstamped\n");
            }
        }
    }
    (v, labels)
}

#[test]
fn rfc3339_stamps_and_compressed_archives() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("log");
    std::fs::create_dir_all(&d).unwrap();
    let (a, la) = lines(1_000, 20, |_| true);
    let (b, lb) = lines(1_100, 20, |i| i % 2 == 0);
    let (c, lc) = lines(1_200, 20, |_| false);
    let (cur, lcur) = lines(1_300, 20, |i| i % 3 == 0);
    let zst = |data: &[u8]| zstd::stream::encode_all(data, 3).unwrap();
    std::fs::write(d.join(name(1_050, ".s.zst")), zst(&a)).unwrap();
    std::fs::write(d.join(name(1_150, ".s")), &b).unwrap();
    // One archive both ways: a compressor has not removed the `.s` yet.
    std::fs::write(d.join(name(1_250, ".s")), &c).unwrap();
    std::fs::write(d.join(name(1_250, ".s.zst")), zst(b"never read\n")).unwrap();
    std::fs::write(d.join("current"), &cur).unwrap();
    let raw = [&a[..], &b, &c, &cur].concat();
    let labels = [&la[..], &lb, &lc, &lcur].concat();
    let ds = d.to_str().unwrap();

    let got = svlog(&["-o", "raw", ds], "UTC");
    assert!(got.status.success() && got.stderr.is_empty(), "{got:?}");
    assert!(got.stdout == raw, "-o raw");
    for tz in ["UTC", "Europe/Berlin"] {
        let want = run_input(
            Command::new(ours("tai64nlocal")).env("TZ", tz),
            &labels,
            SOON,
        );
        let got = svlog(&[ds], tz);
        assert!(got.stdout == want.stdout, "TZ={tz}: not as tai64nlocal");
    }
    let all = svlog(&[ds], "UTC").stdout;
    let tail: Vec<&[u8]> = all.split_inclusive(|&c| c == b'\n').collect();
    let got = svlog(&["-n", "7", ds], "UTC");
    assert!(got.stdout == tail[tail.len() - 7..].concat(), "-n 7");

    // Ranges select by either stamp, across the step back.
    for (since, until) in [(1_005, 1_012), (1_095, 1_310), (1_290, 1_400), (0, 1_003)] {
        let mut want = Vec::new();
        let mut sel = false;
        for line in raw.split_inclusive(|&c| c == b'\n') {
            if let Some((t, _)) = daemontools::tai64::rfc3339::line_stamp(line) {
                sel = t >= Tai64N::from_unix(since, 0) && t < Tai64N::from_unix(until, 0);
            }
            if sel {
                want.extend_from_slice(line);
            }
        }
        let lab = |t| String::from_utf8(Tai64N::from_unix(t, 0).label().to_vec()).unwrap();
        let got = svlog(
            &[
                "-o",
                "raw",
                "--since",
                &lab(since),
                "--until",
                &lab(until),
                ds,
            ],
            "UTC",
        );
        assert!(got.stdout == want, "{since}..{until}");
    }

    let json = svlog(&["-o", "json", "-n", "1", ds], "UTC");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["time"], "1970-01-01T00:21:59.123456789Z");
    assert_eq!(
        v["label"],
        String::from_utf8(Tai64N::from_unix(1_319, 123_456_789).label().to_vec()).unwrap()
    );
    assert_eq!(v["text"], "line 1300 19");

    // A damaged archive is a warning; the rest is still printed.
    std::fs::write(d.join(name(1_050, ".s.zst")), b"not zstd").unwrap();
    let got = svlog(&["-o", "raw", ds], "UTC");
    assert!(got.status.success());
    assert!(got.stdout == [&b[..], &c, &cur].concat());
    assert!(
        String::from_utf8_lossy(&got.stderr).starts_with("svlog: warning: unable to decompress ")
    );
}

/// Lines of `dir/current`.
fn current_lines(dir: &Path) -> usize {
    std::fs::read(dir.join("current")).map_or(0, |v| v.iter().filter(|&&c| c == b'\n').count())
}

#[test]
fn service_directory_through_its_running_logger() {
    let root = tempfile::tempdir().unwrap();
    let svc = root.path().join("svc");
    let log = svc.join("log");
    std::fs::create_dir_all(log.join("main")).unwrap();
    // A decoy: log/main is not where this logger writes.
    std::fs::write(log.join("main/current"), b"decoy\n").unwrap();
    let fifo = log.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    write_script(
        &log.join("run"),
        &format!(
            "#!/bin/sh\nexec <fifo\nexec {} t s100000 ./store\n",
            ours("multilog").display()
        ),
    );
    // Read-write: the open does not wait for multilog, and multilog never
    // sees the end of its input while the test holds it.
    let mut w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let sup = Sup::running(&ours("supervise"), &log);
    for i in 0..100 {
        writeln!(w, "hello {i}").unwrap();
    }
    let store = log.join("store");
    assert!(
        wait_for(SOON, || current_lines(&store) == 100),
        "multilog did not write: {:?} {} {}",
        std::fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>(),
        sup.stderr(),
        current_lines(&store)
    );
    let s = svc.to_str().unwrap();
    let direct = svlog(&[store.to_str().unwrap()], "UTC");
    let got = svlog(&[s], "UTC");
    assert!(got.status.success(), "{got:?}");
    assert!(got.stdout == direct.stdout && got.stdout.ends_with(b" hello 99\n"));
    // Merged, its lines carry the service's name.
    let merged = svlog(&[s, log.join("main").to_str().unwrap()], "UTC");
    assert!(String::from_utf8_lossy(&merged.stdout).contains("svc: "));

    // Without a running logger: log/main.
    drop(sup);
    drop(w);
    let got = svlog(&[s], "UTC");
    assert_eq!(got.stdout, b"decoy\n");
}
