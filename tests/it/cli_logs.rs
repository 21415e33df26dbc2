//! svlog's and logship's command lines: `--help` and `--version` to
//! stdout with exit 0, usage errors (exit 100) that name what was wrong,
//! and directory arguments that are paths, not text.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cli::call;
use crate::support::relp_peer::{Mode, Peer};
use crate::support::{ours, wait_for};

#[test]
fn help_and_version() {
    for (prog, opts) in [
        (
            "svlog",
            &[
                "-f",
                "-n N",
                "-g REGEX",
                "-o FORMAT",
                "--since T",
                "--until T",
            ][..],
        ),
        (
            "logship",
            &[
                "-p fac.sev",
                "-H host",
                "-a app",
                "-c DIR",
                "-w N",
                "-m N",
                "-t SECS",
                "-T SECS",
            ],
        ),
    ] {
        let (c, out, err) = call(prog, &["--help"]);
        assert_eq!(c, Some(0), "{prog}: {err}");
        assert!(err.is_empty(), "{prog}: {err}");
        assert!(out.starts_with(&format!("usage: {prog} ")), "{prog}: {out}");
        for opt in opts.iter().chain(&["--help", "--version"]) {
            assert!(out.contains(&format!("\n  {opt} ")), "{prog} {opt}: {out}");
        }
        let (c, out, _) = call(prog, &["--version"]);
        assert_eq!(c, Some(0));
        assert_eq!(
            out,
            format!("{prog} (daemontools-rs) {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
    // Among other options too.
    let (c, out, _) = call("svlog", &["-n", "3", "--help", "/nonexistent"]);
    assert_eq!(c, Some(0));
    assert!(out.starts_with("usage: svlog "), "{out}");
    let (c, out, _) = call("logship", &["-w", "5", "--version", "relp://h:1", "d"]);
    assert_eq!(c, Some(0));
    assert!(out.starts_with("logship "), "{out}");
}

#[test]
fn logship_usage_errors_name_the_problem() {
    for (args, why) in [
        (
            &["relp://127.0.0.1", "d"][..],
            "no port in URL: relp://127.0.0.1",
        ),
        (
            &["udp://h:514", "d"],
            "unknown scheme (not relp://, tcp://, tcp+lf://, relp+tls:// or tls://): udp://h:514",
        ),
        (
            &["-p", "local9.info", "relp://h:1", "d"],
            "unknown facility: local9",
        ),
        (
            &["-p", "user.loud", "relp://h:1", "d"],
            "unknown severity: loud",
        ),
        (
            &["-w", "abc", "relp://h:1", "d"],
            "-w: not a window from 1 to 100000: abc",
        ),
        (&["-t", "0", "relp://h:1", "d"], "-t: not 1 to 86400 s: 0"),
        (
            &["relp://h:99999", "d"],
            "not a port from 1 to 65535: 99999",
        ),
        (&["--bogus", "relp://h:1", "d"], "unknown option: --bogus"),
    ] {
        let (c, out, err) = call("logship", args);
        assert_eq!(c, Some(100), "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.starts_with("logship: usage: logship "), "{err}");
        assert!(
            err.ends_with(&format!("DIR...: {why}\n")),
            "{args:?}: {err}"
        );
    }
    // Something missing: the synopsis alone.
    let (c, _, err) = call("logship", &["relp://h:1"]);
    assert_eq!(c, Some(100));
    assert!(err.ends_with("DIR...\n"), "{err}");
}

/// A log directory whose name ends in byte 0xff, with two lines.
fn odd_dir(root: &std::path::Path) -> OsString {
    let mut name = b"svc".to_vec();
    name.push(0xff);
    let name = OsString::from_vec(name);
    let d = root.join(&name);
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("current"),
        "@400000006b0e3d7400000000 one\n@400000006b0e3d7500000000 two\n",
    )
    .unwrap();
    name
}

#[test]
fn svlog_reads_a_directory_whose_name_is_not_utf8() {
    let root = tempfile::tempdir().unwrap();
    let name = odd_dir(root.path());
    let out = Command::new(ours("svlog"))
        .args(["-o", "raw"])
        .arg(&name)
        .current_dir(root.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("one") && text.contains("two"),
        "{text}: {err}"
    );
}

#[test]
fn logship_ships_a_directory_whose_name_is_not_utf8() {
    let root = tempfile::tempdir().unwrap();
    let name = odd_dir(root.path());
    let peer = Peer::start(vec![Mode::Normal]);
    let mut child = Command::new(ours("logship"))
        .arg(peer.url())
        .arg(&name)
        .current_dir(root.path())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = wait_for(Duration::from_secs(10), || peer.acked().len() >= 2);
    let _ = child.kill();
    let _ = child.wait();
    assert!(got, "acknowledged: {:?}", peer.acked().len());
}
