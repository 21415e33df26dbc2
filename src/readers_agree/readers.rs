//! Each reader of a log directory, run into memory, and the slow oracles
//! they are compared with.

use std::os::fd::OwnedFd;
use std::path::Path;

use crate::follow::{Follower, Got, Start};
use crate::svlog::{Format, Opts};
use crate::tai64::rfc3339::{line_stamp, LEN as STAMP_MAX};
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

/// A time range: `--since`, `--until`.
pub(super) type Range = (Option<Tai64N>, Option<Tai64N>);

/// `svlog -o raw [-n N] [--since S] [--until U] DIR` into memory.
pub(super) fn svlog(dir: &Path, last: Option<u64>, r: Range) -> Vec<u8> {
    let opts = Opts {
        last,
        since: r.0,
        until: r.1,
        format: Format::Raw,
        dirs: vec![dir.to_path_buf()],
        ..Opts::default()
    };
    let mut out = Vec::new();
    assert!(crate::svlog::print(&opts, None, Zone::utc(), &mut out).is_ok());
    out
}

/// Everything the follower reads from the oldest archive on.
pub(super) fn follower(dir: &Path) -> Vec<u8> {
    let mut f = Follower::open("test", dir, Start::All).unwrap();
    let mut buf = vec![0u8; 777];
    let mut out = Vec::new();
    while let Got::Data { n, .. } = f.read(&mut buf).unwrap() {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// A line as logship hands it out: its stamp and its text (after one
/// space, without the newline).
pub(super) type Shipped = (Option<Vec<u8>>, Vec<u8>);

/// logship's reader's lines (pieces never cut: `max` above any line).
pub(super) fn logship(dir: &Path) -> Vec<Shipped> {
    let f = Follower::open("test", dir, Start::All).unwrap();
    let mut r = crate::logship::reader::Reader::new(f, 1 << 20);
    let mut out = Vec::new();
    while let Some(n) = r.next().unwrap() {
        let p = n.piece;
        assert_eq!(p.part, 0);
        out.push((p.stamp.map(<[u8]>::to_vec), p.text.to_vec()));
    }
    out
}

/// The lines of `data` split as logship does, the slow way: every line
/// ends with a newline (an unfinished last line is not handed out).
pub(super) fn shipped(data: &[u8]) -> Vec<Shipped> {
    data.split_inclusive(|&c| c == b'\n')
        .filter(|l| l.ends_with(b"\n"))
        .map(|l| {
            let l = &l[..l.len() - 1];
            match line_stamp(l) {
                Some((_, n)) => {
                    let t = &l[n..];
                    (
                        Some(l[..n].to_vec()),
                        t.strip_prefix(b" ").unwrap_or(t).to_vec(),
                    )
                }
                None => (None, l.to_vec()),
            }
        })
        .collect()
}

/// svmetrics' `daemontools_log_archives` and `…_archive_bytes` for a
/// scan directory whose one service logs to `main`.
pub(super) fn svmetrics(scan: &Path) -> (u64, u64) {
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

/// The last `n` lines of `data` the slow way.
pub(super) fn last_lines(data: &[u8], n: usize) -> &[u8] {
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

/// What range `r` selects from the whole stream, the slow way: a stamped
/// line by its stamp, an unstamped one as the line before it; no end
/// given, everything.
pub(super) fn in_range(data: &[u8], r: Range) -> Vec<u8> {
    if r == (None, None) {
        return data.to_vec();
    }
    let mut out = Vec::new();
    let mut sel = false;
    for line in data.split_inclusive(|&c| c == b'\n') {
        if let Some((t, _)) = line_stamp(line) {
            sel = r.0.is_none_or(|s| t >= s) && r.1.is_none_or(|u| t < u);
        }
        if sel {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Whether a file starts inside the first bytes of a line that may hold
/// its stamp: a stamp cut across two files is no stamp to a reader of
/// files (multilog never cuts there).
pub(super) fn cuts_a_stamp(data: &[u8], starts: &[usize]) -> bool {
    let mut at = 0;
    for line in data.split_inclusive(|&c| c == b'\n') {
        let head = at + line.len().min(STAMP_MAX);
        if starts.iter().any(|&c| c > at && c < head) {
            return true;
        }
        at += line.len();
    }
    false
}
