//! logship's status file and svmetrics' `daemontools_logship_*` metrics:
//! a real logship ships to a real rsyslogd, which goes away (the state
//! turns to waiting, `up` to 0, the lag grows with the lines logged) and
//! comes back (`up` 1, lag 0, a later `last_ack`); a receiver that
//! refuses every message shows `refused`; svmetrics finds the files in
//! the service directories and in `-c DIR`, and skips files that are not
//! status files (links, FIFOs, junk, oversized) without failing a scrape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use daemontools::logship::status::State;

use crate::support::http::{free_port, get, Server};
use crate::support::relp_peer::{Mode, Peer};
use crate::support::rsyslog::Rsyslog;
use crate::support::ship::{status_in, Logger, Ship};
use crate::support::{ours, wait_for, SOON};

/// svmetrics on a free port for `scan` with `args` before it.
fn svmetrics(scan: &Path, args: &[&Path]) -> (Server, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(ours("svmetrics"));
    cmd.arg("-l").arg(&addr);
    for a in args {
        cmd.arg("-c").arg(a);
    }
    let child = cmd
        .arg(scan)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let s = Server(child);
    assert!(wait_for(SOON, || get(&addr, "/metrics").is_ok()));
    (s, addr)
}

/// The `daemontools_logship_*` samples of a scrape: (name without the
/// prefix, directory label) -> value; each sample checked for its labels.
fn logship_samples(addr: &str) -> HashMap<(String, String), f64> {
    let r = get(addr, "/metrics").unwrap();
    assert_eq!(r.code, 200, "{r:?}");
    let mut m = HashMap::new();
    for l in r.body.lines() {
        let Some(rest) = l.strip_prefix("daemontools_logship_") else {
            continue;
        };
        let (name, rest) = rest.split_once('{').expect(l);
        let (labels, value) = rest.rsplit_once("} ").expect(l);
        assert!(labels.starts_with("service=\"") && labels.contains(",destination=\""));
        let dir = labels
            .split_once("directory=\"")
            .and_then(|(_, d)| d.split_once('"'))
            .expect(l)
            .0;
        m.insert((name.to_string(), dir.to_string()), value.parse().expect(l));
    }
    m
}

fn canon(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The scan directory with one service `ship`, logship's working
/// directory (where its cursors and status files go by default).
fn scan_with_ship(root: &Path) -> (PathBuf, PathBuf) {
    let scan = root.join("service");
    let ship = scan.join("ship");
    std::fs::create_dir_all(&ship).unwrap();
    (scan, ship)
}

#[test]
fn outage_turns_up_to_0_and_lag_grows_then_recovers() {
    let root = tempfile::tempdir().unwrap();
    let rdir = root.path().join("rsyslog");
    std::fs::create_dir_all(&rdir).unwrap();
    let Some(mut rs) = Rsyslog::start(&rdir) else {
        return;
    };
    let (scan, shipdir) = scan_with_ship(root.path());
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 100);
    let dir = canon(&lg.dir);
    let url = format!("relp://127.0.0.1:{}", rs.relp);
    let ship = Ship::start(&[&url, &dir], &shipdir);
    let (_srv, addr) = svmetrics(&scan, &[]);
    let v =
        |m: &HashMap<(String, String), f64>, n: &str| m.get(&(n.to_string(), dir.clone())).copied();
    let mut last = HashMap::new();
    let caught_up = wait_for(SOON, || {
        last = logship_samples(&addr);
        // The file is rewritten at most once a second: the one written
        // when the session became ready may have been written before
        // multilog wrote the lines (lag 0, nothing acknowledged yet, true
        // then), and not show the acknowledgements yet.
        v(&last, "up") == Some(1.0)
            && v(&last, "lag_bytes") == Some(0.0)
            && v(&last, "last_ack_timestamp_seconds").is_some()
            && rs.count() >= 100
    });
    assert!(caught_up, "{last:?}\n{}", ship.stderr());
    assert_eq!(v(&last, "lag_lines"), Some(0.0));
    let s = status_in(&shipdir).unwrap();
    assert_eq!(
        (s.state, s.destination.as_str(), s.service.as_str()),
        (State::Sending, url.as_str(), "app")
    );
    let ack1 = v(&last, "last_ack_timestamp_seconds").unwrap();

    // The receiver goes away; lines go on being logged.
    rs.stop();
    lg.write(100, 200);
    let down = wait_for(SOON, || {
        last = logship_samples(&addr);
        v(&last, "up") == Some(0.0) && v(&last, "lag_lines") >= Some(100.0)
    });
    assert!(down, "{last:?}\n{}", ship.stderr());
    assert_eq!(status_in(&shipdir).unwrap().state, State::Waiting);
    assert_eq!(v(&last, "refused"), Some(0.0));
    let lag1 = v(&last, "lag_bytes").unwrap();
    // 100 lines of about 86 bytes (stamp, text, newline).
    assert!(lag1 >= 100.0 * 80.0, "{last:?}");
    lg.write(200, 300);
    let grows = wait_for(SOON, || {
        last = logship_samples(&addr);
        v(&last, "lag_bytes") >= Some(lag1 + 100.0 * 80.0)
    });
    assert!(grows, "{last:?}");
    assert!(
        (195.0..=205.0).contains(&v(&last, "lag_lines").unwrap()),
        "{last:?}"
    );

    // Back: everything is acknowledged.
    rs.restart();
    let back = wait_for(SOON * 2, || {
        last = logship_samples(&addr);
        v(&last, "up") == Some(1.0) && v(&last, "lag_bytes") == Some(0.0)
    });
    assert!(back, "{last:?}\n{}", ship.stderr());
    assert_eq!(v(&last, "lag_lines"), Some(0.0));
    assert!(v(&last, "last_ack_timestamp_seconds").unwrap() > ack1);
    // Stopped cleanly: the file says so and up is 0.
    ship.stop();
    let s = status_in(&shipdir).unwrap();
    assert_eq!((s.state, s.lag_bytes), (State::Stopped, 0));
    assert_eq!(v(&logship_samples(&addr), "up"), Some(0.0));
    lg.finish();
}

#[test]
fn refused_messages_and_status_files_elsewhere_and_hostile() {
    let root = tempfile::tempdir().unwrap();
    // Every session refuses the first message (transaction 2, after open).
    let peer = Peer::start(vec![Mode::Garbage(b"2 rsp 8 500 full\n".to_vec(), 1)]);
    let (scan, shipdir) = scan_with_ship(root.path());
    let cursors = root.path().join("cursors");
    std::fs::create_dir(&cursors).unwrap();
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 10);
    let dir = canon(&lg.dir);
    let c = cursors.to_str().unwrap();
    let ship = Ship::start(&["-c", c, &peer.url(), &dir], root.path());
    // Junk beside it, in the service directory and in -c: skipped.
    std::fs::write(shipdir.join("logship-status-junk"), "{\"format\":1}\n").unwrap();
    std::fs::write(shipdir.join("logship-status-big"), vec![b' '; 100_000]).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", cursors.join("logship-status-link")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        shipdir.join("logship-status-fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let (_srv, addr) = svmetrics(&scan, &[&cursors, &cursors]);
    let mut last = HashMap::new();
    let key = |n: &str| (n.to_string(), dir.clone());
    let refused = wait_for(SOON, || {
        last = logship_samples(&addr);
        last.get(&key("refused")) == Some(&1.0)
    });
    assert!(refused, "{last:?}\n{}", ship.stderr());
    assert_eq!(last.get(&key("up")), Some(&0.0));
    assert_eq!(last.get(&key("lag_lines")), Some(&10.0), "{last:?}");
    assert!(!last.contains_key(&key("last_ack_timestamp_seconds")));
    // One series per metric, though -c was given twice.
    assert_eq!(last.len(), 5, "{last:?}");
    assert!(ship.stderr().contains("message refused: 500 full"));
    drop(ship);
    lg.finish();
}
