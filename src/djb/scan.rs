//! djb's number scanner: ports `scan_ulong.c`.
//!
//! # Differences from daemontools
//! None known. (C's `unsigned long` is 64 bits on the platforms we run
//! on, so the value wraps modulo 2^64 as it does there.)

/// `scan_ulong`: the number of leading decimal digits of `s` and their
/// value. No digits at all is `(0, 0)`; the value wraps modulo 2^64 on
/// overflow, as C's `unsigned long` arithmetic does.
///
/// Callers differ only in how they use the count: `softlimit` rejects an
/// argument with anything after the digits, `multilog` ignores the rest.
#[must_use]
pub(crate) fn scan_ulong(s: &[u8]) -> (usize, u64) {
    let mut n = 0usize;
    let mut v = 0u64;
    for &b in s {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        n += 1;
    }
    (n, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_digits_only() {
        assert_eq!(scan_ulong(b""), (0, 0));
        assert_eq!(scan_ulong(b"x1"), (0, 0));
        assert_eq!(scan_ulong(b"12ab3"), (2, 12));
        assert_eq!(scan_ulong(b"007"), (3, 7));
        assert_eq!(scan_ulong(b"+1"), (0, 0));
        assert_eq!(scan_ulong(b" 1"), (0, 0));
    }

    #[test]
    fn wraps_like_c() {
        assert_eq!(scan_ulong(b"18446744073709551615"), (20, u64::MAX));
        assert_eq!(scan_ulong(b"18446744073709551616"), (20, 0));
        assert_eq!(scan_ulong(b"18446744073709551617x"), (20, 1));
        // 10^20 = 7766279631452241920 mod 2^64
        assert_eq!(
            scan_ulong(b"100000000000000000000"),
            (21, 7_766_279_631_452_241_920)
        );
    }
}
