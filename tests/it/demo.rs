//! End-to-end demo: runs `examples/demo.sh`, which brings the example
//! service up under our `svscan`, shows `svstat`, logs through `multilog`,
//! stops everything with `svc -dx` and reads the log with `tai64nlocal`;
//! then checks what it printed.
//!
//! Until every program the demo needs is part of the package, the test
//! prints `test skipped: <prog> not built yet` and passes.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Programs the demo runs.
const NEEDED: &[&str] = &[
    "svscan",
    "supervise",
    "svc",
    "svstat",
    "svok",
    "multilog",
    "envdir",
    "setuidgid",
    "tai64nlocal",
];

/// The whole demo must finish within this.
const DEADLINE: Duration = Duration::from_secs(60);

use crate::support::{bin_dir, try_wait_for};

/// `Some(prog)` for the first needed program that is not part of this
/// build. A program counts as built when `src/bin/<prog>.rs` exists (cargo
/// then builds it before running any test) and its binary is there.
fn missing_program(bin: &Path) -> Option<&'static str> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin");
    NEEDED.iter().copied().find(|prog| {
        let has_source = src.join(format!("{prog}.rs")).exists();
        let has_binary = bin.join(prog).is_file();
        assert!(
            !has_source || has_binary,
            "src/bin/{prog}.rs exists but {} was not built",
            bin.join(prog).display()
        );
        !has_source
    })
}

/// Run the demo, SIGTERM it at the deadline (its trap stops what it
/// started) and SIGKILL it 10 s later.
fn run_demo(bin: &Path) -> (Option<i32>, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.sh");
    let mut child = Command::new("sh")
        .arg(&script)
        .env("DTOOLS_BIN", bin)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh examples/demo.sh");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    // TERM after DEADLINE, SIGKILL 10 s later.
    let mut termed = false;
    let status = match try_wait_for(&mut child, DEADLINE) {
        Some(st) => st,
        None => {
            termed = true;
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            try_wait_for(&mut child, Duration::from_secs(10)).unwrap_or_else(|| {
                let _ = child.kill();
                child.wait().expect("wait")
            })
        }
    };
    let out = out.join().unwrap();
    let err = err.join().unwrap();
    assert!(
        !termed,
        "demo did not finish within {DEADLINE:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    (status.code(), out, err)
}

/// `DIR: up (pid N) S seconds[, suffixes]` for the given DIR.
fn is_up_line(line: &str, dir: &str) -> bool {
    let Some(rest) = line.strip_prefix(&format!("{dir}: up (pid ")) else {
        return false;
    };
    let Some((pid, rest)) = rest.split_once(") ") else {
        return false;
    };
    let Some((secs, rest)) = rest.split_once(" seconds") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(pid) && pid != "0" && digits(secs) && (rest.is_empty() || rest.starts_with(", "))
}

/// `YYYY-MM-DD HH:MM:SS.NNNNNNNNN TEXT`: returns TEXT.
fn local_stamp_text(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    let pattern = b"dddd-dd-dd dd:dd:dd.ddddddddd ";
    if b.len() < pattern.len() {
        return None;
    }
    let ok = pattern.iter().zip(b).all(|(&p, &c)| match p {
        b'd' => c.is_ascii_digit(),
        _ => c == p,
    });
    ok.then(|| &line[pattern.len()..])
}

#[test]
fn demo_script_runs_the_example_service() {
    let bin = bin_dir();
    if let Some(prog) = missing_program(&bin) {
        eprintln!("test skipped: {prog} not built yet (examples/demo.sh needs it)");
        return;
    }
    let (code, out, err) = run_demo(&bin);
    let context = format!("stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(code, Some(0), "demo failed\n{context}");

    let lines: Vec<&str> = out.lines().collect();
    let section = |title: &str| -> Vec<&str> {
        let start = lines
            .iter()
            .position(|l| l.starts_with(&format!("== {title}")))
            .unwrap_or_else(|| panic!("no '== {title}' section\n{context}"));
        lines[start + 1..]
            .iter()
            .take_while(|l| !l.starts_with("== "))
            .copied()
            .collect()
    };

    let svstat = section("svstat");
    assert!(
        svstat.iter().any(|l| is_up_line(l, "service/myapp")),
        "no 'service/myapp: up (pid N) S seconds' line\n{context}"
    );
    assert!(
        svstat.iter().any(|l| is_up_line(l, "service/myapp/log")),
        "no 'service/myapp/log: up (pid N) S seconds' line\n{context}"
    );

    let stopped = section("stopping");
    assert_eq!(
        stopped,
        [
            "service/myapp: supervise not running",
            "service/myapp/log: supervise not running"
        ],
        "{context}"
    );

    let log = section("log (tai64nlocal");
    assert!(log.len() >= 3, "fewer than 3 log lines\n{context}");
    for (i, line) in log.iter().enumerate() {
        let text = local_stamp_text(line).unwrap_or_else(|| {
            panic!("not 'YYYY-MM-DD HH:MM:SS.NNNNNNNNN text': {line:?}\n{context}")
        });
        assert_eq!(
            text,
            format!("hello from myapp, line {}", i + 1),
            "{context}"
        );
    }
    assert!(out.ends_with("== done\n"), "{context}");
}

#[test]
fn stamp_and_status_parsers() {
    assert!(is_up_line("s: up (pid 12) 0 seconds", "s"));
    assert!(is_up_line("s: up (pid 12) 3 seconds, normally down", "s"));
    assert!(!is_up_line("s: up (pid 0) 3 seconds", "s"));
    assert!(!is_up_line("s: down 3 seconds, normally up", "s"));
    assert!(!is_up_line("s/log: up (pid 1) 3 seconds", "s"));
    assert_eq!(
        local_stamp_text("2026-11-24 04:02:21.163729500 hi"),
        Some("hi")
    );
    assert_eq!(local_stamp_text("@400000006b050c5709c2505c hi"), None);
}
