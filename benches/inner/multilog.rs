//! Criterion benchmarks for multilog's inner loops: the matcher, and the
//! line engine (split, select, stamp, copy) fed in-process.
//!
//! Whole-process comparisons against daemontools, s6-log and cat live in
//! `benches/compare.py`; figures are recorded in BENCHMARKS.md.
// criterion's `criterion_group!` defines an undocumented `pub fn`; a
// benchmark has no API to document.
#![allow(missing_docs)]

use std::ffi::OsString;
use std::hint::black_box;
use std::os::fd::OwnedFd;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use daemontools::multilog::engine::Engine;
use daemontools::multilog::pattern::matches;
use daemontools::multilog::script::Script;
use daemontools::multilog::{absorb, INBUF};
use rustix::fs::{Mode, OFlags};

/// About 8 MB of log-like lines (access log, app log with levels, short).
fn corpus() -> Vec<u8> {
    let mut v = Vec::with_capacity(8 << 20);
    let mut i = 0u64;
    while v.len() < 8 << 20 {
        let line = match i % 5 {
            0 => format!("10.0.{}.{} - - [14/Mar/2024:12:34:56 +0000] \"GET /api/v1/items?id={i} HTTP/1.1\" 200 {} \"-\" \"curl/7.88.1\"\n", i % 256, i % 7, i % 5000),
            1 => format!("2024-03-14T12:34:56.{:06}Z INFO  [worker-1] order.service: processed order id={i} total=42\n", i % 1_000_000),
            2 => format!("2024-03-14T12:34:56.{:06}Z ERROR [io-0] db.pool: timeout waiting for lock attempt={}\n", i % 1_000_000, i % 9),
            3 => format!("heartbeat seq={i}\n"),
            _ => format!("level=info msg=\"request served\" path=/healthz latency_ms={} bytes={}\n", i % 300, i % 9000),
        };
        v.extend_from_slice(line.as_bytes());
        i += 1;
    }
    v
}

fn bench_matcher(c: &mut Criterion) {
    let data = corpus();
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut g = c.benchmark_group("pattern");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("*ERROR*", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| matches(b"*ERROR*", black_box(l)))
                .count()
        })
    });
    g.bench_function("* INFO *order*", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| matches(b"* INFO *order*", black_box(l)))
                .count()
        })
    });
    g.finish();
}

fn run_engine(args: &[&str], data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let startfd: OwnedFd = rustix::fs::open(
        dir.path(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let mut engine = Engine::start(&Script::parse(&args), &startfd).unwrap();
    let mut inbuf = vec![0u8; INBUF];
    let mut held = 0;
    for chunk in data.chunks(64 * 1024) {
        inbuf[held..held + chunk.len()].copy_from_slice(chunk);
        held = absorb(&mut engine, &mut inbuf, held, chunk.len());
    }
    engine.eof(&inbuf[..held]);
    engine.flush();
}

/// The twenty `~+` expressions of the regex benchmark (also in
/// benches/compare.py): literals, classes, repetitions, alternations, a
/// case-insensitive word and an anchor, as a real script might hold.
pub const TWENTY_REGEXES: [&str; 20] = [
    "ERROR",
    "WARN ",
    "panic",
    "timeout",
    r"status=5\d\d",
    r#"" 5\d\d "#,
    r"db\.pool",
    "attempt=[0-9]{3,}",
    "(?i)fatal",
    "connection (refused|reset)",
    r"trace_id=9\d+",
    "latency_ms=[0-9]{4,}",
    "user=admin",
    "POST /api/v1/",
    r"\[io-\d+\]",
    "segfault",
    "out of memory",
    "deadlock",
    r"shard=1\d{4}\b",
    "^tick 99",
];

fn bench_engine(c: &mut Criterion) {
    let data = corpus();
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, args) in [
        (
            "select only: -* +*ERROR* =st",
            &["-*", "+*ERROR*", "=st"][..],
        ),
        ("copy: s16777215 ./d", &["s16777215", "./d"][..]),
        (
            "stamp+copy: t s16777215 ./d",
            &["t", "s16777215", "./d"][..],
        ),
        (
            "select+copy: -* +*ERROR* ./d",
            &["-*", "+*ERROR*", "./d"][..],
        ),
    ] {
        g.bench_function(name, |b| b.iter(|| run_engine(args, black_box(&data))));
    }
    let twenty: Vec<String> = TWENTY_REGEXES.iter().map(|r| format!("~+{r}")).collect();
    let with = |pre: &[&str], post: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = pre.iter().map(|s| (*s).to_string()).collect();
        v.extend(twenty.iter().cloned());
        v.extend(post.iter().map(|s| (*s).to_string()));
        v
    };
    for (name, args) in [
        (
            "rfc3339 stamp+copy: T s16777215 ./d",
            ["T", "s16777215", "./d"].map(String::from).to_vec(),
        ),
        ("select only: -* ~+ x20 =st", with(&["-*"], &["=st"])),
        ("select+copy: -* ~+ x20 ./d", with(&["-*"], &["./d"])),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        g.bench_function(name, |b| b.iter(|| run_engine(&args, black_box(&data))));
    }
    g.finish();
}

criterion_group!(benches, bench_matcher, bench_engine);
criterion_main!(benches);
