//! Tests of the TZif reader: glibc's checks, the footer, hostile files.

use super::super::tests::off;
use super::super::Zone;
use super::*;
use std::ffi::OsStr;

#[test]
fn tzif_agrees_with_jiff_in_range() {
    for name in [
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Africa/Casablanca",
    ] {
        let Some(data) = crate::tai64::test_zoneinfo(&format!("/usr/share/zoneinfo/{name}")) else {
            continue;
        };
        let ours = Zone::from_tzif(&data).unwrap();
        let j = jiff::tz::TimeZone::tzif(name, &data).unwrap();
        let mut t = -2_000_000_000i64;
        while t < 4_000_000_000 {
            let want = i64::from(
                j.to_offset(jiff::Timestamp::from_second(t).unwrap())
                    .seconds(),
            );
            assert_eq!(off(&ours, t), want, "{name} t={t}");
            t += 1_234_567;
        }
    }
}

/// A TZif file: a minimal version 1 block (one UTC type), then a
/// version `ver` block with one transition at `t` to type 1 (offset
/// `off`, DST) from type 0 (UTC), and `footer` after it.
fn tzif(ver: u8, t: i64, off: i32, footer: &[u8]) -> Vec<u8> {
    let head = |ver: u8, c: [u32; 6]| {
        let mut h = b"TZif".to_vec();
        h.push(ver);
        h.extend_from_slice(&[0; 15]);
        for v in c {
            h.extend_from_slice(&v.to_be_bytes());
        }
        h
    };
    let mut d = head(ver, [0, 0, 0, 0, 1, 4]);
    d.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    d.extend_from_slice(b"UTC\0");
    d.extend(head(ver, [0, 0, 0, 1, 2, 8]));
    d.extend_from_slice(&t.to_be_bytes());
    d.push(1);
    d.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    d.extend_from_slice(&off.to_be_bytes());
    d.extend_from_slice(&[1, 4]);
    d.extend_from_slice(b"UTC\0XST\0");
    d.extend_from_slice(footer);
    d
}

#[test]
fn tzif_builder_reads() {
    let z = Zone::from_tzif(&tzif(b'2', 1000, 3600, b"\n\n")).unwrap();
    assert_eq!((off(&z, 999), off(&z, 1000)), (0, 3600));
    let z = Zone::from_tzif(&tzif(b'2', 1000, 3600, b"\nIST-5:30\n")).unwrap();
    assert_eq!(off(&z, 2000), 19_800);
}

/// Regression: the checks of glibc's `__tzfile_read` that the old
/// whole-file reader skipped; each case was checked against daemontools
/// (see `tests/it/filters.rs`).
#[test]
fn glibc_tzfile_read_checks() {
    let ok = tzif(b'2', 1000, 3600, b"\nIST-5:30\n");
    let bad = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut d = ok.clone();
        f(&mut d);
        Zone::from_tzif(&d)
    };
    let v2 = 44 + 6 + 4;
    // isstdcnt or isutcnt above typecnt, in either header.
    assert!(bad(&|d| d[27] = 2).is_none());
    assert!(bad(&|d| d[v2 + 23] = 3).is_none());
    // isdst not 0 or 1; abbreviation index past charcnt.
    assert!(bad(&|d| d[v2 + 44 + 9 + 6 + 4] = 2).is_none());
    assert!(bad(&|d| d[v2 + 44 + 9 + 6 + 5] = 9).is_none());
    // A 64-bit body needs at least 2 bytes after it.
    let body_end = ok.len() - b"\nIST-5:30\n".len();
    assert!(bad(&|d| d.truncate(body_end)).is_none());
    assert!(bad(&|d| d.truncate(body_end + 1)).is_none());
    assert!(bad(&|d| d.truncate(body_end + 2)).is_some());
    // Any non-NUL version byte means 64-bit data; NUL means the
    // version 1 block alone (UTC here, and no footer).
    let z = Zone::from_tzif(&tzif(b'x', 1000, 3600, b"\nIST-5:30\n")).unwrap();
    assert_eq!(off(&z, 2000), 19_800);
    let z = Zone::from_tzif(&tzif(0, 1000, 3600, b"\nIST-5:30\n")).unwrap();
    assert_eq!(off(&z, 2000), 0);
    // Huge counts are refused before anything is allocated for them.
    assert!(bad(&|d| d[v2 + 32..v2 + 36].copy_from_slice(&[0xff; 4])).is_none());
    assert!(bad(&|d| d[v2 + 40..v2 + 44].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff])).is_none());
}

/// The footer is everything after the body's '\n' but the file's last
/// byte, cut at the first NUL (glibc's tzspec).
#[test]
fn footer_as_glibc_reads_it() {
    let at = |footer: &[u8]| {
        off(
            &Zone::from_tzif(&tzif(b'2', 1000, 3600, footer)).unwrap(),
            2000,
        )
    };
    assert_eq!(at(b"\nIST-5:30\n"), 19_800);
    // No closing newline: the last byte is dropped ("5:3" is 5:03).
    assert_eq!(at(b"\nIST-5:30"), 18_180);
    // Not starting with '\n', or empty: no rule, the last type holds.
    assert_eq!(at(b"XIST-5:30\n"), 3600);
    assert_eq!(at(b"\n\n"), 3600);
    assert_eq!(at(b"\n\0IST-5:30\n"), 3600);
    // A NUL ends the string; junk after the newline is ignored.
    assert_eq!(at(b"\nIST-5\0:30\n"), 18_000);
    assert_eq!(at(b"\nIST-5:30\njunk\n"), 19_800);
    // More than MAX_FOOTER bytes: only the first are read.
    let mut long = b"\nIST-5:30\n".to_vec();
    long.resize(3 * MAX_FOOTER as usize, b'Z');
    assert_eq!(at(&long), 19_800);
}

/// Regression: `TZ=:/dev/zero` grew without bound, a FIFO hung, big
/// files were read whole. Only regular files are read, and only what
/// their header declares.
#[test]
fn hostile_tz_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let sparse = dir.path().join("sparse");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(100 << 20).unwrap();
    // A valid header claiming a body bigger than MAX_BODY.
    let huge = dir.path().join("huge");
    let mut d = tzif(b'2', 1000, 3600, b"\n\n");
    d[54 + 32..54 + 36].copy_from_slice(&1_000_000u32.to_be_bytes());
    std::fs::write(&huge, &d).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    for p in [
        Path::new("/dev/zero"),
        Path::new("/dev/null"),
        dir.path(),
        &fifo,
        &sparse,
        &huge,
    ] {
        assert!(read_tzif(p).is_none(), "{}", p.display());
        let tz = format!(":{}", p.display());
        assert_eq!(Zone::for_tz(Some(OsStr::new(&tz)), None), Zone::utc());
    }
    let good = dir.path().join("good");
    std::fs::write(&good, tzif(b'2', 1000, 3600, b"\nIST-5:30\n")).unwrap();
    assert!(read_tzif(&good).is_some());
}

#[test]
fn bad_tzif() {
    assert!(Zone::from_tzif(b"").is_none());
    assert!(Zone::from_tzif(b"TZif2").is_none());
    assert!(Zone::from_tzif(b"not a tz file at all, really not").is_none());
}
