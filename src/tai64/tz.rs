//! glibc's `localtime` offset rules, ported so `tai64nlocal` is byte-identical
//! to daemontools linked against glibc (ports glibc `time/tzset.c`
//! (`tzset_internal`, `__tzset_parse_tz`, `parse_tzname`, `parse_offset`,
//! `parse_rule`, `compute_change`, `__tz_compute`) and `time/tzfile.c`
//! (`__tzfile_read`, `__tzfile_compute`)).
//!
//! A general tz library gives the *right* answer; daemontools prints glibc's
//! answer, which differs in corners that labels reach: a POSIX rule string
//! (`TZ=EST5EDT,M3.2.0,M11.1.0`) gives standard time for every moment before
//! 1970 (and DST for southern-hemisphere rules); the rule year is the UTC
//! year; the day count of years after 5.8 million wraps in `int`; leap-second
//! (`right/`) zones subtract their corrections and show second `60`.
//!
//! Zone selection follows `tzset_internal`: `TZ` unset means
//! `/etc/localtime`; empty means UTC; one leading `:` is dropped; then a TZif
//! file is tried (absolute, or under `$TZDIR`, default
//! `/usr/share/zoneinfo`), then the value is parsed as a POSIX string.
//!
//! Differences from glibc: a POSIX string naming DST without a rule
//! (`FOO3BAR`) borrows the `posixrules` file's transitions as glibc's
//! `__tzfile_default` does, but the fall-back instants come out a few hours
//! off glibc's when the offsets differ from the file's own (exact when they
//! match, e.g. `EST5EDT`-like strings with Debian's New York `posixrules`);
//! without that file the US rule `M3.2.0,M11.1.0` is used. The zone is read
//! once, not re-checked on every call. Only regular files are read, opened
//! with `O_NONBLOCK` (glibc's `fopen` of a FIFO without a writer blocks
//! forever); a body over [`MAX_BODY`] is refused and at most [`MAX_FOOTER`]
//! bytes of footer are read (glibc reads any size).

use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::local::{civil_from_days, days_from_civil};

const SECSPERDAY: i64 = 86_400;

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
pub struct Rules {
    r: [TzRule; 2],
}

/// TZif data as glibc keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tzif {
    trans: Vec<i64>,
    idx: Vec<u8>,
    /// `(utoff, isdst)`.
    types: Vec<(i64, bool)>,
    /// `(transition, correction)`.
    leaps: Vec<(i64, i64)>,
    /// Per type: `(isstd, isut)` indicators.
    flags: Vec<(bool, bool)>,
    spec: Option<Rules>,
}

/// A time zone as glibc's `localtime` would use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    tzif: Option<Tzif>,
    rules: Rules,
}

/// The answer for one moment, valid for every `t` in `lo..hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First second the answer holds for.
    pub lo: i64,
    /// First second it no longer holds for.
    pub hi: i64,
    /// `tm_gmtoff - leap_correction`: add to Unix time for local time.
    pub off: i64,
    /// Leap seconds to add to `tm_sec` (glibc's `leap_extra_secs`).
    pub hit: i64,
    /// `localtime` fails (returns NULL) here.
    pub fail: bool,
}

impl Zone {
    /// UTC.
    #[must_use]
    pub fn utc() -> Self {
        Zone {
            tzif: None,
            rules: Rules::default(),
        }
    }

    /// The zone glibc selects for `TZ` = `tz` (`None`: unset) and `TZDIR`.
    #[must_use]
    pub fn for_tz(tz: Option<&OsStr>, tzdir: Option<&OsStr>) -> Self {
        let v: &[u8] = match tz {
            None => b"/etc/localtime",
            Some(s) if s.is_empty() => b"Universal",
            Some(s) => {
                let b = s.as_bytes();
                let b = b.strip_prefix(b":").unwrap_or(b);
                if b.is_empty() {
                    b"/etc/localtime"
                } else {
                    b
                }
            }
        };
        let path = if v.first() == Some(&b'/') {
            PathBuf::from(OsStr::from_bytes(v))
        } else {
            let dir = match tzdir {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => PathBuf::from("/usr/share/zoneinfo"),
            };
            dir.join(OsStr::from_bytes(v))
        };
        if let Some(z) = read_tzif(&path) {
            return Zone {
                tzif: Some(z),
                rules: Rules::default(),
            };
        }
        if tz.is_none() || v == b"/etc/localtime" {
            return Self::utc();
        }
        let (rules, no_rule) = Rules::parse_full(v);
        if no_rule {
            // __tzfile_default: borrow the transitions of `posixrules`.
            let dir = match tzdir {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => PathBuf::from("/usr/share/zoneinfo"),
            };
            if let Some(z) = read_tzif(&dir.join("posixrules")).and_then(|z| z.into_default(&rules))
            {
                return Zone {
                    tzif: Some(z),
                    rules: Rules::default(),
                };
            }
        }
        Zone { tzif: None, rules }
    }

    /// The zone from the process environment.
    #[must_use]
    pub fn from_env() -> Self {
        Self::for_tz(
            std::env::var_os("TZ").as_deref(),
            std::env::var_os("TZDIR").as_deref(),
        )
    }

    /// A zone from TZif bytes (`None` if they are not TZif).
    #[must_use]
    pub fn from_tzif(data: &[u8]) -> Option<Self> {
        Some(Zone {
            tzif: Some(parse_tzif(data)?),
            rules: Rules::default(),
        })
    }

    /// A zone from a POSIX TZ string, parsed as glibc does.
    #[must_use]
    pub fn from_posix(s: &str) -> Self {
        Zone {
            tzif: None,
            rules: Rules::parse(s.as_bytes()),
        }
    }

    /// glibc's offset for Unix time `t` (`__tz_convert` up to the final
    /// `__offtime`), with the interval it holds for.
    #[must_use]
    pub fn span(&self, t: i64) -> Span {
        match &self.tzif {
            None => match utc_year(t) {
                Some(y) => self.rules.compute(t, y, i64::MIN, i64::MAX),
                None => Span {
                    lo: t,
                    hi: t.saturating_add(1),
                    off: 0,
                    hit: 0,
                    fail: true,
                },
            },
            Some(z) => z.span(t),
        }
    }
}

/// The UTC year of `t` if `__offtime(t, 0)` succeeds (year - 1900 fits an
/// `int`): the true year, and `1900 + tm_year` as C computes it in `int`.
fn utc_year(t: i64) -> Option<(i64, i32)> {
    let (y, _, _) = civil_from_days(t.div_euclid(SECSPERDAY));
    i32::try_from(y - 1900)
        .ok()
        .map(|ty| (y, 1900i32.wrapping_add(ty)))
}

fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

static MON_YDAY: [[u16; 13]; 2] = [
    [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365],
    [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366],
];

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
    pub fn parse(s: &[u8]) -> Self {
        Self::parse_full(s).0
    }

    /// [`Rules::parse`], and whether DST was named without a rule (glibc
    /// then tries the `posixrules` file before the US rule used here).
    fn parse_full(s: &[u8]) -> (Self, bool) {
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
    fn compute(&self, t: i64, (true_year, year): (i64, i32), lo: i64, hi: i64) -> Span {
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

/// A byte cursor with glibc's `sscanf("%hu")` and `strtoul` subsets.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len() || self.s[self.i] == 0
    }

    fn lit(&mut self, c: u8) -> Option<()> {
        (self.peek() == c).then(|| self.i += 1)
    }

    /// `parse_tzname`: 3+ letters, or `<` 3+ of `[A-Za-z0-9+-]` `>`.
    fn tzname(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_ascii_alphabetic() {
            self.i += 1;
        }
        if self.i - start >= 3 {
            return true;
        }
        self.i = start;
        if self.peek() != b'<' {
            return false;
        }
        self.i += 1;
        let s = self.i;
        while matches!(self.peek(), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'+' | b'-') {
            self.i += 1;
        }
        let len = self.i - s;
        if self.peek() != b'>' || len < 3 {
            self.i = start;
            return false;
        }
        self.i += 1;
        true
    }

    /// `%hu`: optional sign, decimal digits, value modulo 2^16.
    fn hu(&mut self) -> Option<u16> {
        let save = self.i;
        while matches!(
            self.peek(),
            b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'
        ) {
            self.i += 1;
        }
        let neg = match self.peek() {
            b'-' => {
                self.i += 1;
                true
            }
            b'+' => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let ds = self.i;
        let mut v: u64 = 0;
        while self.peek().is_ascii_digit() {
            v = v
                .wrapping_mul(10)
                .wrapping_add(u64::from(self.peek() - b'0'));
            self.i += 1;
        }
        if self.i == ds {
            self.i = save;
            return None;
        }
        let v = v as u16;
        Some(if neg { v.wrapping_neg() } else { v })
    }

    fn ulong(&mut self) -> Option<u64> {
        let ds = self.i;
        let mut v: u64 = 0;
        while self.peek().is_ascii_digit() {
            v = v
                .saturating_mul(10)
                .saturating_add(u64::from(self.peek() - b'0'));
            self.i += 1;
        }
        (self.i > ds).then_some(v)
    }

    /// `sscanf("%hu%n:%hu%n:%hu%n")` with `%n` tracking: the cursor ends
    /// after the last field converted. `None` when not even hours parse.
    fn hms(&mut self) -> Option<(u16, u16, u16)> {
        let h = self.hu()?;
        Some(self.rest_ms(h, 0, 0))
    }

    fn hms_partial(&mut self, dflt: (u16, u16, u16)) -> (u16, u16, u16) {
        match self.hu() {
            Some(h) => self.rest_ms(h, dflt.1, dflt.2),
            None => dflt,
        }
    }

    fn rest_ms(&mut self, h: u16, m0: u16, s0: u16) -> (u16, u16, u16) {
        let (mut m, mut s) = (m0, s0);
        let save = self.i;
        if self.lit(b':').is_some() {
            if let Some(mm) = self.hu() {
                m = mm;
                let save2 = self.i;
                if self.lit(b':').is_some() {
                    if let Some(ss) = self.hu() {
                        s = ss;
                    } else {
                        self.i = save2;
                    }
                }
            } else {
                self.i = save;
            }
        }
        (h, m, s)
    }
}

impl Tzif {
    /// `__tzfile_default`: this (`posixrules`) file's transitions moved to
    /// the offsets of `rules`, which named DST without a rule. The file's
    /// own footer rule is kept, offsets and all, as glibc keeps it.
    fn into_default(mut self, rules: &Rules) -> Option<Tzif> {
        if self.types.len() < 2 {
            return None;
        }
        let (stdoff, dstoff) = (rules.r[0].offset, rules.r[1].offset);
        // __tzfile_read: the offsets of the latest std and DST transitions.
        let (mut rule_std, mut rule_dst) = (None, None);
        for &ty in self.idx.iter().rev() {
            let (off, dst) = self.types[usize::from(ty)];
            if dst {
                rule_dst = rule_dst.or(Some(off));
            } else {
                rule_std = rule_std.or(Some(off));
            }
            if rule_std.is_some() && rule_dst.is_some() {
                break;
            }
        }
        let (rule_std, rule_dst) = if self.trans.is_empty() {
            (self.types[0].0, self.types[0].0)
        } else {
            let s = rule_std.unwrap_or(0);
            (s, rule_dst.unwrap_or(s))
        };
        let mut isdst = false;
        for (t, ty) in self.trans.iter_mut().zip(self.idx.iter_mut()) {
            let (_, dst) = self.types[usize::from(*ty)];
            let (isstd, isut) = self
                .flags
                .get(usize::from(*ty))
                .copied()
                .unwrap_or_default();
            *ty = u8::from(dst);
            if isut {
            } else if isdst && !isstd {
                *t = t.wrapping_add(dstoff - rule_dst);
            } else {
                *t = t.wrapping_add(stdoff - rule_std);
            }
            isdst = dst;
        }
        self.types = vec![(stdoff, false), (dstoff, true)];
        self.flags = vec![(false, false); 2];
        Some(self)
    }

    /// `__tzfile_compute` plus its leap-second part.
    fn span(&self, t: i64) -> Span {
        let n = self.trans.len();
        let mut sp = if n == 0 || t < self.trans[0] {
            let i = self.types.iter().position(|&(_, dst)| !dst).unwrap_or(0);
            Span {
                lo: i64::MIN,
                hi: self.trans.first().copied().unwrap_or(i64::MAX),
                off: self.types.get(i).map_or(0, |x| x.0),
                hit: 0,
                fail: false,
            }
        } else if t >= self.trans[n - 1] {
            let last = self.trans[n - 1];
            match (&self.spec, utc_year(t)) {
                (Some(rules), Some(y)) => rules.compute(t, y, last, i64::MAX),
                _ => Span {
                    lo: last,
                    hi: i64::MAX,
                    off: self.types[usize::from(self.idx[n - 1])].0,
                    hit: 0,
                    fail: false,
                },
            }
        } else {
            // First transition after t; the type of the one before.
            // (Clamped: a corrupt file may not be sorted.)
            let i = self.trans.partition_point(|&x| x <= t).clamp(1, n - 1);
            Span {
                lo: self.trans[i - 1],
                hi: self.trans[i],
                off: self.types[usize::from(self.idx[i - 1])].0,
                hit: 0,
                fail: false,
            }
        };
        if !self.leaps.is_empty() {
            let i = self.leaps.partition_point(|&(x, _)| x <= t);
            if i < self.leaps.len() {
                sp.hi = sp.hi.min(self.leaps[i].0);
            }
            if i > 0 {
                let k = i - 1;
                let (lt, corr) = self.leaps[k];
                sp.lo = sp.lo.max(lt);
                sp.off -= corr;
                let prev = if k == 0 { 0 } else { self.leaps[k - 1].1 };
                if t == lt && corr > prev {
                    let mut hit = 1;
                    let mut j = k;
                    while j > 0
                        && self.leaps[j].0 == self.leaps[j - 1].0 + 1
                        && self.leaps[j].1 == self.leaps[j - 1].1 + 1
                    {
                        hit += 1;
                        j -= 1;
                    }
                    sp.hit = hit;
                    sp.lo = t;
                    sp.hi = t.saturating_add(1);
                } else if t > lt {
                    sp.lo = sp.lo.max(lt.saturating_add(1));
                }
            }
        }
        sp
    }
}

/// Largest TZif body (the data the header counts declare) read. glibc has
/// no limit but `SIZE_MAX`; zic's own limits (`TZ_MAX_TIMES` 2000,
/// `TZ_MAX_TYPES` 256, ...) keep real files under 64 KiB, so a larger claim
/// is refused rather than allocated.
pub const MAX_BODY: u64 = 4 << 20;
/// Most bytes of the POSIX footer read. glibc reads the whole rest of the
/// file; its parser stops long before this on any string it accepts.
pub const MAX_FOOTER: u64 = 64 << 10;

/// `__tzfile_read`'s `fopen` + `fstat`, bounded: the file is opened with
/// `O_NONBLOCK` so a FIFO without a writer cannot hang us (glibc's `fopen`
/// blocks there forever), and anything but a regular file is refused. glibc
/// in effect refuses those too: a directory fails its first `fread`, and a
/// device or FIFO has `st_size` 0, which fails the size check of a version
/// 2+ file (a version 1 file fed through a FIFO is the one thing glibc
/// would read that we do not).
fn read_tzif(path: &Path) -> Option<Tzif> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .ok()?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    // glibc reads through a stdio buffer of st_blksize (4 KiB) bytes.
    let mut src = Src {
        r: std::io::BufReader::with_capacity(4096, file),
        pos: 0,
        size: meta.len(),
    };
    parse(&mut src)
}

/// A TZif byte stream with its position and total size (`st_size`), so
/// every count is checked against what the file holds before anything is
/// allocated for it.
struct Src<R> {
    r: R,
    pos: u64,
    size: u64,
}

impl<R: Read + Seek> Src<R> {
    fn left(&self) -> u64 {
        self.size.saturating_sub(self.pos)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut a = [0u8; N];
        self.r.read_exact(&mut a).ok()?;
        self.pos += N as u64;
        Some(a)
    }

    /// Exactly `n` bytes; `n` must already be bounded by the caller.
    fn vec(&mut self, n: u64) -> Option<Vec<u8>> {
        if n > self.left() {
            return None;
        }
        let mut v = vec![0u8; usize::try_from(n).ok()?];
        self.r.read_exact(&mut v).ok()?;
        self.pos += n;
        Some(v)
    }

    /// `fseek(f, n, SEEK_CUR)`.
    fn skip(&mut self, n: u64) -> Option<()> {
        self.r
            .seek(SeekFrom::Current(i64::try_from(n).ok()?))
            .ok()?;
        self.pos += n;
        Some(())
    }
}

fn be32(b: &[u8]) -> i64 {
    i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

/// The six counts of a TZif header, in glibc's names.
#[derive(Clone, Copy)]
struct Counts {
    isgmt: u64,
    isstd: u64,
    leaps: u64,
    trans: u64,
    types: u64,
    chars: u64,
}

impl Counts {
    /// Body size for transition times `w` bytes wide.
    fn body(&self, w: u64) -> u64 {
        self.trans * (w + 1)
            + self.types * 6
            + self.chars
            + self.leaps * (w + 4)
            + self.isstd
            + self.isgmt
    }
}

/// The 44-byte header (`read_again:` in `__tzfile_read`): magic, version
/// byte, counts, and glibc's `num_isstd > num_types` check.
fn header<R: Read + Seek>(src: &mut Src<R>) -> Option<(u8, Counts)> {
    let h: [u8; 44] = src.array()?;
    if &h[..4] != b"TZif" {
        return None;
    }
    let n = |k: usize| u64::from(u32::from_be_bytes([h[k], h[k + 1], h[k + 2], h[k + 3]]));
    let c = Counts {
        isgmt: n(20),
        isstd: n(24),
        leaps: n(28),
        trans: n(32),
        types: n(36),
        chars: n(40),
    };
    if c.isstd > c.types || c.isgmt > c.types {
        return None;
    }
    Some((h[4], c))
}

/// `__tzfile_read` after the `fstat`: the 64-bit body of a file whose
/// version byte is not NUL (the 32-bit one otherwise), checked as glibc
/// checks it, and the POSIX footer. Reads exactly what the header declares.
fn parse<R: Read + Seek>(src: &mut Src<R>) -> Option<Tzif> {
    let (version, mut c) = header(src)?;
    let mut w = 4;
    if version != 0 {
        // Skip the 32-bit data to the second header.
        src.skip(c.body(4))?;
        c = header(src)?.1;
        w = 8;
    }
    let body = c.body(w);
    if body > MAX_BODY || body > src.left() {
        return None;
    }
    // The footer: for a 64-bit file glibc requires at least 2 bytes after
    // the body (its `tzspec_len == 0` checks), the first of them '\n'.
    let spec_len = if w == 8 {
        let rest = src.left() - body;
        if rest < 2 {
            return None;
        }
        Some(rest - 1)
    } else {
        None
    };
    let times = src.vec(c.trans * w)?;
    let idx = src.vec(c.trans)?;
    if idx.iter().any(|&i| u64::from(i) >= c.types) {
        return None;
    }
    let trans = times
        .chunks_exact(w as usize)
        .map(|b| if w == 8 { be64(b) } else { be32(b) })
        .collect();
    let ttinfo = src.vec(c.types * 6)?;
    let mut types = Vec::with_capacity(ttinfo.len() / 6);
    for t in ttinfo.chunks_exact(6) {
        // glibc: isdst must be 0 or 1, the name index at most charcnt.
        if t[4] > 1 || u64::from(t[5]) > c.chars {
            return None;
        }
        types.push((be32(t), t[4] != 0));
    }
    src.skip(c.chars)?;
    let leapdata = src.vec(c.leaps * (w + 4))?;
    let leaps = leapdata
        .chunks_exact(w as usize + 4)
        .map(|b| {
            let (t, corr) = b.split_at(w as usize);
            (if w == 8 { be64(t) } else { be32(t) }, be32(corr))
        })
        .collect();
    let isstd = src.vec(c.isstd)?;
    let isgmt = src.vec(c.isgmt)?;
    let flags = (0..types.len())
        .map(|k| {
            let std = isstd.get(k).is_some_and(|&b| b != 0);
            let ut = isgmt.get(k).is_some_and(|&b| b != 0);
            (std, ut)
        })
        .collect();
    if types.is_empty() {
        // glibc asserts (aborts) on a file without types and transitions
        // and loses one with transitions; UTC here.
        return None;
    }
    let spec = spec_len.and_then(|n| footer(src, n));
    Some(Tzif {
        trans,
        idx,
        types,
        leaps,
        flags,
        spec,
    })
}

/// `__tzfile_read`'s tzspec: a '\n', then `n - 1` bytes (the file's last
/// byte, normally the closing '\n', is left out) used as a C string, so up
/// to the first NUL; an empty string is no rule. At most [`MAX_FOOTER`]
/// bytes are read.
fn footer<R: Read + Seek>(src: &mut Src<R>, n: u64) -> Option<Rules> {
    if src.array::<1>()? != [b'\n'] {
        return None;
    }
    let s = src.vec((n - 1).min(MAX_FOOTER))?;
    let s = s.split(|&b| b == 0).next().unwrap_or_default();
    (!s.is_empty()).then(|| Rules::parse(s))
}

/// [`parse`] over bytes in memory.
fn parse_tzif(b: &[u8]) -> Option<Tzif> {
    parse(&mut Src {
        r: std::io::Cursor::new(b),
        pos: 0,
        size: b.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(z: &Zone, t: i64) -> i64 {
        let s = z.span(t);
        assert!(s.lo <= t && t < s.hi, "span {s:?} misses {t}");
        s.off
    }

    #[test]
    fn posix_rules() {
        let z = Zone::from_posix("EST5EDT,M3.2.0,M11.1.0");
        // 2024-03-10 07:00 UTC: EDT begins.
        assert_eq!(off(&z, 1_710_053_999), -5 * 3600);
        assert_eq!(off(&z, 1_710_054_000), -4 * 3600);
        // 2024-11-03 06:00 UTC: EST again.
        assert_eq!(off(&z, 1_730_613_599), -4 * 3600);
        assert_eq!(off(&z, 1_730_613_600), -5 * 3600);
        // glibc: no DST before 1970 with a rule string.
        assert_eq!(off(&z, -15_000_000), -5 * 3600);
        let south = Zone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
        assert_eq!(off(&south, -15_000_000), 11 * 3600);
        assert_eq!(off(&south, 1_720_000_000), 10 * 3600);
    }

    #[test]
    fn posix_parse_quirks() {
        assert_eq!(off(&Zone::from_posix("IST-5:30"), 0), 19_800);
        assert_eq!(off(&Zone::from_posix("<+0330>-3:30"), 0), 12_600);
        assert_eq!(off(&Zone::from_posix("Nowhere/Bogus"), 0), 0);
        assert_eq!(off(&Zone::from_posix("EST"), 0), 0);
        // No rule: the US one.
        assert_eq!(off(&Zone::from_posix("FOO5BAR"), 1_720_000_000), -4 * 3600);
    }

    #[test]
    fn tzif_agrees_with_jiff_in_range() {
        for name in [
            "America/New_York",
            "Europe/London",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "Africa/Casablanca",
        ] {
            let path = Path::new("/usr/share/zoneinfo").join(name);
            let Ok(data) = std::fs::read(&path) else {
                eprintln!("test skipped: {} missing", path.display());
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

    #[test]
    fn dst_without_rule_borrows_posixrules() {
        if !Path::new("/usr/share/zoneinfo/posixrules").exists() {
            eprintln!("test skipped: no posixrules file");
            return;
        }
        let z = Zone::for_tz(Some(OsStr::new("FOO5BAR")), None);
        // 1990-03-20 12:00 UTC: New York's 1990 rules say EST (the US rule
        // from 2007 would say DST).
        assert_eq!(off(&z, 637_934_400), -5 * 3600);
        // 1990-07-01: DST.
        assert_eq!(off(&z, 646_833_600), -4 * 3600);
        // Without the file: the US rule.
        let z = Zone::for_tz(
            Some(OsStr::new("FOO5BAR")),
            Some(OsStr::new("/nonexistent")),
        );
        assert_eq!(off(&z, 637_934_400), -4 * 3600);
    }

    #[test]
    fn glibc_oob_month() {
        // "M" with no numbers: glibc keeps type M with m = 0.
        let z = Zone::from_posix("EST5EDT,Mx,M11.1.0");
        let _ = z.span(1_720_000_000);
        let _ = z.span(1_704_067_200 + 86_400 * 366); // a leap year
    }

    proptest::proptest! {
        #[test]
        fn posix_strings_never_panic(s in "[A-Za-z<>+0-9:,./JM-]{0,40}", t in proptest::prelude::any::<i64>()) {
            let z = Zone::from_posix(&s);
            let sp = z.span(t);
            proptest::prop_assert!(sp.fail || (sp.lo <= t && t < sp.hi));
        }

        #[test]
        fn tzif_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                                  t in proptest::prelude::any::<i64>()) {
            // A plausible header so parsing gets past the magic.
            let mut data = b"TZif2".to_vec();
            data.extend_from_slice(&[0; 15]);
            data.extend_from_slice(&body);
            if let Some(z) = Zone::from_tzif(&data) {
                let _ = z.span(t);
                let mut lt = super::super::local::LocalTime::new(z);
                let _ = lt.render(super::super::Tai64N::from_unix(t, 0), &mut Vec::new());
            }
        }
    }

    #[test]
    fn real_tzif_mutations_never_panic() {
        let Ok(data) = std::fs::read("/usr/share/zoneinfo/right/Europe/Berlin") else {
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
                let mut lt = super::super::local::LocalTime::new(z);
                for t in [
                    i64::MIN,
                    -1_000_000_000_000,
                    0,
                    78_796_800,
                    1_483_228_826,
                    4_000_000_000,
                    i64::MAX,
                ] {
                    let _ = lt.render(super::super::Tai64N::from_unix(t, 0), &mut Vec::new());
                }
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
    /// (see `tests/filters.rs`).
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
}
