//! Shared helpers for the integration tests: locating our binaries and the
//! reference daemontools binaries, running with deadlines, and snapshotting
//! log directories with timestamps masked.
#![allow(dead_code)]

pub mod faults;
pub mod supervise;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of one of our binaries (built by cargo next to the test executable).
pub fn ours(prog: &str) -> PathBuf {
    let mut p = std::env::current_exe().expect("current_exe");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.push(prog);
    assert!(p.exists(), "our binary {} is not built", p.display());
    p
}

/// Path of the daemontools reference binary, or `None` after a loud
/// "skipped" line. With `DTOOLS_REQUIRE_REFERENCE=1` a missing reference
/// fails the test instead.
pub fn reference(prog: &str) -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin").join(prog);
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("DTOOLS_REQUIRE_REFERENCE").is_some_and(|v| v == "1") {
        panic!(
            "reference {} is missing and DTOOLS_REQUIRE_REFERENCE=1 (apt-get install daemontools s6)",
            p.display()
        );
    }
    eprintln!(
        "test skipped: reference {} not installed (apt-get install daemontools)",
        p.display()
    );
    None
}

/// Run `cmd` with `input` on stdin, killing it after `deadline`.
pub fn run_input(cmd: &mut Command, input: &[u8], deadline: Duration) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = wait_deadline(child, deadline);
    let _ = feeder.join();
    out
}

/// Wait for a child, collecting its output, killing it after `deadline`.
pub fn wait_deadline(mut child: std::process::Child, deadline: Duration) -> Output {
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = so.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = se.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("child did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    }
}

/// Replace every `@` + 24 lowercase hex digits by `@x`.
pub fn mask(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@'
            && i + 25 <= bytes.len()
            && bytes[i + 1..i + 25]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        {
            out.extend_from_slice(b"@x");
            i += 25;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// One entry of a directory snapshot: masked name, mode bits, masked contents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub name: String,
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// A sorted listing of `dir` (not recursive) with timestamps masked. FIFOs
/// and directories get empty contents.
pub fn snapshot(dir: &Path) -> Vec<Entry> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.unwrap();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        let contents = if md.is_file() {
            mask(&std::fs::read(e.path()).unwrap())
        } else {
            Vec::new()
        };
        v.push(Entry {
            name: String::from_utf8_lossy(&mask(e.file_name().as_encoded_bytes())).into_owned(),
            mode: md.permissions().mode() & 0o7777,
            contents,
        });
    }
    v.sort();
    v
}
