//! `svlog`'s range index (`$XDG_CACHE_HOME/svlog/DEV-INO`) against a
//! planted or forged one: names planted in the index directory are never
//! written through, and an entry that does not match its archive never
//! hides a line from a range.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

use daemontools::tai64::Tai64N;

use crate::support::{ours, wait_deadline, SOON};

fn label(t: i64) -> String {
    String::from_utf8(Tai64N::from_unix(t, 0).label().to_vec()).unwrap()
}

/// A log directory `root/d` of four archives of 50 lines (a second apart
/// from second 1000) and a `current`; its text.
fn logdir(root: &Path) -> (String, String) {
    let d = root.join("d");
    std::fs::create_dir(&d).unwrap();
    let mut all = String::new();
    for a in 0..5 {
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!("{} line {a} {i}\n", label(1000 + a * 50 + i)));
        }
        let name = if a == 4 {
            "current".to_string()
        } else {
            format!("{}.s", label(1000 + a * 50 + 49))
        };
        std::fs::write(d.join(name), &text).unwrap();
        all.push_str(&text);
    }
    (d.to_str().unwrap().to_string(), all)
}

/// The index file's name for log directory `d`.
fn index_name(d: &str) -> String {
    let m = std::fs::metadata(d).unwrap();
    format!("{:x}-{:x}", m.dev(), m.ino())
}

/// `sh -c SCRIPT` with svlog's environment (the script ends by running
/// svlog with `exec`, so `$$` is svlog's pid).
fn sh(script: &str, cache: &Path) -> std::process::Output {
    let child = Command::new("sh")
        .args(["-c", script])
        .env("TZ", "UTC")
        .env("XDG_CACHE_HOME", cache)
        .env("SVLOG", ours("svlog"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_deadline(child, SOON)
}

/// Symbolic links planted at the temporary name svlog would write
/// (`DEV-INO.tmpPID`) and at the index's own name, to a file: the file is
/// never written (before: the index was written through the link). An
/// index directory that is a link, or writable by others, is not used.
#[test]
fn planted_links_are_not_written_through() {
    let root = tempfile::tempdir().unwrap();
    let (d, all) = logdir(root.path());
    let cache = root.path().join("cache");
    let idx = cache.join("svlog");
    std::fs::create_dir_all(&idx).unwrap();
    let victim = root.path().join("victim");
    std::fs::write(&victim, b"precious\n").unwrap();
    let name = index_name(&d);
    let i = idx.display();
    let v = victim.display();
    let since = label(1100);
    let want: String = all.lines().skip(100).map(|l| format!("{l}\n")).collect();
    let run = |extra: &str| {
        let out = sh(
            &format!(
                "{extra}ln -s {v} {i}/{name}.tmp$$ && exec \"$SVLOG\" -o raw --since {since} {d}"
            ),
            &cache,
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want);
        let v = std::fs::read(&victim).unwrap();
        assert!(
            v == b"precious\n",
            "the file was written: {} bytes",
            v.len()
        );
        out
    };
    let out = run("");
    assert!(out.stderr.is_empty(), "{out:?}");
    // The index was written, beside the planted link, and is used.
    assert!(std::fs::read_to_string(idx.join(&name))
        .unwrap()
        .contains(".s "));
    run("");
    // The index itself a link to the file.
    std::fs::remove_file(idx.join(&name)).unwrap();
    std::os::unix::fs::symlink(&victim, idx.join(&name)).unwrap();
    let out = run("");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("svlog: warning: unable to use index {i}/{name}: a symbolic link\n")
    );
    // The index directory writable by others: not used.
    std::fs::remove_file(idx.join(&name)).unwrap();
    std::fs::set_permissions(&idx, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = run("");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("svlog: warning: unable to use index {i}: writable by group or others\n")
    );
    assert!(!idx.join(&name).exists());
    std::fs::set_permissions(&idx, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // The index directory a link to another directory: not used.
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::rename(&idx, root.path().join("old-index")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &idx).unwrap();
    let out = sh(
        &format!("exec \"$SVLOG\" -o raw --since {since} {d}"),
        &cache,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a symbolic link, or not a directory"));
}

/// An index whose entries claim other stamps than their archives hold
/// (stale, or forged) does not hide their lines from a range: they are
/// read instead, with a warning (before: skipped without a word).
#[test]
fn a_forged_summary_hides_no_line() {
    let root = tempfile::tempdir().unwrap();
    let (d, all) = logdir(root.path());
    let cache = root.path().join("cache");
    let since = label(1010);
    let want: String = all.lines().skip(10).map(|l| format!("{l}\n")).collect();
    let run = || {
        sh(
            &format!("exec \"$SVLOG\" -o raw --since {since} {d}"),
            &cache,
        )
    };
    let out = run();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    let path = cache.join("svlog").join(index_name(&d));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    // Every archive claims to hold only second 5.
    let early = &label(5)[1..];
    let forged: String = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{} {early} {early} {early}\n", f[..6].join(" "))
        })
        .collect();
    std::fs::write(&path, forged).unwrap();
    let out = run();
    assert!(out.status.success(), "{out:?}");
    let got = String::from_utf8_lossy(&out.stdout);
    assert!(
        got == want,
        "{} of {} lines printed",
        got.lines().count(),
        want.lines().count()
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(&format!(
            "svlog: warning: index entry for {d}/{}.s does not match it: reading it instead\n",
            label(1049)
        )),
        "{out:?}"
    );
    // The index was made right again.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}
