//! svinit's stops that are not clean and its errors: a second stop signal,
//! a service that ignores SIGTERM (killed at `-t`, or by its own
//! `timeout-kill`), a daemon left behind by a service, SIGHUP's rescan, a
//! scan directory that is missing, not a directory or unreadable, and the
//! command line.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cli::call;
use crate::support::supervise::{service, status, write_script};
use crate::support::svinit::{tree, Init, Mode};
use crate::support::{ours_public, root_or_skip, wait_for, SOON};
use crate::svinit::scandir;

/// `trap '' TERM` is inherited through `exec`: this `sleep` ignores TERM.
const DEAF: &str = "#!/bin/sh\ntrap '' TERM\nexec sleep 1000\n";

fn up(dir: &Path) -> bool {
    status(dir).is_some_and(|s| s.pid != 0)
}

/// Stopping twice: the second stop signal kills what is left at once
/// (instead of waiting for `-t`), says so, and svinit exits 111.
fn second_signal_kills_at_once(mode: Mode) {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    service(&scan, "a", DEAF);
    let Some(mut init) = Init::start(mode, &scan, &["-t", "20000"], &[]) else {
        return;
    };
    assert!(wait_for(SOON, || up(&scan.join("a"))));
    init.signal(libc::SIGTERM);
    // supervise took the `d`: its record says want down.
    assert!(wait_for(SOON, || status(&scan.join("a"))
        .is_some_and(|s| s.want == b'd')));
    assert!(
        init.wait(Duration::from_millis(200)).is_none(),
        "stopped early"
    );
    let t0 = Instant::now();
    init.signal(libc::SIGTERM);
    let st = init.wait(SOON).expect("svinit did not exit");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(st.code(), Some(111), "{}", init.stderr());
    assert_eq!(
        init.stderr(),
        "svinit: warning: killing what is left after a second stop signal: a\n"
    );
}

#[test]
fn pid1_second_stop_signal_kills_at_once() {
    second_signal_kills_at_once(Mode::Pid1);
}

#[test]
fn subreaper_second_stop_signal_kills_at_once() {
    second_signal_kills_at_once(Mode::Subreaper);
}

/// A service that ignores SIGTERM is killed at `-t`, named in the warning.
#[test]
fn pid1_service_ignoring_term_is_killed_at_t() {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    service(&scan, "a", DEAF);
    service(&scan, "b", "#!/bin/sh\nexec sleep 1000\n");
    let Some(mut init) = Init::start(Mode::Pid1, &scan, &["-t", "500"], &[]) else {
        return;
    };
    assert!(wait_for(SOON, || up(&scan.join("a")) && up(&scan.join("b"))));
    let t0 = Instant::now();
    init.signal(libc::SIGTERM);
    let st = init.wait(SOON).expect("svinit did not exit");
    let took = t0.elapsed();
    assert_eq!(st.code(), Some(111), "{}", init.stderr());
    assert_eq!(
        init.stderr(),
        "svinit: warning: killing what is left after 500 ms: a\n"
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

/// The same service with its own `timeout-kill`: supervise kills it, the
/// stop is clean (exit 0, no warning) and well before `-t`.
#[test]
fn subreaper_timeout_kill_is_the_services_own() {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    let a = service(&scan, "a", DEAF);
    fs::write(a.join("timeout-kill"), "200\n").unwrap();
    let Some(mut init) = Init::start(Mode::Subreaper, &scan, &["-t", "5000"], &[]) else {
        return;
    };
    assert!(wait_for(SOON, || up(&a)));
    let t0 = Instant::now();
    init.signal(libc::SIGTERM);
    let st = init.wait(SOON).expect("svinit did not exit");
    assert_eq!(st.code(), Some(0), "{}", init.stderr());
    assert!(init.stderr().is_empty(), "{}", init.stderr());
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

/// A daemon a `./run` left behind (double-forked) gets SIGTERM once the
/// services are down; one that ignores it is SIGKILLed at `-t`. Nothing
/// is left either way.
#[test]
fn subreaper_stops_and_kills_daemons_left_behind() {
    for (daemon, code) in [("sleep 1000", 0), ("trap '' TERM; exec sleep 1000", 111)] {
        let t = tempfile::tempdir().unwrap();
        let scan = scandir(t.path());
        let run = format!("#!/bin/sh\n(sh -c \"{daemon}\" > /dev/null &)\nexec sleep 1000\n");
        service(&scan, "a", &run);
        let Some(mut init) = Init::start(Mode::Subreaper, &scan, &["-t", "500"], &[]) else {
            return;
        };
        // supervise, its sleep, and the daemon adopted by svinit.
        assert!(wait_for(SOON, || tree(init.pid).len() >= 3));
        let pids = tree(init.pid);
        init.signal(libc::SIGTERM);
        let st = init.wait(SOON).expect("svinit did not exit");
        assert_eq!(st.code(), Some(code), "{daemon}: {}", init.stderr());
        for p in pids {
            assert!(crate::support::procstate::gone(p), "{daemon}: {p} left");
        }
        if code == 111 {
            assert_eq!(
                init.stderr(),
                "svinit: warning: killing what is left after 500 ms: \
                 processes that are not services\n"
            );
        }
    }
}

/// SIGHUP scans at once: a service behind a symlink whose target appears
/// later is seen by no inotify event, only by a full scan (the periodic
/// one comes 5 s later). The target is complete (`run`, and `log/run`),
/// so the scan starts it at once.
#[test]
fn subreaper_sighup_rescans() {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    service(&scan, "a", "#!/bin/sh\nexec sleep 1000\n");
    symlink(t.path().join("later"), scan.join("b")).unwrap();
    let Some(mut init) = Init::start(Mode::Subreaper, &scan, &[], &[]) else {
        return;
    };
    assert!(wait_for(SOON, || up(&scan.join("a"))));
    let later = t.path().join("later");
    fs::create_dir_all(later.join("log")).unwrap();
    write_script(&later.join("log/run"), "#!/bin/sh\nexec cat > /dev/null\n");
    write_script(&later.join("run"), "#!/bin/sh\nexec sleep 1000\n");
    let t0 = Instant::now();
    init.signal(libc::SIGHUP);
    assert!(wait_for(SOON, || up(&scan.join("b"))));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    init.signal(libc::SIGTERM);
    assert_eq!(init.wait(SOON).and_then(|s| s.code()), Some(0));
}

/// A scan directory that is missing, or not a directory: fatal, 111, and
/// nothing started.
#[test]
fn unusable_scan_directory_is_fatal() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("missing");
    let (c, _, err) = call("svinit", &[missing.to_str().unwrap(), "true"]);
    assert_eq!(c, Some(111));
    assert_eq!(
        err,
        format!(
            "svinit: fatal: unable to chdir to {}: file does not exist\n",
            missing.display()
        )
    );
    let file = t.path().join("file");
    fs::write(&file, "").unwrap();
    let (c, _, err) = call("svinit", &[file.to_str().unwrap()]);
    assert_eq!(c, Some(111));
    assert_eq!(
        err,
        format!(
            "svinit: fatal: unable to chdir to {}: not a directory\n",
            file.display()
        )
    );
}

/// A scan directory svinit may enter but not read (mode 0711, svinit run
/// as nobody): fatal, 111.
#[test]
fn unreadable_scan_directory_is_fatal() {
    if !root_or_skip("svinit on an unreadable directory (as nobody)") {
        return;
    }
    let t = tempfile::Builder::new()
        .prefix("svinit-unreadable.")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let scan = scandir(t.path());
    fs::set_permissions(&scan, fs::Permissions::from_mode(0o711)).unwrap();
    let out = Command::new(ours_public("setuidgid"))
        .arg("nobody")
        .arg(ours_public("svinit"))
        .arg(&scan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "svinit: fatal: unable to read directory {}: access denied\n",
            scan.display()
        )
    );
}

#[test]
fn command_line() {
    let (c, out, _) = call("svinit", &["--help"]);
    assert_eq!(c, Some(0));
    assert!(out.starts_with("usage: svinit [ -t ms ] scandir"), "{out}");
    assert!(out.contains("\n  -t ms "), "{out}");
    let (c, _, err) = call("svinit", &[]);
    assert_eq!(c, Some(100));
    assert_eq!(
        err,
        "svinit: usage: svinit [ -t ms ] scandir [ prog [ arg ... ] ]: no scan directory\n"
    );
    let (c, _, err) = call("svinit", &["-t", "9s", "/"]);
    assert_eq!(c, Some(100));
    assert!(
        err.ends_with(": -t: not a number of milliseconds: 9s\n"),
        "{err}"
    );
    let (c, _, err) = call("svinit", &["-x", "/"]);
    assert_eq!(c, Some(100));
    assert!(err.starts_with("svinit: illegal option -- x\n"), "{err}");
}

/// With a terminal (`script` gives svinit one), `prog` is the terminal's
/// foreground job: the interrupt character kills it (exit 130), not the
/// services, which are then stopped as usual.
#[test]
fn subreaper_terminal_interrupt_goes_to_prog() {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    let a = service(
        &scan,
        "a",
        "#!/bin/sh\ntrap 'touch int' INT\ntrap 'exit 0' TERM\n\
         while :; do sleep 0.05; done\n",
    );
    let started = t.path().join("started");
    let cmd = format!(
        "{} {} sh -c 'touch {}; exec sleep 100'",
        crate::support::ours("svinit").display(),
        scan.display(),
        started.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("PATH", crate::support::svinit::path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("script (bsdutils)");
    assert!(wait_for(SOON, || started.exists()), "prog never started");
    use std::io::Write;
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let st = crate::support::wait_limit(&mut child, SOON);
    assert_eq!(st.code(), Some(130));
    assert!(!a.join("int").exists(), "the service got the interrupt");
    assert!(status(&a).is_some_and(|s| s.pid == 0), "a still runs");
}
