//! The label scanner of `tai64nlocal.c` and `tai64nfrac.c:decode`.
//!
//! After the `@`, digits are consumed while they are `0-9` or lowercase
//! `a-f` (uppercase stops the scan). Each digit goes into a shift register:
//! the last 8 digits end up in the 32-bit nanosecond field, the earlier ones
//! shift into the 64-bit seconds field, and bits shifted out of the top are
//! discarded. There is no length check: 0, 16, 24 or 1000 digits are all
//! accepted, and only the last 24 digits decide the value.
//!
//! [`Scan`] is incremental so a label split across two reads continues where
//! it stopped; [`scan_label`] is the one-shot form.
//!
//! Differences from daemontools: none.

use super::Tai64N;

/// `HEXVAL[b]` is the digit value of `b`, or [`NOT_HEX`] when `b` is not a
/// lowercase hex digit.
pub static HEXVAL: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Marker in [`HEXVAL`] for a byte that ends the scan.
pub const NOT_HEX: u8 = 0xff;

/// The shift register of a label being scanned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Seconds field so far (overflow discarded).
    pub secs: u64,
    /// Nanoseconds field so far (the last 8 digits).
    pub nanos: u32,
}

impl Scan {
    /// Shift in one digit value (`0..16`), as the C loop body does.
    #[inline]
    pub fn push(&mut self, d: u8) {
        self.secs = (self.secs << 4) | u64::from(self.nanos >> 28);
        self.nanos = (self.nanos << 4) | u32::from(d);
    }

    /// Consume leading hex digits of `bytes`; returns how many were
    /// consumed. If that is `bytes.len()`, the label may continue in the
    /// next chunk.
    #[inline]
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        // Fast path: a standard 24-digit label in one piece. 24 digits fill
        // all 96 bits, so whatever was scanned before no longer matters.
        if bytes.len() > 24 && HEXVAL[usize::from(bytes[24])] == NOT_HEX {
            if let Some(t) = Tai64N::from_hex(&bytes[..24]) {
                self.secs = t.secs;
                self.nanos = t.nanos;
                return 24;
            }
        }
        let mut n = 0;
        for &b in bytes {
            let d = HEXVAL[usize::from(b)];
            if d == NOT_HEX {
                break;
            }
            self.push(d);
            n += 1;
        }
        n
    }

    /// The label value scanned so far.
    #[must_use]
    pub fn value(self) -> Tai64N {
        Tai64N {
            secs: self.secs,
            nanos: self.nanos,
        }
    }
}

/// Scan the digits that follow an `@` (`bytes` starts after the `@`).
/// Returns the value and the number of digit bytes consumed.
#[must_use]
pub fn scan_label(bytes: &[u8]) -> (Tai64N, usize) {
    let mut s = Scan::default();
    let n = s.feed(bytes);
    (s.value(), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The C loop, digit by digit, as the oracle.
    fn slow(bytes: &[u8]) -> (u64, u32, usize) {
        let (mut secs, mut nanos) = (0u64, 0u64);
        let mut n = 0;
        for &c in bytes {
            let u = match c {
                b'0'..=b'9' => u64::from(c - b'0'),
                b'a'..=b'f' => u64::from(c - b'a' + 10),
                _ => break,
            };
            secs = secs.wrapping_shl(4).wrapping_add(nanos >> 28);
            nanos &= 0xfff_ffff;
            nanos <<= 4;
            nanos += u;
            n += 1;
        }
        (secs, nanos as u32, n)
    }

    #[test]
    fn man_page_vector() {
        let (t, n) = scan_label(b"4000000037c219bf2ef02e94 x");
        assert_eq!(n, 24);
        assert_eq!(t.secs, 0x4000_0000_37c2_19bf);
        assert_eq!(t.nanos, 0x2ef0_2e94);
        assert_eq!(t.unix_secs(), 935_467_445);
    }

    #[test]
    fn short_and_long() {
        assert_eq!(scan_label(b" x"), (Tai64N { secs: 0, nanos: 0 }, 0));
        assert_eq!(scan_label(b"1"), (Tai64N { secs: 0, nanos: 1 }, 1));
        // 16 digits: all of them but the last 8 go to the seconds.
        let (t, n) = scan_label(b"4000000000000000 y");
        assert_eq!((t.secs, t.nanos, n), (0x4000_0000, 0, 16));
        // 31 digits: only the last 24 count.
        let (t, n) = scan_label(b"abcdef1400000000000000a00000005\n");
        assert_eq!(n, 31);
        assert_eq!((t.secs, t.nanos), (0x4000_0000_0000_000a, 5));
    }

    #[test]
    fn uppercase_stops() {
        let (t, n) = scan_label(b"400000006B050C57 up");
        assert_eq!(n, 9);
        assert_eq!((t.secs, t.nanos), (4, 6));
    }

    #[test]
    fn fast_path_agrees_at_24() {
        let b = b"ffffffffffffffffffffffff:";
        assert_eq!(
            scan_label(b),
            (
                Tai64N {
                    secs: u64::MAX,
                    nanos: u32::MAX
                },
                24
            )
        );
    }

    proptest! {
        #[test]
        fn matches_c_loop(bytes in proptest::collection::vec(
            prop_oneof![Just(b'0'), Just(b'9'), Just(b'a'), Just(b'f'), Just(b'F'), Just(b' '), any::<u8>()], 0..60)) {
            let (t, n) = scan_label(&bytes);
            prop_assert_eq!((t.secs, t.nanos, n), slow(&bytes));
        }

        #[test]
        fn split_anywhere(bytes in "[0-9a-f]{0,40}[ G\n]?", cut in 0usize..41) {
            let bytes = bytes.as_bytes();
            let cut = cut.min(bytes.len());
            let mut s = Scan::default();
            let n1 = s.feed(&bytes[..cut]);
            let n2 = if n1 == cut { s.feed(&bytes[cut..]) } else { 0 };
            let (t, n) = scan_label(bytes);
            prop_assert_eq!(s.value(), t);
            prop_assert_eq!(n1 + n2, n);
        }
    }
}
