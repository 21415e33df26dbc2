//! Local time for TAI64N labels, as `tai64nlocal.c` gets it from glibc's
//! `localtime()`, and the `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` rendering.
//!
//! The offset comes from [`super::tz`], a port of glibc's own rules, so the
//! output is byte-identical to daemontools for every label glibc can
//! convert. The offset is cached for the whole interval it holds for (between
//! two transitions, or within one year of a DST rule), and the date for the
//! whole local day, so a line costs a few integer operations and no system
//! call. The civil date is computed on 64-bit integers, so every year glibc
//! accepts (`tm_year` must fit an `int`) is exact, and the year is printed as
//! daemontools prints `1900 + tm_year`: an `int` converted to `unsigned long`
//! (year -1 prints as 18446744073709551615).
//!
//! Differences from daemontools: where glibc's `localtime` fails (the year
//! does not fit an `int`, e.g. for `@ x`, `@zz`, 16-digit or uppercase
//! labels), daemontools dereferences a null pointer and dies of SIGSEGV;
//! [`LocalTime::render`] returns `false` and the caller leaves the line
//! unchanged. `TZ` and `/etc/localtime` are read once at start-up.

use super::calendar::civil_from_days;
use super::fmt::{fmt_nanos, fmt_u64, DIGITS2};
use super::tz::{Span, Zone};
use super::Tai64N;

/// A zone with the answer cached for one interval.
#[derive(Clone, Debug)]
pub struct LocalZone {
    zone: Zone,
    span: Span,
}

impl LocalZone {
    /// Wrap a zone; nothing is cached yet.
    #[must_use]
    pub fn new(zone: Zone) -> Self {
        LocalZone {
            zone,
            span: Span {
                lo: 1,
                hi: 0,
                off: 0,
                hit: 0,
                fail: true,
            },
        }
    }

    /// glibc's answer for Unix time `t` (see [`Span`]).
    #[inline]
    pub(crate) fn span(&mut self, t: i64) -> Span {
        if t < self.span.lo || t >= self.span.hi {
            self.span = self.zone.span(t);
        }
        self.span
    }

    /// The UTC offset in seconds (east positive, leap corrections
    /// subtracted) at Unix time `t`.
    #[inline]
    pub fn offset(&mut self, t: i64) -> i64 {
        self.span(t).off
    }
}

/// Renders labels as `tai64nlocal` does, with a per-day date cache.
#[derive(Clone, Debug)]
pub struct LocalTime {
    zone: LocalZone,
    /// First local second of the cached day (`day_start..day_start+86400`).
    day_start: i64,
    /// `YYYY-MM-DD ` for the cached day.
    date: [u8; 32],
    date_len: usize,
    /// The Unix second `prefix` is for, and whether it converts at all.
    last: Option<(i64, bool)>,
    /// `YYYY-MM-DD HH:MM:SS.` for `last`.
    prefix: [u8; 64],
    prefix_len: usize,
}

impl LocalTime {
    /// A renderer for zone `tz`.
    #[must_use]
    pub fn new(tz: Zone) -> Self {
        LocalTime {
            zone: LocalZone::new(tz),
            day_start: i64::MAX,
            date: [0; 32],
            date_len: 0,
            last: None,
            prefix: [0; 64],
            prefix_len: 0,
        }
    }

    /// A renderer for the zone named by `TZ` (see [`Zone::for_tz`]).
    #[must_use]
    pub(crate) fn from_env() -> Self {
        Self::new(Zone::from_env())
    }

    /// Append `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` for label `t` to `out`.
    /// Returns `false`, appending nothing, where glibc's `localtime` fails
    /// (daemontools then crashes).
    #[inline]
    pub fn render(&mut self, t: Tai64N, out: &mut Vec<u8>) -> bool {
        let unix = t.unix_secs();
        let ok = match self.last {
            Some((u, ok)) if u == unix => ok,
            _ => {
                let ok = self.new_second(unix);
                self.last = Some((unix, ok));
                ok
            }
        };
        if !ok {
            return false;
        }
        let mut nanos = [0u8; 10];
        let n = fmt_nanos(t.nanos, &mut nanos);
        out.extend_from_slice(&self.prefix[..self.prefix_len]);
        out.extend_from_slice(&nanos[..n]);
        true
    }

    /// Fill `prefix` for Unix second `unix`; `false` if it does not convert.
    fn new_second(&mut self, unix: i64) -> bool {
        let span = self.zone.span(unix);
        if span.fail {
            return false;
        }
        let Some(local) = unix.checked_add(span.off) else {
            return false;
        };
        let sod = local.wrapping_sub(self.day_start);
        if !(0..86_400).contains(&sod) && !self.new_day(local) {
            return false;
        }
        let sod = (local - self.day_start) as usize;
        let d = self.date_len;
        self.prefix[..d].copy_from_slice(&self.date[..d]);
        let buf = &mut self.prefix[d..d + 9];
        buf[..2].copy_from_slice(&DIGITS2[sod / 3600]);
        buf[2] = b':';
        buf[3..5].copy_from_slice(&DIGITS2[sod / 60 % 60]);
        buf[5] = b':';
        // 60 in a leap second; a corrupt TZif file could claim more.
        let sec = (sod % 60).saturating_add(usize::try_from(span.hit).unwrap_or(0));
        if let Some(two) = DIGITS2.get(sec) {
            buf[6..8].copy_from_slice(two);
            buf[8] = b'.';
            self.prefix_len = d + 9;
        } else {
            let n = fmt_u64(sec as u64, &mut self.prefix[d + 6..]);
            self.prefix[d + 6 + n] = b'.';
            self.prefix_len = d + 7 + n;
        }
        true
    }

    #[cold]
    fn new_day(&mut self, local: i64) -> bool {
        let day = local.div_euclid(86_400);
        let (y, m, d) = civil_from_days(day);
        // glibc: tm_year = y - 1900 must fit an int, else localtime fails.
        if i32::try_from(y - 1900).is_err() {
            return false;
        }
        // daemontools prints 1900 + tm_year as an int converted to unsigned
        // long: a negative (or wrapped) year comes out as 2^64 - |year|.
        let printed = i64::from(y as i32) as u64;
        let mut n = fmt_u64(printed, &mut self.date);
        self.date[n] = b'-';
        self.date[n + 1..n + 3].copy_from_slice(&DIGITS2[m as usize]);
        self.date[n + 3] = b'-';
        self.date[n + 4..n + 6].copy_from_slice(&DIGITS2[d as usize]);
        self.date[n + 6] = b' ';
        n += 7;
        self.date_len = n;
        self.day_start = day * 86_400;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn render(tz: &Zone, hex: &str) -> Option<String> {
        let mut lt = LocalTime::new(tz.clone());
        let (t, _) = super::super::scan::scan_label(hex.as_bytes());
        let mut out = Vec::new();
        lt.render(t, &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn spec_table_utc() {
        let z = Zone::utc();
        assert_eq!(
            render(&z, "400000006b050c5709c2505c").unwrap(),
            "2026-11-24 04:02:21.163729500"
        );
        assert_eq!(
            render(&z, "3fffffffffffffff00000000").unwrap(),
            "1969-12-31 23:59:49.000000000"
        );
        assert_eq!(
            render(&z, "400000006b050c57ffffffff").unwrap(),
            "2026-11-24 04:02:21.4294967295"
        );
    }

    #[test]
    fn man_page_vector_pacific() {
        // The man page shows 21:03:43, made with a leap-second (right/) zone;
        // daemontools gives 21:04:05 with TZ=US/Pacific.
        let z = Zone::from_posix("PST8PDT,M4.1.0,M10.5.0");
        assert_eq!(
            render(&z, "4000000037c219bf2ef02e94").unwrap(),
            "1999-08-23 21:04:05.787492500"
        );
        let right = Zone::for_tz(Some(OsStr::new("right/US/Pacific")), None);
        if right != Zone::utc() {
            assert_eq!(
                render(&right, "4000000037c219bf2ef02e94").unwrap(),
                "1999-08-23 21:03:43.787492500"
            );
        }
    }

    #[test]
    fn extreme_years() {
        let z = Zone::utc();
        // Verified against daemontools (TZ=UTC).
        assert_eq!(
            render(&z, "3ffffff1868b840a00000000").unwrap(),
            "0-01-01 00:00:00.000000000"
        );
        assert_eq!(
            render(&z, "3ffffff1868b840900000000").unwrap(),
            "18446744073709551615-12-31 23:59:59.000000000"
        );
        assert_eq!(
            render(&z, "4000003afff4418a00000000").unwrap(),
            "10000-01-01 00:00:00.000000000"
        );
        assert_eq!(
            render(&z, "40f0c29d868be0da00000000").unwrap(),
            "2147483647-12-31 21:57:36.000000000"
        );
        assert_eq!(
            render(&z, "40f0c2ab78927f4a00000000").unwrap(),
            "18446744071562069866-01-01 04:19:12.000000000"
        );
        assert_eq!(
            render(&z, "3f0f3d537c5589fa00000000").unwrap(),
            "18446744071562069868-01-01 09:14:24.000000000"
        );
        // daemontools crashes on these.
        assert_eq!(render(&z, "40f0c2ab7c5589fa00000000"), None);
        assert_eq!(render(&z, "3f0f3d537a7404a200000000"), None);
        assert_eq!(render(&z, ""), None);
        assert_eq!(render(&z, "4000000000000000"), None);
        assert_eq!(render(&z, "ffffffffffffffffffffffff"), None);
    }

    #[test]
    fn cache_agrees_with_uncached() {
        let z = Zone::for_tz(Some(OsStr::new("America/New_York")), None);
        let mut c = LocalZone::new(z.clone());
        let mut t = -5_000_000_000i64;
        while t < 5_000_000_000 {
            assert_eq!(c.offset(t), z.span(t).off, "t={t}");
            t += 3_599_777;
        }
        // Exactly at and around a transition (2024-03-10 07:00 UTC), twice.
        for t in [
            1_710_053_999,
            1_710_054_000,
            1_710_054_001,
            1_710_053_999,
            1_710_054_000,
        ] {
            assert_eq!(c.offset(t), z.span(t).off, "t={t}");
        }
    }

    #[test]
    fn real_tzif_mutations_never_panic() {
        let Some(data) = crate::tai64::test_zoneinfo("/usr/share/zoneinfo/right/Europe/Berlin")
        else {
            return;
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut d = data.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = (x as usize) % d.len();
                d[i] = (x >> 32) as u8;
            }
            if let Some(z) = Zone::from_tzif(&d) {
                let mut lt = LocalTime::new(z);
                for t in [
                    i64::MIN,
                    -1_000_000_000_000,
                    0,
                    78_796_800,
                    1_483_228_826,
                    4_000_000_000,
                    i64::MAX,
                ] {
                    let _ = lt.render(Tai64N::from_unix(t, 0), &mut Vec::new());
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn tzif_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                                  t in proptest::prelude::any::<i64>()) {
            // A plausible header so parsing gets past the magic.
            let mut data = b"TZif2".to_vec();
            data.extend_from_slice(&[0; 15]);
            data.extend_from_slice(&body);
            if let Some(z) = Zone::from_tzif(&data) {
                let _ = z.span(t);
                let mut lt = LocalTime::new(z);
                let _ = lt.render(Tai64N::from_unix(t, 0), &mut Vec::new());
            }
        }

        /// jiff as an independent oracle for a TZif zone, 1901-2100.
        #[test]
        fn render_matches_jiff(ts in proptest::collection::vec(-2_170_000_000i64..4_100_000_000, 1..30),
                               nanos in 0u32..1_000_000_000) {
            let Some(data) = crate::tai64::test_zoneinfo("/usr/share/zoneinfo/Europe/London") else {
                return Ok(());
            };
            let j = jiff::tz::TimeZone::tzif("Europe/London", &data).unwrap();
            let mut lt = LocalTime::new(Zone::from_tzif(&data).unwrap());
            for t in ts {
                let mut out = Vec::new();
                proptest::prop_assert!(lt.render(Tai64N::from_unix(t, nanos), &mut out));
                let dt = j.to_datetime(jiff::Timestamp::from_second(t).unwrap());
                let want = format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:09}",
                    dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second(), nanos
                );
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
            }
        }

        #[test]
        fn cached_render_matches_fresh(ts in proptest::collection::vec(-70_000_000_000i64..70_000_000_000, 1..20)) {
            let z = Zone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
            let mut shared = LocalTime::new(z.clone());
            for t in ts {
                let label = Tai64N::from_unix(t, 7);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let ra = shared.render(label, &mut a);
                let rb = LocalTime::new(z.clone()).render(label, &mut b);
                proptest::prop_assert_eq!((ra, a), (rb, b));
            }
        }
    }
}
