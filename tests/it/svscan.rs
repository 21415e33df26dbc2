//! Process tests for svscan: pick-up of new, symlinked and logged services,
//! skipped names, warnings, the log pipe, the service cap; compared with
//! daemontools' svscan where installed. Services built in place and the
//! cost of event storms are in `svscan_inplace`.

use crate::support as common;
use crate::support::supervise as helpers;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ours, ours_alone, reference};
use helpers::*;

/// A running svscan; on drop it is killed and every service it started is
/// sent `dx` (and killed if that does not work).
pub(super) struct Scan {
    pub(super) child: Child,
    dir: PathBuf,
    stderr: PathBuf,
}

/// A PATH whose `supervise` is `sup_dir/supervise`.
pub(super) fn path_with(sup_dir: &Path) -> String {
    format!("{}:/usr/bin:/bin", sup_dir.display())
}

impl Scan {
    pub(super) fn start(svscan: &Path, dir: &Path, path: &str) -> Scan {
        Self::start_env(svscan, dir, path, 0)
    }

    /// With `rescan_ms` > 0, the periodic rescan comes every `rescan_ms`
    /// instead of every 5 s (`DTOOLS_TEST_SVSCAN_RESCAN_MS`, for tests).
    pub(super) fn start_env(svscan: &Path, dir: &Path, path: &str, rescan_ms: u64) -> Scan {
        let stderr = dir.with_extension("err");
        let mut cmd = Command::new(svscan);
        if rescan_ms > 0 {
            cmd.env("DTOOLS_TEST_SVSCAN_RESCAN_MS", rescan_ms.to_string());
        }
        let child = cmd
            .arg(dir)
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Scan {
            child,
            dir: dir.to_path_buf(),
            stderr,
        }
    }

    pub(super) fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut dirs = Vec::new();
        if let Ok(rd) = fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                dirs.push(e.path());
                dirs.push(e.path().join("log"));
            }
        }
        for d in &dirs {
            control(d, b"dx");
        }
        for d in &dirs {
            if !wait_for(Duration::from_secs(3), || !ok(d)) {
                eprintln!("supervise in {} did not exit", d.display());
            }
            if let Some(s) = status(d) {
                if s.pid != 0 && alive(s.pid) {
                    let _ = Command::new("kill")
                        .args(["-9", &s.pid.to_string()])
                        .status();
                }
            }
        }
    }
}

/// A service with a process.
pub(super) fn up(dir: &Path) -> bool {
    status(dir).is_some_and(|s| s.pid != 0)
}

/// The directory holding our supervise (for PATH).
pub(super) fn our_bin_dir() -> PathBuf {
    ours("supervise").parent().unwrap().to_path_buf()
}

#[test]
fn new_symlinked_and_hidden_services() {
    let t = tempfile::tempdir().unwrap();
    let scan = t.path().join("scan");
    fs::create_dir(&scan).unwrap();
    let run = "#!/bin/sh\nexec sleep 60\n";
    service(&scan, "a", run);
    let s = Scan::start(&ours("svscan"), &scan, &path_with(&our_bin_dir()));
    assert!(wait_for(SOON, || up(&scan.join("a"))), "a not started");

    // Hidden names and plain files are skipped; a dangling symlink warns.
    service(&scan, ".hidden", run);
    fs::write(scan.join("plain"), "").unwrap();
    symlink(t.path().join("nowhere"), scan.join("dangling")).unwrap();

    // A directory moved in is started at once (inotify), well before 5 s.
    service(t.path(), "b", run);
    let t0 = Instant::now();
    fs::rename(t.path().join("b"), scan.join("b")).unwrap();
    assert!(wait_for(SOON, || up(&scan.join("b"))));
    let moved = t0.elapsed();
    // A symlink to a service elsewhere, too.
    let c = service(t.path(), "c", run);
    let t0 = Instant::now();
    symlink(&c, scan.join("c")).unwrap();
    assert!(wait_for(SOON, || up(&c)));
    let linked = t0.elapsed();
    // Includes supervise's start-up and ./run's exec; the scan itself is ~20 ms.
    assert!(
        moved < Duration::from_millis(1500),
        "moved-in service took {moved:?}"
    );
    assert!(
        linked < Duration::from_millis(1500),
        "symlinked service took {linked:?}"
    );

    // Two names for one directory give one supervise (the lock would refuse
    // a second one, with a message on svscan's stderr).
    let scans = || {
        s.stderr()
            .matches("svscan: warning: unable to stat dangling: file does not exist\n")
            .count()
    };
    symlink(&c, scan.join("c2")).unwrap();
    assert!(!scan.join(".hidden/supervise").exists());

    // A vanished directory's supervise is not stopped (its cwd moved along).
    let moved = t.path().join("a_moved");
    fs::rename(scan.join("a"), &moved).unwrap();
    let before = scans();
    // The next periodic scan (only these warn; dot-names such as
    // `.trigger` cause no scan).
    fs::create_dir(scan.join(".trigger")).unwrap();
    assert!(wait_for(SOON, || scans() > before), "{}", s.stderr());
    assert!(
        ok(&moved) && up(&moved),
        "supervise of a vanished service stopped"
    );
    // `c2` and the rest were handled before that scan or by it, and svscan
    // waits for events again (it sleeps only with none pending); any
    // supervise started for `c2` has exited and been reaped (so its message
    // is written) once svscan has just its three live children.
    let pid = s.child.id();
    assert!(
        wait_for(SOON, || {
            let kids = children(pid);
            common::procstate::waiting_for_input(pid)
                && kids.len() == 3
                && kids.iter().all(|&k| !common::procstate::gone(k))
        }),
        "svscan's children: {:?}\n{}",
        children(pid),
        s.stderr()
    );
    assert!(!scan.join(".hidden/supervise").exists());
    assert!(!s.stderr().contains("supervise: fatal"), "{}", s.stderr());
    assert!(!s.stderr().contains("plain"), "{}", s.stderr());
    control(&moved, b"dx");
}

/// Warnings printed by svscan's children, same text as daemontools'.
#[test]
fn exec_failure_warning_matches_reference() {
    // Alone, so that no supervise sits beside it: PATH decides.
    let mut progs = vec![ours_alone("svscan")];
    progs.extend(reference("svscan"));
    let mut seen = Vec::new();
    for p in progs {
        let t = tempfile::tempdir().unwrap();
        let scan = t.path().join("scan");
        fs::create_dir(&scan).unwrap();
        service(&scan, "a", "#!/bin/sh\nexec sleep 60\n");
        fs::create_dir(scan.join("a/log")).unwrap();
        let s = Scan::start(&p, &scan, "/nonexistent");
        let want = [
            "svscan: warning: unable to start supervise a: file does not exist",
            "svscan: warning: unable to start supervise a/log: file does not exist",
        ];
        assert!(
            wait_for(SOON, || want.iter().all(|w| s.stderr().contains(w))),
            "{}: {}",
            p.display(),
            s.stderr()
        );
        let mut lines: Vec<String> = s.stderr().lines().map(String::from).collect();
        lines.sort();
        lines.dedup();
        seen.push(lines);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1]);
    }
}

/// Both pipe ends stay in svscan: lines written while the logger is dead
/// arrive after svscan restarts it.
#[test]
fn log_pipe_survives_killing_the_logger() {
    log_pipe(&ours("svscan"), &our_bin_dir());
}

/// daemontools' svscan running our supervise.
#[test]
fn log_pipe_reference_svscan_our_supervise() {
    if let Some(svscan) = reference("svscan") {
        log_pipe(&svscan, &our_bin_dir());
    }
}

/// Our svscan running daemontools' supervise.
#[test]
fn log_pipe_our_svscan_reference_supervise() {
    if reference("supervise").is_some() {
        // Alone, so that PATH's supervise (daemontools') is the one run.
        log_pipe(&ours_alone("svscan"), Path::new("/usr/bin"));
    }
}

fn log_pipe(svscan: &Path, sup_dir: &Path) {
    let t = tempfile::tempdir().unwrap();
    let scan = t.path().join("scan");
    fs::create_dir(&scan).unwrap();
    let out = t.path().join("out");
    let s_dir = service(
        &scan,
        "s",
        "#!/bin/sh\ni=0\nwhile [ $i -lt 2000 ]; do i=$((i+1)); echo $i; sleep 0.01; done\nexec sleep 60\n",
    );
    let log = s_dir.join("log");
    fs::create_dir(&log).unwrap();
    write_script(
        &log.join("run"),
        &format!("#!/bin/sh\nexec cat >> {}\n", out.display()),
    );
    let _s = Scan::start(svscan, &scan, &path_with(sup_dir));
    let count = || fs::read_to_string(&out).unwrap_or_default().lines().count();
    assert!(wait_for(SOON, || count() > 20), "no log output");
    // Kill the log supervise and its cat together.
    let cat = wait_status(&log, "logger up", |s| s.pid != 0).pid;
    let stat = fs::read_to_string(format!("/proc/{cat}/stat")).unwrap();
    let ppid: u32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-9", &ppid.to_string(), &cat.to_string()])
        .status();
    let at_kill = count();
    // svscan restarts the log supervise within 5 s; the lines come back.
    assert!(wait_for(Duration::from_secs(12), || status(&log)
        .is_some_and(|s| s.pid != 0 && s.pid != cat)));
    assert!(wait_for(SOON, || count() > at_kill + 100));
    let text = fs::read_to_string(&out).unwrap();
    let nums: Vec<u32> = text.lines().map(|l| l.parse().unwrap()).collect();
    for (i, n) in nums.iter().enumerate() {
        assert_eq!(*n as usize, i + 1, "line lost or reordered near {i}");
    }
}

/// At most 1000 services; the 1001st gets one warning per scan. `supervise`
/// is /bin/true here, so the test costs 1000 short-lived processes.
#[test]
fn at_most_1000_services() {
    // Ours alone, so that PATH's stand-in supervise is the one run.
    let mut progs = vec![ours_alone("svscan")];
    progs.extend(reference("svscan"));
    for p in progs {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        fs::create_dir(&bin).unwrap();
        symlink("/bin/true", bin.join("supervise")).unwrap();
        let scan = t.path().join("scan");
        fs::create_dir(&scan).unwrap();
        for i in 0..1001 {
            fs::create_dir(scan.join(format!("s{i:04}"))).unwrap();
        }
        let mut child = Command::new(&p)
            .arg(&scan)
            .env("PATH", bin.display().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut first = String::new();
            let _ = std::io::BufReader::new(err).read_line(&mut first);
            first
        });
        wait_for(Duration::from_secs(20), || reader.is_finished());
        let _ = child.kill();
        let _ = child.wait();
        let line = reader.join().unwrap();
        assert!(
            line.starts_with("svscan: warning: unable to start s")
                && line.ends_with(": running too many services\n"),
            "{}: {line:?}",
            p.display()
        );
    }
}

/// Children of `pid` (from /proc).
pub(super) fn children(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap();
        if ppid == pid.to_string() {
            v.push(p);
        }
    }
    v
}

/// svscanboot: svscan's errors show up in readproctitle's argv and the
/// services start; the directory comes from the argument. svscanboot
/// becomes readproctitle, with svscan as its child.
#[test]
fn svscanboot_runs_svscan_into_readproctitle() {
    let t = tempfile::tempdir().unwrap();
    let scan = t.path().join("scan");
    fs::create_dir(&scan).unwrap();
    service(&scan, "a", "#!/bin/sh\nexec sleep 60\n");
    symlink(t.path().join("nowhere"), scan.join("dangling")).unwrap();
    let mut boot = Command::new(ours("svscanboot"))
        .arg(&scan)
        .env("SVSCANBOOT_PATH", path_with(&our_bin_dir()))
        .spawn()
        .unwrap();
    let guard = Scan {
        child: Command::new("true").spawn().unwrap(),
        dir: scan.clone(),
        stderr: t.path().join("unused"),
    };
    assert!(
        wait_for(SOON, || up(&scan.join("a"))),
        "service not started"
    );
    let rpt = boot.id();
    let cmdline = || fs::read(format!("/proc/{rpt}/cmdline")).unwrap_or_default();
    assert!(
        wait_for(SOON, || cmdline()
            .starts_with(b"readproctitle\0service\0errors:\0")),
        "{:?}",
        String::from_utf8_lossy(&cmdline())
    );
    let want = b"svscan: warning: unable to stat dangling: file does not exist\n";
    assert!(
        wait_for(SOON, || cmdline().windows(want.len()).any(|w| w == want)),
        "{:?}",
        String::from_utf8_lossy(&cmdline())
    );
    for k in children(rpt) {
        let _ = Command::new("kill").arg(k.to_string()).status();
    }
    let _ = boot.kill();
    let _ = boot.wait();
    drop(guard);
}

/// svscan reaps any child (svscan.c's `wait_nohang`, wait4(-1)), also a
/// `supervise` that moved to another process group: here a stand-in that
/// leaves through setsid(1) and exits at once; svscan must see each exit
/// and start it again at the next scan (every 100 ms here).
#[test]
fn reaps_a_supervise_in_another_process_group() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    fs::create_dir(&bin).unwrap();
    write_script(
        &bin.join("supervise"),
        "#!/bin/sh\necho start >> \"$1/starts\"\nexec setsid true\n",
    );
    let scan = t.path().join("scan");
    fs::create_dir(&scan).unwrap();
    let a = service(&scan, "a", "#!/bin/sh\nexec sleep 60\n");
    // Alone, so that PATH's stand-in supervise is the one run.
    let _s = Scan::start_env(&ours_alone("svscan"), &scan, &path_with(&bin), 100);
    let starts = || {
        fs::read_to_string(a.join("starts"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert!(
        wait_for(SOON, || starts() >= 3),
        "supervise started {} times",
        starts()
    );
}

/// What inotify cannot see (a dangling symlink whose target appears) is
/// found by the periodic 5-second rescan.
#[test]
fn periodic_rescan_finds_what_inotify_misses() {
    let t = tempfile::tempdir().unwrap();
    let scan = t.path().join("scan");
    fs::create_dir(&scan).unwrap();
    symlink(t.path().join("later"), scan.join("later")).unwrap();
    let s = Scan::start(&ours("svscan"), &scan, &path_with(&our_bin_dir()));
    assert!(wait_for(SOON, || s
        .stderr()
        .contains("unable to stat later")));
    let t0 = Instant::now();
    service(t.path(), "later", "#!/bin/sh\nexec sleep 60\n");
    assert!(wait_for(Duration::from_secs(10), || up(&t
        .path()
        .join("later"))));
    assert!(
        t0.elapsed() < Duration::from_millis(6500),
        "{:?}",
        t0.elapsed()
    );
}
