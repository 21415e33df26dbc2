//! `--since`/`--until` time expressions, as `journalctl --since`
//! (systemd's `parse_timestamp()`) and GNU `date -d` (gnulib's
//! `parse_datetime()`) read them.
//!
//! Absolute forms:
//! - `@` and 24 lowercase hex digits: a TAI64N label, exactly;
//! - `@EPOCH`: Unix seconds, optionally signed, optionally with a fraction
//!   (`@1700000000`, `@-5`, `@1700000000.25`);
//! - RFC 3339: `2026-12-01T09:24:28Z`, `…+01:00`; `t`/`z` and a space
//!   instead of `T` accepted, any number of fraction digits (nanoseconds
//!   kept, more digits cut);
//! - `YYYY-MM-DD[ HH:MM[:SS[.frac]]]` in local time (midnight without a
//!   time);
//! - `HH:MM[:SS[.frac]]`: that time today, local;
//! - `now`; `today`, `yesterday`, `tomorrow`: local midnight of that day,
//!   as journalctl reads them (`date -d yesterday` keeps the time of day
//!   instead); followed by `HH:MM[:SS]`, that time of that day;
//! - any local form may end in ` UTC` to mean UTC instead.
//!
//! Relative forms ([`span`]): `-10min`, `+1h`, `1h30m ago`,
//! `10 minutes ago`, `2 days ago`, `3 weeks`: a sum of numbers with units,
//! before now with a leading `-` or a trailing `ago`, after now with a
//! leading `+`, a trailing `left` or nothing (as `date -d "2 hours"`).
//!
//! Local time is converted with the zone `tai64nlocal` uses
//! ([`crate::tai64::local::LocalZone`], `TZ` as glibc reads it) by
//! searching: the Unix second `u` with `u + offset(u) == local` for the
//! offsets in force one day either side. In a fold (a local time that
//! happens twice, as when clocks go back) the earlier moment is taken, as
//! `date -d` does; in a gap (a local time that never happens, as when
//! clocks go forward) the moment the gap ends, i.e. the first real second
//! after it, where `date -d` reports an invalid date: a range bound that
//! falls into the gap still selects the lines logged after it. (A relative
//! calendar move that lands in a gap or fold follows `date -d` instead:
//! see [`span`].)

mod span;
#[cfg(test)]
mod tests;

use crate::tai64::calendar::{civil_from_days, days_from_civil};
use crate::tai64::local::LocalZone;
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

/// Parse `s` into a moment. `now` is used for relative forms and the day
/// words, `zone` for local ones. `None` if `s` is not one of the forms.
#[must_use]
pub fn parse(s: &str, now: Tai64N, zone: &mut LocalZone) -> Option<Tai64N> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if let Some(r) = s.strip_prefix('@') {
        return at(r.as_bytes());
    }
    if let Some(t) = absolute(s.as_bytes(), now, zone) {
        return Some(t);
    }
    span::relative(s.as_bytes(), now, zone)
}

/// After `@`: a TAI64N label (24 lowercase hex digits) or Unix seconds
/// (`date -d @N`), signed, with an optional fraction.
fn at(b: &[u8]) -> Option<Tai64N> {
    if b.len() == 24 {
        return Tai64N::from_hex(b);
    }
    let (neg, b) = match b {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        _ => (false, b),
    };
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    // 12 digits reach the year 33658: far enough, and no overflow.
    if n == 0 || n > 12 {
        return None;
    }
    let (secs, _) = num(b, n)?;
    let nanos = match &b[n..] {
        [] => 0,
        [b'.', f @ ..] => frac(f)?,
        _ => return None,
    };
    Some(if !neg {
        Tai64N::from_unix(secs, nanos)
    } else if nanos == 0 {
        Tai64N::from_unix(-secs, 0)
    } else {
        Tai64N::from_unix(-secs - 1, 1_000_000_000 - nanos)
    })
}

/// The forms naming a day and a time of day.
fn absolute(b: &[u8], now: Tai64N, zone: &mut LocalZone) -> Option<Tai64N> {
    if b.eq_ignore_ascii_case(b"now") {
        return Some(now);
    }
    // ` UTC`: the local forms in UTC (journalctl, date -d).
    let mut utc_zone;
    let (b, zone) = match b.len().checked_sub(4).map(|n| b.split_at(n)) {
        Some((r, tail)) if tail.eq_ignore_ascii_case(b" utc") => {
            utc_zone = LocalZone::new(Zone::utc());
            (r.trim_ascii_end(), &mut utc_zone)
        }
        _ => (b, zone),
    };
    let word = |w: &[u8]| {
        let n = w.len().min(b.len());
        (b[..n].eq_ignore_ascii_case(w) && matches!(b.get(n), None | Some(b' ' | b'\t')))
            .then(|| b[n..].trim_ascii_start())
    };
    let (days, rest) = if let Some(r) = word(b"today") {
        (local_day(now.unix_secs(), zone).0, r)
    } else if let Some(r) = word(b"yesterday") {
        (local_day(now.unix_secs(), zone).0 - 1, r)
    } else if let Some(r) = word(b"tomorrow") {
        (local_day(now.unix_secs(), zone).0 + 1, r)
    } else if let Some((y, mo, d, rest)) = date(b) {
        let days = days_from_civil(y, mo, d);
        match rest {
            [] => (days, rest),
            [b'T' | b't', r @ ..] if !r.is_empty() => (days, r),
            [b' ' | b'\t', ..] => (days, rest.trim_ascii_start()),
            _ => return None,
        }
    } else {
        // `HH:MM[:SS]` alone: today.
        let (secs, nanos, off) = time(b)?;
        return at_offset(
            local_day(now.unix_secs(), zone).0 * 86_400 + secs,
            nanos,
            off,
            zone,
        );
    };
    if rest.is_empty() {
        return local(days * 86_400, 0, zone);
    }
    let (secs, nanos, off) = time(rest)?;
    at_offset(days * 86_400 + secs, nanos, off, zone)
}

/// Local seconds `secs` with an explicit offset, or local time in `zone`.
fn at_offset(secs: i64, nanos: u32, off: Option<i64>, zone: &mut LocalZone) -> Option<Tai64N> {
    match off {
        Some(off) => Some(Tai64N::from_unix(secs - off, nanos)),
        None => local(secs, nanos, zone),
    }
}

/// `H[H]:MM[:SS[.frac]]` and an optional `Z` or `±HH:MM`: seconds into
/// the day, nanoseconds, and the offset if one was given.
fn time(b: &[u8]) -> Option<(i64, u32, Option<i64>)> {
    let hd = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if hd == 0 || hd > 2 {
        return None;
    }
    let (h, rest) = num(b, hd)?;
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
            nanos = frac(&r[..n])?;
            rest = &r[n..];
        }
    }
    // Second 60: a leap second, read as the next second (as mktime does).
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = h * 3600 + mi * 60 + sec;
    let off = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), r @ ..] => {
            let (oh, r) = num(r, 2)?;
            let r = r.strip_prefix(b":")?;
            let (om, r) = num(r, 2)?;
            if !r.is_empty() || oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            Some(if *sign == b'+' { off } else { -off })
        }
        _ => return None,
    };
    Some((secs, nanos, off))
}

/// Fraction digits (at least one) as nanoseconds, digits past the ninth
/// cut.
fn frac(r: &[u8]) -> Option<u32> {
    if r.is_empty() || !r.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v = 0u32;
    for i in 0..9 {
        v = v * 10 + r.get(i).map_or(0, |c| u32::from(c - b'0'));
    }
    Some(v)
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
    if !(1..=12).contains(&m) || d < 1 || d > i64::from(month_len(y, m as u32)) {
        return None;
    }
    Some((y, m as u32, d as u32, r))
}

/// Days in month `m` (1..=12) of year `y`, proleptic Gregorian.
fn month_len(y: i64, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 31,
    }
}

/// Local `(days since 1970-01-01, seconds into the day)` of `t` in `zone`.
fn local_day(t: i64, zone: &mut LocalZone) -> (i64, i64) {
    let l = t + zone.offset(t);
    (l.div_euclid(86_400), l.rem_euclid(86_400))
}

/// Day `days` moved by `months` calendar months, the day of the month kept
/// or, past the month's end, carried into the next (as `mktime`
/// normalises `tm_mday`: Jan 31 + 1 month is Mar 3, or Mar 2 in a leap year).
fn add_months(days: i64, months: i64) -> i64 {
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    days_from_civil(ny, nm, 1) + i64::from(d) - 1
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
