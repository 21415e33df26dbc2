//! The multilog pattern matcher (ports `match.c:match`).
//!
//! A pattern is anchored at both ends and compared byte by byte. A `*`
//! followed by byte `c` skips to the **first** `c` in the rest of the line
//! and never backtracks; a trailing `*` matches the rest of the line. So
//! `*.c` does not match `a.b.c`, while `a*c` does.
//!
//! Differences from daemontools: none. (djb's pattern is a C string, so it
//! cannot contain NUL; ours comes from argv and cannot either.)

use memchr::memchr;

/// Does `pat` match the whole of `line` under djb's rules?
#[must_use]
pub fn matches(pat: &[u8], line: &[u8]) -> bool {
    let mut p = 0;
    let mut l = 0;
    loop {
        let Some(&c) = pat.get(p) else {
            return l == line.len();
        };
        if c == b'*' {
            let Some(&next) = pat.get(p + 1) else {
                return true;
            };
            match memchr(next, &line[l..]) {
                Some(i) => l += i,
                None => return false,
            }
            p += 1;
            continue;
        }
        if line.get(l) != Some(&c) {
            return false;
        }
        p += 1;
        l += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The spec's table (§2.3), every row verified against daemontools.
    #[test]
    fn spec_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.c", "foo.c", true),
            ("*.c", "a.b.c", false),
            ("a*c", "a.b.c", true),
            ("*bd", "abcbd", false),
            ("*b*d", "abcbd", true),
            ("*d", "abcbd", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("**b", "a*b", true),
            ("**b", "ab", false),
            ("* hello", "@400000006b050c5709c2505c hello", true),
            ("abc", "abcd", false),
            ("abcd", "abc", false),
            ("*ERROR*", "2024 ERROR x", true),
            ("*ERROR*", "2024 Eek ERROR x", false),
        ];
        for &(p, l, want) in cases {
            assert_eq!(matches(p.as_bytes(), l.as_bytes()), want, "{p:?} vs {l:?}");
        }
    }

    /// A slow, literal transcription of `match.c` as the oracle.
    fn oracle(pat: &[u8], buf: &[u8]) -> bool {
        let (mut pat, mut buf) = (pat, buf);
        loop {
            let Some((&ch, rest)) = pat.split_first() else {
                return buf.is_empty();
            };
            pat = rest;
            if ch == b'*' {
                let Some(&ch) = pat.first() else { return true };
                loop {
                    let Some(&b) = buf.first() else { return false };
                    if b == ch {
                        break;
                    }
                    buf = &buf[1..];
                }
                continue;
            }
            let Some(&b) = buf.first() else { return false };
            if b != ch {
                return false;
            }
            buf = &buf[1..];
        }
    }

    proptest! {
        #[test]
        fn agrees_with_oracle(pat in "[ab*.]{0,8}", line in "[ab*.]{0,12}") {
            prop_assert_eq!(matches(pat.as_bytes(), line.as_bytes()), oracle(pat.as_bytes(), line.as_bytes()));
        }

        #[test]
        fn agrees_on_bytes(pat in proptest::collection::vec(prop_oneof![Just(b'*'), any::<u8>()], 0..10),
                           line in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(matches(&pat, &line), oracle(&pat, &line));
        }
    }
}
