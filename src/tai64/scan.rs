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

use super::{Tai64N, HEX_LEN};

/// The crate's one hex decoder, for labels: `HEXVAL[b]` is the digit value of `b`, or [`NOT_HEX`] when `b` is not a
/// lowercase hex digit.
pub(crate) static HEXVAL: [u8; 256] = {
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
pub(crate) const NOT_HEX: u8 = 0xff;

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
    pub(crate) fn push(&mut self, d: u8) {
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
        if bytes.len() > HEX_LEN && HEXVAL[usize::from(bytes[HEX_LEN])] == NOT_HEX {
            if let (Some(a), Some(b), Some(c)) = (
                hex8(&bytes[0..8]),
                hex8(&bytes[8..16]),
                hex8(&bytes[16..24]),
            ) {
                self.secs = (u64::from(a) << 32) | u64::from(b);
                self.nanos = c;
                return HEX_LEN;
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
    pub(crate) fn value(self) -> Tai64N {
        Tai64N {
            secs: self.secs,
            nanos: self.nanos,
        }
    }
}

/// The value of exactly 8 lowercase hex digits, or `None`, computed on all
/// 8 bytes at once (SWAR); agrees with [`HEXVAL`] digit by digit (tested).
#[inline]
#[must_use]
pub(crate) fn hex8(b: &[u8]) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut a = [0u8; 8];
    a.copy_from_slice(b.get(..8)?);
    let x = u64::from_be_bytes(a);
    if x & HIGH != 0 {
        return None;
    }
    // With every byte below 0x80, adding a per-byte constant below 0x80
    // never carries into the next byte; bit 7 tells the comparison.
    let ge_0 = (x + ONES * 0x50) & HIGH; // >= '0'
    let gt_9 = (x + ONES * 0x46) & HIGH; // >  '9'
    let ge_a = (x + ONES * 0x1f) & HIGH; // >= 'a'
    let gt_f = (x + ONES * 0x19) & HIGH; // >  'f'
    let lower = ge_a & !gt_f;
    if (ge_0 & !gt_9) | lower != HIGH {
        return None;
    }
    let mut v = (x & (ONES * 0x0f)) + (lower >> 7) * 9;
    v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
    v = (v | (v >> 16)) & 0xffff_ffff;
    Some(v as u32)
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

    #[test]
    fn hex8_every_byte() {
        for c in 0..=255u8 {
            let mut b = *b"0123abcd";
            b[3] = c;
            let want = u32::from_str_radix(std::str::from_utf8(&b).unwrap_or("x"), 16)
                .ok()
                .filter(|_| !c.is_ascii_uppercase() && c != b'+');
            assert_eq!(hex8(&b), want, "byte {c:#x}");
        }
        assert_eq!(hex8(b"ffffffff"), Some(u32::MAX));
        assert_eq!(hex8(b"00000000"), Some(0));
        assert_eq!(hex8(b"0000000"), None);
    }

    proptest! {
        #[test]
        fn hex8_matches_parse(b in proptest::collection::vec(any::<u8>(), 8)) {
            let want = b.iter().all(|c| HEXVAL[usize::from(*c)] != NOT_HEX)
                .then(|| u32::from_str_radix(std::str::from_utf8(&b).unwrap(), 16).unwrap());
            prop_assert_eq!(hex8(&b), want);
        }

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
