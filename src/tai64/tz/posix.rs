//! POSIX TZ rule strings as glibc reads and applies them: ports
//! `__tzset_parse_tz`, `parse_tzname`, `parse_offset`, `parse_rule`,
//! `compute_change` and `__tz_compute` of glibc's `time/tzset.c`, quirks
//! included (see [`super`]).

use super::Span;
use crate::tai64::calendar::{days_from_civil, is_leap, MON_YDAY, SECSPERDAY};

/// Kind of a DST change date (glibc's `J0`, `J1`, `M`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum RuleKind {
    /// `n`: zero-based day of year (leap days count).
    #[default]
    J0,
    /// `Jn`: one-based day of year, February 29 never counted.
    J1,
    /// `Mm.n.d`: day `d` of week `n` of month `m`.
    M,
}

/// One of glibc's two `tz_rule`s: offset (seconds east) and change date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TzRule {
    offset: i64,
    kind: RuleKind,
    m: u16,
    n: u16,
    d: u16,
    secs: i64,
}

/// A parsed POSIX TZ string: rule 0 is standard time (and the DST start
/// date), rule 1 DST (and the DST end date).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rules {
    r: [TzRule; 2],
}

impl TzRule {
    /// `compute_change`: the UTC moment of this rule's change in `year`.
    fn change(&self, year: i32) -> i64 {
        let mut t: i64 = if year > 1970 {
            let days = (year - 1970)
                .wrapping_mul(365)
                .wrapping_add((year - 1) / 4 - 1970 / 4)
                .wrapping_sub((year - 1) / 100 - 1970 / 100)
                .wrapping_add((year - 1) / 400 - 1970 / 400);
            i64::from(days) * SECSPERDAY
        } else {
            0
        };
        let leap = usize::from(is_leap(year));
        match self.kind {
            RuleKind::J1 => {
                t += (i64::from(self.d) - 1) * SECSPERDAY;
                if self.d >= 60 && leap == 1 {
                    t += SECSPERDAY;
                }
            }
            RuleKind::J0 => t += i64::from(self.d) * SECSPERDAY,
            RuleKind::M => {
                // m is 1..=12 unless the rule was rejected after its `M`;
                // glibc then indexes __mon_yday[leap][m - 1 ..= m] past the
                // row, into the other row or beyond (taken as 0 here).
                let flat = |i: usize| MON_YDAY.as_flattened().get(i).map_or(0, |&v| i32::from(v));
                let at = leap * 13 + usize::from(self.m);
                let before = if at == 0 { 0 } else { flat(at - 1) };
                let mlen = flat(at) - before;
                t += i64::from(before) * SECSPERDAY;
                let rm = i32::from(self.m);
                let m1 = (rm + 9) % 12 + 1;
                let yy0 = if rm <= 2 { year.wrapping_sub(1) } else { year };
                let yy1 = yy0 / 100;
                let yy2 = yy0 % 100;
                let mut dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7;
                if dow < 0 {
                    dow += 7;
                }
                let mut d = i32::from(self.d) - dow;
                if d < 0 {
                    d += 7;
                }
                for _ in 1..self.n {
                    if d + 7 >= mlen {
                        break;
                    }
                    d += 7;
                }
                t += i64::from(d) * SECSPERDAY;
            }
        }
        t - self.offset + self.secs
    }
}

impl Rules {
    /// `__tzset_parse_tz`, quirks included: what cannot be parsed is left
    /// as zero (UTC), as glibc leaves it.
    #[must_use]
    pub(crate) fn parse(s: &[u8]) -> Self {
        Self::parse_full(s).0
    }

    /// [`Rules::parse`], and whether DST was named without a rule (glibc
    /// then tries the `posixrules` file before the US rule used here).
    pub(super) fn parse_full(s: &[u8]) -> (Self, bool) {
        let mut no_rule = false;
        let mut r = Rules::default();
        let mut p = Parser { s, i: 0 };
        if p.tzname() && r.offset(&mut p, 0) {
            if p.at_end() {
                r.r[1].offset = r.r[0].offset;
            } else {
                if p.tzname() {
                    r.offset(&mut p, 1);
                    if p.at_end() || (p.peek() == b',' && p.s.len() == p.i + 1) {
                        // No rule: the US one, unless posixrules is used.
                        no_rule = true;
                        p = Parser {
                            s: b",M3.2.0,M11.1.0",
                            i: 0,
                        };
                    }
                }
                if r.rule(&mut p, 0) {
                    r.rule(&mut p, 1);
                }
            }
        }
        (r, no_rule)
    }

    /// The standard and DST offsets (seconds east).
    pub(super) fn offsets(&self) -> (i64, i64) {
        (self.r[0].offset, self.r[1].offset)
    }

    /// `parse_offset`.
    fn offset(&mut self, p: &mut Parser<'_>, which: usize) -> bool {
        let c = p.peek();
        if which == 0 && (c == 0 || (c != b'+' && c != b'-' && !c.is_ascii_digit())) {
            return false;
        }
        let sign = if c == b'+' || c == b'-' {
            p.i += 1;
            if c == b'-' {
                1
            } else {
                -1
            }
        } else {
            -1
        };
        match p.hms() {
            Some((h, m, s)) => {
                self.r[which].offset = sign
                    * (i64::from(s.min(59))
                        + 60 * i64::from(m.min(59))
                        + 3600 * i64::from(h.min(24)));
                true
            }
            None if which == 0 => {
                self.r[0].offset = 0;
                false
            }
            None => {
                self.r[1].offset = self.r[0].offset + 3600;
                true
            }
        }
    }

    /// `parse_rule`.
    fn rule(&mut self, p: &mut Parser<'_>, which: usize) -> bool {
        let r = &mut self.r[which];
        if p.peek() == b',' {
            p.i += 1;
        }
        let c = p.peek();
        if c == b'J' || c.is_ascii_digit() {
            r.kind = if c == b'J' {
                RuleKind::J1
            } else {
                RuleKind::J0
            };
            if c == b'J' {
                p.i += 1;
                if !p.peek().is_ascii_digit() {
                    return false;
                }
            }
            let Some(d) = p.ulong() else { return false };
            if d > 365 || (r.kind == RuleKind::J1 && d == 0) {
                return false;
            }
            r.d = d as u16;
        } else if c == b'M' {
            r.kind = RuleKind::M;
            p.i += 1;
            // sscanf stores each field it converts before the range
            // check, so a rejected rule still leaves them behind.
            let m = p.hu();
            if let Some(m) = m {
                r.m = m;
            }
            let n = m.and_then(|_| p.lit(b'.')).and_then(|()| p.hu());
            if let Some(n) = n {
                r.n = n;
            }
            let d = n.and_then(|_| p.lit(b'.')).and_then(|()| p.hu());
            if let Some(d) = d {
                r.d = d;
            }
            let (Some(m), Some(n), Some(d)) = (m, n, d) else {
                return false;
            };
            if !(1..=12).contains(&m) || !(1..=5).contains(&n) || d > 6 {
                return false;
            }
        } else if c == 0 {
            r.kind = RuleKind::M;
            (r.m, r.n, r.d) = if which == 0 { (3, 2, 0) } else { (11, 1, 0) };
        } else {
            return false;
        }
        let c = p.peek();
        if c != 0 && c != b'/' && c != b',' {
            return false;
        }
        if c == b'/' {
            p.i += 1;
            if p.at_end() {
                return false;
            }
            let neg = p.peek() == b'-';
            if neg {
                p.i += 1;
            }
            let (h, m, s) = p.hms_partial((2, 0, 0));
            let v = 3600 * i64::from(h) + 60 * i64::from(m) + i64::from(s);
            r.secs = if neg { -v } else { v };
        } else {
            r.secs = 2 * 3600;
        }
        true
    }

    /// `__tz_compute` for a moment in UTC year `year`, plus the interval
    /// (clipped to `lo..hi` and to the UTC year) over which it holds.
    pub(super) fn compute(&self, t: i64, (true_year, year): (i64, i32), lo: i64, hi: i64) -> Span {
        let c0 = self.r[0].change(year);
        let c1 = self.r[1].change(year);
        let isdst = if c0 > c1 {
            t < c1 || t >= c0
        } else {
            t >= c0 && t < c1
        };
        let ystart = days_from_civil(true_year, 1, 1) * SECSPERDAY;
        let ynext = days_from_civil(true_year + 1, 1, 1) * SECSPERDAY;
        let mut a = lo.max(ystart);
        let mut b = hi.min(ynext);
        for c in [c0, c1] {
            if c <= t {
                a = a.max(c);
            } else {
                b = b.min(c);
            }
        }
        Span {
            lo: a,
            hi: b,
            off: self.r[usize::from(isdst)].offset,
            hit: 0,
            fail: false,
        }
    }
}

#[path = "posix_scan.rs"]
mod scan;
use scan::Parser;

#[cfg(test)]
#[path = "posix_tests.rs"]
mod tests;
