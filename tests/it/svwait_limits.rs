//! svwait without inotify: out of instances (EMFILE) or watches (ENOSPC),
//! it warns and polls. The limits are lowered in a user namespace of the
//! test's own, where the per-user counts start from zero, so the rest of
//! the machine (svscan, other tests) keeps its inotify.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::supervise::{control, wait_status};
use crate::support::{ours, try_wait_for, SOON};
use crate::svwait::{down_service, up_service};

/// `svwait ARGS DIRS` in a new user namespace whose inotify limit `limit`
/// (`max_inotify_instances` or `max_inotify_watches` under
/// /proc/sys/user) is `value`: the per-user limits, counted there alone,
/// so the rest of the machine is not starved. `None` (after a loud skip)
/// when user namespaces are not available.
fn svwait_limited(limit: &str, value: u32, args: &[&str], dirs: &[&Path]) -> Option<Child> {
    let probe = Command::new("unshare")
        .args(["-U", "-r", "true"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        crate::support::skip(
            "DTOOLS_REQUIRE_ROOT_TESTS",
            "svwait under inotify limits: no user namespaces (unshare -U -r)",
        );
        return None;
    }
    let script = format!("echo {value} > /proc/sys/user/{limit} && exec \"$0\" \"$@\"");
    Some(
        Command::new("unshare")
            .args(["-U", "-r", "sh", "-c", &script])
            .arg(ours("svwait"))
            .args(args)
            .args(dirs)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Out of inotify instances (EMFILE) or watches (ENOSPC), svwait warns and
/// reads the directories every 200 ms instead of failing; with one
/// instance left, one svwait watches several directories with it.
#[test]
fn without_inotify_svwait_polls() {
    let t = tempfile::tempdir().unwrap();
    let a = down_service(t.path(), "a");
    let b = up_service(t.path(), "b");
    let c = up_service(t.path(), "c");
    for (limit, what) in [
        ("max_inotify_instances", "initialise inotify"),
        ("max_inotify_watches", "watch with inotify"),
    ] {
        assert!(control(&a.dir, b"d"));
        wait_status(&a.dir, "down", |s| s.pid == 0);
        let Some(mut w) = svwait_limited(limit, 0, &["-u", "-t", "5000"], &[&a.dir]) else {
            return;
        };
        assert!(
            try_wait_for(&mut w, Duration::from_millis(300)).is_none(),
            "{limit}: svwait ended early"
        );
        assert!(control(&a.dir, b"u"));
        let out = crate::support::wait_deadline(w, SOON);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{limit}: {err}");
        assert!(
            err.starts_with(&format!(
                "svwait: warning: unable to {what}, polling every 200 ms: "
            )),
            "{limit}: {err}"
        );
    }
    // One instance is enough for three directories.
    let Some(w) = svwait_limited(
        "max_inotify_instances",
        1,
        &["-d"],
        &[&a.dir, &b.dir, &c.dir],
    ) else {
        return;
    };
    for s in [&a, &b, &c] {
        assert!(control(&s.dir, b"d"));
    }
    let out = crate::support::wait_deadline(w, SOON);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
