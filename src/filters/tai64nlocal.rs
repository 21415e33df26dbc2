//! `tai64nlocal`: turn a leading TAI64N label into local time (ports
//! `tai64nlocal.c`).
//!
//! A line starting with `@` has its label digits (lowercase hex, any count;
//! see [`crate::tai64::scan`]) replaced by `YYYY-MM-DD HH:MM:SS.NNNNNNNNN`
//! in the zone named by `TZ` (see [`crate::tai64::local`]); the byte that
//! ended the digits and the rest of the line follow unchanged. Other lines
//! are copied. End of input inside the digits prints nothing for that line;
//! any other partial last line is copied without a newline.
//!
//! Exit codes: 0 at end of input, 111 (no message) on a read or write error;
//! killed by SIGPIPE when the reader of a pipe goes away, as daemontools is.
//!
//! Differences from daemontools: where glibc's `localtime` fails (the year
//! does not fit an `int`: `@ x`, `@zz`, 16-digit, uppercase, most 31-digit
//! labels), daemontools dies of SIGSEGV and loses its buffered output; here
//! the line is copied **unchanged** and processing goes on. (A failing label
//! longer than 4095 digits that is split across reads keeps only its first
//! 4095 and its last read's digits.) Output is flushed before every read
//! that would block rather than before every read.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

use super::{LabelFilter, Render};
use crate::error::EXIT_TEMP;
use crate::tai64::local::LocalTime;
use crate::tai64::Tai64N;

impl Render for LocalTime {
    const AT_EOF: bool = false;

    #[inline]
    fn render(&mut self, t: Tai64N, out: &mut Vec<u8>) -> bool {
        LocalTime::render(self, t, out)
    }
}

/// The `tai64nlocal` filter for a given renderer (zone).
pub type Tai64nLocal = LabelFilter<LocalTime>;

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Default;

/// The program: stdin to stdout, zone from `TZ`; arguments are ignored.
#[must_use]
pub fn run(_main: MainArgs) -> u8 {
    let mut f = LabelFilter::new(LocalTime::from_env());
    match super::run_stdio(&mut f) {
        Ok(()) => 0,
        Err(_) => EXIT_TEMP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::{filter_bytes, testutil::run_chunked};
    use crate::tai64::tz::Zone;
    use proptest::prelude::*;

    fn utc() -> Tai64nLocal {
        LabelFilter::new(LocalTime::new(Zone::utc()))
    }

    fn run(input: &[u8]) -> Vec<u8> {
        filter_bytes(&mut utc(), input)
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            run(b"@400000006b050c5709c2505c hi\n"),
            b"2026-11-24 04:02:21.163729500 hi\n"
        );
        assert_eq!(
            run(b"@3fffffffffffffff00000000 neg\n"),
            b"1969-12-31 23:59:49.000000000 neg\n"
        );
        assert_eq!(
            run(b"@400000006b050c5709c2505c\n"),
            b"2026-11-24 04:02:21.163729500\n"
        );
        assert_eq!(
            run(b"@400000006b050c57ffffffff x\n"),
            b"2026-11-24 04:02:21.4294967295 x\n"
        );
    }

    #[test]
    fn untouched_lines() {
        assert_eq!(
            run(b"x@400000006b050c5709c2505c\n\nplain"),
            b"x@400000006b050c5709c2505c\n\nplain"
        );
        // The rest of a label line is not special.
        assert_eq!(
            run(b"@400000006b050c5709c2505c @400000006b050c5709c2505c\n"),
            b"2026-11-24 04:02:21.163729500 @400000006b050c5709c2505c\n"
        );
    }

    #[test]
    fn eof_inside_digits_prints_nothing() {
        assert_eq!(run(b"a\n@400000006b050c57"), b"a\n");
        assert_eq!(run(b"@"), b"");
        // EOF after the digits: the date and the partial rest, no newline.
        assert_eq!(
            run(b"@400000006b050c5709c2505c hi"),
            b"2026-11-24 04:02:21.163729500 hi"
        );
    }

    #[test]
    fn bad_labels_left_unchanged() {
        // daemontools dies of SIGSEGV on each of these.
        for line in [
            &b"@ x\n"[..],
            b"@zz\n",
            b"@4000000000000000 y\n",
            b"@400000006B050C5709C2505C up\n",
            b"@4000000000000000 0\n",
            b"@\n",
            b"@fffffffffffffffffffffff1234567 31 digits\n",
        ] {
            assert_eq!(run(line), line, "{}", String::from_utf8_lossy(line));
        }
        // And the lines after one are still converted.
        assert_eq!(
            run(b"@zz\n@400000006b050c5709c2505c ok\n"),
            b"@zz\n2026-11-24 04:02:21.163729500 ok\n"
        );
    }

    #[test]
    fn long_labels_convert() {
        // 31 digits whose last 24 are a sane label.
        assert_eq!(
            run(b"@1234567400000006b050c5709c2505c x\n"),
            b"2026-11-24 04:02:21.163729500 x\n"
        );
    }

    #[test]
    fn bad_label_split_across_reads() {
        let out = run_chunked(&mut utc(), b"@4000000000000000 y\n", vec![3, 5, 100]);
        assert_eq!(out, b"@4000000000000000 y\n");
    }

    fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "@[0-9a-f]{24}[ \n]".prop_map(String::into_bytes),
            "@4000000[0-9a-f]{17}( [a-z]{0,5})?\n".prop_map(String::into_bytes),
            "@[0-9a-fA-F ]{0,30}\n?".prop_map(String::into_bytes),
            "[^@\n]{0,10}\n".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..20),
        ]
    }

    proptest! {
        #[test]
        fn any_chunking(lines in proptest::collection::vec(line_strategy(), 0..20),
                        sizes in proptest::collection::vec(1usize..40, 1..6)) {
            let data = lines.concat();
            let whole = run(&data);
            let chunked = run_chunked(&mut utc(), &data, sizes);
            prop_assert_eq!(whole, chunked);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = run(&data);
        }
    }
}
