//! The RFC 3339 form of a moment, `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ` (RFC 3339
//! section 5.6, UTC, nanoseconds): how `svlog -o rfc3339` renders a label and
//! how multilog's `T` action stamps a line. Coded once here: the writer
//! ([`format`]) and the strict reader of a stamp at the start of a line
//! ([`parse`], [`line_stamp`]) are exact inverses for years 0000..9999.

use super::calendar::{civil_from_days, days_from_civil};
use super::fmt::{fmt_nanos, DIGITS2};
use super::{Tai64N, LABEL_LEN};

/// Length of the stamp without its trailing space: `2026-12-01T09:24:28.123456789Z`.
pub const LEN: usize = 30;

/// `t` as `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ` into `out`; `false` (nothing
/// appended) for years outside 0000..9999 or nanoseconds of 10^9 or more.
pub fn format(t: Tai64N, out: &mut Vec<u8>) -> bool {
    if t.nanos >= 1_000_000_000 {
        return false;
    }
    let unix = t.unix_secs();
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let Ok(y) = usize::try_from(y) else {
        return false;
    };
    if y > 9999 {
        return false;
    }
    let sod = unix.rem_euclid(86_400) as usize;
    out.extend_from_slice(&DIGITS2[y / 100]);
    out.extend_from_slice(&DIGITS2[y % 100]);
    out.push(b'-');
    out.extend_from_slice(&DIGITS2[m as usize]);
    out.push(b'-');
    out.extend_from_slice(&DIGITS2[d as usize]);
    out.push(b'T');
    out.extend_from_slice(&DIGITS2[sod / 3600]);
    out.push(b':');
    out.extend_from_slice(&DIGITS2[sod / 60 % 60]);
    out.push(b':');
    out.extend_from_slice(&DIGITS2[sod % 60]);
    out.push(b'.');
    let mut n = [0u8; 10];
    let k = fmt_nanos(t.nanos, &mut n);
    out.extend_from_slice(&n[..k]);
    out.push(b'Z');
    true
}

/// The moment in exactly `LEN` bytes of the form [`format`] writes, or
/// `None` for anything else (another length of fraction, an offset, a
/// lower-case `t`/`z`, a field out of range).
#[must_use]
pub fn parse(s: &[u8]) -> Option<Tai64N> {
    if s.len() != LEN {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<u32> {
        s[a..b].iter().try_fold(0u32, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
        })
    };
    let punct = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (29, b'Z'),
    ];
    if punct.iter().any(|&(i, c)| s[i] != c) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec, nanos) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 29)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d == 0
        || d > mdays[mo as usize - 1]
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let unix = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
    Some(Tai64N::from_unix(unix, nanos))
}

/// The moment a log line starts with and the length of its stamp (without
/// the space after it): a TAI64N label `@` + 24 hex digits (multilog `t`),
/// or an RFC 3339 stamp as [`format`] writes it (multilog `T`). `None` for a
/// line with neither.
#[must_use]
pub fn line_stamp(line: &[u8]) -> Option<(Tai64N, usize)> {
    match line.first() {
        Some(b'@') if line.len() >= LABEL_LEN => {
            Tai64N::from_hex(&line[1..LABEL_LEN]).map(|t| (t, LABEL_LEN))
        }
        Some(b'0'..=b'9') if line.len() >= LEN => parse(&line[..LEN]).map(|t| (t, LEN)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(t: Tai64N) -> String {
        let mut v = Vec::new();
        assert!(format(t, &mut v));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn known_moment() {
        let t = Tai64N::from_unix(1_796_117_068, 123_456_789);
        assert_eq!(fmt(t), "2026-12-01T09:24:28.123456789Z");
        assert_eq!(parse(fmt(t).as_bytes()), Some(t));
    }

    #[test]
    fn round_trips_over_the_range() {
        let mut unix: i64 = -62_167_219_200; // 0000-01-01
        while unix < 253_402_300_800 {
            let t = Tai64N::from_unix(unix, (unix.rem_euclid(1_000_000_000)) as u32);
            assert_eq!(parse(fmt(t).as_bytes()), Some(t), "{unix}");
            unix += 86_400 * 37 + 3_601;
        }
    }

    #[test]
    fn rejects_near_misses() {
        for s in [
            "2026-12-01T09:24:28.12345678Z",
            "2026-12-01t09:24:28.123456789Z",
            "2026-12-01T09:24:28.123456789z",
            "2026-02-29T09:24:28.123456789Z",
            "2026-13-01T09:24:28.123456789Z",
            "2026-12-01T24:00:00.000000000Z",
            "2026-12-01T09:60:28.123456789Z",
            "2026-12-01T09:24:60.123456789Z",
            "2026-12-01 09:24:28.123456789Z",
            "+026-12-01T09:24:28.123456789Z",
        ] {
            assert_eq!(parse(s.as_bytes()), None, "{s}");
        }
        assert!(parse(b"2024-02-29T00:00:00.000000000Z").is_some());
    }

    #[test]
    fn line_stamps_of_both_kinds() {
        let t = Tai64N::from_unix(1_796_117_068, 123_456_789);
        let mut line = t.label().to_vec();
        line.extend_from_slice(b" text");
        assert_eq!(line_stamp(&line), Some((t, LABEL_LEN)));
        let mut line = Vec::new();
        format(t, &mut line);
        line.extend_from_slice(b" text");
        assert_eq!(line_stamp(&line), Some((t, LEN)));
        assert_eq!(line_stamp(b"2026 plain text"), None);
        assert_eq!(line_stamp(b"@4000 short"), None);
        assert_eq!(line_stamp(b""), None);
    }
}
