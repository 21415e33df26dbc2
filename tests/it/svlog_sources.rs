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
use crate::support::svlog::svlog;
use crate::support::{ours, run_input, wait_for, SOON};

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

/// Service directory `root/svc` whose logger, our multilog run by our
/// supervise with `script`, reads a FIFO: the supervise, and the FIFO
/// opened for writing (read-write: the open does not wait for multilog,
/// and multilog never sees the end of its input while it is held).
fn logged_service(root: &Path, script: &str) -> (Sup, std::fs::File) {
    let log = root.join("svc/log");
    std::fs::create_dir_all(log.join("main")).unwrap();
    let fifo = log.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    write_script(
        &log.join("run"),
        &format!(
            "#!/bin/sh\nexec <fifo\nexec {} {script}\n",
            ours("multilog").display()
        ),
    );
    let w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    (Sup::running(&ours("supervise"), &log), w)
}

#[test]
fn service_directory_through_its_running_logger() {
    let root = tempfile::tempdir().unwrap();
    let svc = root.path().join("svc");
    let log = svc.join("log");
    let (sup, mut w) = logged_service(root.path(), "t s100000 ./store");
    // A decoy: log/main is not where this logger writes.
    std::fs::write(log.join("main/current"), b"decoy\n").unwrap();
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

/// A logger with a selection after its first directory
/// (`multilog t ./main '-*' '+*ERR*' ./errors`): svlog and logship given
/// the service directory, or its `log`, read `./main`, which gets every
/// line, not the last directory.
#[test]
fn service_directory_means_the_directory_with_every_line() {
    let root = tempfile::tempdir().unwrap();
    let svc = root.path().join("svc");
    let log = svc.join("log");
    let (sup, mut w) = logged_service(root.path(), "t s100000 ./main '-*' '+*ERR*' ./errors");
    for i in 0..50 {
        writeln!(w, "hello {i}").unwrap();
        if i % 10 == 0 {
            writeln!(w, "ERR {i}").unwrap();
        }
    }
    let (main, errors) = (log.join("main"), log.join("errors"));
    assert!(
        wait_for(SOON, || current_lines(&main) == 55
            && current_lines(&errors) == 5),
        "multilog did not write: {}",
        sup.stderr()
    );
    let direct = svlog(&[main.to_str().unwrap()], "UTC");
    assert!(direct.stdout.ends_with(b" hello 49\n"));
    for d in [&svc, &log] {
        let got = svlog(&[d.to_str().unwrap()], "UTC");
        assert!(got.status.success(), "{got:?}");
        assert!(
            got.stdout == direct.stdout,
            "svlog {}: {}",
            d.display(),
            String::from_utf8_lossy(&got.stdout)
        );
    }
    // Merged, `svc/log` is named as its service.
    let merged = svlog(&[log.to_str().unwrap(), errors.to_str().unwrap()], "UTC");
    assert!(String::from_utf8_lossy(&merged.stdout).contains("svc: "));

    // logship to a plain TCP receiver gets every line too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://{}", listener.local_addr().unwrap());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = listener.accept() else {
            return;
        };
        let mut b = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut c, &mut b) {
            sink.lock().unwrap().extend_from_slice(&b[..n]);
        }
    });
    let mut ship = Command::new(ours("logship"))
        .args(["-H", "h", &url, svc.to_str().unwrap()])
        .current_dir(root.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let hellos = || {
        frames(&got.lock().unwrap())
            .iter()
            .filter_map(|m| {
                m.split_once(" hello ")
                    .map(|(_, n)| n.trim_end().to_string())
            })
            .collect::<Vec<_>>()
    };
    let all = wait_for(SOON, || hellos().len() >= 50);
    let _ = ship.kill();
    let out = ship.wait_with_output().unwrap();
    let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    assert!(
        all && hellos() == want,
        "logship sent {:?}; said {}",
        hellos(),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(sup);
}

/// The messages of an octet-counted stream (RFC 6587: `LEN SP MSG`).
fn frames(mut b: &[u8]) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(sp) = b.iter().position(|&c| c == b' ') {
        let Some(n) = std::str::from_utf8(&b[..sp])
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
        else {
            break;
        };
        let Some(m) = b.get(sp + 1..sp + 1 + n) else {
            break;
        };
        v.push(String::from_utf8_lossy(m).into_owned());
        b = &b[sp + 1 + n..];
    }
    v
}

/// An error names the path that failed and its real cause: a service
/// directory whose `log/main` has no `current` names `log/main/current`
/// (not `SERVICE/current`), and one its reader may not enter says "access
/// denied" (not "file does not exist").
#[test]
fn errors_name_the_real_path_and_cause() {
    let root = tempfile::Builder::new()
        .prefix("svlog-errors.")
        .tempdir_in("/tmp")
        .unwrap();
    let svc = root.path().join("worker");
    let main = svc.join("log/main");
    std::fs::create_dir_all(&main).unwrap();
    write_script(&svc.join("run"), "#!/bin/sh\nexec sleep 60\n");
    write_script(&svc.join("log/run"), "#!/bin/sh\nexec multilog t ./main\n");
    let s = svc.to_str().unwrap();
    let out = svlog(&[s], "UTC");
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "svlog: fatal: unable to open {}/current: file does not exist\n",
            main.display()
        )
    );
    if !rustix::process::geteuid().is_root() {
        return;
    }
    std::fs::write(main.join("current"), b"x\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [root.path(), &svc, &svc.join("log")] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new(crate::support::ours_public("setuidgid"))
        .arg("nobody")
        .arg(crate::support::ours_public("svlog"))
        .arg(s)
        .env("TZ", "UTC")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "svlog: fatal: unable to open {}/current: access denied\n",
            main.display()
        )
    );
}
