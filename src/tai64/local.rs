//! Local time for TAI64N labels, as `tai64nlocal.c` gets it from glibc's
//! `localtime()`, and the `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` rendering.
//!
//! The zone is chosen as glibc's `tzset` does:
//!
//! * `TZ` unset: `/etc/localtime` (UTC if it cannot be read);
//! * `TZ` empty: UTC;
//! * otherwise, after dropping one leading `:`, the value is a TZif file
//!   (absolute path, or relative to `$TZDIR`, default `/usr/share/zoneinfo`),
//!   and if no such file can be read, a POSIX rule string such as
//!   `EST5EDT,M3.2.0,M11.1.0`. A string that is neither gives UTC.
//!
//! Offsets come from `jiff` (it reads TZif files and POSIX rules itself; no
//! libc call, no per-line `stat` of `/etc/localtime` as glibc's `localtime`
//! does). The offset is cached for the whole interval between two
//! transitions, and the date for the whole local day, so a line costs a few
//! integer operations.
//!
//! Moments outside jiff's range (years beyond ±9999) are mapped into it by
//! whole 400-year Gregorian cycles: the calendar and every POSIX rule repeat
//! with that period, which is how glibc's own rule arithmetic behaves for
//! those years. The civil date is computed here on 64-bit integers, so years
//! up to glibc's limit (`tm_year` must fit an `int`) are exact.
//!
//! Differences from daemontools:
//! * when glibc's `localtime` fails (the year does not fit an `int`, e.g. for
//!   `@ x`, `@zz`, 16-digit or uppercase labels), daemontools dereferences a
//!   null pointer and dies of SIGSEGV; [`LocalTime::render`] returns `false`
//!   and the caller leaves the line unchanged;
//! * `/etc/localtime` and `TZ` are read once at start-up, not per line;
//! * leap-second (`right/`) zones are read without their leap-second table;
//! * a `TZ` with DST but no rule (`FOO5BAR`) gets the US rule
//!   `M3.2.0,M11.1.0` (glibc takes it from the `posixrules` file, which is
//!   New York on Debian); a malformed `TZ` gives UTC, where glibc keeps
//!   whatever prefix it could parse.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Tai64N;

/// Seconds in 400 Gregorian years (146097 days): the period of the calendar
/// and of every POSIX DST rule.
const CYCLE: i64 = 146_097 * 86_400;
/// Upper end of the window where jiff is asked directly (about year 9000).
const JIFF_HI: i64 = 221_845_392_000;
/// Lower end of that window (about year -9000).
const JIFF_LO: i64 = -346_138_000_000;

/// The zone glibc would use for this value of `TZ` (`None`: unset).
#[must_use]
pub fn zone_for(tz: Option<&OsStr>, tzdir: Option<&OsStr>) -> TimeZone {
    let Some(tz) = tz else {
        return read_tzif(Path::new("/etc/localtime")).unwrap_or(TimeZone::UTC);
    };
    let mut v = tz.as_bytes();
    if v.is_empty() {
        return TimeZone::UTC;
    }
    if v[0] == b':' {
        v = &v[1..];
    }
    let path = if v.first() == Some(&b'/') {
        PathBuf::from(OsStr::from_bytes(v))
    } else {
        let dir = tzdir.map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from);
        dir.join(OsStr::from_bytes(v))
    };
    if !v.is_empty() {
        if let Some(z) = read_tzif(&path) {
            return z;
        }
    }
    let Ok(s) = std::str::from_utf8(v) else {
        return TimeZone::UTC;
    };
    if let Ok(z) = TimeZone::posix(s) {
        return z;
    }
    // DST named but no rule: glibc uses the posixrules file (New York).
    if !s.contains(',') {
        if let Ok(z) = TimeZone::posix(&format!("{s},M3.2.0,M11.1.0")) {
            return z;
        }
    }
    TimeZone::UTC
}

/// The zone from the process environment (`TZ`, `TZDIR`).
#[must_use]
pub fn zone_from_env() -> TimeZone {
    zone_for(
        std::env::var_os("TZ").as_deref(),
        std::env::var_os("TZDIR").as_deref(),
    )
}

fn read_tzif(path: &Path) -> Option<TimeZone> {
    let data = std::fs::read(path).ok()?;
    TimeZone::tzif("Local", &data).ok()
}

/// A time zone with the UTC offset cached for one transition interval.
#[derive(Clone, Debug)]
pub struct LocalZone {
    tz: TimeZone,
    lo: i64,
    hi: i64,
    off: i64,
}

impl LocalZone {
    /// Wrap a zone; nothing is cached yet.
    #[must_use]
    pub fn new(tz: TimeZone) -> Self {
        LocalZone {
            tz,
            lo: 1,
            hi: 0,
            off: 0,
        }
    }

    /// The UTC offset in seconds (east positive) at Unix time `t`.
    #[inline]
    pub fn offset(&mut self, t: i64) -> i64 {
        if t >= self.lo && t < self.hi {
            self.off
        } else {
            self.refill(t)
        }
    }

    #[cold]
    fn refill(&mut self, t: i64) -> i64 {
        // Map t into jiff's range by whole 400-year cycles.
        let shift = if t > JIFF_HI {
            ((t - JIFF_HI) / CYCLE + 1) * CYCLE
        } else if t < JIFF_LO {
            -(((JIFF_LO - t) / CYCLE + 1) * CYCLE)
        } else {
            0
        };
        let tt = t - shift;
        let Ok(ts) = Timestamp::from_second(tt) else {
            return 0;
        };
        let off = i64::from(self.tz.to_offset(ts).seconds());
        // The transition at or before tt, and the one strictly after it.
        let lo = Timestamp::from_second(tt + 1)
            .ok()
            .and_then(|n| self.tz.preceding(n).next())
            .map_or(i64::MIN, |tr| tr.timestamp().as_second());
        let hi = self
            .tz
            .following(ts)
            .next()
            .map_or(i64::MAX, |tr| tr.timestamp().as_second());
        let (lo, hi) = if lo > tt || hi <= tt {
            (t, t.saturating_add(1)) // should not happen; cache just t
        } else {
            (lo.saturating_add(shift), hi.saturating_add(shift))
        };
        self.lo = lo;
        self.hi = hi;
        self.off = off;
        off
    }
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
}

impl LocalTime {
    /// A renderer for zone `tz`.
    #[must_use]
    pub fn new(tz: TimeZone) -> Self {
        LocalTime {
            zone: LocalZone::new(tz),
            day_start: i64::MAX,
            date: [0; 32],
            date_len: 0,
        }
    }

    /// A renderer for the zone named by the environment (see [`zone_for`]).
    #[must_use]
    pub fn from_env() -> Self {
        Self::new(zone_from_env())
    }

    /// Append `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` for label `t` to `out`.
    /// Returns `false`, appending nothing, where glibc's `localtime` fails
    /// (daemontools then crashes).
    #[inline]
    pub fn render(&mut self, t: Tai64N, out: &mut Vec<u8>) -> bool {
        let unix = t.unix_secs();
        let off = self.zone.offset(unix);
        let Some(local) = unix.checked_add(off) else {
            return false;
        };
        let sod = local.wrapping_sub(self.day_start);
        if !(0..86_400).contains(&sod) && !self.new_day(local) {
            return false;
        }
        let sod = (local - self.day_start) as usize;
        let mut buf = [0u8; 9 + 11];
        buf[..2].copy_from_slice(&DIGITS2[sod / 3600]);
        buf[2] = b':';
        buf[3..5].copy_from_slice(&DIGITS2[sod / 60 % 60]);
        buf[5] = b':';
        buf[6..8].copy_from_slice(&DIGITS2[sod % 60]);
        buf[8] = b'.';
        let n = fmt_nanos(t.nanos, &mut buf[9..]);
        out.extend_from_slice(&self.date[..self.date_len]);
        out.extend_from_slice(&buf[..9 + n]);
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
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
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

    fn render(tz: &TimeZone, hex: &str) -> Option<String> {
        let mut lt = LocalTime::new(tz.clone());
        let (t, _) = super::super::scan::scan_label(hex.as_bytes());
        let mut out = Vec::new();
        lt.render(t, &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn spec_table_utc() {
        let z = TimeZone::UTC;
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
        let z = TimeZone::posix("PST8PDT,M4.1.0,M10.5.0").unwrap();
        assert_eq!(
            render(&z, "4000000037c219bf2ef02e94").unwrap(),
            "1999-08-23 21:04:05.787492500"
        );
    }

    #[test]
    fn extreme_years() {
        let z = TimeZone::UTC;
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
    fn civil_matches_jiff() {
        for day in (-3_652_059i64..2_932_896).step_by(997) {
            let (y, m, d) = civil_from_days(day);
            let ts = Timestamp::from_second(day * 86_400).unwrap();
            let dt = TimeZone::UTC.to_datetime(ts);
            assert_eq!(
                (y, m, d),
                (i64::from(dt.year()), dt.month() as u32, dt.day() as u32)
            );
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
        let n = fmt_frac(u64::MAX, u32::MAX, &mut f);
        assert_eq!(&f[..n], b"18446744073709551615.4294967295");
    }

    #[test]
    fn offset_cache_agrees_with_jiff() {
        let tz = zone_for(Some(OsStr::new("America/New_York")), None);
        let mut z = LocalZone::new(tz.clone());
        let mut t = -5_000_000_000i64;
        while t < 5_000_000_000 {
            let want = i64::from(tz.to_offset(Timestamp::from_second(t).unwrap()).seconds());
            assert_eq!(z.offset(t), want, "t={t}");
            t += 3_599_777;
        }
        // Exactly at and around a transition (2024-03-10 07:00 UTC).
        for t in [1_710_053_999, 1_710_054_000, 1_710_054_001, 1_710_053_999] {
            let want = i64::from(tz.to_offset(Timestamp::from_second(t).unwrap()).seconds());
            assert_eq!(z.offset(t), want, "t={t}");
        }
    }

    #[test]
    fn far_future_uses_the_rule() {
        let tz = TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        let mut z = LocalZone::new(tz.clone());
        // July and January of some year ~ 10^6 and ~ -10^6.
        let july = 31_556_952i64 * 1_000_000 + 200 * 86_400;
        assert_eq!(z.offset(july), -4 * 3600);
        assert_eq!(z.offset(july + 180 * 86_400), -5 * 3600);
        assert_eq!(z.offset(-july), -4 * 3600);
        assert_eq!(z.offset(-july - 180 * 86_400), -5 * 3600);
    }

    #[test]
    fn zone_selection() {
        assert_eq!(zone_for(Some(OsStr::new("")), None), TimeZone::UTC);
        let ny = zone_for(
            Some(OsStr::new(":/usr/share/zoneinfo/America/New_York")),
            None,
        );
        let ts = Timestamp::from_second(1_720_000_000).unwrap();
        if Path::new("/usr/share/zoneinfo/America/New_York").exists() {
            assert_eq!(ny.to_offset(ts).seconds(), -4 * 3600);
        }
        let p = zone_for(Some(OsStr::new("EST5EDT,M3.2.0,M11.1.0")), None);
        assert_eq!(p.to_offset(ts).seconds(), -4 * 3600);
        let norule = zone_for(
            Some(OsStr::new("FOO5BAR")),
            Some(OsStr::new("/nonexistent")),
        );
        assert_eq!(norule.to_offset(ts).seconds(), -4 * 3600);
        let junk = zone_for(Some(OsStr::new("No/Such/Zone")), None);
        assert_eq!(junk.to_offset(ts).seconds(), 0);
    }
}
