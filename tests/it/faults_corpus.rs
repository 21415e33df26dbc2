//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`)
//! through the same checks as the cargo-fuzz targets, so CI exercises the
//! corpus, and every crash found so far, without cargo-fuzz or nightly.
//! The checks live in `fuzz/src/lib.rs` and are compiled in here.

#[path = "../../fuzz/src/lib.rs"]
mod fuzzchecks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Run `check` on every file of the target's corpus; report every failing
/// file by name, then fail.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} corpus files fail: {failed:#?}",
        failed.len(),
        files.len()
    );
    eprintln!("{target}: {} corpus files replayed", files.len());
}

#[test]
fn corpus_script() {
    replay("script", fuzzchecks::check_script);
}

#[test]
fn corpus_script_ext() {
    replay("script_ext", fuzzchecks::check_script_ext);
}

#[test]
fn corpus_pattern() {
    replay("pattern", fuzzchecks::check_pattern);
}

#[test]
fn corpus_engine() {
    replay("engine", fuzzchecks::check_engine);
}

#[test]
fn corpus_tai64_scan() {
    replay("tai64_scan", fuzzchecks::check_tai64_scan);
}

#[test]
fn corpus_status() {
    replay("status", fuzzchecks::check_status);
}

#[test]
fn corpus_logship_status() {
    replay("logship_status", fuzzchecks::check_logship_status);
}

#[test]
fn corpus_envdir() {
    replay("envdir", fuzzchecks::check_envdir);
}

#[test]
fn corpus_timeexpr() {
    replay("timeexpr", fuzzchecks::check_timeexpr);
}

#[test]
fn corpus_relp() {
    replay("relp", fuzzchecks::check_relp);
}

#[test]
fn corpus_http() {
    replay("http", fuzzchecks::check_http);
}

#[test]
fn corpus_inflight() {
    replay("inflight", fuzzchecks::check_inflight);
    // The seeds reach both sides: the records a multilog writes are
    // accepted, the reported bad ones refused.
    for (name, accepted) in [
        ("idle", true),
        ("step", true),
        ("step3", true),
        ("eofstep", true),
        ("carry64m", false),
        ("npipe2e62", false),
        ("notatend", false),
        ("logged0", false),
        ("jwraps", false),
        ("oldformat", false),
        ("otherpipe", false),
    ] {
        let data = std::fs::read(corpus_dir("inflight").join(name)).unwrap();
        assert_eq!(fuzzchecks::inflight_accepts(&data), accepted, "{name}");
    }
}

/// The spec's matcher table (§2.3) through the transcribed oracle, so the
/// oracle itself is known to be djb's.
#[test]
fn oracle_agrees_with_spec_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("*.c", "foo.c", true),
        ("*.c", "a.b.c", false),
        ("a*c", "a.b.c", true),
        ("*bd", "abcbd", false),
        ("*b*d", "abcbd", true),
        ("*d", "abcbd", true),
        ("a*", "a", true),
        ("a*", "abc", true),
        ("*", "", true),
        ("", "", true),
        ("", "x", false),
        ("**b", "a*b", true),
        ("* hello", "@400000006b050c5709c2505c hello", true),
    ];
    for &(p, l, want) in cases {
        assert_eq!(
            fuzzchecks::djb_match(p.as_bytes(), l.as_bytes()),
            want,
            "{p:?} {l:?}"
        );
    }
}

/// Hand-made engine cases that the fuzzer needs long to reach: lines
/// around the 1000-byte selection limit, lines longer than `s`, split in
/// one-byte reads, with `t`, a pattern and a status file.
#[test]
fn engine_edge_cases() {
    let mut long = Vec::new();
    for n in [973usize, 974, 975, 999, 1000, 1001, 5000, 9000] {
        long.extend(std::iter::repeat_n(b'x', n));
        long.push(b'\n');
    }
    long.extend_from_slice(b"no newline at the end");
    // flags: t + pattern (`-*`, `+* x*`) + status; s = 4096; chunk sizes
    // 1 and 700.
    let mut case = vec![1 | 2 | 4 | 8, 0, 2, 0, 0, 187, 2, 2, b'x', b'*'];
    case.extend_from_slice(&long);
    fuzzchecks::check_engine(&case);
    // No flags, s = 4096, one 1 MiB-ish chunk; NULs and CRs.
    let mut case = vec![0, 0, 0];
    case.extend_from_slice(b"\0\0\n\r\n\n\0x\0\n");
    case.extend_from_slice(&long);
    fuzzchecks::check_engine(&case);
}
