//! `tai64n`: put a TAI64N label in front of every line (ports `tai64n.c`).
//!
//! Each line gets `@` + 24 hex digits + a space, the label of the moment its
//! first byte was read. The clock is read once per `read(2)`, so lines that
//! arrive in one read share a label (daemontools reads the clock per line,
//! but its 1 KiB reads make the difference a matter of microseconds).
//! An unterminated last line stays unterminated; an empty line becomes
//! `@… \n`. Arguments are ignored.
//!
//! Exit codes: 0 at end of input, 111 (no message) on a read or write error.
//! When the reader of a pipe goes away, the process dies of SIGPIPE, as
//! daemontools does.
//!
//! Differences from daemontools: the clock reading per read rather than per
//! line (above); output is flushed before every read that would block rather
//! than before every read.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

use memchr::memchr;

use super::Filter;
use crate::error::EXIT_TEMP;
use crate::tai64::{Tai64N, STAMP_LEN};

/// The `tai64n` line machine with an injectable clock.
#[derive(Debug)]
pub struct Stamper<C> {
    clock: C,
    /// `@` + 24 hex digits + space for the current read.
    label: [u8; STAMP_LEN],
    at_start: bool,
}

impl<C: FnMut() -> Tai64N> Stamper<C> {
    /// A stamper reading `clock` once per read.
    pub fn new(clock: C) -> Self {
        Stamper {
            clock,
            label: [b' '; STAMP_LEN],
            at_start: true,
        }
    }
}

impl<C: FnMut() -> Tai64N> Filter for Stamper<C> {
    fn on_read(&mut self) {
        self.label = (self.clock)().stamp();
    }

    #[inline]
    fn feed(&mut self, mut b: &[u8], out: &mut Vec<u8>) {
        while !b.is_empty() {
            if self.at_start {
                out.extend_from_slice(&self.label);
            }
            match memchr(b'\n', b) {
                Some(i) => {
                    out.extend_from_slice(&b[..=i]);
                    b = &b[i + 1..];
                    self.at_start = true;
                }
                None => {
                    out.extend_from_slice(b);
                    self.at_start = false;
                    return;
                }
            }
        }
    }

    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Default;

/// The program: stdin to stdout; arguments are ignored.
#[must_use]
pub fn run(_main: MainArgs) -> u8 {
    let mut f = Stamper::new(Tai64N::now);
    match super::run_stdio(&mut f) {
        Ok(()) => 0,
        Err(_) => EXIT_TEMP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::{filter_bytes, testutil::run_chunked};
    use proptest::prelude::*;

    fn fixed() -> Tai64N {
        Tai64N::from_unix(1_795_492_941, 163_729_500)
    }

    #[test]
    fn lines() {
        let mut f = Stamper::new(fixed);
        let out = filter_bytes(&mut f, b"a\n\nlast");
        assert_eq!(
            out,
            b"@400000006b050c5709c2505c a\n@400000006b050c5709c2505c \n@400000006b050c5709c2505c last".to_vec()
        );
    }

    #[test]
    fn empty_input() {
        let mut f = Stamper::new(fixed);
        assert!(filter_bytes(&mut f, b"").is_empty());
    }

    #[test]
    fn label_per_read() {
        let mut n = 0i64;
        let clock = move || {
            n += 1;
            Tai64N::from_unix(n, 0)
        };
        let mut f = Stamper::new(clock);
        // Reads: "ab" | "c\nd" | "\n": line 1 starts in read 1, line 2 in read 2.
        let out = run_chunked(&mut f, b"abc\nd\n", vec![2, 3, 1]);
        assert_eq!(
            out,
            b"@400000000000000b00000000 abc\n@400000000000000c00000000 d\n".to_vec()
        );
    }

    proptest! {
        #[test]
        fn any_chunking(data in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..400),
                        sizes in proptest::collection::vec(1usize..50, 1..8)) {
            let whole = filter_bytes(&mut Stamper::new(fixed), &data);
            let chunked = run_chunked(&mut Stamper::new(fixed), &data, sizes);
            prop_assert_eq!(&whole, &chunked);
            // The text is unchanged once labels are removed.
            let lines = data.split_inclusive(|&c| c == b'\n').count();
            prop_assert_eq!(whole.len(), data.len() + STAMP_LEN * lines);
        }
    }
}
