//! Fuzz the label scanner and the label filters: the scanner must agree
//! with the digit-by-digit C loop, and the tai64nlocal/tai64nfrac machines
//! must not panic and must give the same output however the input is split.
#![no_main]

use daemontools::filters::tai64nfrac::Frac;
use daemontools::filters::{filter_bytes, Filter, LabelFilter};
use daemontools::tai64::local::LocalTime;
use daemontools::tai64::scan::scan_label;
use daemontools::tai64::tz::Zone;
use libfuzzer_sys::fuzz_target;

fn c_loop(bytes: &[u8]) -> (u64, u32, usize) {
    let (mut secs, mut nanos, mut n) = (0u64, 0u64, 0usize);
    for &c in bytes {
        let u = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a' + 10),
            _ => break,
        };
        secs = (secs << 4).wrapping_add(nanos >> 28);
        nanos = ((nanos & 0xfff_ffff) << 4) + u;
        n += 1;
    }
    (secs, nanos as u32, n)
}

fn split<F: Filter>(f: &mut F, data: &[u8], cut: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let (a, b) = data.split_at(cut.min(data.len()));
    f.on_read();
    f.feed(a, &mut out);
    f.on_read();
    f.feed(b, &mut out);
    f.finish(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let (t, n) = scan_label(data);
    assert_eq!((t.secs, t.nanos, n), c_loop(data));

    let cut = data.first().map_or(0, |&b| usize::from(b));
    let zone = Zone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
    let whole = filter_bytes(&mut LabelFilter::new(LocalTime::new(zone.clone())), data);
    let parts = split(&mut LabelFilter::new(LocalTime::new(zone)), data, cut);
    assert_eq!(whole, parts);

    let whole = filter_bytes(&mut LabelFilter::new(Frac::new()), data);
    let parts = split(&mut LabelFilter::new(Frac::new()), data, cut);
    assert_eq!(whole, parts);
});
