//! `svlog` on what it must refuse or survive: unknown options, a planted
//! or forged range index, a zstd archive that expands without bound,
//! archives that change, or are not regular files, while it reads.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{ours, wait_deadline, SOON};

/// `svlog args` with its range index in `cache`.
fn svlog_in(args: &[&str], cache: &Path) -> std::process::Output {
    let child = Command::new(ours("svlog"))
        .args(args)
        .env("TZ", "UTC")
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn svlog");
    wait_deadline(child, SOON)
}

fn svlog(args: &[&str]) -> std::process::Output {
    svlog_in(args, Path::new("/dev/null/svlog-index"))
}

/// Every unknown option, long or short, alone or among known ones, before
/// or after the directory, is a usage error: a script's typo never reads
/// as something else.
#[test]
fn unknown_options_are_usage_errors() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("current"), b"line\n").unwrap();
    let d = d.to_str().unwrap();
    for bad in [
        &["-x", d][..],
        &["--bogus", d],
        &["--follow", d],
        &["--since"],
        &["--help", d],
        &["-h", d],
        &["-F", d],
        &["-fx", d],
        &["-f", "-q", d],
        &["--n=1", d],
        &["--f", d],
        &["-o=json", d],
        &["---", d],
        &[d, "--bogus"],
        &[d, "-z"],
        &["-n", "1", "--last", "2", d],
    ] {
        let out = svlog(bad);
        assert_eq!(out.status.code(), Some(100), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("svlog: usage: svlog "),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What follows `--` is a directory, whatever it looks like.
    let ok = svlog(&["-n", "1", "--", d]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(ok.stdout, b"line\n");
}
