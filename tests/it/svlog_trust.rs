//! `svlog` on what it must refuse or survive: unknown options, a planted
//! or forged range index, a zstd archive that expands without bound,
//! archives that change, or are not regular files, while it reads.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{ours, wait_deadline, wait_for, SOON};

fn svlog(args: &[&str]) -> std::process::Output {
    crate::support::svlog::svlog(args, "UTC")
}

/// `svlog args` with its range index in `cache`.
fn svlog_in(args: &[&str], cache: &Path) -> std::process::Output {
    crate::support::svlog::svlog_cache(args, "UTC", cache)
}

/// Every unknown option, long or short, alone or among known ones, before
/// or after the directory, is a usage error: a script's typo never reads
/// as something else.
#[test]
fn unknown_options_are_usage_errors() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("current"), b"line\n").unwrap();
    let d = d.to_str().unwrap();
    for bad in [
        &["-x", d][..],
        &["--bogus", d],
        &["--follow", d],
        &["--since"],
        // (`--help` prints the help, exit 0: tests/it/cli_logs.rs.)
        &["-h", d],
        &["-F", d],
        &["-fx", d],
        &["-f", "-q", d],
        &["--n=1", d],
        &["--f", d],
        &["-o=json", d],
        &["---", d],
        &[d, "--bogus"],
        &[d, "-z"],
        &["-n", "1", "--last", "2", d],
    ] {
        let out = svlog(bad);
        assert_eq!(out.status.code(), Some(100), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("svlog: usage: svlog "),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What follows `--` is a directory, whatever it looks like.
    let ok = svlog(&["-n", "1", "--", d]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(ok.stdout, b"line\n");
}

/// A usage error says what was wrong: the option, the value, the time
/// expression (exit 100 for each, as for the usage line alone).
#[test]
fn usage_errors_name_what_was_wrong() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("current"), b"line\n").unwrap();
    let d = d.to_str().unwrap();
    for (args, tail) in [
        (&["-o", "jsn", d][..], ": unknown output format: jsn\n"),
        (&["-n", "abc", d], ": not a number of lines: abc\n"),
        (&["--bogus", d], ": unknown option: --bogus\n"),
        (&["-x", d], ": unknown option: -x\n"),
        (&[d, "-n"], ": option needs a value: -n\n"),
    ] {
        let out = svlog(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(100), "{args:?}: {err}");
        assert!(err.starts_with("svlog: usage: svlog "), "{args:?}: {err}");
        assert!(err.ends_with(tail), "{args:?}: {err}");
    }
    let out = svlog(&["--since", "10 minuts ago", d]);
    assert_eq!(out.status.code(), Some(100));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "svlog: fatal: unable to parse time: 10 minuts ago\n"
    );
    assert!(out.stdout.is_empty());
}

/// A log directory whose one archive, a `.s.zst` of a few hundred
/// kilobytes, expands to 2 GiB of lines of zeros and then `the end`;
/// `current` is empty, so `-n` reaches the archive.
fn bomb(root: &Path) -> String {
    let d = root.join("bomb");
    std::fs::create_dir(&d).unwrap();
    let mut line = vec![b'0'; 1023];
    line.push(b'\n');
    let block = line.repeat(64 * 1024);
    // One 64 MiB frame, 32 times (zstd reads concatenated frames on).
    let frame = zstd::encode_all(&block[..], 3).unwrap();
    let mut z = frame.repeat(32);
    z.extend(zstd::encode_all(&b"the end\n"[..], 3).unwrap());
    assert!(z.len() < 1 << 20, "{}", z.len());
    std::fs::write(d.join("@400000006b050c5709c2505c.s.zst"), z).unwrap();
    std::fs::write(d.join("current"), b"").unwrap();
    d.to_str().unwrap().to_string()
}

/// The largest resident size seen, in kB, and the output of `svlog args`
/// (standard output kept if `keep`, else to /dev/null), run with at most
/// 64 MiB per file written (a memory file counts) and 256 MiB of address
/// space, with `env`.
fn bounded(args: &[&str], env: &[(&str, &str)], keep: bool) -> (std::process::Output, u64) {
    let mut cmd = Command::new("prlimit");
    cmd.args(["--fsize=67108864", "--as=268435456", "--"])
        .arg(ours("svlog"))
        .args(args)
        .env("TZ", "UTC")
        .env("XDG_CACHE_HOME", "/dev/null/svlog-index")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(if keep { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn prlimit svlog");
    let pid = child.id();
    let hwm = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h, dn) = (hwm.clone(), done.clone());
    let watch = std::thread::spawn(move || {
        while !dn.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let kb = s
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
                    .unwrap_or(0);
                h.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let out = wait_deadline(child, std::time::Duration::from_secs(60));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    watch.join().unwrap();
    (out, hwm.load(std::sync::atomic::Ordering::Relaxed))
}

/// A zstd bomb: `svlog -n 1`, the dump and `-g` read it as a stream, in
/// bounded memory (before: decompressed whole into a memory file, 2 GiB
/// here, even for `-n 1`); the follower (`-f`) keeps at most its cap of
/// an archive, and says how much it left out.
#[test]
fn a_zstd_bomb_is_read_in_bounded_memory() {
    let root = tempfile::tempdir().unwrap();
    let d = bomb(root.path());
    let (out, hwm) = bounded(&["-n", "1", &d], &[], true);
    assert!(out.status.success(), "-n 1: {out:?}");
    assert_eq!(out.stdout, b"the end\n");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(hwm < 64 * 1024, "-n 1: {hwm} kB resident");
    let (out, hwm) = bounded(&[&d], &[], false);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "dump: {out:?}"
    );
    assert!(hwm < 64 * 1024, "dump: {hwm} kB resident");
    let (out, hwm) = bounded(&["-g", "end", &d], &[], true);
    assert!(out.status.success(), "-g: {out:?}");
    assert_eq!(out.stdout, b"the end\n");
    assert!(hwm < 64 * 1024, "-g: {hwm} kB resident");
}

/// The follower needs an archive whole: it keeps at most its cap (here
/// lowered to 16 MiB) and says how much it left out. (The history before
/// it reads a compressed archive as a stream, as the dump does: the bomb
/// arrives while svlog follows, as multilog's rotation.)
#[test]
fn the_follower_caps_a_zstd_bomb() {
    let root = tempfile::tempdir().unwrap();
    let made = bomb(root.path());
    let d = root.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("current"), b"ready\n").unwrap();
    let mut child = Command::new("prlimit")
        .args(["--fsize=67108864", "--"])
        .arg(ours("svlog"))
        .args(["-f", "-n", "1", "-o", "raw"])
        .arg(&d)
        .env("TZ", "UTC")
        .env("DTOOLS_TEST_ZST_CAP", "16777216")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut ready).unwrap();
    assert_eq!(&ready, b"ready\n");
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    // A rotation: `current` archived, the bomb after it, a new `current`.
    let zst = "@400000006b050c5709c2505c.s.zst";
    std::fs::rename(Path::new(&made).join(zst), d.join(zst)).unwrap();
    std::fs::rename(d.join("current"), d.join("@400000006b050c5709c2505b.s")).unwrap();
    std::fs::write(d.join("current"), b"").unwrap();
    let err = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (e, mut pipe) = (err.clone(), child.stderr.take().unwrap());
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut pipe, &mut b) {
            e.lock().unwrap().extend_from_slice(&b[..n]);
        }
    });
    let text = || String::from_utf8_lossy(&err.lock().unwrap()).into_owned();
    let want = format!(
        "svlog: warning: {}/{zst} expands beyond 16777216 bytes: \
         read only those, {} bytes left out\n",
        d.display(),
        (2u64 << 30) + 8 - (16 << 20)
    );
    let said = wait_for(std::time::Duration::from_secs(30), || text() == want);
    let alive = crate::support::try_wait_for(&mut child, std::time::Duration::ZERO);
    let _ = child.kill();
    let _ = child.wait();
    assert!(said && alive.is_none(), "{alive:?}: {}", text());
}

/// A labelled line at second `t`.
fn at(t: i64, text: &str) -> String {
    let l = daemontools::tai64::Tai64N::from_unix(t, 0).label();
    format!("{} {text}\n", String::from_utf8_lossy(&l))
}

/// The name of an archive labelled at second `t`.
fn archive(t: i64) -> String {
    let l = daemontools::tai64::Tai64N::from_unix(t, 0).label();
    format!("{}.s", String::from_utf8_lossy(&l))
}

/// Names like archives that are a FIFO (which blocked `open` for ever), a
/// directory (which made `-n` fatal) and a symbolic link (not followed)
/// are skipped with one warning each; the rest is read.
#[test]
fn archives_that_are_not_regular_files_are_skipped() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let a = at(1000, "a1") + &at(1001, "a2");
    std::fs::write(d.join(archive(1001)), &a).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        d.join(archive(1002)),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    std::fs::create_dir(d.join(archive(1003))).unwrap();
    std::fs::write(root.path().join("secret"), at(1003, "secret")).unwrap();
    std::os::unix::fs::symlink(root.path().join("secret"), d.join(archive(1004))).unwrap();
    let c = at(1005, "c1") + &at(1006, "c2");
    std::fs::write(d.join("current"), &c).unwrap();
    let ds = d.to_str().unwrap();
    let warned = |err: &[u8]| {
        let e = String::from_utf8_lossy(err);
        (1002..=1004).all(|t| {
            let w = format!(
                "svlog: warning: unable to read {ds}/{}: not a regular file\n",
                archive(t)
            );
            e.matches(&w).count() == 1
        })
    };
    let cache = root.path().join("cache");
    let lines = |s: &str| {
        s.split_inclusive('\n')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let all = [lines(&a), lines(&c)].concat();
    for (args, want) in [
        (&["-o", "raw", ds][..], all.concat()),
        (&["-o", "raw", "-n", "3", ds], all[1..].concat()),
        (&["-o", "raw", "-g", "[ac]", ds], all.concat()),
        (
            &["-o", "raw", "--since", &archive(1001)[..25], ds],
            all[1..].concat(),
        ),
    ] {
        let out = svlog_in(args, &cache);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{args:?}");
        assert!(warned(&out.stderr), "{args:?}: {out:?}");
    }
    // A `current` that is not a regular file is fatal, at once.
    std::fs::remove_file(d.join("current")).unwrap();
    std::fs::rename(d.join(archive(1002)), d.join("current")).unwrap();
    let out = svlog(&[ds]);
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("svlog: fatal: unable to read {ds}/current: not a regular file\n")
    );
}

/// `svlog -f` says so when `current` stays missing, and when its
/// directory goes away.
#[test]
fn follow_warns_when_its_directory_goes() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("current"), b"first\n").unwrap();
    let mut child = Command::new(ours("svlog"))
        .args(["-f", d.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let collect = |mut pipe: Box<dyn std::io::Read + Send>| {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let b = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                b.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        buf
    };
    let out = collect(Box::new(child.stdout.take().unwrap()));
    let err = collect(Box::new(child.stderr.take().unwrap()));
    let text = |b: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>| {
        String::from_utf8_lossy(&b.lock().unwrap()).into_owned()
    };
    assert!(wait_for(SOON, || text(&out) == "first\n"), "{}", text(&err));
    std::fs::remove_file(d.join("current")).unwrap();
    let ds = d.display();
    let current = format!("svlog: warning: unable to open {ds}/current: file does not exist\n");
    let said = wait_for(SOON, || text(&err).contains(&current));
    std::fs::remove_dir(&d).unwrap();
    let dir = format!("svlog: warning: unable to open directory {ds}: file does not exist\n");
    let said_dir = wait_for(SOON, || text(&err).contains(&dir));
    let alive = crate::support::try_wait_for(&mut child, std::time::Duration::ZERO);
    let _ = child.kill();
    let _ = child.wait();
    assert!(said && said_dir, "{alive:?}: {}", text(&err));
    assert_eq!(text(&err), current + &dir);
}
