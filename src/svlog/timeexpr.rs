//! `--since`/`--until` time expressions.
//!
//! Forms: `@` and 24 lowercase hex digits (a TAI64N label); RFC 3339
//! (`2026-12-01T09:24:28Z`, `…+01:00`, `t`/`z` and a space instead of `T`
//! accepted, any number of fraction digits, nanoseconds kept, more digits
//! cut); `YYYY-MM-DD[ HH:MM[:SS[.frac]]]` in local time; relative `-Ns`,
//! `-Nm`, `-Nh`, `-Nd` before now.
//!
//! Local time is converted with the zone `tai64nlocal` uses
//! ([`crate::tai64::local::LocalZone`], `TZ` as glibc reads it) by
//! searching: the Unix second `u` with `u + offset(u) == local` for the
//! offsets in force one day either side. In a fold (a local time that
//! happens twice, as when clocks go back) the earlier moment is taken; in a
//! gap (a local time that never happens, as when clocks go forward) the
//! moment the gap ends, i.e. the first real second after it.

use crate::tai64::calendar::days_from_civil;
use crate::tai64::local::LocalZone;
use crate::tai64::Tai64N;

/// Parse `s` into a moment. `now` is used for relative forms, `zone` for
/// local ones. `None` if `s` is not one of the forms.
#[must_use]
pub fn parse(s: &str, now: Tai64N, zone: &mut LocalZone) -> Option<Tai64N> {
    let b = s.as_bytes();
    if let Some(hex) = s.strip_prefix('@') {
        return Tai64N::from_hex(hex.as_bytes());
    }
    if b.first() == Some(&b'-') {
        return relative(&b[1..], now);
    }
    let (y, mo, d, rest) = date(b)?;
    let days = days_from_civil(y, mo, d);
    if rest.is_empty() {
        return local(days * 86_400, 0, zone);
    }
    let sep = rest[0];
    let rest = &rest[1..];
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    let (h, rest) = num(rest, 2)?;
    let rest = rest.strip_prefix(b":")?;
    let (mi, mut rest) = num(rest, 2)?;
    let mut sec = 0;
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix(b":") {
        let (s2, r) = num(r, 2)?;
        sec = s2;
        rest = r;
        if let Some(r) = rest.strip_prefix(b".") {
            let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let mut v = 0u32;
            for i in 0..9 {
                v = v * 10
                    + r.get(i)
                        .filter(|_| i < n)
                        .map_or(0, |c| u32::from(c - b'0'));
            }
            nanos = v;
            rest = &r[n..];
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    match rest {
        [] => local(secs, nanos, zone),
        [b'Z' | b'z'] => Some(Tai64N::from_unix(secs, nanos)),
        [sign @ (b'+' | b'-'), r @ ..] => {
            let (oh, r) = num(r, 2)?;
            let r = r.strip_prefix(b":")?;
            let (om, r) = num(r, 2)?;
            if !r.is_empty() || oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            let off = if *sign == b'+' { off } else { -off };
            Some(Tai64N::from_unix(secs - off, nanos))
        }
        _ => None,
    }
}

/// Exactly `n` ASCII digits.
fn num(b: &[u8], n: usize) -> Option<(i64, &[u8])> {
    if b.len() < n || !b[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = b[..n]
        .iter()
        .fold(0i64, |a, c| a * 10 + i64::from(c - b'0'));
    Some((v, &b[n..]))
}

/// `YYYY-MM-DD`, checked against the month's length.
fn date(b: &[u8]) -> Option<(i64, u32, u32, &[u8])> {
    let (y, r) = num(b, 4)?;
    let r = r.strip_prefix(b"-")?;
    let (m, r) = num(r, 2)?;
    let r = r.strip_prefix(b"-")?;
    let (d, r) = num(r, 2)?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > len {
        return None;
    }
    Some((y, m as u32, d as u32, r))
}

/// `N` and a unit `s`, `m`, `h` or `d`, before `now`.
fn relative(b: &[u8], now: Tai64N) -> Option<Tai64N> {
    let (&unit, digits) = b.split_last()?;
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |a, c| a * 10 + i64::from(c - b'0'));
    let mul = match unit {
        b's' => 1,
        b'm' => 60,
        b'h' => 3600,
        b'd' => 86_400,
        _ => return None,
    };
    Some(Tai64N::from_unix(now.unix_secs() - n * mul, now.nanos))
}

/// The moment whose local time in `zone` is `local` seconds (since
/// 1970-01-01 00:00:00 local): the earlier one in a fold, the end of the
/// gap in a gap.
fn local(local: i64, nanos: u32, zone: &mut LocalZone) -> Option<Tai64N> {
    let mut best: Option<i64> = None;
    // Candidates: local - offset for each offset in force near that time.
    for probe in [local - 86_400, local, local + 86_400] {
        let off = zone.offset(probe);
        let u = local - off;
        if u + zone.offset(u) == local {
            best = Some(best.map_or(u, |b: i64| b.min(u)));
        }
    }
    if let Some(u) = best {
        return Some(Tai64N::from_unix(u, nanos));
    }
    // A gap: the first second after it. Search the transition between the
    // two candidates (offset jumps forward, so local time skips).
    let a = local - zone.offset(local - 86_400);
    let b = local - zone.offset(local + 86_400);
    let (mut lo, mut hi) = (a.min(b), a.max(b));
    let lo_off = zone.offset(lo);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if zone.offset(mid) == lo_off {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(Tai64N::from_unix(hi, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tai64::tz::Zone;
    use proptest::prelude::*;

    fn utc() -> LocalZone {
        LocalZone::new(Zone::utc())
    }

    fn zone(name: &str) -> Option<LocalZone> {
        let p = format!("/usr/share/zoneinfo/{name}");
        crate::tai64::test_zoneinfo(&p)?;
        Some(LocalZone::new(Zone::for_tz(
            Some(std::ffi::OsStr::new(name)),
            None,
        )))
    }

    fn now() -> Tai64N {
        Tai64N::from_unix(1_800_000_000, 5)
    }

    fn p(s: &str) -> Option<i64> {
        parse(s, now(), &mut utc()).map(Tai64N::unix_secs)
    }

    #[test]
    fn forms() {
        assert_eq!(
            parse("@400000006b050c5709c2505c", now(), &mut utc()),
            Tai64N::from_hex(b"400000006b050c5709c2505c")
        );
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("2026-12-01T09:24:28Z"), Some(1_796_117_068));
        assert_eq!(p("2026-12-01T09:24:28+01:00"), Some(1_796_117_068 - 3600));
        assert_eq!(p("2026-12-01T09:24:28-05:30"), Some(1_796_117_068 + 19_800));
        assert_eq!(
            parse("2026-12-01T09:24:28.123456789123Z", now(), &mut utc()).map(|t| t.nanos),
            Some(123_456_789)
        );
        assert_eq!(
            parse("2026-12-01 09:24:28.5", now(), &mut utc()).map(|t| t.nanos),
            Some(500_000_000)
        );
        assert_eq!(p("2026-12-01"), Some(1_796_083_200));
        assert_eq!(p("2026-12-01 09:24"), Some(1_796_117_040));
        assert_eq!(p("-30s"), Some(1_800_000_000 - 30));
        assert_eq!(p("-10m"), Some(1_800_000_000 - 600));
        assert_eq!(p("-2h"), Some(1_800_000_000 - 7200));
        assert_eq!(p("-3d"), Some(1_800_000_000 - 3 * 86_400));
    }

    #[test]
    fn rejects() {
        for s in [
            "",
            "@",
            "@400000006B050C5709C2505C",
            "@4000",
            "-",
            "-s",
            "-5",
            "-5y",
            "2026-13-01",
            "2026-02-29",
            "2026-12-01T",
            "2026-12-01T25:00",
            "2026-12-01T09:24:28.",
            "2026-12-01T09:24:28+1",
            "2026-12-01T09:24:28Zx",
            "2026-1-01",
            "yesterday",
        ] {
            assert_eq!(parse(s, now(), &mut utc()), None, "{s:?}");
        }
        assert!(p("2024-02-29").is_some());
    }

    #[test]
    fn dst_berlin() {
        let Some(mut z) = zone("Europe/Berlin") else {
            return;
        };
        // Winter: UTC+1.
        let t = parse("2026-01-15 12:00", now(), &mut z).unwrap();
        assert_eq!(Some(t.unix_secs()), p("2026-01-15T11:00:00Z"));
        // Gap: 2026-03-29 02:30 does not exist; the gap ends at 01:00Z.
        let t = parse("2026-03-29 02:30", now(), &mut z).unwrap();
        assert_eq!(Some(t.unix_secs()), p("2026-03-29T01:00:00Z"));
        // Fold: 2026-10-25 02:30 happens twice; the earlier is 00:30Z.
        let t = parse("2026-10-25 02:30", now(), &mut z).unwrap();
        assert_eq!(Some(t.unix_secs()), p("2026-10-25T00:30:00Z"));
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(u in -2_000_000_000i64..8_000_000_000, nanos in 0u32..1_000_000_000) {
            let days = u.div_euclid(86_400);
            let sod = u.rem_euclid(86_400);
            let (y, m, d) = crate::tai64::calendar::civil_from_days(days);
            let s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
                sod / 3600, sod / 60 % 60, sod % 60);
            let t = parse(&s, now(), &mut utc());
            prop_assert_eq!(t, Some(Tai64N::from_unix(u, nanos)));
            // The same moment as local time in UTC.
            let s2 = s.replace('T', " ").trim_end_matches('Z').to_string();
            prop_assert_eq!(parse(&s2, now(), &mut utc()), Some(Tai64N::from_unix(u, nanos)));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s, now(), &mut utc());
        }

        #[test]
        fn local_inverts_offset(u in 0i64..4_000_000_000) {
            if let Some(mut z) = zone("America/New_York") {
                let off = z.offset(u);
                let t = local(u + off, 0, &mut z).unwrap().unix_secs();
                // Same local time; the earliest such moment.
                prop_assert_eq!(t + z.offset(t), u + off);
                prop_assert!(t <= u);
            }
        }
    }
}
