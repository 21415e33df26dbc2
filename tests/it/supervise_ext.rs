//! Process tests for supervise's extension files (`notification-fd`,
//! `finish`, `timeout-finish`, `down-signal`, `timeout-kill`,
//! `process-group`, `backoff`), `supervise/extstatus`, the svstat facts and
//! `svstat-json`; and a differential check that the extra file leaves
//! daemontools' own svstat, svc and svok undisturbed.

use crate::support as common;
use crate::support::supervise as helpers;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{ours, reference};
use daemontools::supervise::extstatus::{Death, ExtStatus, EXTSTATUS_LEN};
use helpers::*;

/// The decoded `supervise/extstatus` of `dir`, if readable.
fn ext(dir: &Path) -> Option<ExtStatus> {
    ExtStatus::decode(&fs::read(dir.join("supervise/extstatus")).ok()?)
}

/// Wait until the extstatus satisfies `cond`; panic with the last one if not.
fn wait_ext(dir: &Path, what: &str, mut cond: impl FnMut(&ExtStatus) -> bool) -> ExtStatus {
    let mut last = None;
    let ok = wait_for(SOON, || {
        last = ext(dir);
        last.as_ref().is_some_and(&mut cond)
    });
    assert!(ok, "extstatus never became {what}; last {last:?}");
    last.unwrap()
}

fn svc(dir: &Path, opts: &str) {
    let out = run(&ours("svc"), &[OsStr::new(opts), dir.as_os_str()]);
    assert!(out.status.success(), "svc {opts}: {out:?}");
}

fn svstat(prog: &str, dir: &Path) -> String {
    String::from_utf8(run(&ours(prog), &[dir.as_os_str()]).stdout).unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn pid_in(path: &Path) -> u32 {
    let mut pid = 0;
    assert!(
        wait_for(SOON, || {
            pid = fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            pid != 0
        }),
        "no pid in {}",
        path.display()
    );
    pid
}

/// The process group of `pid`, from /proc.
fn pgrp(pid: u32) -> Option<u32> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

#[test]
fn ready_via_notification_fd() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(
        t.path(),
        "s",
        "#!/bin/sh\nwhile [ ! -e ../go ]; do sleep 0.01; done\necho x >&5\nexec sleep 60\n",
    );
    fs::write(dir.join("notification-fd"), "5\n").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let st = wait_status(&dir, "up", |s| s.pid != 0);
    let e = wait_ext(&dir, "extended", |e| e.extended);
    assert_eq!(e.ready, None, "ready before the newline");
    assert!(!svstat("svstat", &dir).contains("ready"));
    fs::write(t.path().join("go"), "").unwrap();
    let e = wait_ext(&dir, "ready", |e| e.ready.is_some());
    assert!(e.ready.unwrap() >= st.when, "ready before the start");
    let line = svstat("svstat", &dir);
    assert!(
        line.contains(&format!("up (pid {}) ", st.pid))
            && (line.ends_with(" seconds, ready 0 seconds\n")
                || line.ends_with(" seconds, ready 1 seconds\n")),
        "{line}"
    );
    let json: serde_json::Value = serde_json::from_str(&svstat("svstat-json", &dir)).unwrap();
    assert_eq!(json["ready"], serde_json::json!(true));
    assert_eq!(json["pid"], serde_json::json!(st.pid));
    // A restart is not ready until it says so again.
    fs::remove_file(t.path().join("go")).unwrap();
    svc(&dir, "-k");
    wait_status(&dir, "restarted", |s| s.pid != 0 && s.pid != st.pid);
    let e = wait_ext(&dir, "restarted", |e| e.restarts == 1);
    assert_eq!(e.ready, None);
    assert_eq!((e.deaths, e.last_death), (1, Death::Killed(9)));
}

#[test]
fn finish_exit_125_keeps_the_service_down() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\necho run >> ../starts\nexit 3\n");
    write_script(
        &dir.join("finish"),
        "#!/bin/sh\necho \"$@\" >> ../finish.log\nexit 125\n",
    );
    let s = Sup::running(&ours("supervise"), &dir);
    let e = wait_ext(&dir, "permanent failure", |e| e.permanent_failure);
    assert!(!e.finishing);
    assert_eq!((e.deaths, e.last_death), (1, Death::Exited(3)));
    let st = wait_status(&dir, "down", |s| s.pid == 0 && s.want == b'd');
    assert!(!st.paused);
    // s6's arguments: exit code, signal, directory, process group (here
    // supervise's, which ./run stayed in).
    let sup_pgrp = pgrp(s.child.id()).unwrap();
    assert_eq!(
        lines(&t.path().join("finish.log")),
        [format!("3 0 {} {sup_pgrp}", dir.display())]
    );
    assert_eq!(lines(&t.path().join("starts")).len(), 1);
    let line = svstat("svstat", &dir);
    assert!(
        line.ends_with(" seconds, normally up, permanent failure, exitcode 3\n"),
        "{line}"
    );
    // svc -u clears it and starts the service again.
    fs::write(dir.join("finish"), "#!/bin/sh\nexit 125\n").unwrap();
    svc(&dir, "-u");
    wait_ext(&dir, "restarted", |e| e.restarts == 1);
    // The restart is counted when ./run is started, before it writes.
    let starts = t.path().join("starts");
    assert!(
        common::wait_for(common::SOON, || lines(&starts).len() >= 2),
        "{:?}",
        lines(&starts)
    );
}

#[test]
fn finish_gets_256_and_the_signal_and_is_killed_after_timeout_finish() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\nexec sleep 60\n");
    write_script(
        &dir.join("finish"),
        "#!/bin/sh\necho \"$@\" > ../finish.args\necho $$ > ../finish.pid\nexec sleep 60\n",
    );
    // Long enough that svstat still sees ./finish running on a loaded
    // machine, short enough to keep the test quick.
    fs::write(dir.join("timeout-finish"), "1000").unwrap();
    fs::write(dir.join("process-group"), "").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let pid = wait_status(&dir, "up", |s| s.pid != 0).pid;
    let t0 = Instant::now();
    svc(&dir, "-d");
    wait_ext(&dir, "finishing", |e| e.finishing);
    // `extstatus` is renamed before `status` (so that `svwait -D` never
    // sees down without finishing): wait for both.
    wait_status(&dir, "down", |s| s.pid == 0);
    let fpid = pid_in(&t.path().join("finish.pid"));
    let line = svstat("svstat", &dir);
    assert!(line.contains(", finishing, signal SIGTERM"), "{line}");
    let e = wait_ext(&dir, "finish done", |e| !e.finishing);
    assert!(t0.elapsed() >= Duration::from_millis(1000));
    assert!(wait_for(SOON, || !alive(fpid)), "finish survived");
    assert_eq!(e.last_death, Death::Killed(15));
    assert!(!e.permanent_failure);
    // With process-group, the group is the one ./run led.
    assert_eq!(
        lines(&t.path().join("finish.args")),
        [format!("256 15 {} {pid}", dir.display())]
    );
}

#[test]
fn timeout_kill_sends_kill_after_an_ignored_down_signal() {
    let t = tempfile::tempdir().unwrap();
    // TERM is ignored, and stays ignored across exec.
    let dir = service(t.path(), "s", "#!/bin/sh\ntrap '' TERM\nexec sleep 60\n");
    fs::write(dir.join("timeout-kill"), "150\n").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let pid = wait_status(&dir, "up", |s| s.pid != 0).pid;
    // The trap must be in place before the signal: wait for the exec.
    assert!(wait_for(SOON, || fs::read_to_string(format!(
        "/proc/{pid}/comm"
    ))
    .is_ok_and(|c| c == "sleep\n")));
    let t0 = Instant::now();
    svc(&dir, "-d");
    wait_status(&dir, "down", |s| s.pid == 0 && s.want == b'd');
    assert!(t0.elapsed() >= Duration::from_millis(150));
    // (status is written just before extstatus.)
    let e = wait_ext(&dir, "one death", |e| e.deaths == 1);
    assert_eq!(e.last_death, Death::Killed(9));
}

#[test]
fn down_signal_replaces_term_and_cont_follows() {
    let t = tempfile::tempdir().unwrap();
    let run = "#!/bin/sh\n\
        for s in HUP TERM CONT; do trap \"echo $s >> ../sigs\" $s; done\n\
        echo ready >> ../sigs\n\
        while :; do sleep 0.02; done\n";
    let dir = service(t.path(), "s", run);
    fs::write(dir.join("down-signal"), "SIGHUP\n").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let sigs = t.path().join("sigs");
    assert!(wait_for(SOON, || lines(&sigs).contains(&"ready".into())));
    svc(&dir, "-d");
    assert!(wait_for(SOON, || {
        let l = lines(&sigs);
        l.contains(&"HUP".into()) && l.contains(&"CONT".into())
    }));
    assert!(!lines(&sigs).contains(&"TERM".into()), "{:?}", lines(&sigs));
    // `t` still sends TERM.
    svc(&dir, "-t");
    assert!(wait_for(SOON, || lines(&sigs).contains(&"TERM".into())));
    svc(&dir, "-k");
    wait_status(&dir, "down", |s| s.pid == 0);
}

#[test]
fn process_group_stop_leaves_no_process() {
    let t = tempfile::tempdir().unwrap();
    let run = "#!/bin/sh\nsleep 60 & echo $! > ../child\nexec sleep 60\n";
    let dir = service(t.path(), "s", run);
    fs::write(dir.join("process-group"), "").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let pid = wait_status(&dir, "up", |s| s.pid != 0).pid;
    let child = pid_in(&t.path().join("child"));
    // ./run leads its own group; the background child is in it.
    let pgrp = |p: u32| -> Option<u32> {
        let s = fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        s.rsplit(')')
            .next()?
            .split_whitespace()
            .nth(2)?
            .parse()
            .ok()
    };
    assert_eq!(pgrp(pid), Some(pid));
    assert_eq!(pgrp(child), Some(pid));
    svc(&dir, "-d");
    wait_status(&dir, "down", |s| s.pid == 0);
    assert!(
        wait_for(SOON, || !alive(child)),
        "child {child} survived svc -d"
    );
}

/// `./run` leaving supervise's process group (pgrphack) is still reaped
/// and restarted, as by daemontools' `wait_nohang` (any child).
#[test]
fn run_in_its_own_process_group_is_restarted() {
    let t = tempfile::tempdir().unwrap();
    let run = format!(
        "#!/bin/sh
echo x >> ../starts
exec {} sleep 0.05
",
        ours("pgrphack").display()
    );
    let dir = service(t.path(), "s", &run);
    let _s = Sup::running(&ours("supervise"), &dir);
    assert!(wait_for(SOON, || lines(&t.path().join("starts")).len() >= 3));
    let e = wait_ext(&dir, "deaths", |e| e.deaths >= 2);
    assert!(!e.extended);
    assert_eq!(e.last_death, Death::Exited(0));
}

#[test]
fn backoff_grows_to_the_cap_and_resets_after_a_healthy_run() {
    let t = tempfile::tempdir().unwrap();
    let run = "#!/bin/sh\ndate +%s%N >> ../starts\n\
               if [ -e ../stay ]; then sleep 0.4; fi\nexit 1\n";
    let dir = service(t.path(), "s", run);
    fs::write(dir.join("backoff"), "60 240 300\n").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let mut delays = Vec::new();
    wait_ext(&dir, "at the cap", |e| {
        if delays.last() != Some(&e.delay_ms) {
            delays.push(e.delay_ms);
        }
        e.delay_ms == 240 && e.deaths >= 5
    });
    // (A value may be missed between two reads; the order may not change.)
    let mut sorted = delays.clone();
    sorted.sort_unstable();
    assert_eq!(delays, sorted, "delays not growing: {delays:?}");
    let starts: Vec<u128> = lines(&t.path().join("starts"))
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    // From the first start to the fifth: 60 + 120 + 240 + 240 ms, less the
    // start-up jitter of `sh` and `date` at both ends (with the fixed pause
    // it would be 4 x 50 ms).
    assert!(starts.len() >= 5, "{starts:?}");
    let span_ms = (starts[4] - starts[0]) / 1_000_000;
    assert!(span_ms >= 660 - 30, "5 starts in {span_ms} ms");
    let e = ext(&dir).unwrap();
    assert!(e.extended && e.deaths >= 5 && e.restarts + 1 >= e.deaths);
    // A run that stays up longer than RESET puts the delay back to MIN.
    fs::write(t.path().join("stay"), "").unwrap();
    wait_ext(&dir, "reset", |e| e.delay_ms == 60);
    svc(&dir, "-d");
    wait_status(&dir, "down", |s| s.pid == 0 && s.want == b'd');
    wait_ext(&dir, "no wait", |e| !e.backoff_wait);
}

#[test]
fn back_off_wait_is_shown_and_cancelled_by_down() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\nexit 2\n");
    fs::write(dir.join("backoff"), "60000 60000 60000\n").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    let e = wait_ext(&dir, "waiting", |e| e.backoff_wait);
    assert_eq!((e.deaths, e.delay_ms), (1, 60000));
    let line = svstat("svstat", &dir);
    assert!(
        line.ends_with(", want up, back-off 60000 ms, exitcode 2\n"),
        "{line}"
    );
    svc(&dir, "-d");
    wait_ext(&dir, "cancelled", |e| !e.backoff_wait);
    let st = wait_status(&dir, "want down", |s| s.want == b'd');
    assert_eq!(st.pid, 0);
}

/// Without extension files the record is still written, and every
/// daemontools tool reads our supervise as its own: the status stays 18
/// bytes and svstat's line carries no extension facts.
#[test]
fn extstatus_leaves_daemontools_tools_undisturbed() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\nexec sleep 60\n");
    let _s = Sup::running(&ours("supervise"), &dir);
    let st = wait_status(&dir, "up", |s| s.pid != 0);
    let e = wait_ext(&dir, "written", |_| true);
    // Ready from its start: no notification-fd.
    assert!(!e.extended && e.ready == Some(st.when));
    assert_eq!(e.delay_ms, helpers::START_PAUSE_MS.parse::<u32>().unwrap());
    assert_eq!(
        fs::read(dir.join("supervise/extstatus")).unwrap().len(),
        EXTSTATUS_LEN
    );
    assert_eq!(status_bytes(&dir).len(), 18);
    let ours_line = svstat("svstat", &dir);
    assert!(ours_line.starts_with(&format!("{}: up (pid {}) ", dir.display(), st.pid)));
    assert!(ours_line.ends_with(" seconds\n"), "{ours_line}");
    let (Some(rsvstat), Some(rsvc), Some(rsvok)) =
        (reference("svstat"), reference("svc"), reference("svok"))
    else {
        return;
    };
    let same = |dir: &Path| {
        let a = svstat("svstat", dir);
        let b = String::from_utf8(run(&rsvstat, &[dir.as_os_str()]).stdout).unwrap();
        let strip = |s: &str| {
            s.split(' ')
                .map(|w| if w.parse::<u64>().is_ok() { "N" } else { w })
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(strip(&a), strip(&b));
    };
    same(&dir);
    assert_eq!(run(&rsvok, &[dir.as_os_str()]).status.code(), Some(0));
    assert!(run(&rsvc, &[OsStr::new("-d"), dir.as_os_str()])
        .status
        .success());
    wait_status(&dir, "down", |s| s.pid == 0 && s.want == b'd');
    wait_ext(&dir, "one death", |e| e.deaths == 1);
    same(&dir);
    assert!(run(&rsvc, &[OsStr::new("-u"), dir.as_os_str()])
        .status
        .success());
    wait_status(&dir, "up again", |s| s.pid != 0);
    wait_ext(&dir, "one restart", |e| e.restarts == 1);
    same(&dir);
    // With an extension file daemontools' svstat still reads the status:
    // our line is its line plus the facts.
    let x = service(t.path(), "x", "#!/bin/sh\nexec sleep 60\n");
    fs::write(x.join("timeout-kill"), "1000").unwrap();
    let _sx = Sup::running(&ours("supervise"), &x);
    wait_status(&x, "up", |s| s.pid != 0);
    svc(&x, "-d");
    wait_ext(&x, "down", |e| e.deaths == 1);
    // extstatus is renamed before status: wait for both.
    wait_status(&x, "down", |s| s.pid == 0);
    let b = String::from_utf8(run(&rsvstat, &[x.as_os_str()]).stdout).unwrap();
    let a = svstat("svstat", &x);
    assert!(a.ends_with(", signal SIGTERM\n"), "{a}");
    // The two lines may be read either side of a second's change.
    let secs = |l: &str| {
        l.split(' ')
            .map(|w| {
                if w.bytes().all(|c| c.is_ascii_digit()) {
                    "N"
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        secs(a.trim_end().trim_end_matches(", signal SIGTERM")),
        secs(b.trim_end())
    );
}

#[test]
fn svstat_json_one_object_per_directory() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\nexec sleep 60\n");
    fs::write(dir.join("down"), "").unwrap();
    let _s = Sup::running(&ours("supervise"), &dir);
    wait_ext(&dir, "written", |_| true);
    let missing = t.path().join("missing");
    let out = run(
        &ours("svstat-json"),
        &[dir.as_os_str(), missing.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let objs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2, "{text}");
    let o = &objs[0];
    assert_eq!(o["dir"], serde_json::json!(dir.to_str().unwrap()));
    assert_eq!(o["up"], serde_json::json!(false));
    assert_eq!(o["pid"], serde_json::Value::Null);
    assert_eq!(o["normally_up"], serde_json::json!(false));
    assert_eq!(o["want"], serde_json::json!("down"));
    assert_eq!(o["extended"], serde_json::json!(false));
    assert_eq!(o["deaths"], serde_json::json!(0));
    assert_eq!(
        objs[1]["error"],
        serde_json::json!("unable to chdir: file does not exist")
    );
}

#[test]
fn unparsable_extension_file_is_reported_and_ignored() {
    let t = tempfile::tempdir().unwrap();
    let dir = service(t.path(), "s", "#!/bin/sh\nexit 1\n");
    fs::write(dir.join("backoff"), "fast please\n").unwrap();
    let s = Sup::running(&ours("supervise"), &dir);
    // The fixed pause applies; the service still counts as extended.
    let e = wait_ext(&dir, "restarted", |e| e.restarts >= 2);
    assert!(e.extended);
    assert_eq!(e.delay_ms, helpers::START_PAUSE_MS.parse::<u32>().unwrap());
    let want = format!(
        "supervise: warning: unable to read {}/backoff: bad format\n",
        dir.display()
    );
    assert!(s.stderr().starts_with(&want), "{:?}", s.stderr());
}

/// s6-supervise, stopped (`s6-svc -dx`, then KILL) on drop.
struct S6 {
    child: std::process::Child,
    svc: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for S6 {
    fn drop(&mut self) {
        let _ = run(&self.svc, &[OsStr::new("-dx"), self.dir.as_os_str()]);
        if common::try_wait_for(&mut self.child, Duration::from_secs(3)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One service directory (copied) under s6-supervise and under ours: the
/// daemon's newline makes both ready, `./finish` gets the same first three
/// arguments, and its exit 125 keeps both down.
#[test]
fn readiness_and_finish_agree_with_s6() {
    let (Some(s6sup), Some(s6svc), Some(s6svstat)) = (
        common::installed("s6-supervise", "s6"),
        common::installed("s6-svc", "s6"),
        common::installed("s6-svstat", "s6"),
    ) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let mk = |name: &str| {
        let d = service(
            t.path(),
            name,
            &format!("#!/bin/sh\necho run >> ../{name}.starts\necho x >&5\nexec sleep 60\n"),
        );
        fs::write(d.join("notification-fd"), "5\n").unwrap();
        write_script(
            &d.join("finish"),
            &format!("#!/bin/sh\necho \"$@\" >> ../{name}.finish\nexit 125\n"),
        );
        d
    };
    let (od, sd) = (mk("ours"), mk("s6"));
    let _o = Sup::running(&ours("supervise"), &od);
    let _s = S6 {
        child: std::process::Command::new(&s6sup)
            .arg(&sd)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
        svc: s6svc.clone(),
        dir: sd.clone(),
    };
    let s6stat = || String::from_utf8(run(&s6svstat, &[sd.as_os_str()]).stdout).unwrap();
    assert!(
        wait_for(SOON, || s6stat().contains(", ready ")),
        "{}",
        s6stat()
    );
    wait_ext(&od, "ready", |e| e.ready.is_some());
    assert!(svstat("svstat", &od).contains(" seconds, ready "));
    svc(&od, "-d");
    assert!(run(&s6svc, &[OsStr::new("-d"), sd.as_os_str()])
        .status
        .success());
    let finished = |name: &str| lines(&t.path().join(format!("{name}.finish")));
    assert!(wait_for(SOON, || !finished("ours").is_empty()
        && !finished("s6").is_empty()));
    for (name, d) in [("ours", &od), ("s6", &sd)] {
        let args = finished(name)[0].clone();
        let words: Vec<&str> = args.split(' ').collect();
        assert_eq!(
            words[..3],
            ["256", "15", d.to_str().unwrap()],
            "{name}: {args}"
        );
    }
    wait_ext(&od, "permanent failure", |e| e.permanent_failure);
    assert!(
        wait_for(SOON, || s6stat().starts_with("down (signal SIGTERM)")),
        "{}",
        s6stat()
    );
    wait_status(&od, "down", |s| s.pid == 0 && s.want == b'd');
    for name in ["ours", "s6"] {
        assert_eq!(
            lines(&t.path().join(format!("{name}.starts"))).len(),
            1,
            "{name}"
        );
    }
}
