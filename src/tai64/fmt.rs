//! Decimal formatting for the label filters, as djb's `fmt_ulong` and
//! `fmt_uint0` write it, two digits at a time from a table.

/// `DIGITS2[n]` is `n` (`0..100`) as two ASCII digits.
pub(crate) static DIGITS2: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Decimal `v` into `out` (`fmt_ulong`); returns the length (at most 20).
#[must_use]
pub(crate) fn fmt_u64(mut v: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = 20;
    while v >= 100 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGITS2[(v % 100) as usize]);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGITS2[v as usize]);
    } else {
        i -= 1;
        tmp[i] = b'0' + v as u8;
    }
    let n = 20 - i;
    out[..n].copy_from_slice(&tmp[i..]);
    n
}

/// Nanoseconds zero-padded to at least 9 digits (`fmt_uint0(n, 9)`): 9
/// digits below 10^9, 10 digits from there to `u32::MAX`.
#[inline]
pub(crate) fn fmt_nanos(n: u32, out: &mut [u8]) -> usize {
    let (lead, rest) = if n >= 1_000_000_000 {
        out[0] = b'0' + (n / 1_000_000_000) as u8;
        (1, n % 1_000_000_000)
    } else {
        (0, n)
    };
    let o = &mut out[lead..lead + 9];
    let a = rest / 10_000_000; // 2 digits
    let b = rest / 100_000 % 100;
    let c = rest / 1000 % 100;
    let d = rest / 10 % 100;
    o[0..2].copy_from_slice(&DIGITS2[a as usize]);
    o[2..4].copy_from_slice(&DIGITS2[b as usize]);
    o[4..6].copy_from_slice(&DIGITS2[c as usize]);
    o[6..8].copy_from_slice(&DIGITS2[d as usize]);
    o[8] = b'0' + (rest % 10) as u8;
    lead + 9
}

/// Decimal seconds (`u64`) then `.` and the nanoseconds, as `tai64nfrac`
/// prints them; returns the length (at most 31).
#[inline]
pub(crate) fn fmt_frac(secs: u64, nanos: u32, out: &mut [u8; 32]) -> usize {
    let n = fmt_u64(secs, out);
    out[n] = b'.';
    n + 1 + fmt_nanos(nanos, &mut out[n + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_format() {
        let mut b = [0u8; 16];
        let n = fmt_nanos(5, &mut b);
        assert_eq!(&b[..n], b"000000005");
        let n = fmt_nanos(999_999_999, &mut b);
        assert_eq!(&b[..n], b"999999999");
        let n = fmt_nanos(1_000_000_000, &mut b);
        assert_eq!(&b[..n], b"1000000000");
        let mut f = [0u8; 32];
        for v in [0u64, 9, 10, 99, 100, 101, 12_345, u64::MAX] {
            let n = fmt_u64(v, &mut f);
            assert_eq!(std::str::from_utf8(&f[..n]).unwrap(), v.to_string());
        }
        let n = fmt_frac(u64::MAX, u32::MAX, &mut f);
        assert_eq!(&f[..n], b"18446744073709551615.4294967295");
    }
}
