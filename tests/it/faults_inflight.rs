//! The `inflight` record at start-up (docs/durability.md): a step cut at
//! each point is settled on the same pipe; a record made before the boot,
//! on another pipe, or with a field out of range is refused with a
//! warning and never acted on, so no line on disk and no new line is lost
//! or repeated.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::faults::{
    multilog_bin, ours, read_logdir, wait_limit, workdir, Captured, Reaper,
};

/// FNV-1a 64, as docs/durability.md specifies for the record.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A pipe's identity as the record holds it: (`st_dev`, `st_ino`).
fn pipe_id(fd: impl AsFd) -> (u64, u64) {
    let st = rustix::fs::fstat(fd).unwrap();
    (st.st_dev, st.st_ino)
}

/// The fields of a step record for one directory `./d`.
#[derive(Clone, Copy)]
struct Rec {
    pipe: (u64, u64),
    logged0: u64,
    w0: u64,
    npipe: u64,
    j: u64,
    b0: u8,
    a: u64,
    b: u64,
}

/// An `inflight` file written from the layout in docs/durability.md: the
/// step `r`, then `witness` bytes appended.
fn record(r: Rec, witness: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 4096];
    h[..8].copy_from_slice(b"mlinfl2\n");
    h[8..12].copy_from_slice(&1u32.to_le_bytes());
    h[12..16].copy_from_slice(&1u32.to_le_bytes());
    let fields = [
        (16, fnv(b"./d\0")),
        (24, r.pipe.0),
        (32, r.pipe.1),
        (40, r.logged0),
        (48, r.w0),
        (56, 0),
        (64, r.npipe),
        (72, r.j),
        (88, r.a),
        (96, r.b),
    ];
    for (off, v) in fields {
        h[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    h[80] = r.b0;
    let sum = fnv(&h[..112]);
    h[112..120].copy_from_slice(&sum.to_le_bytes());
    h.extend_from_slice(witness);
    h
}

/// The step `L1\nL2\n` (split after `L1\nL2`, witness `\n`) over
/// `old\n` (4 bytes), on the pipe `pipe`.
fn l1l2(pipe: (u64, u64)) -> Rec {
    Rec {
        pipe,
        logged0: 4096,
        w0: 4096,
        npipe: 6,
        j: 5,
        b0: b'L',
        a: 4,
        b: 10,
    }
}

/// `./d` holding `current` and `inflight`, as a killed multilog left it.
fn seed(root: &Path, current: &[u8], inflight: &[u8]) {
    let d = root.join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("current"), current).unwrap();
    std::fs::set_permissions(d.join("current"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(d.join("inflight"), inflight).unwrap();
}

/// Run `cmd` on the pipe `r` (holding what was written to it, its write
/// end closed); must exit 0 within 10 s; returns stderr.
fn run_on(cmd: &mut Command, r: OwnedFd, what: &str) -> String {
    let mut child = Reaper(cmd.stdin(Stdio::from(r)).spawn().unwrap());
    let err = Captured::start(&mut child);
    let st = wait_limit(&mut child, Duration::from_secs(10));
    let text = err.finish(Duration::from_secs(5));
    assert!(st.success(), "{what}: {st}: {text}");
    text
}

/// A pipe holding `data`, its write end closed.
fn pipe_with(data: &[u8]) -> OwnedFd {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    std::fs::File::from(w).write_all(data).unwrap();
    r
}

/// Every point at which a step can be cut, settled by the next start on
/// the same pipe: the step `L1\nL2\n` over `old\n`, then `L3\n` arrives.
/// Each case must end with every line once.
#[test]
fn settles_a_step_cut_at_each_point() {
    // (what, current, witness, pipe)
    type Case = (&'static str, &'static [u8], &'static [u8], &'static [u8]);
    let cases: [Case; 4] = [
        ("writes cut short", b"old\nL1", b"", b"L1\nL2\nL3\n"),
        (
            "written, nothing taken",
            b"old\nL1\nL2\n",
            b"",
            b"L1\nL2\nL3\n",
        ),
        ("unwitnessed part taken", b"old\nL1\nL2\n", b"", b"\nL3\n"),
        ("all taken", b"old\nL1\nL2\n", b"\n", b"L3\n"),
    ];
    for (what, current, witness, pipe) in cases {
        let root = workdir();
        let r = pipe_with(pipe);
        seed(root.path(), current, &record(l1l2(pipe_id(&r)), witness));
        let err = run_on(
            &mut multilog_bin(&ours("multilog"), root.path(), &["./d"]),
            r,
            what,
        );
        assert_eq!(err, "", "{what}");
        let lf = read_logdir(&root.path().join("d"));
        assert_eq!(lf.all(), b"old\nL1\nL2\nL3\n", "{what}");
        assert!(lf.archives.is_empty(), "{what}: current archived");
        assert_eq!(lf.others, ["lock", "state"], "{what}");
    }
}

/// Records no multilog writes for this pipe — each field of the issue's
/// list out of range, a record of the first format, a step that does not
/// match `current` — are refused with a warning and not acted on: the
/// old lines stay (archived as `.u`, as daemontools does), the new input
/// is logged exactly once, nothing panics.
#[test]
fn out_of_range_records_are_refused_with_a_warning() {
    // (what, the record for the step l1l2, the reason in the warning)
    type Case = (&'static str, fn(Rec) -> Vec<u8>, &'static str);
    #[rustfmt::skip]
    let cases: [Case; 9] = [
        ("64 MB carry", |r| record(Rec { w0: r.w0 + (64 << 20), ..r }, b""), "carry out"),
        ("npipe 2^62", |r| record(Rec { npipe: 1 << 62, ..r }, b""), "npipe out"),
        ("step past the end", |r| record(Rec { w0: 5000, logged0: 5000, ..r }, b""), "w0 out"),
        ("logged 0", |r| record(Rec { logged0: 0, ..r }, b""), "logged out"),
        ("j > npipe", |r| record(Rec { j: 7, ..r }, b""), "j out"),
        ("current shrank", |r| record(Rec { a: 20, b: 30, ..r }, b""), "not match ./d/current"),
        ("A > B", |r| record(Rec { a: 9, b: 5, ..r }, b""), "size of current out"),
        ("current grew past B", |r| record(Rec { a: 2, b: 4, ..r }, b""), "not match ./d/current"),
        ("first format", |r| [&b"mlinfl1\n"[..], &record(r, b"")[8..]].concat(), "first format"),
    ];
    for (what, make, why) in cases {
        let root = workdir();
        let r = pipe_with(b"L3\nL4\n");
        seed(root.path(), b"old\nL1\nL2\n", &make(l1l2(pipe_id(&r))));
        if what == "64 MB carry" {
            // The carry's bytes are there (a sparse file).
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(root.path().join("d/inflight"));
            f.unwrap().set_len(4096 + (64 << 20)).unwrap();
        }
        let err = run_on(
            &mut multilog_bin(&ours("multilog"), root.path(), &["./d"]),
            r,
            what,
        );
        assert!(
            err.starts_with("multilog: warning: ignoring ./d/inflight: ") && err.contains(why),
            "{what}: {err}"
        );
        let lf = read_logdir(&root.path().join("d"));
        assert_eq!(lf.all(), b"old\nL1\nL2\nL3\nL4\n", "{what}");
        assert_eq!(lf.current.as_deref(), Some(&b"L3\nL4\n"[..]), "{what}");
    }
}

/// A step whose writes were cut short on pipe A: on pipe B it is not
/// done again, so `current` is not cut back to `A` (before, the bytes
/// already on disk went): it is archived whole as `.u`.
#[test]
fn a_cut_step_from_another_pipe_keeps_what_it_wrote() {
    let root = workdir();
    let (ra, _wa) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    seed(root.path(), b"old\nL1", &record(l1l2(pipe_id(&ra)), b""));
    let cmd = &mut multilog_bin(&ours("multilog"), root.path(), &["./d"]);
    let err = run_on(cmd, pipe_with(b"L3\n"), "pipe B");
    assert_eq!(
        err,
        "multilog: warning: ignoring ./d/inflight: made on another pipe\n"
    );
    let lf = read_logdir(&root.path().join("d"));
    let units: Vec<&[u8]> = lf.archives.iter().map(|(_, b)| &b[..]).collect();
    assert_eq!(units, [&b"old\nL1"[..]]);
    assert_eq!(lf.current.as_deref(), Some(&b"L3\n"[..]));
}

/// Is strace there and allowed to trace? If not, the loud skip.
fn strace() -> bool {
    let works = Command::new("/usr/bin/strace")
        .args(["-o", "/dev/null", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        crate::support::skip(
            "DTOOLS_REQUIRE_REFERENCE",
            "/usr/bin/strace not installed or not permitted (apt-get install strace)",
        );
    }
    works
}

/// The whole tree SIGKILLed mid-step (the record says a step is in
/// flight: written, its input not yet taken), then a new multilog on a
/// new pipe whose lines start like the old ones. The kill is exact:
/// strace kills multilog as it enters its first `splice(2)`, the one that
/// takes the step's input off pipe A. The record must not be applied to
/// pipe B: before, the settling took the first 6 bytes of pipe B
/// (`Lc\nLd\n`) as the old step's input and lost them.
#[test]
fn a_record_made_on_another_pipe_is_not_applied() {
    if !strace() {
        return;
    }
    let root = workdir();
    let d = root.path().join("d");
    let bin = ours("multilog");
    let (ra, wa) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let mut wa = std::fs::File::from(wa);
    wa.write_all(b"La\nLb\n").unwrap();
    let mut strace = Command::new("/usr/bin/strace");
    strace.current_dir(root.path()).args([
        "-o",
        "/dev/null",
        "-e",
        "trace=splice",
        "-e",
        "inject=splice:signal=SIGKILL:when=1",
    ]);
    strace
        .arg(&bin)
        .arg("./d")
        .stdin(Stdio::from(ra))
        .stderr(Stdio::null());
    let mut child = Reaper(strace.spawn().unwrap());
    let st = wait_limit(&mut child, Duration::from_secs(20));
    assert!(!st.success(), "multilog was not killed: {st}");
    drop(wa);
    assert_eq!(std::fs::read(d.join("current")).unwrap(), b"La\nLb\n");
    let rec = std::fs::read(d.join("inflight")).unwrap();
    assert_eq!(rec.len(), 4096, "no witness: the step's input not taken");
    assert_eq!(rec[8], 1, "a step in flight");

    let new: Vec<u8> = (0..50)
        .flat_map(|k| format!("L{k}\n").into_bytes())
        .collect();
    let rb = pipe_with(&new);
    let err = run_on(&mut multilog_bin(&bin, root.path(), &["./d"]), rb, "pipe B");
    let lf = read_logdir(&d);
    let mut want = b"La\nLb\n".to_vec();
    want.extend_from_slice(&new);
    assert_eq!(
        String::from_utf8_lossy(&lf.all()),
        String::from_utf8_lossy(&want)
    );
    assert_eq!(lf.current.as_deref(), Some(&new[..]));
    assert_eq!(
        err,
        "multilog: warning: ignoring ./d/inflight: made on another pipe\n"
    );
}

/// A carry left on pipe A (an unfinished line taken off it) is not glued
/// to pipe B's first line: it is dropped, and the warning counts it.
#[test]
fn a_carry_from_another_pipe_is_dropped_with_a_count() {
    let root = workdir();
    let d = root.path().join("d");
    let bin = ours("multilog");
    let (ra, wa) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let mut child = Reaper(
        multilog_bin(&bin, root.path(), &["./d"])
            .stdin(Stdio::from(ra))
            .spawn()
            .unwrap(),
    );
    let mut wa = std::fs::File::from(wa);
    wa.write_all(b"La\nLb\nLpart").unwrap();
    let carried = || {
        std::fs::read(d.join("inflight")).is_ok_and(|v| v.ends_with(b"Lpart"))
            && std::fs::read(d.join("current")).is_ok_and(|v| v == b"La\nLb\n")
    };
    assert!(crate::support::wait_for(Duration::from_secs(10), carried));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(wa);

    let err = run_on(
        &mut multilog_bin(&bin, root.path(), &["./d"]),
        pipe_with(b"Lc\nLd\n"),
        "pipe B",
    );
    let lf = read_logdir(&d);
    assert_eq!(
        String::from_utf8_lossy(&lf.all()),
        String::from_utf8_lossy(b"La\nLb\nLc\nLd\n")
    );
    assert_eq!(
        err,
        "multilog: warning: ignoring ./d/inflight: made on another pipe; \
         lost 5 bytes of an unfinished line read from it\n"
    );
}

/// A record left before the system booted (a power cut) describes a pipe
/// that is gone: the next start does not apply it (its carry would be
/// glued to new input), archives the old `current` as `.u` as daemontools
/// does, and logs the new pipe exactly.
#[test]
fn record_from_before_boot_is_not_applied() {
    let dir = workdir();
    let d = dir.path().join("d");
    let bin = ours("multilog");
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let mut child = Reaper(
        multilog_bin(&bin, dir.path(), &["./d"])
            .stdin(Stdio::from(r))
            .spawn()
            .unwrap(),
    );
    let mut w = std::fs::File::from(w);
    w.write_all(b"a\nb\nc").unwrap();
    let record_has_carry = || {
        std::fs::read(d.join("inflight")).is_ok_and(|v| v.ends_with(b"c"))
            && std::fs::read(d.join("current")).is_ok_and(|v| v == b"a\nb\n")
    };
    assert!(crate::support::wait_for(
        Duration::from_secs(10),
        record_has_carry
    ));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(w);

    let boot = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let out = crate::support::run_input(
        multilog_bin(&bin, dir.path(), &["./d"]).env("DTOOLS_TEST_BOOT_TIME", boot.to_string()),
        b"x\n",
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{out:?}");
    let lf = read_logdir(&d);
    let units: Vec<&Vec<u8>> = lf
        .archives
        .iter()
        .filter(|(n, _)| n.ends_with(".u"))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(units, [&b"a\nb\n".to_vec()]);
    assert_eq!(lf.current.as_deref(), Some(&b"x\n"[..]));
    assert!(!d.join("inflight").exists());
}
