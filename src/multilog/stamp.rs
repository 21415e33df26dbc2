//! The line stamps: `t` (`@` + TAI64N label + space, `timestamp.c`) and the
//! extension `T` (RFC 3339 UTC with nanoseconds + space, written by
//! [`rfc3339::format`], the one writer of that form). Both come from the
//! same clock, [`Tai64N::now`], taken once per block of input read.

use crate::tai64::{rfc3339, Tai64N, STAMP_LEN};

/// Room for the longer stamp, `T`'s: 30 bytes and a space.
pub const MAX_STAMP: usize = rfc3339::LEN + 1;

/// Which stamp a script asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// No stamp.
    None,
    /// `t`: `@4000000069…` and a space.
    Tai64N,
    /// `T`: `2026-12-01T09:24:28.123456789Z` and a space.
    Rfc3339,
}

impl Stamp {
    /// Bytes the stamp puts before each line.
    #[must_use]
    pub const fn width(self) -> usize {
        match self {
            Stamp::None => 0,
            Stamp::Tai64N => STAMP_LEN,
            Stamp::Rfc3339 => MAX_STAMP,
        }
    }

    /// The stamp for moment `now`, in the first [`Stamp::width`] bytes.
    /// A moment outside RFC 3339's years 0000..9999 (a clock gone mad)
    /// is written as the last representable one, so every `T` line has
    /// the same shape.
    #[must_use]
    pub fn at(self, now: Tai64N) -> [u8; MAX_STAMP] {
        let mut out = [b' '; MAX_STAMP];
        match self {
            Stamp::None => {}
            Stamp::Tai64N => out[..STAMP_LEN].copy_from_slice(&now.stamp()),
            Stamp::Rfc3339 => {
                let mut v = Vec::with_capacity(MAX_STAMP);
                if !rfc3339::format(now, &mut v) {
                    v.clear();
                    v.extend_from_slice(b"9999-12-31T23:59:59.999999999Z");
                }
                out[..rfc3339::LEN].copy_from_slice(&v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_stamp_reads_back() {
        let t = Tai64N::from_unix(1_796_117_068, 123_456_789);
        let s = Stamp::Rfc3339.at(t);
        assert_eq!(&s[..], b"2026-12-01T09:24:28.123456789Z ");
        assert_eq!(rfc3339::line_stamp(&s), Some((t, rfc3339::LEN)));
        let s = Stamp::Tai64N.at(t);
        assert_eq!(&s[..STAMP_LEN], &t.stamp()[..]);
        assert_eq!(rfc3339::line_stamp(&s).map(|x| x.0), Some(t));
    }

    #[test]
    fn out_of_range_year_still_has_the_shape() {
        let t = Tai64N::from_unix(400_000_000_000, 0);
        let s = Stamp::Rfc3339.at(t);
        assert!(rfc3339::parse(&s[..rfc3339::LEN]).is_some());
    }
}
