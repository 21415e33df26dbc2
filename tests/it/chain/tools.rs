//! softlimit, setlock, pgrphack and fghack against the reference.

use super::*;

// ---- softlimit -------------------------------------------------------------

fn limit_line<'a>(limits: &'a str, name: &str) -> Vec<&'a str> {
    let l = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {limits}"));
    l[name.len()..].split_whitespace().collect()
}

fn softlimit_limits(args: &[&str]) -> String {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["cat", "/proc/self/limits"]);
    let o = both_args("softlimit", &a);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn softlimit_each_option() {
    let l = softlimit_limits(&[
        "-a",
        "900000000",
        "-c",
        "12345",
        "-d",
        "200000000",
        "-f",
        "99999",
        "-l",
        "65536",
        "-o",
        "77",
        "-p",
        "500",
        "-r",
        "1000000",
        "-s",
        "1000000",
        "-t",
        "100",
    ]);
    assert_eq!(limit_line(&l, "Max address space")[0], "900000000");
    assert_eq!(limit_line(&l, "Max core file size")[0], "12345");
    assert_eq!(limit_line(&l, "Max data size")[0], "200000000");
    assert_eq!(limit_line(&l, "Max file size")[0], "99999");
    assert_eq!(limit_line(&l, "Max locked memory")[0], "65536");
    assert_eq!(limit_line(&l, "Max open files")[0], "77");
    assert_eq!(limit_line(&l, "Max processes")[0], "500");
    assert_eq!(limit_line(&l, "Max resident set")[0], "1000000");
    assert_eq!(limit_line(&l, "Max stack size")[0], "1000000");
    assert_eq!(limit_line(&l, "Max cpu time")[0], "100");
}

#[test]
fn softlimit_m_sets_four_limits_and_clamps() {
    let l = softlimit_limits(&["-m", "300000000"]);
    for name in ["Max data size", "Max stack size", "Max address space"] {
        assert_eq!(limit_line(&l, name)[0], "300000000", "{name}");
    }
    let lock = limit_line(&l, "Max locked memory");
    let hard: u64 = lock[1].parse().unwrap_or(u64::MAX);
    assert_eq!(lock[0], hard.min(300_000_000).to_string().as_str());
}

#[test]
fn softlimit_numbers() {
    // Clamped to the hard limit.
    let o = both_args(
        "softlimit",
        &["-o", "99999999999", "sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    let lines: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(lines[0], lines[1], "{}", show(&o));
    // Options apply in order; `=` means the hard limit.
    let o = both_args(
        "softlimit",
        &["-o", "50", "-o", "40", "sh", "-c", "ulimit -n"],
    );
    expect(&o, 0, b"40\n", b"");
    let o = both_args(
        "softlimit",
        &["-o", "40", "-o=", "sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    let lines: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(lines[0], lines[1], "{}", show(&o));
    // Empty is 0; digits wrap modulo 2^64 like scan_ulong.
    let l = softlimit_limits(&[
        "-c",
        "",
        "-f",
        "18446744073709551616",
        "-t",
        "18446744073709551617",
    ]);
    // (A CPU limit of 0 would race SIGXCPU; stdout is a pipe, so FSIZE 0 is
    // harmless.)
    assert_eq!(limit_line(&l, "Max core file size")[0], "0");
    assert_eq!(limit_line(&l, "Max file size")[0], "0");
    assert_eq!(limit_line(&l, "Max cpu time")[0], "1");
    // Attached arguments.
    let o = both_args("softlimit", &["-o33", "sh", "-c", "ulimit -n"]);
    expect(&o, 0, b"33\n", b"");
    // Options before a bad number are applied but nothing runs.
    let o = both_args("softlimit", &["-o", "5", "-c", "1x", "echo", "no"]);
    expect(&o, 100, b"", SOFTLIMIT_USAGE);
}

// ---- setlock -----------------------------------------------------------------

#[test]
fn setlock_fd_inherited_and_mode() {
    let d = tmp();
    let lock = d.path().join("lock");
    let o = both("setlock", |bin| {
        let _ = fs::remove_file(&lock);
        let mut c = Command::new(bin);
        c.arg(&lock).args([
            "sh",
            "-c",
            "readlink /proc/self/fd/3; grep flags /proc/self/fdinfo/3; stat -c %a \"$0\"",
        ]);
        c.arg(&lock);
        c
    });
    // O_WRONLY|O_APPEND|O_NONBLOCK|O_LARGEFILE, no O_CLOEXEC; 0600 under umask 022.
    let want = format!("{}\nflags:\t0106001\n600\n", lock.display());
    expect(&o, 0, want.as_bytes(), b"");
    // The lock lives as long as the child: a second -n setlock fails.
    let mut holder = Command::new(ours("setlock"))
        .arg(&lock)
        .args(["sh", "-c", "echo held; sleep 3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 5];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut line).unwrap();
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.arg("-n").arg(&lock).arg("true");
        c
    });
    let msg = format!(
        "setlock: fatal: unable to lock {}: temporary failure\n",
        lock.display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.arg("-nx").arg(&lock).arg("echo");
        c
    });
    expect(&o, 0, b"", b"");
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.args(["-x", "-n", "-X"]).arg(&lock).arg("true");
        c
    });
    expect(&o, 111, b"", msg.as_bytes());
    // Blocking mode waits for the holder.
    let start = Instant::now();
    let o = run({
        let mut c = Command::new(ours("setlock"));
        c.args(["-n", "-N"]).arg(&lock).args(["echo", "got"]);
        c
    });
    expect(&o, 0, b"got\n", b"");
    assert!(
        start.elapsed() > Duration::from_millis(500),
        "did not wait for the lock"
    );
    let _ = holder.wait();
}

#[test]
fn setlock_open_failures() {
    let d = tmp();
    let bad = d.path().join("missing/lock");
    let o = both_args("setlock", &[bad.as_os_str(), OsStr::new("true")]);
    let msg = format!(
        "setlock: fatal: unable to open {}: file does not exist\n",
        bad.display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    let o = both_args(
        "setlock",
        &[OsStr::new("-x"), bad.as_os_str(), OsStr::new("echo")],
    );
    expect(&o, 0, b"", b"");
    let o = both_args(
        "setlock",
        &[OsStr::new("-xX"), bad.as_os_str(), OsStr::new("echo")],
    );
    expect(&o, 111, b"", msg.as_bytes());
    // A directory cannot be opened for writing.
    let o = both_args("setlock", &[d.path().as_os_str(), OsStr::new("true")]);
    let msg = format!(
        "setlock: fatal: unable to open {}: is a directory\n",
        d.path().display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    // Non-UTF-8 file names work.
    let mut name = d.path().as_os_str().as_bytes().to_vec();
    name.extend_from_slice(b"/l\xff");
    let o = both_args("setlock", &[bytes(&name), "echo".into(), "ok".into()]);
    expect(&o, 0, b"ok\n", b"");
    assert!(Path::new(OsStr::from_bytes(&name)).exists());
}

// ---- pgrphack -----------------------------------------------------------------

/// (pid, pgrp, session) from /proc/PID/stat output.
fn stat_ids(stat: &[u8]) -> (String, String, String) {
    let s = String::from_utf8_lossy(stat);
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    (
        s.split_whitespace().next().unwrap().to_owned(),
        f[2].to_owned(),
        f[3].to_owned(),
    )
}

#[test]
fn pgrphack_makes_session_leader() {
    for bin in [Some(ours("pgrphack")), reference("pgrphack")]
        .into_iter()
        .flatten()
    {
        let o = run({
            let mut c = Command::new(&bin);
            c.args(["cat", "/proc/self/stat"]);
            c
        });
        let (pid, pgrp, sid) = stat_ids(&o.stdout);
        assert_eq!(
            (&pgrp, &sid),
            (&pid, &pid),
            "{}: {}",
            bin.display(),
            show(&o)
        );
        // Already a session leader: setsid fails, the exec still happens.
        let o = run({
            let mut c = Command::new(&bin);
            c.arg(&bin).args(["cat", "/proc/self/stat"]);
            c
        });
        let (pid, pgrp, sid) = stat_ids(&o.stdout);
        assert_eq!((&pgrp, &sid), (&pid, &pid), "{}", show(&o));
    }
    let o = both_args("pgrphack", &["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(&o, 3, b"out\n", b"err\n");
}

// ---- fghack ---------------------------------------------------------------------

#[test]
fn fghack_fds_and_exit_codes() {
    // 31 copies of the pipe's write end, plus ls's own directory fd.
    let o = both_args("fghack", &["ls", "/proc/self/fd"]);
    assert_eq!(extra_fds(&o.stdout), 32, "{}", show(&o));
    expect(&both_args("fghack", &["sh", "-c", "exit 7"]), 7, b"", b"");
    expect(
        &both_args("fghack", &["sh", "-c", "exit 255"]),
        255,
        b"",
        b"",
    );
    expect(
        &both_args("fghack", &["sh", "-c", "echo hi"]),
        0,
        b"hi\n",
        b"",
    );
    let o = both_args("fghack", &["sh", "-c", "kill -9 $$"]);
    expect(&o, 111, b"", b"fghack: fatal: child crashed\n");
    let o = both_args("fghack", &["sh", "-c", "kill -TERM $$"]);
    expect(&o, 111, b"", b"fghack: fatal: child crashed\n");
}

#[test]
fn fghack_waits_for_descendants() {
    for bin in [Some(ours("fghack")), reference("fghack")]
        .into_iter()
        .flatten()
    {
        let start = Instant::now();
        let o = run({
            let mut c = Command::new(&bin);
            c.args(["sh", "-c", "(sleep 1 &); exit 7"]);
            c
        });
        expect(&o, 7, b"", b"");
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{} did not wait",
            bin.display()
        );
        // A descendant that closes the pipe copies does not hold it up.
        let start = Instant::now();
        let o = run({
            let mut c = Command::new(&bin);
            c.args([
                "bash",
                "-c",
                "(for fd in $(seq 3 300); do eval \"exec $fd>&-\"; done; \
                 exec sleep 3 >/dev/null 2>&1 </dev/null) & exit 0",
            ]);
            c
        });
        expect(&o, 0, b"", b"");
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{} waited",
            bin.display()
        );
    }
}

#[test]
fn fghack_child_stdin_passes() {
    let o = both("fghack", |bin| {
        let mut c = Command::new("sh");
        c.arg("-c").arg("echo piped | \"$0\" cat").arg(bin);
        c
    });
    expect(&o, 0, b"piped\n", b"");
}
