//! The checks behind the fuzz targets, one `check_*` function per target.
//!
//! Each takes the fuzzer's raw bytes, derives its inputs by plain slicing
//! (no randomness, so every corpus file replays identically), runs the code
//! under test and panics when a property fails. The same file is compiled
//! into the main test suite (`tests/it/faults_corpus.rs`, through `#[path]`),
//! which replays every committed corpus file without cargo-fuzz.
//!
//! Only `std`, `tempfile` and the `daemontools` library are used here, so
//! that both builds can include it.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use daemontools::multilog::engine::{Engine, SELECT_BYTES, STAMP_LEN};
use daemontools::multilog::script::{Action, DirExt, Script};
use daemontools::multilog::{absorb, INBUF};

#[path = "inflight.rs"]
mod inflight;
pub use inflight::{check_inflight, inflight_accepts};

/// Split off the first `n` bytes (fewer if `data` is shorter).
fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, rest) = data.split_at(n);
    *data = rest;
    head
}

/// One byte, 0 when the data is exhausted.
fn byte(data: &mut &[u8]) -> u8 {
    take(data, 1).first().copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Pattern matcher.

/// A literal transcription of djb's `match.c:match` (daemontools 0.76):
/// `pattern` is a C string (it ends at its first NUL), `buf` has `len`
/// bytes. Kept deliberately close to the C, pointer arithmetic as indices.
#[must_use]
pub fn djb_match(pattern: &[u8], buf: &[u8]) -> bool {
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let mut p = 0usize;
    let mut b = 0usize;
    let mut len = buf.len();
    loop {
        let mut ch = at(p);
        p += 1;
        if ch == 0 {
            return len == 0;
        }
        if ch == b'*' {
            ch = at(p);
            if ch == 0 {
                return true;
            }
            loop {
                if len == 0 {
                    return false;
                }
                if buf[b] == ch {
                    break;
                }
                b += 1;
                len -= 1;
            }
            continue;
        }
        if len == 0 {
            return false;
        }
        if buf[b] != ch {
            return false;
        }
        b += 1;
        len -= 1;
    }
}

/// `pattern::matches` agrees with the transcription of `match.c`.
///
/// Layout: one length byte for the pattern, the pattern, then the line.
/// The pattern is cut at its first NUL (it comes from argv, a C string);
/// the line may hold any byte.
pub fn check_pattern(mut data: &[u8]) {
    let plen = usize::from(byte(&mut data));
    let mut pat = take(&mut data, plen);
    if let Some(i) = pat.iter().position(|&c| c == 0) {
        pat = &pat[..i];
    }
    let line = data;
    let ours = daemontools::multilog::pattern::matches(pat, line);
    let theirs = djb_match(pat, line);
    assert_eq!(
        ours,
        theirs,
        "pattern {:?} line {:?}",
        String::from_utf8_lossy(pat),
        String::from_utf8_lossy(line)
    );
}

// ---------------------------------------------------------------------------
// Script parser.

/// The settings a directory gets, derived independently of `Script::parse`
/// from the multilog.c argument loop and multilog.8's EXTENSIONS:
/// `(name, size, num, processor, (S, R, Z, N, F))`.
type DirOracle = (
    Vec<u8>,
    u64,
    u64,
    Option<Vec<u8>>,
    (u64, u64, Option<i32>, Option<u64>, u64),
);

// Kept in the shape of the C it transcribes.
#[allow(clippy::manual_clamp)]
fn oracle_dirs(args: &[Vec<u8>]) -> (bool, Vec<DirOracle>, usize) {
    let scan = |s: &[u8]| -> u64 {
        let mut v: u64 = 0;
        for &c in s {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        }
        v
    };
    let digits = |s: &[u8]| s.first().is_some_and(u8::is_ascii_digit);
    let timestamp = args.first().is_some_and(|a| a.first() == Some(&b't'));
    let (mut size, mut num, mut proc_) = (99_999u64, 10u64, None::<Vec<u8>>);
    let mut ext = (0u64, 0u64, None::<i32>, None::<u64>, 0u64);
    let mut dirs = Vec::new();
    let mut status = 0;
    for a in args {
        match a.first() {
            Some(b's') => {
                size = scan(&a[1..]);
                if size < 4096 {
                    size = 4096;
                }
                if size > 16_777_215 {
                    size = 16_777_215;
                }
            }
            Some(b'n') => {
                num = scan(&a[1..]);
                if num < 2 {
                    num = 2;
                }
            }
            Some(b'!') => proc_ = Some(a[1..].to_vec()),
            Some(b'S') => ext.0 = scan(&a[1..]),
            Some(b'R') => ext.1 = scan(&a[1..]),
            Some(b'Z') => {
                ext.2 = if !digits(&a[1..]) {
                    Some(1)
                } else if scan(&a[1..]) == 0 {
                    None
                } else {
                    Some(scan(&a[1..]).min(19) as i32)
                }
            }
            Some(b'N') => ext.3 = digits(&a[1..]).then(|| scan(&a[1..])),
            Some(b'F') => ext.4 = scan(&a[1..]),
            Some(b'.' | b'/') => dirs.push((a.clone(), size, num, proc_.clone(), ext)),
            Some(b'=') => status += 1,
            _ => {}
        }
    }
    (timestamp, dirs, status)
}

/// `Script::parse` never panics and agrees with an independent reading of
/// multilog.c's argument loop. Arguments are the NUL-separated pieces of
/// the input (argv strings cannot hold NUL).
pub fn check_script(data: &[u8]) {
    let args: Vec<Vec<u8>> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|&c| c == 0).map(<[u8]>::to_vec).collect()
    };
    let os: Vec<OsString> = args.iter().cloned().map(OsString::from_vec).collect();
    let s = Script::parse(&os);
    let (timestamp, dirs, nstatus) = oracle_dirs(&args);
    assert_eq!(s.timestamp, timestamp, "t flag for {args:?}");
    let rfc = !timestamp && args.first().is_some_and(|a| a.first() == Some(&b'T'));
    assert_eq!(s.rfc3339, rfc, "T flag for {args:?}");
    let got: Vec<DirOracle> = s
        .dirs
        .iter()
        .map(|d| {
            let DirExt {
                space,
                rotate_secs,
                zstd,
                free_keep,
                fsync_ms,
            } = d.ext;
            let ext = (space, rotate_secs, zstd, free_keep, fsync_ms);
            (d.name.clone(), d.size, d.num, d.processor.clone(), ext)
        })
        .collect();
    assert_eq!(got, dirs, "directories for {args:?}");
    assert_eq!(s.status_files.len(), nstatus);
    // The per-line actions, in argv order, with their payloads.
    let mut want = Vec::new();
    let (mut nd, mut ns, mut nr) = (0, 0, 0);
    for a in &args {
        match a.first() {
            Some(b'~') if matches!(a.get(1), Some(b'+' | b'-')) => {
                assert_eq!(s.regexes[nr], a[2..]);
                want.push(if a[1] == b'+' {
                    Action::SelectRe(nr)
                } else {
                    Action::DeselectRe(nr)
                });
                nr += 1;
            }
            Some(b'-') => want.push(Action::Deselect(a[1..].to_vec())),
            Some(b'+') => want.push(Action::Select(a[1..].to_vec())),
            Some(b'e') => want.push(Action::Echo),
            Some(b'=') => {
                assert_eq!(s.status_files[ns], a[1..]);
                want.push(Action::Status(ns));
                ns += 1;
            }
            Some(b'.' | b'/') => {
                want.push(Action::Dir(nd));
                nd += 1;
            }
            _ => {}
        }
    }
    assert_eq!(s.actions, want, "actions for {args:?}");
    assert_eq!(s.regexes.len(), nr);
    assert_eq!(
        s.has_patterns(),
        want.iter().any(|a| matches!(
            a,
            Action::Select(_) | Action::Deselect(_) | Action::SelectRe(_) | Action::DeselectRe(_)
        ))
    );
}

/// The extended script parser, with arguments biased towards the extension
/// letters: each argument is a letter chosen by one byte, then up to 7
/// bytes. Checks [`check_script`]'s properties, then that starting an
/// engine on the script (its regular expressions compiled, its
/// directories left out) never panics: a bad expression is a fatal error.
pub fn check_script_ext(data: &[u8]) {
    const LETTERS: &[u8] = b"tTSRZN~~+-e=sn!./";
    let mut data = data;
    let mut joined: Vec<u8> = Vec::new();
    while !data.is_empty() {
        let l = LETTERS[usize::from(byte(&mut data)) % LETTERS.len()];
        let n = usize::from(byte(&mut data) % 8);
        if !joined.is_empty() {
            joined.push(0);
        }
        joined.push(l);
        if l == b'~' {
            joined.push(if n % 2 == 0 { b'+' } else { b'-' });
        }
        joined.extend(
            take(&mut data, n)
                .iter()
                .map(|&c| if c == 0 { b'x' } else { c }),
        );
    }
    check_script(&joined);
    let args: Vec<OsString> = if joined.is_empty() {
        Vec::new()
    } else {
        joined
            .split(|&c| c == 0)
            .map(|a| OsString::from_vec(a.to_vec()))
            .collect()
    };
    let mut script = Script::parse(&args);
    script.dirs.clear();
    script.actions.retain(|a| !matches!(a, Action::Dir(_)));
    // `=` files would be created: none here.
    script.actions.retain(|a| !matches!(a, Action::Status(_)));
    script.status_files.clear();
    let tmp = tempfile::tempdir().expect("tempdir");
    let startfd: OwnedFd = std::fs::File::open(tmp.path()).expect("open").into();
    let _ = Engine::start(&script, &startfd);
}

// ---------------------------------------------------------------------------
// Line engine.

/// How the engine check is set up, decoded from the first bytes.
#[derive(Debug)]
struct EngineCase<'a> {
    timestamp: bool,
    /// `None`: no pattern. `Some((deselect_all_first, pat))`.
    pattern: Option<(bool, Vec<u8>)>,
    status: bool,
    size: u64,
    chunks: Vec<usize>,
    input: &'a [u8],
}

fn engine_case(mut data: &[u8]) -> EngineCase<'_> {
    let flags = byte(&mut data);
    let size = 4096 + u64::from(byte(&mut data)) * 64;
    let nchunks = usize::from(byte(&mut data) % 8);
    let chunks: Vec<usize> = (0..nchunks)
        .map(|_| {
            let lo = usize::from(byte(&mut data));
            let hi = usize::from(byte(&mut data) % 64);
            1 + lo + (hi << 8)
        })
        .collect();
    let pattern = if flags & 2 != 0 {
        let plen = usize::from(byte(&mut data) % 16);
        let raw: Vec<u8> = take(&mut data, plen)
            .iter()
            .copied()
            .filter(|&c| c != 0)
            .collect();
        // With `t`, "* " skips the stamp whatever its digits, so the
        // outcome is predictable.
        let pat = if flags & 1 != 0 {
            [b"* ".as_slice(), &raw].concat()
        } else {
            raw
        };
        Some((flags & 4 != 0, pat))
    } else {
        None
    };
    EngineCase {
        timestamp: flags & 1 != 0,
        pattern,
        status: flags & 8 != 0,
        size,
        chunks,
        input: data,
    }
}

/// `@` + 24 lowercase hex + space?
fn is_stamp(b: &[u8]) -> bool {
    b.len() >= STAMP_LEN
        && b[0] == b'@'
        && b[1..25]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && b[25] == b' '
}

/// Every file of a finished log directory, `@…` in name order then
/// `current`, concatenated; also checks names and sizes.
fn logged(dir: &Path, size: u64) -> Vec<u8> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
        .collect();
    names.sort();
    let mut all = Vec::new();
    for n in &names {
        match n.as_str() {
            "lock" | "state" | "current" => {}
            _ => assert!(
                n.len() == 27
                    && is_stamp(&[&n.as_bytes()[..25], b" "].concat())
                    && n.ends_with(".s"),
                "unexpected file {n} in {names:?}"
            ),
        }
        if n == "lock" || n == "state" || n == "current" {
            continue;
        }
        let b = std::fs::read(dir.join(n)).expect("read");
        assert!(
            b.len() as u64 <= size,
            "{n} has {} bytes > s{size}",
            b.len()
        );
        all.extend(b);
    }
    let cur = std::fs::read(dir.join("current")).expect("current");
    assert!(cur.len() as u64 <= size);
    all.extend(cur);
    all
}

/// Feed arbitrary bytes in arbitrary chunks through [`Engine`] and
/// [`absorb`] (the reading loop's own helper) into a temporary log
/// directory; the logged bytes must be exactly the selected input lines,
/// each ending in a newline (the last one gets one added), stamped when
/// `t` is on; an `=` status file must hold the last selected line's first
/// 1000 bytes padded with newlines to 1001; no file may exceed `s`.
///
/// Layout: flags (bit 0 `t`, bit 1 pattern, bit 2 `-*` before `+PAT`
/// instead of `-PAT` alone, bit 3 `=status`), size byte (`s` = 4096 +
/// 64·b), chunk count (mod 8) and two bytes per chunk size, pattern length
/// (mod 16) and pattern when bit 1 is set, then the input.
pub fn check_engine(data: &[u8]) {
    let case = engine_case(data);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut args: Vec<OsString> = Vec::new();
    if case.timestamp {
        args.push("t".into());
    }
    args.push(format!("s{}", case.size).into());
    args.push("n1000".into());
    if let Some((desel_all, pat)) = &case.pattern {
        if *desel_all {
            args.push("-*".into());
            args.push(OsString::from_vec([b"+".as_slice(), pat].concat()));
        } else {
            args.push(OsString::from_vec([b"-".as_slice(), pat].concat()));
        }
    }
    if case.status {
        args.push("=st".into());
    }
    args.push("./d".into());
    let script = Script::parse(&args);
    let startfd: OwnedFd = std::fs::File::open(tmp.path()).expect("open").into();
    let mut engine = Engine::start(&script, &startfd).expect("Engine::start");
    let mut inbuf = vec![0u8; INBUF];
    let mut held = 0;
    let mut rest = case.input;
    let mut i = 0;
    while !rest.is_empty() {
        let want = case
            .chunks
            .get(i % case.chunks.len().max(1))
            .copied()
            .unwrap_or(INBUF)
            .clamp(1, INBUF - held)
            .min(rest.len());
        inbuf[held..held + want].copy_from_slice(&rest[..want]);
        held = absorb(&mut engine, &mut inbuf, held, want);
        assert!(
            held < SELECT_BYTES,
            "held {held} bytes of an incomplete line"
        );
        rest = &rest[want..];
        i += 1;
        if i % 3 == 0 {
            engine.flush();
        }
    }
    engine.eof(&inbuf[..held]);
    engine.quit();
    drop(engine);

    // The oracle: split into lines, select on the first 1000 bytes.
    let stamp_len = if case.timestamp { STAMP_LEN } else { 0 };
    let fake_stamp = [b"@".as_slice(), &[b'0'; 24], b" "].concat();
    let mut input = case.input.to_vec();
    if input.last().is_some_and(|&c| c != b'\n') {
        input.push(b'\n');
    }
    let mut want_lines: Vec<&[u8]> = Vec::new();
    let mut last_head: Option<Vec<u8>> = None;
    for line in input.split_inclusive(|&c| c == b'\n') {
        let text = &line[..line.len() - 1];
        let mut head = fake_stamp[..stamp_len].to_vec();
        head.extend_from_slice(&text[..text.len().min(SELECT_BYTES - stamp_len)]);
        let selected = match &case.pattern {
            None => true,
            Some((true, pat)) => djb_match(pat, &head),
            Some((false, pat)) => !djb_match(pat, &head),
        };
        if selected {
            want_lines.push(text);
            last_head = Some(head);
        }
    }

    let got = logged(&tmp.path().join("d"), case.size);
    let got_lines: Vec<&[u8]> = if got.is_empty() {
        Vec::new()
    } else {
        assert_eq!(got.last(), Some(&b'\n'), "log does not end in a newline");
        got[..got.len() - 1].split(|&c| c == b'\n').collect()
    };
    let got_text: Vec<&[u8]> = got_lines
        .iter()
        .map(|l| {
            if case.timestamp {
                assert!(is_stamp(l), "line without a stamp: {l:?}");
                &l[STAMP_LEN..]
            } else {
                l
            }
        })
        .collect();
    // A selected input line may itself contain no newline but the split of
    // `got` is by newline, so compare line lists (input lines have none).
    assert_eq!(got_text.len(), want_lines.len(), "number of logged lines");
    for (k, (g, w)) in got_text.iter().zip(&want_lines).enumerate() {
        assert!(g == w, "line {k} differs: got {g:?} want {w:?}");
    }

    if case.status {
        let st = std::fs::read(tmp.path().join("st")).expect("status file");
        match last_head {
            None => assert!(st.is_empty(), "status file written with nothing selected"),
            Some(h) => {
                let mut want = h.clone();
                want.resize(1001, b'\n');
                assert_eq!(st.len(), 1001);
                if case.timestamp {
                    assert!(is_stamp(&st));
                    assert_eq!(st[STAMP_LEN..], want[STAMP_LEN..]);
                } else {
                    assert_eq!(st, want);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// TAI64N label scanning (tai64nlocal / tai64nfrac).

/// The C digit loop of `tai64nlocal.c`/`tai64nfrac.c`, one digit at a time.
fn c_scan(bytes: &[u8]) -> (u64, u32, usize) {
    let (mut secs, mut nanos) = (0u64, 0u64);
    let mut n = 0;
    for &c in bytes {
        let u = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a' + 10),
            _ => break,
        };
        secs = (secs << 4).wrapping_add(nanos >> 28);
        nanos &= 0x0fff_ffff;
        nanos <<= 4;
        nanos += u;
        n += 1;
    }
    (secs, u32::try_from(nanos).expect("32 bits"), n)
}

/// `tai64nfrac` on one whole input, written from the C: labels at line
/// starts become `SECONDS.NNNNNNNNN`, everything else is copied.
fn c_frac(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        // At a line start.
        if input[i] == b'@' {
            let (secs, nanos, n) = c_scan(&input[i + 1..]);
            let s = secs.wrapping_sub((1u64 << 62) + 10);
            out.extend_from_slice(format!("{s}.{nanos:09}").as_bytes());
            i += 1 + n;
        }
        match input[i..].iter().position(|&c| c == b'\n') {
            Some(j) => {
                out.extend_from_slice(&input[i..=i + j]);
                i += j + 1;
            }
            None => {
                out.extend_from_slice(&input[i..]);
                i = input.len();
            }
        }
    }
    out
}

/// Feed `data` to `f` cut at the given piece sizes (cycled; one piece when
/// there are none), calling `on_read` before each piece as the pump does.
fn feed_pieces<F: daemontools::filters::Filter>(
    f: &mut F,
    data: &[u8],
    sizes: &[usize],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut k = 0;
    while !rest.is_empty() {
        let step = sizes
            .get(k % sizes.len().max(1))
            .copied()
            .unwrap_or(usize::MAX)
            .max(1);
        k += 1;
        let (a, b) = rest.split_at(step.min(rest.len()));
        f.on_read();
        f.feed(a, &mut out);
        rest = b;
    }
    f.finish(&mut out);
    out
}

/// The incremental label scanner agrees with the C loop however the digits
/// are split; `tai64nfrac` gives the same output whole or fed in arbitrary
/// pieces, equal to a direct transcription of the C; `tai64nlocal` (with a
/// fixed zone, and with a zone rule string taken from the input) does not
/// panic and does not depend on the pieces either.
///
/// Layout: a split count (mod 8) and that many split-size bytes, a zone
/// string length (mod 64) and the zone string, then the input.
pub fn check_tai64_scan(mut data: &[u8]) {
    use daemontools::filters::filter_bytes;
    use daemontools::filters::tai64nfrac::Frac;
    use daemontools::filters::LabelFilter;
    use daemontools::tai64::local::LocalTime;
    use daemontools::tai64::scan::{scan_label, Scan};
    use daemontools::tai64::tz::Zone;

    let nsplit = usize::from(byte(&mut data) % 8);
    let splits: Vec<usize> = (0..nsplit).map(|_| usize::from(byte(&mut data))).collect();
    let zlen = usize::from(byte(&mut data) % 64);
    let zone_rule = String::from_utf8_lossy(take(&mut data, zlen)).into_owned();
    let input = data;

    // One-shot and split scans of the digits.
    let (secs, nanos, n) = c_scan(input);
    let (t, m) = scan_label(input);
    assert_eq!((t.secs, t.nanos, m), (secs, nanos, n), "scan_label");
    let mut s = Scan::default();
    let mut pos = 0usize;
    let mut k = 0;
    loop {
        let step = splits.get(k).copied().unwrap_or(usize::MAX).max(1);
        k += 1;
        let end = pos.saturating_add(step).min(input.len());
        let piece = &input[pos..end];
        let used = s.feed(piece);
        pos += used;
        if used < piece.len() || end == input.len() {
            break;
        }
    }
    assert_eq!((s.secs, s.nanos, pos), (secs, nanos, n), "split scan");

    // tai64nfrac: whole, in pieces, and the transcription.
    let whole = filter_bytes(&mut LabelFilter::new(Frac::new()), input);
    assert_eq!(whole, c_frac(input), "tai64nfrac output");
    let parts = feed_pieces(&mut LabelFilter::new(Frac::new()), input, &splits);
    assert_eq!(parts, whole, "tai64nfrac split into pieces");

    // tai64nlocal: whole and in pieces, two zones.
    for zone in [
        Zone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3"),
        Zone::from_posix(&zone_rule),
    ] {
        let whole = filter_bytes(&mut LabelFilter::new(LocalTime::new(zone.clone())), input);
        let parts = feed_pieces(&mut LabelFilter::new(LocalTime::new(zone)), input, &splits);
        assert_eq!(
            parts, whole,
            "tai64nlocal split into pieces ({zone_rule:?})"
        );
    }
}

// ---------------------------------------------------------------------------
// supervise/status records (supervise, svstat, svok).

/// `Status::decode` reads exactly the 0.76 layout (checked field by field
/// against an independent reading), refuses records under 18 bytes, and
/// `encode` gives back the first 18 bytes, with byte 16 forced to 0 when
/// the pid is 0 (as `announce` writes it) and normalised to 0/1 otherwise.
pub fn check_status(data: &[u8]) {
    use daemontools::supervise::status::{Status, STATUS_LEN};
    let got = Status::decode(data);
    if data.len() < STATUS_LEN {
        assert!(got.is_none(), "decoded a {}-byte record", data.len());
        return;
    }
    let st = got.expect("an 18-byte record decodes");
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &c| (a << 8) | u64::from(c));
    assert_eq!(st.when.secs, be(&data[..8]));
    assert_eq!(u64::from(st.when.nanos), be(&data[8..12]));
    let pid = u32::from(data[12])
        | u32::from(data[13]) << 8
        | u32::from(data[14]) << 16
        | u32::from(data[15]) << 24;
    assert_eq!(st.pid, pid);
    assert_eq!(st.paused, data[16] != 0);
    assert_eq!(st.want, data[17]);
    let mut want = [0u8; STATUS_LEN];
    want.copy_from_slice(&data[..STATUS_LEN]);
    want[16] = u8::from(pid != 0 && data[16] != 0);
    assert_eq!(st.encode(), want);
    assert_eq!(Status::decode(&st.encode()).map(|s| s.encode()), Some(want));
}

// ---------------------------------------------------------------------------
// envdir file contents.

/// The plain rules for one file's contents: empty unsets; otherwise the
/// first line, trailing spaces and tabs removed, NUL turned into newline.
fn envdir_oracle(c: &[u8]) -> Option<Vec<u8>> {
    if c.is_empty() {
        return None;
    }
    let first = c.split(|&b| b == b'\n').next().unwrap_or_default();
    let end = first
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    Some(
        first[..end]
            .iter()
            .map(|&b| if b == 0 { b'\n' } else { b })
            .collect(),
    )
}

/// A sequence of directory entries, each either a file's contents or
/// "vanished" (open gave ENOENT, so djb's buffer is reused), fed through
/// `envdir::Reader` and checked against the plain rules.
///
/// Layout: per entry one tag byte: 0 = vanished, otherwise the contents
/// length is `tag - 1` and the contents follow.
pub fn check_envdir(mut data: &[u8]) {
    use daemontools::chain::envdir::{value, Reader};
    let mut reader = Reader::new();
    let mut last: Option<Vec<u8>> = None;
    while !data.is_empty() {
        let tag = byte(&mut data);
        let e = if tag == 0 {
            None
        } else {
            Some(take(&mut data, usize::from(tag - 1)).to_vec())
        };
        let want = match &e {
            Some(c) => {
                assert_eq!(value(c), envdir_oracle(c));
                envdir_oracle(c)
            }
            None => last.as_ref().and_then(|v| {
                let mut sa = v.clone();
                sa.push(0);
                envdir_oracle(&sa)
            }),
        };
        let got = reader.entry(e);
        if let Some(v) = &got {
            assert!(!v.contains(&0));
        }
        assert_eq!(got, want);
        last = got;
    }
}

// ---------------------------------------------------------------------------
// svlog's time expressions.

/// `svlog::timeexpr::parse` never panics, whatever the bytes (as the string
/// svlog would have: valid UTF-8 only, as its argv is), in a fixed POSIX
/// zone with DST; an `@` form that parses names exactly the label given
/// (24 hex digits) or the Unix second given (`@EPOCH`); and a relative
/// form `-Ns` is exactly N seconds before `now`.
///
/// Layout: byte 0 picks the zone rule's hour offset, the rest is the
/// expression.
pub fn check_timeexpr(mut data: &[u8]) {
    use daemontools::svlog::timeexpr::parse;
    use daemontools::tai64::local::LocalZone;
    use daemontools::tai64::tz::Zone;
    use daemontools::tai64::Tai64N;
    let h = byte(&mut data) % 13;
    let mut zone = LocalZone::new(Zone::from_posix(&format!("XST{h}XDT,M3.2.0,M11.1.0")));
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let now = Tai64N::from_unix(1_764_581_068, 123_456_789);
    let got = parse(s, now, &mut zone);
    if let (Some(t), Some(hex)) = (got, s.trim().strip_prefix('@')) {
        if hex.len() == 24 {
            assert_eq!(&t.label()[1..], hex.as_bytes(), "{s:?}");
        } else if let Ok(n) = hex.parse::<i64>() {
            // `@EPOCH`: Unix seconds.
            assert_eq!(t, Tai64N::from_unix(n, 0), "{s:?}");
        }
    }
    if let Some(n) = s
        .strip_prefix('-')
        .and_then(|r| r.strip_suffix('s'))
        .filter(|n| n.len() < 9 && !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    {
        let n: i64 = n.parse().unwrap();
        let want = Tai64N::from_unix(1_764_581_068 - n, 123_456_789);
        assert_eq!(got, Some(want), "{s:?}");
    }
}

/// logship's RELP response reader (`logship::relp::parse_frame` and
/// `rsp_status`) on any bytes: no panic; a frame found ends with its LF
/// inside the input, has at most 9-digit numbers and `MAX_DATA` bytes of
/// data, writes back to the same bytes when its numbers have no leading
/// zeros, and every shorter prefix of it reads as incomplete. Each frame's
/// transaction number is matched against a window of transactions sent
/// (its start and length taken from the input's length, half the time
/// just before the wrap): `window_index` finds it exactly where walking
/// the window with `next_txnr` does, and never finds 0 (an answer to a
/// transaction never sent is refused, never taken as an acknowledgement).
pub fn check_relp(data: &[u8]) {
    use daemontools::logship::relp::{
        next_txnr, parse_frame, rsp_status, window_index, write_frame, MAX_DATA, MAX_TXNR,
    };
    let k = u32::try_from(data.len() % 1_000_000).unwrap_or(0);
    let first = if k % 2 == 0 {
        MAX_TXNR - k % 200
    } else {
        1 + k.wrapping_mul(2_654_435_761) % MAX_TXNR
    };
    let len = data.len() % 300;
    let mut rest = data;
    while let Ok(Some((f, n))) = parse_frame(rest) {
        let mut walk = None;
        let mut x = first;
        for i in 0..len {
            if x == f.txnr {
                walk = Some(i);
                break;
            }
            x = next_txnr(x);
        }
        assert_eq!(window_index(first, len, f.txnr), walk, "txnr {}", f.txnr);
        assert!(f.txnr != 0 || walk.is_none());
        assert!(n > 0 && n <= rest.len() && rest[n - 1] == b'\n');
        assert!(f.txnr <= MAX_TXNR && f.data.len() <= MAX_DATA);
        let _ = rsp_status(f.data);
        let mut again = Vec::new();
        write_frame(&mut again, f.txnr, f.command, f.data);
        let canonical = !rest.starts_with(b"0") || rest.starts_with(b"0 ");
        if canonical && again.len() == n {
            assert_eq!(&again[..], &rest[..n]);
        }
        for k in 0..n.min(200) {
            assert_eq!(parse_frame(&rest[..k]), Ok(None), "prefix {k}");
        }
        rest = &rest[n..];
    }
}

// ---------------------------------------------------------------------------
// svmetrics' HTTP request head.

/// svmetrics' request-head reader (`svmetrics::http::parse`) on any bytes:
/// no panic; a complete head ends with its LF within `HEAD_MAX` bytes,
/// reads the same alone, and each of its shorter prefixes reads as
/// incomplete; its path is a piece of the input without `?`; a refused
/// head stays refused whatever follows; an incomplete one is shorter than
/// `HEAD_MAX`.
pub fn check_http(data: &[u8]) {
    use daemontools::supervise::svmetrics::http::{parse, Parse, HEAD_MAX};
    match parse(data) {
        Parse::Done(r) => {
            assert!(r.len > 0 && r.len <= data.len().min(HEAD_MAX));
            assert_eq!(data[r.len - 1], b'\n');
            assert_eq!(parse(&data[..r.len]), Parse::Done(r));
            assert!(!r.path.contains(&b'?'));
            let range = data.as_ptr_range();
            assert!(r.path.is_empty() || range.contains(&r.path.as_ptr()));
            // Every prefix, or a sample of them for long heads.
            let step = (r.len / 256).max(1);
            for k in (0..r.len).step_by(step) {
                assert_eq!(parse(&data[..k]), Parse::Partial, "prefix {k}");
            }
        }
        Parse::Refused(_) => {
            let mut more = data.to_vec();
            more.extend_from_slice(b"\r\nHost: x\r\n\r\n");
            assert!(matches!(parse(&more), Parse::Refused(_)));
        }
        Parse::Partial => assert!(data.len() < HEAD_MAX),
    }
}

/// logship's status file (`daemontools::logship::status`), untrusted input
/// to svmetrics: `parse` never panics, refuses anything over its size
/// bound, and what it accepts is written back to bytes that parse to the
/// same status.
pub fn check_logship_status(data: &[u8]) {
    use daemontools::logship::status::{format, parse, MAX_BYTES};
    let Some(s) = parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_BYTES);
    let again = format(&s);
    assert_eq!(parse(&again).as_ref(), Some(&s));
}
