//! svinit as a container's init: as PID 1 of a real PID namespace
//! (`unshare --pid --fork --mount-proc`, root only; CI runs as root and
//! sets `DTOOLS_REQUIRE_ROOT_TESTS`) and, for the same basics, as a child
//! subreaper without a namespace. Orphans reaped, no log line lost at a
//! stop and the stop's duration, `prog`'s exit status, a logger stuck on a
//! full disk. The other stops and the errors are in `svinit_stop`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::supervise::{service, write_script};
use crate::support::svinit::{Init, Mode};
use crate::support::{wait_for, SOON};
use daemontools::tai64::Tai64N;

/// A scan directory `scan` in `root`.
pub(crate) fn scandir(root: &Path) -> PathBuf {
    let scan = root.join("scan");
    fs::create_dir(&scan).unwrap();
    scan
}

/// `prog` spawns 1000 double-forked grandchildren (`(sleep 1 &)`: the
/// subshell exits at once, so each `sleep` is an orphan), counts those
/// adopted by svinit (its parent), waits until none runs any more, then one
/// second more, and counts the zombies svinit left.
const ORPHANS: &str = r#"
out=$1
p=$PPID
i=0
while [ $i -lt 1000 ]; do (sleep 1 &); i=$((i+1)); done
# How many orphans svinit has adopted; with -r, only those still running.
adopted() {
    n=0
    for f in /proc/[0-9]*/stat; do
        read -r l < "$f" 2>/dev/null || continue
        case $l in *"(sleep)"*) ;; *) continue;; esac
        set -- ${l##*) }
        [ "$2" = "$p" ] || continue
        [ "$1" = Z ] && [ "$run" ] && continue
        n=$((n+1))
    done
    echo $n
}
seen=$(adopted)
run=1
while [ "$(adopted)" != 0 ]; do sleep 0.1; done
sleep 1
zombies=0
for f in /proc/[0-9]*/stat; do
    read -r l < "$f" 2>/dev/null || continue
    set -- ${l##*) }
    [ "$1" = Z ] && [ "$2" = "$p" ] && zombies=$((zombies+1))
done
echo "$seen $zombies" > "$out"
"#;

fn orphans_are_reaped(mode: Mode) {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    service(&scan, "a", "#!/bin/sh\nexec sleep 1000\n");
    let result = t.path().join("result");
    let args = ["sh", "-c", ORPHANS, "sh", result.to_str().unwrap()];
    let Some(mut init) = Init::start(mode, &scan, &[], &args) else {
        return;
    };
    let st = init
        .wait(Duration::from_secs(60))
        .expect("svinit did not exit");
    assert_eq!(st.code(), Some(0), "{}", init.stderr());
    let result = fs::read_to_string(&result).unwrap();
    let v: Vec<u32> = result
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    assert!(v[0] > 0, "no orphan was adopted by svinit: {result}");
    assert_eq!(v[1], 0, "zombies left (adopted, zombies): {result}");
}

#[test]
fn pid1_reaps_1000_orphans() {
    orphans_are_reaped(Mode::Pid1);
}

#[test]
fn subreaper_reaps_1000_orphans() {
    orphans_are_reaped(Mode::Subreaper);
}

/// A service writing numbered lines as fast as it can; on SIGTERM it takes
/// `stop` seconds, writes `last` and exits.
fn writer(stop: &str) -> String {
    format!(
        "#!/bin/sh\ntrap 'sleep {stop}; echo last; exit 0' TERM\n\
         i=0\nwhile :; do echo $i; i=$((i+1)); done\n"
    )
}

/// Everything in log directory `dir`, archives in order, then `current`.
fn logged(dir: &Path) -> String {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('@'))
        .collect();
    names.sort();
    names.push(dir.join("current"));
    names
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect()
}

/// `0\n1\n…N\nlast\n` after multilog's `t` stamps: every line, none cut,
/// the last one last. The number of lines and the stamp of `last` (when
/// multilog read it).
fn check_complete(name: &str, text: &str) -> (usize, Tai64N) {
    let mut n = 0usize;
    let mut last = None;
    for line in text.split_inclusive('\n') {
        assert!(last.is_none(), "{name}: a line after the last: {line:?}");
        let (stamp, body) = line
            .strip_prefix('@')
            .and_then(|l| l.split_once(' '))
            .unwrap_or_else(|| panic!("{name}: line {n} without a stamp: {line:?}"));
        if body == "last\n" {
            last = Tai64N::from_hex(stamp.as_bytes());
            assert!(last.is_some(), "{name}: bad stamp {stamp}");
            continue;
        }
        assert_eq!(body, format!("{n}\n"), "{name}: line {n} lost or cut");
        n += 1;
    }
    let last = last.unwrap_or_else(|| panic!("{name}: no last line: …{:?}", tail(text)));
    (n, last)
}

/// `b - a` in nanoseconds.
fn since(a: Tai64N, b: Tai64N) -> i128 {
    (i128::from(b.secs) - i128::from(a.secs)) * 1_000_000_000 + i128::from(b.nanos)
        - i128::from(a.nanos)
}

fn tail(s: &str) -> &str {
    &s[s.len().saturating_sub(60)..]
}

fn stop_loses_no_line(mode: Mode) {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    let stops = [("a", "0.1"), ("b", "0.2"), ("c", "0.3")];
    for (name, stop) in stops {
        let d = service(&scan, name, &writer(stop));
        fs::create_dir(d.join("log")).unwrap();
        write_script(
            &d.join("log/run"),
            "#!/bin/sh\nexec multilog t s16777215 n50 ./main\n",
        );
    }
    let Some(mut init) = Init::start(mode, &scan, &[], &[]) else {
        return;
    };
    // Each has written plenty and is still writing.
    for (name, _) in stops {
        let cur = scan.join(name).join("log/main/current");
        assert!(
            wait_for(SOON, || fs::metadata(&cur).is_ok_and(|m| m.len() > 200_000)),
            "{name} is not writing: {}",
            init.stderr()
        );
    }
    let (t0, term) = (Instant::now(), Tai64N::now());
    init.signal(libc::SIGTERM);
    let st = init.wait(SOON).expect("svinit did not exit");
    let took = t0.elapsed();
    assert_eq!(st.code(), Some(0), "{}", init.stderr());
    let mut total = 0;
    // The slowest service's stop: from SIGTERM to its last line, as
    // multilog stamped it (300 ms of `sleep`, and starting `sleep`).
    let mut slowest = 0;
    for (name, _) in stops {
        let (n, last) = check_complete(name, &logged(&scan.join(name).join("log/main")));
        total += n;
        slowest = slowest.max(since(term, last));
    }
    let slowest = Duration::from_nanos(u64::try_from(slowest).unwrap());
    eprintln!("{mode:?}: {total} lines kept; slowest service {slowest:?}, svinit {took:?}");
    assert!(slowest >= Duration::from_millis(300), "{slowest:?}");
    assert!(
        took < slowest + Duration::from_millis(200),
        "svinit took {took:?} to stop, the slowest service {slowest:?}"
    );
    assert!(init.stderr().is_empty(), "{}", init.stderr());
}

#[test]
fn pid1_sigterm_loses_no_line() {
    stop_loses_no_line(Mode::Pid1);
}

#[test]
fn subreaper_sigterm_loses_no_line() {
    stop_loses_no_line(Mode::Subreaper);
}

/// `prog` runs once service `a` is ready (it has a `notification-fd` and
/// says so after writing `marker`), and its status is svinit's: exit 3
/// gives 3, death by SIGKILL 137; the service is stopped either way.
fn prog_status(mode: Mode) {
    for (script, code) in [("exit 3", 3), ("kill -9 $$", 137)] {
        let t = tempfile::tempdir().unwrap();
        let scan = scandir(t.path());
        let a = service(
            &scan,
            "a",
            "#!/bin/sh\nsleep 0.3\necho $$ > marker\necho >&3\nexec sleep 1000\n",
        );
        fs::write(a.join("notification-fd"), "3\n").unwrap();
        // `prog` runs where svinit was started, not in the scan directory.
        let prog = format!(
            "test -e '{}' && test ! -e a || exit 9; {script}",
            a.join("marker").display()
        );
        let Some(mut init) = Init::start(mode, &scan, &[], &["sh", "-c", &prog]) else {
            return;
        };
        let st = init.wait(SOON).expect("svinit did not exit");
        assert_eq!(st.code(), Some(code), "{script}: {}", init.stderr());
        assert!(init.stderr().is_empty(), "{}", init.stderr());
        let pid: u32 = fs::read_to_string(a.join("marker"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if mode == Mode::Subreaper {
            assert!(crate::support::procstate::gone(pid), "service still runs");
        }
    }
}

#[test]
fn pid1_exit_status_is_progs() {
    prog_status(Mode::Pid1);
}

#[test]
fn subreaper_exit_status_is_progs() {
    prog_status(Mode::Subreaper);
}

/// A logger stuck on a full disk (a 64 KiB tmpfs, mounted in the
/// namespace) cannot read its pipe to the end: it is killed at `-t`, with
/// a warning that names it, and svinit exits 111. (The service, `yes`,
/// dies of SIGTERM even while blocked on the full pipe.)
#[test]
fn pid1_logger_on_full_disk_is_killed_at_t() {
    let t = tempfile::tempdir().unwrap();
    let scan = scandir(t.path());
    let d = service(&scan, "a", "#!/bin/sh\nexec yes 0123456789\n");
    fs::create_dir_all(d.join("log/main")).unwrap();
    write_script(&d.join("log/run"), "#!/bin/sh\nexec multilog ./main\n");
    let mnt = format!(
        "mount -t tmpfs -o size=64k tmpfs '{}'",
        d.join("log/main").display()
    );
    let Some(mut init) = Init::start_after(Mode::Pid1, &mnt, &scan, &["-t", "700"], &[]) else {
        return;
    };
    assert!(
        wait_for(SOON, || init.stderr().contains("pausing")),
        "the disk never filled: {}",
        init.stderr()
    );
    let t0 = Instant::now();
    init.signal(libc::SIGTERM);
    let st = init.wait(SOON).expect("svinit did not exit");
    let took = t0.elapsed();
    assert_eq!(st.code(), Some(111), "{}", init.stderr());
    assert!(
        init.stderr()
            .contains("svinit: warning: killing what is left after 700 ms: a/log\n"),
        "{}",
        init.stderr()
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(700 + 1000),
        "{took:?}"
    );
}
