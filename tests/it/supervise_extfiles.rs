//! supervise's extension files that could stall or overrun it: a file
//! that is a FIFO (never waited on), and a `backoff` below daemontools'
//! one-second pause (the pause stays a floor).

use crate::support::ours;
use crate::support::supervise::{service, wait_for, wait_status, Sup, SOON};

use std::fs;
use std::path::Path;
use std::process::Command;

use daemontools::supervise::extstatus::ExtStatus;

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

fn lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `down-signal` a FIFO, `timeout-kill` a directory: both are refused with
/// a warning before every start, and the service starts and restarts.
#[test]
fn extension_file_that_is_a_fifo_is_refused_not_waited_on() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\necho $$ >> ../starts\nexit 1\n");
    mkfifo(&dir.join("down-signal"));
    fs::create_dir(dir.join("timeout-kill")).unwrap();
    let s = Sup::running(&ours("supervise"), &dir);
    let starts = t.path().join("starts");
    assert!(
        wait_for(SOON, || lines(&starts).len() >= 2),
        "not started twice: {:?}; stderr {:?}",
        lines(&starts),
        s.stderr()
    );
    let err = s.stderr();
    for name in ["down-signal", "timeout-kill"] {
        let want = format!(
            "supervise: warning: unable to read {}/{name}: not a regular file\n",
            dir.display()
        );
        assert!(err.contains(&want), "{err:?}");
    }
    // Still an extended service (the files exist), with the default TERM.
    let e = ExtStatus::read(&dir).unwrap();
    assert!(e.extended);
}

/// `backoff 1 1 1` (a 1 ms delay) must not restart a crashing service
/// more than once per pause: five starts take at least four pauses.
#[test]
fn backoff_cannot_go_below_the_pause() {
    const PAUSE_MS: u128 = 200;
    let t = tempfile::tempdir().unwrap();
    let dir = service(
        t.path(),
        "s",
        "#!/bin/sh\ndate +%s%N >> ../starts\nexit 1\n",
    );
    fs::write(dir.join("backoff"), "1 1 1\n").unwrap();
    let _s = Sup::running_with_pause(&ours("supervise"), &dir, &PAUSE_MS.to_string());
    let starts = t.path().join("starts");
    assert!(wait_for(SOON, || lines(&starts).len() >= 5));
    let stamps: Vec<u128> = lines(&starts)
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    let span_ms = (stamps[4] - stamps[0]) / 1_000_000;
    // Four pauses, less a generous allowance for the start-up jitter of
    // `sh` and `date` at both ends on a loaded machine (without the floor:
    // about 100 ms for all five).
    assert!(
        span_ms >= 3 * PAUSE_MS,
        "5 starts in {span_ms} ms ({} in all)",
        stamps.len()
    );
    let e = ExtStatus::read(&dir).unwrap();
    assert_eq!(e.delay_ms, 200, "the delay reported is the floor");
    wait_status(&dir, "still supervised", |s| s.want == b'u');
}
