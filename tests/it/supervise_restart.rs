//! supervise restarts `./run` after every kind of death, whatever the
//! extension files: the table of issue 20's first item, run with the real
//! binaries. Each case is one service under its own supervise; the cases
//! run side by side.
//!
//! "Long-lived" means up longer than the pause after a start (and the
//! back-off's first delay), so that the restart is due at once when `./run`
//! dies; "short-lived" dies while that delay still runs.

use crate::support::ours;
use crate::support::supervise::{control, service, wait_for, wait_status, write_script, Sup, SOON};

use std::fs;
use std::path::{Path, PathBuf};

/// The pause after each start given to supervise here (ms): long enough
/// that a short-lived `./run` dies inside it on a loaded machine.
const PAUSE_MS: &str = "300";
/// How long a long-lived `./run` stays up (s): past [`PAUSE_MS`] and the
/// back-off's first delay.
const LONG_S: &str = "0.6";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Files {
    Plain,
    Finish,
    NotificationFd,
    Backoff,
    DownSignal,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Short,
    Long,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Death {
    /// `./run` exits 3.
    Exit,
    /// `./run` kills itself with SIGKILL.
    Signal,
    /// `svc -t`.
    SvcT,
    /// `svc -k`.
    SvcK,
}

fn lines(p: &Path) -> usize {
    fs::read_to_string(p).map_or(0, |s| s.lines().count())
}

/// Set up one case under `root`; returns the service directory.
fn setup(root: &Path, files: Files, life: Life, death: Death) -> PathBuf {
    let long = if life == Life::Long {
        format!("sleep {LONG_S}\n")
    } else {
        String::new()
    };
    let end = match death {
        Death::Exit => "exit 3\n",
        Death::Signal => "kill -KILL $$\n",
        Death::SvcT | Death::SvcK => "echo $$ > ../alive\nexec sleep 60\n",
    };
    let dir = service(
        root,
        "s",
        &format!("#!/bin/sh\necho $$ >> ../starts\n{long}{end}"),
    );
    let all = files == Files::All;
    if all || files == Files::Finish {
        write_script(
            &dir.join("finish"),
            "#!/bin/sh\necho \"$@\" >> ../finish.log\n",
        );
    }
    if all || files == Files::NotificationFd {
        fs::write(dir.join("notification-fd"), "5\n").unwrap();
    }
    if all || files == Files::Backoff {
        fs::write(dir.join("backoff"), "400 800 60000\n").unwrap();
    }
    if all || files == Files::DownSignal {
        fs::write(dir.join("down-signal"), "HUP\n").unwrap();
    }
    dir
}

/// One case: the first `./run` dies as `death`; a second start must
/// follow (after `./finish` when there is one). `Err` says what went wrong.
fn case(root: &Path, files: Files, life: Life, death: Death) -> Result<(), String> {
    let dir = setup(root, files, life, death);
    let _s = Sup::running_with_pause(&ours("supervise"), &dir, PAUSE_MS);
    if matches!(death, Death::SvcT | Death::SvcK) {
        let first = wait_status(&dir, "up", |s| s.pid != 0).pid;
        // Signal `./run` once it has counted its start (a signal that came
        // before would leave no trace of the first start).
        if !wait_for(SOON, || lines(&root.join("starts")) >= 1) {
            return Err("./run never started".into());
        }
        if life == Life::Long {
            // `./run` wrote its pid after the sleep: it has been up that long.
            if !wait_for(SOON, || root.join("alive").exists()) {
                return Err("./run never got past its sleep".into());
            }
        }
        let cmd = if death == Death::SvcT { b"t" } else { b"k" };
        if !control(&dir, cmd) {
            return Err("supervise/control refused the command".into());
        }
        if !wait_for(SOON, || {
            crate::support::supervise::status(&dir).is_some_and(|s| s.pid != first)
        }) {
            return Err("the first ./run never died".into());
        }
    }
    let starts = root.join("starts");
    let finish_log = root.join("finish.log");
    let finishes = matches!(files, Files::Finish | Files::All);
    let mut finished_before = true;
    let restarted = wait_for(SOON, || {
        if lines(&starts) >= 2 {
            // The second start comes after ./finish is done.
            finished_before = !finishes || lines(&finish_log) >= 1;
            return true;
        }
        false
    });
    if !restarted {
        let status = crate::support::supervise::status(&dir);
        return Err(format!(
            "not restarted within {SOON:?}: {} start(s), status {status:?}",
            lines(&starts)
        ));
    }
    if !finished_before {
        return Err("restarted before ./finish ran".into());
    }
    Ok(())
}

#[test]
fn restarts_after_every_death_with_every_extension_file() {
    let t = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for files in [
        Files::Plain,
        Files::Finish,
        Files::NotificationFd,
        Files::Backoff,
        Files::DownSignal,
        Files::All,
    ] {
        for life in [Life::Short, Life::Long] {
            for death in [Death::Exit, Death::Signal, Death::SvcT, Death::SvcK] {
                cases.push((files, life, death));
            }
        }
    }
    let threads: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (files, life, death))| {
            let root = t.path().join(format!("c{i}"));
            fs::create_dir(&root).unwrap();
            std::thread::spawn(move || {
                case(&root, files, life, death)
                    .map_err(|e| format!("{files:?} x {life:?} x {death:?}: {e}"))
            })
        })
        .collect();
    let failed: Vec<String> = threads
        .into_iter()
        .filter_map(|h| h.join().unwrap().err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
