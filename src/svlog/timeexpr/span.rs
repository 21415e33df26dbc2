//! Relative time expressions: systemd's time spans (`parse_sec()`:
//! `1h30m`, `10min`, `2 days`) with journalctl's `-`/`+` and `ago`/`left`,
//! and GNU `date -d`'s relative items (`10 minutes ago`, `3 weeks`).
//!
//! Seconds, minutes and hours are exact durations. Days, weeks, months and
//! years move the local calendar date and keep the time of day, as
//! `date -d` does (`2 days ago` at 12:00 is 12:00 two days ago, 47 or 49
//! hours back across a DST change; systemd counts 48 hours instead, and
//! months as 30.44 days). The calendar part is applied first, then the
//! exact part, as gnulib's `parse_datetime()` does.

use super::{add_months, local_day};
use crate::tai64::local::LocalZone;
use crate::tai64::Tai64N;

/// What a unit counts.
#[derive(Clone, Copy)]
enum Unit {
    /// Exact nanoseconds.
    Nanos(i128),
    /// Calendar days.
    Days(i64),
    /// Calendar months.
    Months(i64),
}

/// The unit named `w`: single letters as systemd has them (`m` minutes,
/// `M` months), words in any case, singular or plural.
fn unit(w: &[u8]) -> Option<Unit> {
    const S: i128 = 1_000_000_000;
    let u = match w {
        b"s" => return Some(Unit::Nanos(S)),
        b"m" => return Some(Unit::Nanos(60 * S)),
        b"h" => return Some(Unit::Nanos(3600 * S)),
        b"d" => return Some(Unit::Days(1)),
        b"w" => return Some(Unit::Days(7)),
        b"M" => return Some(Unit::Months(1)),
        b"y" => return Some(Unit::Months(12)),
        _ => w.to_ascii_lowercase(),
    };
    let word = |u: &[u8]| {
        Some(match u {
            b"ms" | b"msec" | b"millisecond" => Unit::Nanos(1_000_000),
            b"sec" | b"second" => Unit::Nanos(S),
            b"min" | b"minute" => Unit::Nanos(60 * S),
            b"hr" | b"hour" => Unit::Nanos(3600 * S),
            b"day" => Unit::Days(1),
            b"week" => Unit::Days(7),
            b"fortnight" => Unit::Days(14),
            b"month" => Unit::Months(1),
            b"year" => Unit::Months(12),
            _ => return None,
        })
    };
    word(&u).or_else(|| word(u.strip_suffix(b"s")?))
}

/// Parse a relative expression against `now`.
pub(super) fn relative(b: &[u8], now: Tai64N, zone: &mut LocalZone) -> Option<Tai64N> {
    let (mut sign, mut b) = match b {
        [b'-', r @ ..] => (Some(-1), r),
        [b'+', r @ ..] => (Some(1), r),
        _ => (None, b),
    };
    let (mut nanos, mut days, mut months) = (0i128, 0i64, 0i64);
    let mut items = 0;
    loop {
        b = b.trim_ascii_start();
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            break;
        }
        // 12 digits at most: every sum below stays far from overflow.
        if n > 12 {
            return None;
        }
        let v = b[..n]
            .iter()
            .fold(0i64, |a, c| a * 10 + i64::from(c - b'0'));
        b = &b[n..];
        let mut frac = None;
        if let [b'.', r @ ..] = b {
            let k = r.iter().take_while(|c| c.is_ascii_digit()).count();
            frac = Some(super::frac(&r[..k])?);
            b = &r[k..];
        }
        b = b.trim_ascii_start();
        let k = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        match (unit(&b[..k])?, frac) {
            (Unit::Nanos(per), f) => {
                nanos += i128::from(v) * per + i128::from(f.unwrap_or(0)) * per / 1_000_000_000;
            }
            // A fraction of a calendar unit means nothing definite.
            (_, Some(_)) => return None,
            (Unit::Days(per), None) => days += v * per,
            (Unit::Months(per), None) => months += v * per,
        }
        b = &b[k..];
        items += 1;
        if items > 16 {
            return None;
        }
    }
    if items == 0 {
        return None;
    }
    let word = b.trim_ascii();
    if !word.is_empty() {
        if sign.is_some() {
            return None;
        }
        sign = match word.to_ascii_lowercase().as_slice() {
            b"ago" => Some(-1),
            b"left" => Some(1),
            _ => return None,
        };
    }
    let sign = sign.unwrap_or(1);
    let mut t = now;
    if days != 0 || months != 0 {
        // About 31,700 years either way: far past any log, still exact.
        if months.abs() > 380_000 || days.abs() > 11_600_000 {
            return None;
        }
        let (day, sod) = local_day(now.unix_secs(), zone);
        let day = add_months(day, sign * months) + sign * days;
        t = moved(
            day * 86_400 + sod,
            now.nanos,
            zone.offset(now.unix_secs()),
            zone,
        );
    }
    let total =
        i128::from(t.unix_secs()) * 1_000_000_000 + i128::from(t.nanos) + i128::from(sign) * nanos;
    if total.abs() > 1_000_000_000_000 * 1_000_000_000 {
        return None;
    }
    let secs = total.div_euclid(1_000_000_000) as i64;
    let ns = total.rem_euclid(1_000_000_000) as u32;
    Some(Tai64N::from_unix(secs, ns))
}

/// The moment a calendar move lands on, as gnulib's `parse_datetime()`
/// gets it from `mktime()` with `tm_isdst` of the starting time: in a fold,
/// the time with the starting offset `off` (else the earlier); in a gap,
/// the wall time read with the offset before the gap, i.e. moved forward
/// by the gap's length (02:30 on a day that skips 02:00-03:00 is 03:30).
fn moved(local: i64, nanos: u32, off: i64, zone: &mut LocalZone) -> Tai64N {
    let mut best: Option<i64> = None;
    for probe in [local - 86_400, local, local + 86_400] {
        let o = zone.offset(probe);
        let u = local - o;
        if u + zone.offset(u) == local {
            best = Some(match best {
                Some(b) if b + off == local => b,
                Some(_) if o == off => u,
                Some(b) => b.min(u),
                None => u,
            });
        }
    }
    let u = best.unwrap_or_else(|| local - zone.offset(local - 86_400));
    Tai64N::from_unix(u, nanos)
}
