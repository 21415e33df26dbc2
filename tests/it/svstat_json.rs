//! svstat-json's arguments: it has no options, so one is a usage error
//! (exit 100), never read as a directory; `--` ends the options.

use crate::support::supervise::{service, wait_status, Sup};
use crate::support::{ours, run};

use std::ffi::OsStr;

#[test]
fn an_option_is_a_usage_error_not_a_directory() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\nexec sleep 60\n");
    let _s = Sup::running(&ours("supervise"), &dir);
    wait_status(&dir, "up", |s| s.pid != 0);
    for opt in ["-x", "--json"] {
        let out = run(&ours("svstat-json"), &[OsStr::new(opt), dir.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(100), "{opt}: {err}");
        assert!(
            err.contains("svstat-json: usage: svstat-json [ -- ] dir ..."),
            "{opt}: {err}"
        );
        assert!(out.stdout.is_empty(), "{opt}");
    }
    let out = run(&ours("svstat-json"), &[OsStr::new("--"), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["up"], serde_json::json!(true));
}
