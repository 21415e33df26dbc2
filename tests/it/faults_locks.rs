//! The directory lock against other loggers. Our multilog takes both an
//! `flock` (what daemontools' multilog uses) and an `fcntl` record lock
//! (what s6-log uses) on `lock`, so neither can write into a directory we
//! hold, and we refuse a directory either of them holds.

use crate::support::faults as faults_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{installed, wait_for};
use faults_common::{multilog, wait_limit, Captured};

const LIMIT: Duration = Duration::from_secs(30);
const REFUSED: &str = "multilog: fatal: unable to lock directory ./d: temporary failure\n";

/// Start `cmd` on an open pipe in `dir` and wait until `dir/d/current`
/// exists, i.e. it holds the lock.
fn hold(mut cmd: Command, dir: &Path) -> Child {
    let child = cmd
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(LIMIT, || dir.join("d/current").exists()),
        "the holder never created d/current"
    );
    child
}

fn release(mut child: Child) {
    drop(child.stdin.take());
    let st = wait_limit(&mut child, LIMIT);
    assert!(st.success(), "holder: {st}");
}

/// Ours refuses the directory, with daemontools' message and exit 111.
fn ours_refused(dir: &Path) {
    let mut child = multilog(dir, &["./d"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let err = Captured::start(&mut child);
    let st = wait_limit(&mut child, LIMIT);
    assert_eq!(st.code(), Some(111));
    assert_eq!(err.finish(LIMIT), REFUSED);
}

#[test]
fn s6_log_cannot_take_a_directory_we_hold() {
    let Some(s6) = installed("s6-log", "s6") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let holder = hold(multilog(dir.path(), &["./d"]), dir.path());
    let out = Command::new(&s6)
        .args(["t", "./d"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(111), "s6-log: {text}");
    assert!(text.contains("lock"), "s6-log said: {text}");
    release(holder);
}

#[test]
fn we_cannot_take_a_directory_s6_log_holds() {
    let Some(s6) = installed("s6-log", "s6") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(s6);
    cmd.args(["t", "./d"]);
    let holder = hold(cmd, dir.path());
    ours_refused(dir.path());
    release(holder);
}

#[test]
fn daemontools_multilog_and_ours_exclude_each_other() {
    let Some(djb) = installed("multilog", "daemontools") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(&djb);
    cmd.arg("./d");
    let holder = hold(cmd, dir.path());
    ours_refused(dir.path());
    release(holder);

    let dir = tempfile::tempdir().unwrap();
    let holder = hold(multilog(dir.path(), &["./d"]), dir.path());
    let out = Command::new(&djb)
        .arg("./d")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(String::from_utf8_lossy(&out.stderr), REFUSED);
    release(holder);
}

#[test]
fn a_second_multilog_of_ours_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let holder = hold(multilog(dir.path(), &["./d"]), dir.path());
    ours_refused(dir.path());
    release(holder);
}
