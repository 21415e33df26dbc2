//! Inner loops of the filters, in memory (no I/O): the line machines fed
//! 128 KiB chunks of gen-log-like text, and the per-label pieces.
//!
//! Run: `cargo bench --bench filters`.
// criterion's `criterion_group!` defines an undocumented `pub fn`; a
// benchmark has no API to document.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use daemontools::filters::tai64n::Stamper;
use daemontools::filters::tai64nfrac::Frac;
use daemontools::filters::{Filter, LabelFilter, READ_SIZE};
use daemontools::tai64::local::LocalTime;
use daemontools::tai64::scan::scan_label;
use daemontools::tai64::tz::Zone;
use daemontools::tai64::Tai64N;

/// About 8 MB of log lines of 40-200 bytes.
fn text() -> Vec<u8> {
    let words = [
        "INFO",
        "order.service:",
        "message",
        "consumed",
        "region=76228",
        "GET",
        "/healthz",
        "status=200",
    ];
    let mut out = Vec::new();
    let mut x: u32 = 2_463_534_242;
    while out.len() < 8_000_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = 4 + x % 20;
        for i in 0..n {
            out.extend_from_slice(words[((x >> i) % 8) as usize].as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out
}

fn stamped(text: &[u8]) -> Vec<u8> {
    let mut t = 1_700_000_000i64;
    let mut out = Vec::new();
    for (i, line) in text.split_inclusive(|&c| c == b'\n').enumerate() {
        t += (i % 3) as i64;
        out.extend_from_slice(&Tai64N::from_unix(t, (i as u32 * 7919) % 1_000_000_000).label());
        out.push(b' ');
        out.extend_from_slice(line);
    }
    out
}

fn run_chunks<F: Filter>(f: &mut F, input: &[u8], out: &mut Vec<u8>) {
    for chunk in input.chunks(READ_SIZE) {
        f.on_read();
        out.clear();
        f.feed(chunk, out);
        black_box(&out);
    }
    f.finish(out);
}

fn bench(c: &mut Criterion) {
    let text = text();
    let stamped = stamped(&text);
    let mut out = Vec::with_capacity(4 * READ_SIZE);

    let mut g = c.benchmark_group("filters");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("tai64n", |b| {
        b.iter(|| run_chunks(&mut Stamper::new(Tai64N::now), &text, &mut out));
    });
    g.throughput(Throughput::Bytes(stamped.len() as u64));
    let ny = Zone::for_tz(Some("America/New_York".as_ref()), None);
    g.bench_function("tai64nlocal America/New_York", |b| {
        b.iter(|| {
            run_chunks(
                &mut LabelFilter::new(LocalTime::new(ny.clone())),
                &stamped,
                &mut out,
            )
        });
    });
    let rule = Zone::from_posix("EST5EDT,M3.2.0,M11.1.0");
    g.bench_function("tai64nlocal EST5EDT rule", |b| {
        b.iter(|| {
            run_chunks(
                &mut LabelFilter::new(LocalTime::new(rule.clone())),
                &stamped,
                &mut out,
            )
        });
    });
    g.bench_function("tai64nfrac", |b| {
        b.iter(|| run_chunks(&mut LabelFilter::new(Frac::new()), &stamped, &mut out));
    });
    g.finish();

    let mut g = c.benchmark_group("label");
    // "@" + 24 digits + " ": the scanner's fast path wants the terminator.
    let labels: Vec<Vec<u8>> = (0..1024i64)
        .map(|i| {
            [
                &Tai64N::from_unix(1_700_000_000 + i * 40_000, 500).label()[..],
                b" ",
            ]
            .concat()
        })
        .collect();
    g.throughput(Throughput::Elements(labels.len() as u64));
    g.bench_function("scan 24 digits", |b| {
        b.iter(|| {
            for l in &labels {
                black_box(scan_label(black_box(&l[1..])));
            }
        });
    });
    let mut lt = LocalTime::new(ny.clone());
    let mut buf = Vec::with_capacity(64);
    g.bench_function("render local (offset and date cached)", |b| {
        b.iter(|| {
            for l in &labels[..1] {
                for _ in 0..1024 {
                    buf.clear();
                    lt.render(scan_label(&l[1..]).0, &mut buf);
                }
            }
            black_box(&buf);
        });
    });
    g.bench_function("render local (new day every label)", |b| {
        b.iter(|| {
            for l in &labels {
                buf.clear();
                lt.render(scan_label(&l[1..]).0, &mut buf);
            }
            black_box(&buf);
        });
    });
    g.bench_function("zone lookup uncached", |b| {
        b.iter(|| {
            for i in 0..1024i64 {
                black_box(ny.span(black_box(1_700_000_000 + i * 40_000)));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
