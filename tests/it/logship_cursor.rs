//! logship's cursor files, against the RELP peer of `support::relp_peer`:
//! a name bounded whatever the directory's path, a cursor of the older
//! naming read on upgrade, one logship per cursor; and its command line
//! (an unknown option is a usage error).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::relp_peer::{Mode, Peer};
use crate::support::ship::{Logger, Ship};
use crate::support::{ours, run_input, wait_deadline, wait_for, SOON};

fn nums(v: &[Vec<u8>]) -> Vec<usize> {
    v.iter()
        .filter_map(|d| {
            let s = String::from_utf8_lossy(d);
            let at = s.rfind("line ")?;
            s.get(at + 5..at + 13)?.parse().ok()
        })
        .collect()
}

/// The cursor files in `dir` (neither lock nor temporary files).
fn cursors(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("logship-")
                && !n.starts_with("logship-status-")
                && !n.ends_with(".lock")
                && !n.contains(".tmp.")
        })
        .collect()
}

/// Ship lines `from..to` of `lg` to `peer`, from the cursor in `cwd`;
/// what that session received.
fn ship_once(peer: &Peer, lg: &mut Logger, cwd: &Path, from: usize, to: usize) -> Vec<usize> {
    let k = peer.connections();
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&[&peer.url(), &dir], cwd);
    lg.write(from, to);
    let ok = wait_for(SOON, || nums(&peer.acked_on(k)).contains(&(to - 1)));
    assert!(ok, "{:?}: {}", nums(&peer.acked()), ship.stderr());
    let err = ship.stop();
    assert!(err.is_empty(), "{err}");
    nums(&peer.received(k))
}

#[test]
fn a_long_directory_path_gets_a_bounded_cursor_name() {
    let root = tempfile::tempdir().unwrap();
    // A log directory whose absolute path is about 250 bytes.
    let len = root.path().as_os_str().len() + "/app/log/main".len();
    let mut deep = root.path().to_path_buf();
    for k in 0..(250 - len) / 50 {
        deep.push(format!("{k}{}", "d".repeat(49)));
    }
    let mut lg = Logger::start(&deep, &["t"]);
    assert!(lg.dir.as_os_str().len() >= 210, "{}", lg.dir.display());
    let cwd = root.path();
    let peer = Peer::start(vec![Mode::Normal]);
    assert_eq!(
        ship_once(&peer, &mut lg, cwd, 0, 10),
        (0..10).collect::<Vec<_>>()
    );
    let c = cursors(cwd);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].file_name().unwrap().len() <= 141, "{c:?}");
    // Resumed from it.
    assert_eq!(ship_once(&peer, &mut lg, cwd, 10, 11), [10]);
    lg.finish();
}

/// The name logship gave cursors before names were bounded.
fn legacy_name(url: &str, dir: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut n = String::from("logship-");
    let key = [url.as_bytes(), b" ", dir.as_os_str().as_bytes()].concat();
    for c in key {
        if c.is_ascii_alphanumeric() || b"._-".contains(&c) {
            n.push(char::from(c));
        } else {
            n.push_str(&format!("%{c:02X}"));
        }
    }
    n
}

#[test]
fn a_cursor_of_the_older_naming_is_read_and_renamed() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path().join("ship");
    std::fs::create_dir(&cwd).unwrap();
    let mut lg = Logger::start(root.path(), &["t"]);
    let peer = Peer::start(vec![Mode::Normal]);
    assert_eq!(
        ship_once(&peer, &mut lg, &cwd, 0, 10),
        (0..10).collect::<Vec<_>>()
    );
    // As an older logship would have left it.
    let dir = std::fs::canonicalize(&lg.dir).unwrap();
    let old = cwd.join(legacy_name(&peer.url(), &dir));
    let c = cursors(&cwd);
    assert_eq!(c.len(), 1);
    std::fs::rename(&c[0], &old).unwrap();
    assert_eq!(ship_once(&peer, &mut lg, &cwd, 10, 12), [10, 11]);
    assert!(!old.exists());
    let c = cursors(&cwd);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_ne!(c[0], old);
    lg.finish();
}

#[test]
fn a_second_logship_on_the_same_cursor_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let peer = Peer::start(vec![Mode::Normal]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 10);
    let dir = lg.dir.to_str().unwrap().to_string();
    let first = Ship::start(&[&peer.url(), &dir], root.path());
    assert!(wait_for(SOON, || nums(&peer.acked()).contains(&9)));
    let second = Command::new(ours("logship"))
        .args([&peer.url(), &dir])
        .current_dir(root.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_deadline(second, SOON);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(111), "{err}");
    assert!(
        err.starts_with("logship: fatal: unable to lock ")
            && err.ends_with(&format!(
                ": another logship ships {} to {}\n",
                std::fs::canonicalize(&dir).unwrap().display(),
                peer.url()
            )),
        "{err}"
    );
    first.stop();
    // One logship given the same directory twice ships it once.
    let k = peer.connections();
    let twice = Ship::start(&[&peer.url(), &dir, &dir], root.path());
    lg.write(10, 11);
    assert!(wait_for(SOON, || nums(&peer.acked_on(k)).contains(&10)));
    let err = twice.stop();
    assert!(err.is_empty(), "{err}");
    assert_eq!(nums(&peer.received(k)), [10]);
    // Once the first is gone, the lock is free.
    let again = Ship::start(&[&peer.url(), &dir], root.path());
    lg.write(11, 12);
    assert!(wait_for(SOON, || nums(&peer.acked()).contains(&11)));
    let err = again.stop();
    assert!(err.is_empty(), "{err}");
    lg.finish();
}

#[test]
fn unknown_options_are_usage_errors() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().to_str().unwrap();
    for args in [
        &["--bogus", "relp://127.0.0.1:9", d][..],
        &["--ack-timeout=0", "relp://127.0.0.1:9", d],
        &["-x", "relp://127.0.0.1:9", d],
        &["-t", "0", "relp://127.0.0.1:9", d],
    ] {
        let out = run_input(
            Command::new(ours("logship"))
                .args(args)
                .current_dir(root.path()),
            b"",
            SOON,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(100), "{args:?}: {err}");
        assert!(
            err.lines()
                .last()
                .is_some_and(|l| l.starts_with("logship: usage: logship ")),
            "{args:?}: {err}"
        );
    }
}
