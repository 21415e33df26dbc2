//! Time ranges over random directories (random sizes, rotations anywhere,
//! lines cut across files, clock steps back, unstamped lines, both kinds
//! of stamp, a compressed archive): the search with and without an index
//! prints exactly what the linear scan prints, and that is what selecting
//! from the whole stream in memory gives.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::svlog::files::list;
use crate::svlog::index::Index;
use crate::svlog::stamp::line_label;
use crate::svlog::walk::walk;
use crate::svlog::Format;
use crate::tai64::tz::Zone;

/// One generated line: kind (0 unstamped, 1 clock step back then
/// stamped, 2 RFC 3339 stamp, else TAI64N label), seconds forward, seconds
/// back, text length.
type Gen = (u8, u8, u16, u8);

fn stream(lines: &[Gen]) -> (Vec<u8>, u64, u64) {
    let mut t: u64 = 1_000_000;
    let (mut lo, mut hi) = (u64::MAX, 0);
    let mut data = Vec::new();
    for (i, &(kind, dt, back, len)) in lines.iter().enumerate() {
        t += u64::from(dt);
        if kind == 1 {
            t -= u64::from(back);
        }
        let stamp = Tai64N::from_unix(t as i64, (i as u32) % 3);
        match kind {
            0 => {}
            2 => {
                assert!(crate::tai64::rfc3339::format(stamp, &mut data));
                data.push(b' ');
            }
            _ => data.extend_from_slice(&stamp.stamp()),
        }
        if kind != 0 {
            lo = lo.min(t);
            hi = hi.max(t);
        }
        data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, usize::from(len)));
        data.push(b'\n');
    }
    (data, lo.min(hi), hi)
}

/// What a range selects from the whole stream.
fn oracle(data: &[u8], r: Range) -> Vec<u8> {
    let mut out = Vec::new();
    let mut sel = false;
    for line in data.split_inclusive(|&c| c == b'\n') {
        if let Some(t) = line_label(line) {
            sel = within(r, t);
        }
        if sel {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Whether a cut falls inside the first [`STAMP_MAX`] bytes of a line.
fn cuts_a_stamp(data: &[u8], cuts: &[usize]) -> bool {
    let mut start = 0;
    for line in data.split_inclusive(|&c| c == b'\n') {
        let head = start + line.len().min(crate::svlog::stamp::STAMP_MAX);
        if cuts.iter().any(|&c| {
            let c = c % (data.len() + 1);
            c > start && c < head
        }) {
            return true;
        }
        start += line.len();
    }
    false
}

/// Write `data` cut at `cuts` into archives (the one at `zst` compressed)
/// and `current`.
fn write_dir(dir: &Path, data: &[u8], cuts: &[usize], zst: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    let n = at.len() - 1;
    for (k, w) in at.windows(2).enumerate() {
        let part = &data[w[0]..w[1]];
        if k + 1 == n {
            std::fs::write(dir.join("current"), part).unwrap();
            continue;
        }
        let name = String::from_utf8(Tai64N::from_unix(k as i64, 0).label().to_vec()).unwrap();
        if k == zst {
            let z = zstd::stream::encode_all(part, 1).unwrap();
            std::fs::write(dir.join(format!("{name}.s.zst")), z).unwrap();
        } else {
            std::fs::write(dir.join(format!("{name}.s")), part).unwrap();
        }
    }
}

fn raw() -> Out<Vec<u8>> {
    Out::new(Vec::new(), Format::Raw, Zone::utc())
}

fn run_range(dir: &Path, r: Range, index: &mut Index) -> Vec<u8> {
    let entries = list(dir).unwrap();
    let mut out = raw();
    let mut buf = vec![0u8; 64];
    print_range(&entries, r, index, &mut buf, &mut out).unwrap();
    index.save(&entries);
    out.finish().unwrap();
    out.into_inner()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn search_gives_the_linear_scan(
        lines in proptest::collection::vec((0u8..12, 0u8..3, 0u16..400, 0u8..90), 0..250),
        cuts in proptest::collection::vec(0usize..30_000, 0..8),
        zst in 0usize..12,
        ends in proptest::collection::vec((0u16..1000, proptest::bool::ANY), 2),
    ) {
        let (data, lo, hi) = stream(&lines);
        let span = hi - lo + 20;
        let end = |(x, on): (u16, bool)| {
            on.then(|| Tai64N::from_unix((lo - 10 + u64::from(x) % span) as i64, 1))
        };
        let r = (end(ends[0]), end(ends[1]));
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("log");
        write_dir(&dir, &data, &cuts, zst);
        let entries = list(&dir).unwrap();
        let mut out = raw();
        linear(&entries, r, &mut [0u8; 64], &mut out).unwrap();
        out.finish().unwrap();
        let want = out.into_inner();
        // A stamp cut across two files is no stamp to a reader of files
        // (multilog never cuts there: it cuts only inside a line of 2000
        // bytes or more); otherwise the scan is the stream's selection.
        if !cuts_a_stamp(&data, &cuts) {
            prop_assert_eq!(&want, &oracle(&data, r), "linear");
        }

        prop_assert_eq!(run_range(&dir, r, &mut Index::default()), want.clone(), "no index");
        let cache = root.path().join("cache");
        let mut ix = Index::load(Some(&cache), &dir);
        prop_assert_eq!(run_range(&dir, r, &mut ix), want.clone(), "index made");
        let mut ix = Index::load(Some(&cache), &dir);
        prop_assert_eq!(run_range(&dir, r, &mut ix), want.clone(), "index read");

        // The line-by-line walk from where the search starts it (with no
        // end given it prints every line: it is not a range).
        if r == (None, None) {
            return Ok(());
        }
        let start = start_of(&entries, r, &mut Index::default());
        let dirs = vec![("log".to_string(), entries)];
        let mut out = raw();
        walk(&dirs, &[start], r, None, Some(&mut out), 0, false).unwrap();
        out.finish().unwrap();
        // It reads the files as one stream, so a stamp cut across two is
        // whole to it, but not to the search that found its start: such a
        // directory (never written by multilog) is left out.
        if !cuts_a_stamp(&data, &cuts) {
            prop_assert_eq!(out.into_inner(), want, "walk");
        }
    }
}

/// An index entry that no longer matches its file (rewritten in place,
/// same name) is not used.
#[test]
fn stale_index_entries_are_not_used() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    let lines: Vec<Gen> = (0..200).map(|i| (3, 1, 0, (i % 50) as u8)).collect();
    let (data, lo, _) = stream(&lines);
    write_dir(&dir, &data, &[3000, 6000], 99);
    let cache = root.path().join("cache");
    let r = (Some(Tai64N::from_unix(lo as i64 + 20, 0)), None);
    let mut ix = Index::load(Some(&cache), &dir);
    assert_eq!(run_range(&dir, r, &mut ix), oracle(&data, r));
    // The first archive now holds stamps in the range, out of order.
    let first = list(&dir).unwrap().remove(0).lf.path;
    let (steps, _, _) = stream(&[(3, 250, 0, 5), (1, 0, 240, 5)]);
    std::fs::write(&first, &steps).unwrap();
    let mut all = steps.clone();
    all.extend_from_slice(&data[3000..]);
    let mut ix = Index::load(Some(&cache), &dir);
    assert_eq!(run_range(&dir, r, &mut ix), oracle(&all, r));
}
