//! TAI64 / TAI64N labels (ports `tai.h`, `taia_now.c`, `taia_pack.c`, `timestamp.c`).
//!
//! A label is `2^62 + 10 + unix_seconds` and a nanosecond count. The `+10` is
//! daemontools' fixed offset: there is no leap-second table, so the mapping
//! to and from Unix time is exact and round-trips with every daemontools tool.
//! (s6 and the `tai64` crate since 4.1 use `+37`; that must not leak in here.)
//!
//! Differences from daemontools: none in the format. [`Tai64N::now`] reads the
//! clock with nanosecond resolution but, like `taia_now`, keeps microseconds
//! and sets the nanosecond field to `1000*usec + 500`.

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) mod calendar;
pub(crate) mod fmt;
pub mod local;
pub mod rfc3339;
pub mod scan;
pub mod tz;

/// `2^62`: the TAI64 label of 1970-01-01 00:00:00 TAI.
pub(crate) const TAI64_BASE: u64 = 1 << 62;
/// daemontools' fixed TAI - UTC offset in seconds.
pub(crate) const TAI_OFFSET: u64 = 10;
/// Length of the external form without the `@`: 24 hex digits.
pub(crate) const HEX_LEN: usize = 24;
/// Length of the external form, `@` + 24 hex digits.
pub(crate) const LABEL_LEN: usize = HEX_LEN + 1;
/// Length of the stamp `tai64n` and multilog's `t` put before a line: the
/// label and a space.
pub(crate) const STAMP_LEN: usize = LABEL_LEN + 1;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A TAI64N moment: seconds label and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tai64N {
    /// The TAI64 seconds label (`2^62 + 10 + unix`).
    pub secs: u64,
    /// Nanoseconds, normally below 10^9.
    pub nanos: u32,
}

impl Tai64N {
    /// The label for Unix time `unix` seconds and `nanos` nanoseconds.
    #[must_use]
    pub fn from_unix(unix: i64, nanos: u32) -> Self {
        Tai64N {
            secs: TAI64_BASE
                .wrapping_add(TAI_OFFSET)
                .wrapping_add(unix as u64),
            nanos,
        }
    }

    /// Unix seconds for this label (wrapping, as djb's unsigned arithmetic).
    #[must_use]
    pub(crate) fn unix_secs(self) -> i64 {
        self.secs.wrapping_sub(TAI64_BASE + TAI_OFFSET) as i64
    }

    /// Now, as `taia_now` makes it: microsecond clock, nanoseconds `usec*1000+500`.
    #[must_use]
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Convert a `SystemTime` with daemontools' microsecond rounding.
    #[must_use]
    pub(crate) fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self::from_unix(d.as_secs() as i64, d.subsec_micros() * 1000 + 500),
            Err(e) => {
                let d = e.duration();
                let mut secs = -(d.as_secs() as i64);
                let mut micros = d.subsec_micros();
                if micros > 0 {
                    secs -= 1;
                    micros = 1_000_000 - micros;
                }
                Self::from_unix(secs, micros * 1000 + 500)
            }
        }
    }

    /// The 12-byte packed form: big-endian seconds then big-endian nanoseconds.
    #[must_use]
    pub(crate) fn pack(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.secs.to_be_bytes());
        out[8..].copy_from_slice(&self.nanos.to_be_bytes());
        out
    }

    /// Inverse of [`Tai64N::pack`].
    #[must_use]
    pub(crate) fn unpack(b: &[u8; 12]) -> Self {
        let mut s = [0u8; 8];
        s.copy_from_slice(&b[..8]);
        let mut n = [0u8; 4];
        n.copy_from_slice(&b[8..]);
        Tai64N {
            secs: u64::from_be_bytes(s),
            nanos: u32::from_be_bytes(n),
        }
    }

    /// The 24 lowercase hex digits of the packed form.
    #[must_use]
    pub(crate) fn hex(self) -> [u8; HEX_LEN] {
        let mut out = [0u8; HEX_LEN];
        for (i, b) in self.pack().iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        out
    }

    /// The external form `@` + 24 hex digits.
    #[must_use]
    pub fn label(self) -> [u8; LABEL_LEN] {
        let mut out = [b'@'; LABEL_LEN];
        out[1..].copy_from_slice(&self.hex());
        out
    }

    /// The line prefix written by `tai64n.c` and multilog's `t`
    /// (`timestamp.c`): the label and a space.
    #[must_use]
    pub fn stamp(self) -> [u8; STAMP_LEN] {
        let mut out = [b' '; STAMP_LEN];
        out[..LABEL_LEN].copy_from_slice(&self.label());
        out
    }

    /// Parse exactly 24 lowercase hex digits (the strict form written by
    /// daemontools). Returns `None` for any other input.
    #[must_use]
    pub fn from_hex(hex: &[u8]) -> Option<Self> {
        if hex.len() != HEX_LEN {
            return None;
        }
        // The scanner's decoder: lowercase digits only, as in
        // `tai64nlocal.c`.
        let (a, b, c) = (
            scan::hex8(&hex[..8])?,
            scan::hex8(&hex[8..16])?,
            scan::hex8(&hex[16..])?,
        );
        Some(Tai64N {
            secs: (u64::from(a) << 32) | u64::from(b),
            nanos: c,
        })
    }
}

/// The bytes of a system zone file for a test, or `None` after saying
/// loudly that the test is skipped (a failure under
/// `DTOOLS_REQUIRE_REFERENCE=1`, where tzdata is part of the reference).
#[cfg(test)]
pub(crate) fn test_zoneinfo(path: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(d) => Some(d),
        Err(e) => {
            assert!(
                std::env::var_os("DTOOLS_REQUIRE_REFERENCE").is_none_or(|v| v != "1"),
                "{path}: {e} (install tzdata)"
            );
            eprintln!("test skipped: {path} missing (install tzdata)");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_label() {
        assert_eq!(
            &Tai64N::from_unix(0, 0).label(),
            b"@400000000000000a00000000"
        );
    }

    #[test]
    fn known_vector() {
        let t = Tai64N::from_hex(b"400000006b050c5709c2505c").unwrap();
        assert_eq!(t.unix_secs(), 1_795_492_941);
        assert_eq!(t.nanos, 163_729_500);
        assert_eq!(&t.hex(), b"400000006b050c5709c2505c");
    }

    #[test]
    fn now_ends_in_500() {
        assert_eq!(Tai64N::now().nanos % 1000, 500);
    }

    #[test]
    fn before_epoch() {
        let t = Tai64N::from_system_time(UNIX_EPOCH - std::time::Duration::from_micros(1));
        assert_eq!(t.unix_secs(), -1);
        assert_eq!(t.nanos, 999_999_500);
    }

    proptest::proptest! {
        #[test]
        fn label_round_trips(unix in proptest::prelude::any::<i64>(), nanos in proptest::prelude::any::<u32>()) {
            let t = Tai64N::from_unix(unix, nanos);
            proptest::prop_assert_eq!(t.unix_secs(), unix);
            proptest::prop_assert_eq!(Tai64N::unpack(&t.pack()), t);
            proptest::prop_assert_eq!(Tai64N::from_hex(&t.hex()), Some(t));
            let label = t.label();
            proptest::prop_assert_eq!(label[0], b'@');
            proptest::prop_assert_eq!(&t.stamp()[..LABEL_LEN], &label[..]);
            proptest::prop_assert_eq!(t.stamp()[LABEL_LEN], b' ');
            proptest::prop_assert_eq!(scan::scan_label(&label[1..]), (t, 24));
        }
    }

    #[test]
    fn strict_hex_rejects() {
        assert!(Tai64N::from_hex(b"400000006B050C5709c2505c").is_none());
        assert!(Tai64N::from_hex(b"4000").is_none());
    }
}
