//! supervise under SIGKILL: supervise and its service are killed (in both
//! orders, and supervise in the middle of status updates), and the next
//! supervise must recover: it gets the lock, writes a valid 18-byte status,
//! restarts the service, and obeys svc.

use crate::support::supervise as supervise_helpers;

use crate::support::faults as faults_common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use faults_common::{ours, seed, Rng};
use supervise_helpers::{
    alive, control, ok, service, status, status_bytes, wait_for, wait_status, Sup, SOON,
};

const RUN: &str = "#!/bin/sh\necho $$ >> ../pids\nexec sleep 1000\n";

fn kill9(pid: u32) {
    if pid != 0 && alive(pid) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        assert!(wait_for(SOON, || !alive(pid)), "pid {pid} survived kill -9");
    }
}

/// The status record is whole and says "up, running `pid`".
fn assert_up(dir: &Path, old: u32) -> u32 {
    // A status a killed supervise left may name its service, killed too,
    // until the new supervise writes its own: wait for a live pid (a status
    // that keeps naming a dead one still fails, on the deadline).
    let st = wait_status(dir, "up with a new, live pid", |s| {
        s.pid != 0 && s.pid != old && s.want == b'u' && alive(s.pid)
    });
    assert_eq!(status_bytes(dir).len(), 18);
    assert!(!st.paused);
    assert!(alive(st.pid), "status names dead pid {}", st.pid);
    assert!(ok(dir), "supervise/ok not held open");
    st.pid
}

#[test]
fn supervise_and_service_killed_repeatedly() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", RUN);
    let sup_bin = ours("supervise");
    let mut rng = Rng::new(seed(0x50b));
    let mut old = 0;
    for round in 0..6 {
        let mut sup = Sup::running(&sup_bin, &dir);
        let pid = assert_up(&dir, old);
        if round % 2 == 0 {
            // supervise first: the service is orphaned, then killed too.
            sup.child.kill().unwrap();
            sup.child.wait().unwrap();
            kill9(pid);
        } else {
            // The service first; supervise dies some time later, perhaps
            // while restarting it (then that new service is killed too).
            kill9(pid);
            // The gap under test: a random moment to kill supervise at.
            std::thread::sleep(Duration::from_millis(rng.range(0, 1500)));
            sup.child.kill().unwrap();
            sup.child.wait().unwrap();
            kill9(status(&dir).map_or(0, |s| s.pid));
        }
        // Whatever the moment, the record on disk is whole.
        assert_eq!(status_bytes(&dir).len(), 18, "round {round}");
        old = pid;
        drop(sup);
    }
    // The last supervise still obeys svc.
    let _sup = Sup::running(&sup_bin, &dir);
    let pid = assert_up(&dir, old);
    assert!(control(&dir, b"d"));
    wait_status(&dir, "down", |s| s.pid == 0 && s.want == b'd');
    assert!(wait_for(SOON, || !alive(pid)));
    assert!(control(&dir, b"u"));
    assert_up(&dir, pid);
}

#[test]
fn supervise_killed_while_writing_status() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", RUN);
    let sup_bin = ours("supervise");
    let mut rng = Rng::new(seed(0x57a7));
    let mut old = 0;
    for round in 0..15 {
        let mut sup = Sup::running(&sup_bin, &dir);
        let pid = assert_up(&dir, old);
        // Pause/continue as fast as supervise takes them: every one
        // rewrites the status file (status.new + rename).
        let stop = Arc::new(AtomicBool::new(false));
        let toggler = {
            let stop = Arc::clone(&stop);
            let dir = dir.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    control(&dir, b"pc");
                    // pacing: the load generator's rate.
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        };
        // The gap under test: a random moment to kill supervise at.
        std::thread::sleep(Duration::from_millis(rng.range(1, 60)));
        sup.child.kill().unwrap();
        sup.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        toggler.join().unwrap();
        let bytes = status_bytes(&dir);
        assert_eq!(
            bytes.len(),
            18,
            "round {round}: status has {} bytes",
            bytes.len()
        );
        assert_eq!(status(&dir).unwrap().pid, pid, "round {round}");
        kill9(pid);
        old = pid;
        drop(sup);
    }
    let _sup = Sup::running(&sup_bin, &dir);
    assert_up(&dir, old);
}
