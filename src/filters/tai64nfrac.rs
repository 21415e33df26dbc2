//! `tai64nfrac`: turn a leading TAI64N label into `SECONDS.NNNNNNNNN` since
//! the Unix epoch (ports Russ Allbery's `tai64nfrac.c` 1.4).
//!
//! The label digits are scanned as in `tai64nlocal` (lowercase hex, any
//! count, the last 8 are nanoseconds). Seconds are `label - (2^62 + 10)` in
//! unsigned 64-bit arithmetic, so labels before 1970 wrap modulo 2^64; the
//! nanoseconds are zero-padded to at least 9 digits. The byte after the
//! digits and the rest of the line follow; lines not starting with `@` are
//! copied. End of input inside the digits still prints the number.
//!
//! Exit code: always 0, as the original (it has no error handling). A read
//! or write error ends the run early; a vanished pipe reader kills it with
//! SIGPIPE, as stdio's writes do.
//!
//! Differences from the original: its stdout is line-buffered (one `write`
//! per line); here output is flushed before every read that would block,
//! which is what makes interactive use show each line at once, without a
//! system call per line.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

use super::{LabelFilter, Render};
use crate::tai64::fmt::{fmt_frac, fmt_nanos};
use crate::tai64::{Tai64N, TAI64_BASE, TAI_OFFSET};

/// Renders `SECONDS.NNNNNNNNN`, keeping the digits of the last seconds value
/// (consecutive lines mostly share it).
#[derive(Clone, Copy, Debug)]
pub struct Frac {
    secs: u64,
    /// `SECONDS.` for `secs`.
    head: [u8; 32],
    head_len: usize,
}

impl Default for Frac {
    fn default() -> Self {
        Self::new()
    }
}

impl Frac {
    /// A renderer with an empty cache.
    #[must_use]
    pub fn new() -> Self {
        let mut f = Frac {
            secs: 0,
            head: [0; 32],
            head_len: 0,
        };
        f.set_secs(0);
        f
    }

    fn set_secs(&mut self, secs: u64) {
        self.secs = secs;
        let n = fmt_frac(secs, 0, &mut self.head);
        self.head_len = n - 9; // keep "SECONDS."
    }
}

impl Render for Frac {
    const AT_EOF: bool = true;

    #[inline]
    fn render(&mut self, t: Tai64N, out: &mut Vec<u8>) -> bool {
        let secs = t.secs.wrapping_sub(TAI64_BASE + TAI_OFFSET);
        if secs != self.secs {
            self.set_secs(secs);
        }
        let mut nanos = [0u8; 10];
        let n = fmt_nanos(t.nanos, &mut nanos);
        out.extend_from_slice(&self.head[..self.head_len]);
        out.extend_from_slice(&nanos[..n]);
        true
    }
}

/// The `tai64nfrac` filter.
pub type Tai64nFrac = LabelFilter<Frac>;

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Default;

/// The program: stdin to stdout; arguments are ignored.
#[must_use]
pub fn run(_main: MainArgs) -> u8 {
    let mut f = LabelFilter::new(Frac::new());
    let _ = super::run_stdio(&mut f);
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::{filter_bytes, testutil::run_chunked};
    use proptest::prelude::*;

    fn run(input: &[u8]) -> Vec<u8> {
        filter_bytes(&mut LabelFilter::new(Frac::new()), input)
    }

    #[test]
    fn spec_vectors() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"@400000006b050c5709c2505c hi\n",
                b"1795492941.163729500 hi\n",
            ),
            (b"@400000006b050c5700000001\n", b"1795492941.000000001\n"),
            (b"@ x\n", b"13835058055282163702.000000000 x\n"),
            (
                b"@3fffffffffffffff00000000 neg\n",
                b"18446744073709551605.000000000 neg\n",
            ),
            (
                b"@400000006B050C57 up\n",
                b"13835058055282163706.000000006B050C57 up\n",
            ),
            (b"@400000006b050c57ffffffff\n", b"1795492941.4294967295\n"),
            (
                b"@4000000037c219bf2ef02e94 man\n",
                b"935467445.787492500 man\n",
            ),
            (
                b"plain @400000006b050c5709c2505c\n",
                b"plain @400000006b050c5709c2505c\n",
            ),
        ];
        for (i, o) in cases {
            assert_eq!(run(i), o.to_vec(), "{}", String::from_utf8_lossy(i));
        }
    }

    #[test]
    fn eof_inside_label_prints_number() {
        assert_eq!(run(b"@400000006b050c5709c2505c"), b"1795492941.163729500");
        assert_eq!(run(b"@"), b"13835058055282163702.000000000");
        assert_eq!(
            run(b"x\n@400000000000000a0000000"),
            b"x\n14123288431433875446.2684354560"
        );
    }

    #[test]
    fn split_label() {
        let out = run_chunked(
            &mut LabelFilter::new(Frac::new()),
            b"@400000006b050c5709c2505c hi\n",
            vec![1, 7, 3],
        );
        assert_eq!(out, b"1795492941.163729500 hi\n");
    }

    proptest! {
        #[test]
        fn round_trip(unix in any::<i64>(), nanos in 0u32..1_000_000_000) {
            let t = Tai64N::from_unix(unix, nanos);
            let mut line = t.label().to_vec();
            line.push(b'\n');
            let want = format!("{}.{:09}\n", unix as u64, nanos);
            prop_assert_eq!(run(&line), want.into_bytes());
        }

        #[test]
        fn any_chunking(data in proptest::collection::vec(
                            prop_oneof![Just(b'@'), Just(b'\n'), Just(b'4'), Just(b'f'), any::<u8>()], 0..300),
                        sizes in proptest::collection::vec(1usize..40, 1..6)) {
            let whole = run(&data);
            let chunked = run_chunked(&mut LabelFilter::new(Frac::new()), &data, sizes);
            prop_assert_eq!(whole, chunked);
        }
    }
}
