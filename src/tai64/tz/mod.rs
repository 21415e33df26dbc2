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
//!
//! The port is in three parts: zone selection (`tzset_internal`) here,
//! [`posix`] for TZ rule strings (`tzset.c`), [`tzif`] for TZif files
//! (`tzfile.c`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::calendar::utc_year;

pub(crate) mod posix;
pub(crate) mod tzif;

pub(crate) use posix::Rules;
use tzif::Tzif;
pub use tzif::{MAX_BODY, MAX_FOOTER};

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
    pub(crate) lo: i64,
    /// First second it no longer holds for.
    pub(crate) hi: i64,
    /// `tm_gmtoff - leap_correction`: add to Unix time for local time.
    pub(crate) off: i64,
    /// Leap seconds to add to `tm_sec` (glibc's `leap_extra_secs`).
    pub(crate) hit: i64,
    /// `localtime` fails (returns NULL) here.
    pub(crate) fail: bool,
}

impl Zone {
    /// UTC.
    #[must_use]
    pub(crate) fn utc() -> Self {
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
        if let Some(z) = tzif::read_tzif(&path) {
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
            if let Some(z) =
                tzif::read_tzif(&dir.join("posixrules")).and_then(|z| z.into_default(&rules))
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
    pub(crate) fn from_env() -> Self {
        Self::for_tz(
            std::env::var_os("TZ").as_deref(),
            std::env::var_os("TZDIR").as_deref(),
        )
    }

    /// A zone from TZif bytes (`None` if they are not TZif).
    #[must_use]
    pub fn from_tzif(data: &[u8]) -> Option<Self> {
        Some(Zone {
            tzif: Some(tzif::parse_tzif(data)?),
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn off(z: &Zone, t: i64) -> i64 {
        let s = z.span(t);
        assert!(s.lo <= t && t < s.hi, "span {s:?} misses {t}");
        s.off
    }

    #[test]
    fn dst_without_rule_borrows_posixrules() {
        if crate::tai64::test_zoneinfo("/usr/share/zoneinfo/posixrules").is_none() {
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
}
