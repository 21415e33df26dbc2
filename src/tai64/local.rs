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
    pub fn span(&mut self, t: i64) -> Span {
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

/// `days_from_civil`: days since 1970-01-01 of proleptic Gregorian
/// `y-m-d` (inverse of [`civil_from_days`]).
#[must_use]
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian `(year, month, day)` of day `z` since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, exact over the whole `i64` range
/// used here).
#[must_use]
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

static DIGITS2: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

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
    pub fn from_env() -> Self {
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

/// Decimal `v` into `out`; returns the length (at most 20).
fn fmt_u64(mut v: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = 20;
    while v >= 100 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGITS2[(v % 100) as usize]);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGITS2[v as usize]);
    } else {
        i -= 1;
        tmp[i] = b'0' + v as u8;
    }
    let n = 20 - i;
    out[..n].copy_from_slice(&tmp[i..]);
    n
}

/// Nanoseconds zero-padded to at least 9 digits (`fmt_uint0(n, 9)`): 9
/// digits below 10^9, 10 digits from there to `u32::MAX`.
#[inline]
pub fn fmt_nanos(n: u32, out: &mut [u8]) -> usize {
    let (lead, rest) = if n >= 1_000_000_000 {
        out[0] = b'0' + (n / 1_000_000_000) as u8;
        (1, n % 1_000_000_000)
    } else {
        (0, n)
    };
    let o = &mut out[lead..lead + 9];
    let a = rest / 10_000_000; // 2 digits
    let b = rest / 100_000 % 100;
    let c = rest / 1000 % 100;
    let d = rest / 10 % 100;
    o[0..2].copy_from_slice(&DIGITS2[a as usize]);
    o[2..4].copy_from_slice(&DIGITS2[b as usize]);
    o[4..6].copy_from_slice(&DIGITS2[c as usize]);
    o[6..8].copy_from_slice(&DIGITS2[d as usize]);
    o[8] = b'0' + (rest % 10) as u8;
    lead + 9
}

/// Decimal seconds (`u64`) then `.` and the nanoseconds, as `tai64nfrac`
/// prints them; returns the length (at most 31).
#[inline]
pub fn fmt_frac(secs: u64, nanos: u32, out: &mut [u8; 32]) -> usize {
    let n = fmt_u64(secs, out);
    out[n] = b'.';
    n + 1 + fmt_nanos(nanos, &mut out[n + 1..])
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
    fn civil_round_trip() {
        for day in (-3_652_059i64..2_932_896)
            .step_by(997)
            .chain([i64::from(i32::MAX) * 400, -1_000_000_000_000])
        {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
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
    fn nanos_format() {
        let mut b = [0u8; 16];
        let n = fmt_nanos(5, &mut b);
        assert_eq!(&b[..n], b"000000005");
        let n = fmt_nanos(999_999_999, &mut b);
        assert_eq!(&b[..n], b"999999999");
        let n = fmt_nanos(1_000_000_000, &mut b);
        assert_eq!(&b[..n], b"1000000000");
        let mut f = [0u8; 32];
        for v in [0u64, 9, 10, 99, 100, 101, 12_345, u64::MAX] {
            let n = fmt_u64(v, &mut f);
            assert_eq!(std::str::from_utf8(&f[..n]).unwrap(), v.to_string());
        }
        let n = fmt_frac(u64::MAX, u32::MAX, &mut f);
        assert_eq!(&f[..n], b"18446744073709551615.4294967295");
    }

    proptest::proptest! {
        /// jiff as an independent oracle for a TZif zone, 1901-2100.
        #[test]
        fn render_matches_jiff(ts in proptest::collection::vec(-2_170_000_000i64..4_100_000_000, 1..30),
                               nanos in 0u32..1_000_000_000) {
            let Ok(data) = std::fs::read("/usr/share/zoneinfo/Europe/London") else {
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
