//! The twin rule ([`crate::logdir::names::Kind`]): of the names one label
//! has at once, every reader reads `.s`, then `.u`, then `.s.zst`, the
//! uncompressed file while compression is in progress. The twins here
//! hold different bytes, so a reader that reads the wrong one shows it.
//! (Before the rule was one, svlog read a `.u`'s `.s.zst` twin and the
//! follower the `.u`.)

use super::race::{Op, Race};
use super::readers::{follower, logship, svlog, svmetrics};
use crate::logdir::names::{archive_name, Kind, CURRENT};
use crate::tai64::Tai64N;

/// What each reader read of a directory with one label's `twins` (the
/// bytes of each name say which it is) and `current`, with `race` done
/// when a reader is about to open the label: svlog's dump, `svlog -n 2`,
/// a range, the follower, logship (joined again), and svmetrics' count.
fn reads(twins: &[Kind], race: Option<Op>) -> Vec<(String, Vec<u8>)> {
    let label = Tai64N::from_unix(1_800_000_000, 0).label().to_vec();
    let stamp = String::from_utf8(Tai64N::from_unix(1_700_000_000, 0).label().to_vec()).unwrap();
    let mut v = Vec::new();
    let mut each = |name: &str, read: &dyn Fn(&std::path::Path, &std::path::Path) -> Vec<u8>| {
        let scan = tempfile::tempdir().unwrap();
        let dir = scan.path().join("svc/log/main");
        std::fs::create_dir_all(&dir).unwrap();
        for &k in twins {
            let body = format!("{stamp} {}\n", k.suffix());
            let body = if k == Kind::Zst {
                zstd::encode_all(body.as_bytes(), 1).unwrap()
            } else {
                body.into_bytes()
            };
            std::fs::write(dir.join(archive_name(&label, k)), body).unwrap();
        }
        std::fs::write(dir.join(CURRENT), format!("{stamp} current\n")).unwrap();
        let _r = Race::set(&dir, race.map(|op| (label.clone(), op)));
        v.push((name.to_string(), read(scan.path(), &dir)));
    };
    each("svlog", &|_, d| svlog(d, None, (None, None)));
    each("svlog -n", &|_, d| svlog(d, Some(2), (None, None)));
    let since = Some(Tai64N::from_unix(1_600_000_000, 0));
    each("svlog --since", &|_, d| svlog(d, None, (since, None)));
    each("follower", &|_, d| follower(d));
    each("logship", &|_, d| {
        let lines = logship(d);
        let mut out = Vec::new();
        for (s, t) in lines {
            out.extend(s.unwrap());
            out.push(b' ');
            out.extend(t);
            out.push(b'\n');
        }
        out
    });
    each("svmetrics", &|scan, _| {
        svmetrics(scan).0.to_string().into_bytes()
    });
    v
}

/// Every reader read the archive stored as `kind` (svmetrics counted
/// `files`).
fn all_read(got: &[(String, Vec<u8>)], kind: Kind, files: usize) {
    let stamp = String::from_utf8(Tai64N::from_unix(1_700_000_000, 0).label().to_vec()).unwrap();
    let want = format!("{stamp} {}\n{stamp} current\n", kind.suffix());
    for (name, bytes) in got {
        let bytes = String::from_utf8_lossy(bytes);
        if name == "svmetrics" {
            assert_eq!(bytes, files.to_string(), "{name}");
        } else {
            assert_eq!(bytes, want, "{name}");
        }
    }
}

#[test]
fn the_uncompressed_twin_is_read_while_compression_is_in_progress() {
    all_read(&reads(&[Kind::U, Kind::Zst], None), Kind::U, 2);
    all_read(&reads(&[Kind::S, Kind::Zst], None), Kind::S, 2);
    all_read(&reads(&[Kind::S, Kind::U], None), Kind::S, 2);
    all_read(&reads(&[Kind::S, Kind::U, Kind::Zst], None), Kind::S, 3);
}

#[test]
fn the_compressed_twin_takes_over_when_the_original_goes() {
    // Listed with its original, which is removed before it is opened.
    all_read(
        &reads(&[Kind::U, Kind::Zst], Some(Op::OriginalGoes)),
        Kind::Zst,
        1,
    );
    all_read(
        &reads(&[Kind::S, Kind::Zst], Some(Op::OriginalGoes)),
        Kind::Zst,
        1,
    );
    // Its `.s.zst` made after the listing: the original is still read.
    all_read(&reads(&[Kind::U], Some(Op::TwinAppears)), Kind::U, 1);
    // A `.u` finished as `.s` after the listing.
    all_read(&reads(&[Kind::U], Some(Op::Finish)), Kind::U, 1);
}
