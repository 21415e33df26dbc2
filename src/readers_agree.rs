//! The readers of a log directory agree: over random directories (cuts
//! anywhere, `.s`, `.u` and `.s.zst` archives, a compressor's twin left
//! beside its source, lines stamped with TAI64N labels or RFC 3339 stamps,
//! labels out of step with the stamps), svlog's dump, `svlog -n`, the
//! follower from the oldest archive, logship's reader and svmetrics'
//! archive samples see the same files and bytes, all through `logdir`.

use std::os::fd::OwnedFd;
use std::path::Path;

use crate::follow::{Follower, Got, Start};
use crate::logdir::names::{archive_name, Kind, CURRENT};
use crate::svlog::{Format, Opts};
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

/// `svlog -o raw [-n N] DIR` into memory.
fn svlog(dir: &Path, last: Option<u64>) -> Vec<u8> {
    let opts = Opts {
        last,
        format: Format::Raw,
        dirs: vec![dir.to_path_buf()],
        ..Opts::default()
    };
    let mut out = Vec::new();
    assert!(crate::svlog::print(&opts, None, Zone::utc(), &mut out).is_ok());
    out
}

/// Everything the follower reads from the oldest archive on.
fn follower(dir: &Path) -> Vec<u8> {
    let mut f = Follower::open("test", dir, Start::All).unwrap();
    let mut buf = vec![0u8; 777];
    let mut out = Vec::new();
    while let Got::Data { n, .. } = f.read(&mut buf).unwrap() {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// logship's reader's lines (pieces never cut: `max` above any line),
/// joined again: stamp, the space after it, text, newline. Every line's
/// stamp, of either kind, is recognised.
fn logship(dir: &Path) -> Vec<u8> {
    let f = Follower::open("test", dir, Start::All).unwrap();
    let mut r = crate::logship::reader::Reader::new(f, 1 << 20);
    let mut out = Vec::new();
    while let Some(n) = r.next().unwrap() {
        let p = n.piece;
        assert_eq!(p.part, 0);
        let stamp = p.stamp.expect("a stamp");
        out.extend_from_slice(stamp);
        out.push(b' ');
        out.extend_from_slice(p.text);
        out.push(b'\n');
    }
    out
}

/// svmetrics' `daemontools_log_archives` and `…_archive_bytes` for a
/// scan directory whose one service logs to `main`.
fn svmetrics(scan: &Path) -> (u64, u64) {
    let fd: OwnedFd = std::fs::File::open(scan).unwrap().into();
    let text = crate::supervise::svmetrics::collect::scrape(&fd, &[]).unwrap();
    let value = |family: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{family}{{")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {family} in {text}"))
    };
    (
        value("daemontools_log_archives"),
        value("daemontools_log_archive_bytes"),
    )
}

/// The last `n` lines of `data` (which ends with a newline) the slow way.
fn last_lines(data: &[u8], n: usize) -> &[u8] {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            data.iter()
                .enumerate()
                .filter(|(i, &c)| c == b'\n' && i + 1 < data.len())
                .map(|(i, _)| i + 1),
        )
        .collect();
    if data.is_empty() || n >= starts.len() {
        data
    } else {
        &data[starts[starts.len() - n]..]
    }
}

/// A line's stamp: a TAI64N label or an RFC 3339 stamp of second `s`.
fn stamp(s: u32, rfc: bool) -> String {
    let t = Tai64N::from_unix(1_700_000_000 + i64::from(s), s % 1000 * 1_000_000);
    if rfc {
        let secs = 1_700_000_000 + u64::from(s);
        format!(
            "2023-11-14T22:{:02}:{:02}.{:09}Z",
            secs / 60 % 60,
            secs % 60,
            t.nanos
        )
    } else {
        String::from_utf8_lossy(&t.label()).into_owned()
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    #[test]
    fn readers_see_the_same_bytes(
        lines in proptest::collection::vec((0u32..5000, proptest::bool::ANY, "[a-z ]{0,40}"), 0..60),
        cuts in proptest::collection::vec((0usize..4000, 0u8..3, 0u8..4, 1i64..100_000), 0..8),
        n in 0u64..80,
    ) {
        let mut data = Vec::new();
        for (s, rfc, text) in &lines {
            data.extend_from_slice(format!("{} {text}\n", stamp(*s, *rfc)).as_bytes());
        }
        let scan = tempfile::tempdir().unwrap();
        let dir = scan.path().join("svc/log/main");
        std::fs::create_dir_all(&dir).unwrap();
        // Cut the stream into archives anywhere (multilog cuts a long
        // line), the rest is `current`.
        let mut at: Vec<usize> = cuts.iter().map(|c| c.0 % (data.len() + 1)).collect();
        at.sort_unstable();
        let (mut from, mut label, mut names, mut bytes) = (0, 0i64, 0u64, 0u64);
        for (&to, &(_, kind, twin, step)) in at.iter().zip(&cuts) {
            let piece = &data[from..to];
            from = to;
            // Labels rise, whatever the stamps inside say (clock steps).
            label += step;
            let l = Tai64N::from_unix(1_800_000_000 + label, 0).label();
            let kind = [Kind::S, Kind::U, Kind::Zst][usize::from(kind)];
            let zst = zstd::encode_all(piece, 1).unwrap();
            let mut put = |k: Kind| {
                let body = if k == Kind::Zst { &zst[..] } else { piece };
                std::fs::write(dir.join(archive_name(&l, k)), body).unwrap();
                names += 1;
                bytes += body.len() as u64;
            };
            put(kind);
            // A compressor killed before it removed its source.
            if twin == 0 && kind != Kind::Zst {
                put(Kind::Zst);
            }
        }
        std::fs::write(dir.join(CURRENT), &data[from..]).unwrap();

        let dump = svlog(&dir, None);
        proptest::prop_assert_eq!(&dump, &data);
        proptest::prop_assert_eq!(&follower(&dir), &data);
        proptest::prop_assert_eq!(&logship(&dir), &data);
        // `-n 0` is refused by svlog's arguments; 1.. are lines.
        if n > 0 {
            let want = last_lines(&data, usize::try_from(n).unwrap());
            proptest::prop_assert_eq!(&svlog(&dir, Some(n))[..], want);
        }
        proptest::prop_assert_eq!(svmetrics(scan.path()), (names, bytes));
    }
}
