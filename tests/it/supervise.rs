//! Process tests for supervise, svc, svstat, svok and readproctitle, run
//! against our binaries and, where installed, mixed with daemontools'.

use crate::support as common;
use crate::support::supervise as helpers;

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ours, reference};
use helpers::*;

const SLEEPER: &str = "#!/bin/sh\necho start >> ../starts\nexec sleep 60\n";

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn svc(bin: &Path, opts: &str, dir: &Path) {
    let out = run(bin, &[os(opts), dir.as_os_str()]);
    assert!(out.status.success(), "svc {opts}: {out:?}");
    assert!(
        out.stderr.is_empty(),
        "svc {opts}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replace the number before " seconds" by N.
fn mask_secs(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let mut w2 = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if words.get(i + 1).is_some_and(|n| n.starts_with("seconds"))
                && w.parse::<u64>().is_ok()
            {
                w2.push("N");
            } else {
                w2.push(w);
            }
        }
        out.push_str(&w2.join(" "));
        out.push('\n');
    }
    out
}

/// Our svstat line for `dir`, compared with daemontools' when installed.
fn svstat_line(dir: &Path) -> String {
    let o = run(&ours("svstat"), &[dir.as_os_str()]);
    let line = String::from_utf8(o.stdout).unwrap();
    if let Some(r) = reference("svstat") {
        let ro = run(&r, &[dir.as_os_str()]);
        assert_eq!(
            mask_secs(&line),
            mask_secs(&String::from_utf8(ro.stdout).unwrap())
        );
    }
    line
}

/// The full life cycle of one service, with `sup` supervising and `svc_bin`
/// sending commands; status bytes and svstat lines checked at each step.
fn lifecycle(sup: &Path, svc_bin: &Path) {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", SLEEPER);
    let mut s = Sup::running(sup, &dir);
    let st = wait_status(&dir, "up", |s| s.pid != 0 && s.want == b'u');
    let pid1 = st.pid;
    assert!(!st.paused);
    assert!(svstat_line(&dir).contains(&format!("up (pid {pid1}) ")));
    assert_eq!(
        run(&ours("svok"), &[dir.as_os_str()]).status.code(),
        Some(0)
    );

    // p: paused byte, state T, time field unchanged.
    let before = status_bytes(&dir);
    svc(svc_bin, "-p", &dir);
    wait_status(&dir, "paused", |s| s.paused);
    assert!(wait_for(SOON, || proc_state(pid1) == Some('T')));
    assert_eq!(status_bytes(&dir)[..12], before[..12], "time changed on p");
    assert!(svstat_line(&dir).ends_with(", paused\n"));
    // c: continue.
    svc(svc_bin, "-c", &dir);
    wait_status(&dir, "continued", |s| !s.paused && s.pid == pid1);
    assert!(wait_for(SOON, || proc_state(pid1) != Some('T')));
    // d: TERM then CONT, want down, paused cleared.
    svc(svc_bin, "-pd", &dir);
    let st = wait_status(&dir, "down", |s| s.pid == 0 && s.want == b'd');
    assert!(!st.paused);
    assert!(wait_for(SOON, || !alive(pid1)), "pid {pid1} survived -pd");
    assert!(svstat_line(&dir).ends_with(" seconds, normally up\n"));
    // o: once mode, started, not restarted after it is killed.
    svc(svc_bin, "-o", &dir);
    let st = wait_status(&dir, "up once", |s| s.pid != 0 && s.want == 0);
    svc(svc_bin, "-t", &dir);
    wait_status(&dir, "down after once", |s| s.pid == 0 && s.want == 0);
    assert!(!alive(st.pid));
    // A later command is handled after the exit was: if the exit had led to
    // a restart, the status that command writes would show its pid.
    svc(svc_bin, "-d", &dir);
    let st = wait_status(&dir, "want down", |s| s.want == b'd');
    assert_eq!(st.pid, 0, "once service restarted");
    // u: up again; t restarts it with a new pid.
    svc(svc_bin, "-u", &dir);
    let st = wait_status(&dir, "up", |s| s.pid != 0 && s.want == b'u');
    svc(svc_bin, "-t", &dir);
    let st2 = wait_status(&dir, "restarted", |s| s.pid != 0 && s.pid != st.pid);
    // x while up: supervise stays until the service exits.
    // A command after x is still handled (so supervise did not exit on x).
    svc(svc_bin, "-x", &dir);
    svc(svc_bin, "-p", &dir);
    wait_status(&dir, "paused after x", |s| s.paused && s.pid == st2.pid);
    svc(svc_bin, "-c", &dir);
    wait_status(&dir, "continued after x", |s| !s.paused);
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "supervise exited while service up"
    );
    assert!(alive(st2.pid), "x killed the service");
    svc(svc_bin, "-d", &dir);
    let code = s
        .wait_exit(SOON)
        .expect("supervise did not exit after x, d");
    assert_eq!(code.code(), Some(0));
    let end = status(&dir).unwrap();
    assert_eq!((end.pid, end.paused, end.want), (0, false, b'd'));
    assert_eq!(
        svstat_line(&dir),
        format!("{}: supervise not running\n", dir.display())
    );
    assert_eq!(
        run(&ours("svok"), &[dir.as_os_str()]).status.code(),
        Some(100)
    );
    let starts = fs::read_to_string(t.path().join("starts")).unwrap();
    assert_eq!(starts.lines().count(), 4, "{starts}");
    assert_eq!(s.stderr(), "");
}

#[test]
fn lifecycle_ours() {
    lifecycle(&ours("supervise"), &ours("svc"));
}

#[test]
fn lifecycle_ours_driven_by_reference_svc() {
    if let Some(svc) = reference("svc") {
        lifecycle(&ours("supervise"), &svc);
    }
}

#[test]
fn lifecycle_reference_supervise_driven_by_our_svc() {
    if let Some(sup) = reference("supervise") {
        lifecycle(&sup, &ours("svc"));
    }
}

/// Status files of ours and daemontools' supervise, same commands, equal
/// once time and pid are masked.
#[test]
fn status_bytes_match_reference() {
    let Some(rsup) = reference("supervise") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let a = service(t.path(), "a", "#!/bin/sh\nexec sleep 60\n");
    let b = service(t.path(), "b", "#!/bin/sh\nexec sleep 60\n");
    let _sa = Sup::running(&ours("supervise"), &a);
    let _sb = Sup::running(&rsup, &b);
    let masked = |d: &Path| {
        let mut v = status_bytes(d);
        assert_eq!(v.len(), 18);
        v[..8].fill(0);
        v[8..12].fill(0);
        if v[12..16] != [0, 0, 0, 0] {
            v[12..16].fill(1);
        }
        v
    };
    for (cmd, pred) in [
        (
            "",
            Box::new(|s: &daemontools::supervise::status::Status| s.pid != 0)
                as Box<dyn Fn(&_) -> bool>,
        ),
        (
            "p",
            Box::new(|s: &daemontools::supervise::status::Status| s.paused),
        ),
        (
            "d",
            Box::new(|s: &daemontools::supervise::status::Status| s.pid == 0),
        ),
        (
            "o",
            Box::new(|s: &daemontools::supervise::status::Status| s.pid != 0 && s.want == 0),
        ),
        (
            "p",
            Box::new(|s: &daemontools::supervise::status::Status| s.paused),
        ),
        (
            "k",
            Box::new(|s: &daemontools::supervise::status::Status| s.pid == 0),
        ),
    ] {
        for d in [&a, &b] {
            control(d, cmd.as_bytes());
            wait_status(d, cmd, &pred);
        }
        assert_eq!(masked(&a), masked(&b), "after {cmd:?}");
    }
    // Nanoseconds end in 500 in both (microsecond clock).
    for d in [&a, &b] {
        let st = status(d).unwrap();
        assert_eq!(st.when.nanos % 1000, 500);
    }
}

#[test]
fn signals_go_to_the_child_pid_only() {
    let t = tempfile::tempdir().unwrap();
    let run = "#!/bin/sh\n\
        for s in HUP ALRM INT TERM CONT; do trap \"echo $s >> ../sigs\" $s; done\n\
        sleep 60 & echo $! > ../grandchild\n\
        echo ready >> ../sigs\n\
        while :; do sleep 0.05; done\n";
    let dir = service(t.path(), "s", run);
    let _s = Sup::running(&ours("supervise"), &dir);
    let sigs = t.path().join("sigs");
    let has = |w: &str| {
        fs::read_to_string(&sigs)
            .unwrap_or_default()
            .lines()
            .any(|l| l == w)
    };
    assert!(wait_for(SOON, || has("ready")));
    let pid = wait_status(&dir, "up", |s| s.pid != 0).pid;
    let gc: u32 = fs::read_to_string(t.path().join("grandchild"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for (opt, name) in [
        ("-h", "HUP"),
        ("-a", "ALRM"),
        ("-i", "INT"),
        ("-t", "TERM"),
        ("-c", "CONT"),
    ] {
        svc(&ours("svc"), opt, &dir);
        assert!(wait_for(SOON, || has(name)), "{name} not delivered");
    }
    // d sends TERM then CONT; the trapping script keeps running: up, want down.
    svc(&ours("svc"), "-d", &dir);
    wait_status(&dir, "want down", |s| s.want == b'd');
    assert!(wait_for(SOON, || fs::read_to_string(&sigs)
        .unwrap()
        .matches("TERM")
        .count()
        == 2));
    let line = String::from_utf8(run_svstat(&dir)).unwrap();
    assert!(
        line.contains(&format!("up (pid {pid}) ")) && line.ends_with(", want down\n"),
        "{line}"
    );
    // k kills the shell only; its background child is untouched.
    svc(&ours("svc"), "-k", &dir);
    wait_status(&dir, "down", |s| s.pid == 0);
    assert!(alive(gc), "grandchild was signalled");
    let _ = Command::new("kill").arg(gc.to_string()).status();
}

fn run_svstat(dir: &Path) -> Vec<u8> {
    run(&ours("svstat"), &[dir.as_os_str()]).stdout
}

#[test]
fn restarts_about_one_second_after_each_start() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(
        t.path(),
        "s",
        "#!/bin/sh\ndate +%s%N >> ../starts\nexit 1\n",
    );
    // The real pause, not the tests' short one: as daemontools.
    let _s = Sup::running_real_pause(&ours("supervise"), &dir);
    let starts = t.path().join("starts");
    let read = || -> Vec<u128> {
        fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    };
    assert!(wait_for(Duration::from_secs(10), || read().len() >= 4));
    let v = read();
    for w in v.windows(2) {
        let gap = (w[1] - w[0]) as f64 / 1e9;
        assert!((0.95..1.6).contains(&gap), "restart gap {gap} s");
    }
}

#[test]
fn down_file_is_read_at_start_up() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", SLEEPER);
    fs::write(dir.join("down"), "").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let st = wait_status(&dir, "down", |s| s.want == b'd');
    assert_eq!(st.pid, 0);
    let line = String::from_utf8(run_svstat(&dir)).unwrap();
    assert!(
        line.ends_with(" seconds\n") && line.contains(": down "),
        "{line}"
    );
    svc(&ours("svc"), "-u", &dir);
    wait_status(&dir, "up", |s| s.pid != 0);
    let line = String::from_utf8(run_svstat(&dir)).unwrap();
    assert!(line.ends_with(" seconds, normally down\n"), "{line}");
    // Removing `down` later changes svstat's wording but not supervise.
    fs::remove_file(dir.join("down")).unwrap();
    let line = String::from_utf8(run_svstat(&dir)).unwrap();
    assert!(line.ends_with(" seconds\n"), "{line}");
    assert!(
        !t.path().join("starts").exists()
            || fs::read_to_string(t.path().join("starts"))
                .unwrap()
                .lines()
                .count()
                == 1
    );
}

#[test]
fn second_supervise_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", SLEEPER);
    let _s = Sup::running(&ours("supervise"), &dir);
    let mut progs = vec![ours("supervise")];
    progs.extend(reference("supervise"));
    for p in progs {
        let out = run(&p, &[dir.as_os_str()]);
        assert_eq!(out.status.code(), Some(111));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "supervise: fatal: unable to acquire {}/supervise/lock: temporary failure\n",
                dir.display()
            )
        );
    }
}

#[test]
fn run_exec_failure_is_reported_and_retried() {
    let t = tempfile::tempdir().unwrap();
    let mut progs = vec![ours("supervise")];
    progs.extend(reference("supervise"));
    let mut seen = Vec::new();
    for (i, p) in progs.iter().enumerate() {
        let noexec = t.path().join(format!("noexec{i}"));
        fs::create_dir(&noexec).unwrap();
        fs::write(noexec.join("run"), "#!/bin/sh\n").unwrap();
        let missing = t.path().join(format!("missing{i}"));
        fs::create_dir(&missing).unwrap();
        for (dir, why) in [
            (&noexec, "access denied"),
            (&missing, "file does not exist"),
        ] {
            let s = Sup::start(p, dir);
            let want = format!(
                "supervise: fatal: unable to start {}/run: {why}\n",
                dir.display()
            );
            assert!(
                wait_for(Duration::from_secs(6), || s.stderr().matches(&want).count()
                    >= 2),
                "{}: {:?}",
                p.display(),
                s.stderr()
            );
            seen.push(
                s.stderr()
                    .lines()
                    .next()
                    .unwrap()
                    .replace(&format!("{i}/"), "/"),
            );
        }
    }
    if seen.len() == 4 {
        assert_eq!(seen[..2], seen[2..]);
    }
}

#[test]
fn dangling_supervise_symlink_gets_its_target_created() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", SLEEPER);
    std::os::unix::fs::symlink(t.path().join("state"), dir.join("supervise")).unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    assert!(t.path().join("state/lock").exists());
}

/// Usage lines and exit codes, byte for byte against daemontools.
#[test]
fn usage_and_argument_errors_match_reference() {
    let t = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("supervise", &[]),
        ("supervise", &["a", "b"]),
        ("supervise", &["/nonexistent"]),
        ("svok", &[]),
        ("svok", &["/nonexistent"]),
        ("svc", &["-z", "x"]),
        ("svc", &["-dz"]),
        ("svc", &["-u"]),
        ("svc", &[]),
        ("svc", &["--foo", "/nonexistent"]),
        ("svc", &["-u", "-", "/nonexistent"]),
        ("svstat", &[]),
        ("svscan", &["/nonexistent"]),
        ("readproctitle", &[]),
        ("readproctitle", &["abcd"]),
        ("readproctitle", &["x", "....."]),
    ];
    for (prog, args) in cases {
        let a: Vec<&OsStr> = args.iter().map(|s| os(s)).collect();
        let o = run(&ours(prog), &a);
        let want_code = match (*prog, args.len()) {
            ("supervise", _) if args.len() != 1 => 100,
            ("supervise" | "svok" | "svscan", _) if args.len() == 1 => 111,
            ("svok", 0) => 100,
            ("svc", _) if args.first().is_some_and(|a| a.contains('z')) => 100,
            ("readproctitle", n) if n < 2 => 100,
            _ => 0,
        };
        assert_eq!(o.status.code(), Some(want_code), "{prog} {args:?}: {o:?}");
        if let Some(r) = reference(prog) {
            let ro = run(&r, &a);
            assert_eq!(
                (
                    o.status.code(),
                    &o.stdout,
                    String::from_utf8_lossy(&o.stderr)
                ),
                (
                    ro.status.code(),
                    &ro.stdout,
                    String::from_utf8_lossy(&ro.stderr)
                ),
                "{prog} {args:?}"
            );
        }
    }
    drop(t);
}

/// svstat, svok and svc on broken directories, compared with daemontools.
#[test]
fn error_paths_match_reference() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    fs::create_dir(root.join("empty")).unwrap();
    fs::write(root.join("file"), "").unwrap();
    fs::create_dir_all(root.join("stopped/supervise")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(root.join("stopped/supervise/ok"))
        .arg(root.join("stopped/supervise/control"))
        .status()
        .unwrap()
        .success());
    fs::create_dir_all(root.join("nostatus/supervise")).unwrap();
    fs::create_dir_all(root.join("short/supervise")).unwrap();
    fs::write(root.join("short/supervise/status"), [0u8; 17]).unwrap();
    // A live reader on ok for the two half-broken ones.
    let mut holders = Vec::new();
    for d in ["nostatus", "short"] {
        let p = root.join(d).join("supervise/ok");
        assert!(Command::new("mkfifo").arg(&p).status().unwrap().success());
        holders.push(
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&p)
                .unwrap(),
        );
    }
    let dirs = [
        "/nonexistent",
        "empty",
        "file",
        "stopped",
        "nostatus",
        "short",
    ];
    let check = |prog: &str, args: &[&str]| {
        let mut c = Command::new(ours(prog));
        let o = c
            .args(args)
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if let Some(r) = reference(prog) {
            let ro = Command::new(r)
                .args(args)
                .current_dir(root)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_eq!(
                (
                    o.status.code(),
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                (
                    ro.status.code(),
                    String::from_utf8_lossy(&ro.stdout),
                    String::from_utf8_lossy(&ro.stderr)
                ),
                "{prog} {args:?}"
            );
        }
        o
    };
    let o = check("svstat", &dirs);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "/nonexistent: unable to chdir: file does not exist\n\
         empty: unable to open supervise/ok: file does not exist\n\
         file: unable to chdir: not a directory\n\
         stopped: supervise not running\n\
         nostatus: unable to open supervise/status: file does not exist\n\
         short: unable to read supervise/status: bad format\n"
    );
    let mut svc_args = vec!["-u"];
    svc_args.extend(dirs);
    let o = check("svc", &svc_args);
    assert_eq!(o.status.code(), Some(0));
    for d in dirs {
        let o = check("svok", &[d]);
        let want = match d {
            "/nonexistent" | "file" => 111,
            "empty" | "stopped" => 100,
            _ => 0,
        };
        assert_eq!(o.status.code(), Some(want), "svok {d}");
    }
    drop(holders);
}

#[test]
fn svc_writes_each_letter_once_in_one_write() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    fs::create_dir_all(d.join("supervise")).unwrap();
    let fifo = d.join("supervise/control");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let o = run(
        &ours("svc"),
        &[
            os("-dudx"),
            os("-t"),
            os("-h"),
            os("-ktpcaio"),
            d.as_os_str(),
        ],
    );
    assert!(o.status.success());
    let mut buf = [0u8; 64];
    let n = nix_read(&reader, &mut buf);
    assert_eq!(&buf[..n], b"duxthkpcaio");
}

fn nix_read(f: &fs::File, buf: &mut [u8]) -> usize {
    use std::io::Read;
    let mut f = f;
    f.read(buf).unwrap()
}

/// readproctitle shows the newest input in its own argv (`/proc/PID/cmdline`).
#[test]
fn readproctitle_rewrites_its_argv() {
    let mut progs = vec![ours("readproctitle")];
    progs.extend(reference("readproctitle"));
    let area = ".".repeat(20);
    for p in progs {
        let mut child = Command::new(&p)
            .args(["service", "errors:", "x".repeat(20).as_str()])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let cmdline = || fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let tail = |s: &str| {
            let mut v = b"errors:\0".to_vec();
            v.extend_from_slice(s.as_bytes());
            v.push(0);
            v
        };
        assert!(
            wait_for(SOON, || cmdline().ends_with(&tail(&area))),
            "{:?}",
            String::from_utf8_lossy(&cmdline())
        );
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hel\0lo\n").unwrap();
        let want = tail("..............hello\n");
        assert!(
            wait_for(SOON, || cmdline().ends_with(&want)),
            "{}: {:?}",
            p.display(),
            String::from_utf8_lossy(&cmdline())
        );
        stdin.write_all(b"0123456789abcdefghijklmnop").unwrap();
        let want = tail("...9abcdefghijklmnop");
        assert!(
            wait_for(SOON, || cmdline().ends_with(&want)),
            "{}: {:?}",
            p.display(),
            String::from_utf8_lossy(&cmdline())
        );
        drop(stdin);
        let st = common::try_wait_for(&mut child, SOON).expect("readproctitle did not exit at EOF");
        assert_eq!(st.code(), Some(0));
    }
}

/// `./run` inherits supervise's signal dispositions and process group (no
/// setsid); only SIGCHLD is reset. In particular SIGPIPE is not ignored.
#[test]
fn run_inherits_signal_state_like_reference() {
    let mut progs = vec![ours("supervise")];
    progs.extend(reference("supervise"));
    let mut seen = Vec::new();
    for (i, p) in progs.iter().enumerate() {
        let t = tempfile::tempdir().unwrap();
        // exec, so that /proc/self is ./run's own process image and no shell
        // activity (dash blocks all signals while it waits) blurs the mask.
        let dir = service(
            t.path(),
            "s",
            "#!/bin/sh\nexec cat /proc/self/stat /proc/self/status > ../sig\n",
        );
        fs::write(dir.join("down"), "").unwrap();
        let s = Sup::running(p, &dir);
        control(&dir, b"o");
        let sig = t.path().join("sig");
        let read = || fs::read_to_string(&sig).unwrap_or_default();
        assert!(wait_for(SOON, || read().contains("nonvoluntary_ctxt_switches")));
        let text = read();
        let field = |stat: &str, n: usize| -> String {
            stat.rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .nth(n)
                .unwrap()
                .to_string()
        };
        let sup_stat = fs::read_to_string(format!("/proc/{}/stat", s.child.id())).unwrap();
        let run_stat = text.lines().next().unwrap();
        assert_eq!(
            (field(&sup_stat, 2), field(&sup_stat, 3)),
            (field(run_stat, 2), field(run_stat, 3)),
            "{i}: process group or session differs"
        );
        let ign = text.lines().find(|l| l.starts_with("SigIgn")).unwrap();
        let mask = u64::from_str_radix(ign.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(
            mask & (1 << (libc::SIGPIPE - 1)),
            0,
            "{}: SIGPIPE ignored in ./run",
            p.display()
        );
        seen.push(
            text.lines()
                .filter(|l| l.starts_with("SigIgn") || l.starts_with("SigBlk"))
                .map(String::from)
                .collect::<Vec<_>>(),
        );
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1]);
    }
}
