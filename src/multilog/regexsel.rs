//! The extension actions `~+regex` and `~-regex`: selection by regular
//! expression (the `regex` crate in bytes mode), searched anywhere in the
//! line's text after its stamp, within the first 1000 bytes of the line.
//!
//! Most lines of a log match none of a script's expressions. So all of
//! them are also one expression, `(?:e1)|(?:e2)|…`, asked once per line,
//! when the first `~` action that has to look at the line is reached (a
//! `~+` on a selected line, or a `~-` on a deselected one, does not), only
//! whether *any* matches: one scan, with the literal prefilter of all of
//! them where there is one (measured: three times as fast as a
//! [`RegexSet`] on gen-log with twenty expressions). Only on a line where
//! some expression matches are the actions' own expressions run, each when
//! its action needs it. Where the alternation cannot be formed (an
//! expression with `#`, a comment in `x` mode that would swallow the
//! closing parenthesis, or the same group name twice), a [`RegexSet`]
//! answers "any".

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use crate::error::Fatal;

/// "Does any expression match?"
#[derive(Debug)]
enum Any {
    Alternation(Regex),
    Set(RegexSet),
}

/// Compiled expressions and what is known of the current line.
#[derive(Debug)]
pub(crate) struct RegexSel {
    any_of: Any,
    each: Vec<Regex>,
    /// Does any expression match the current line (`None`: not asked yet)?
    any: Option<bool>,
}

/// Compiled-program size limit per expression set: generous for any
/// hand-written pattern, but bounded, so a hostile script fails at start
/// rather than eating memory.
const SIZE_LIMIT: usize = 64 << 20;

impl RegexSel {
    /// Compile the script's expressions; `None` without any.
    ///
    /// # Errors
    /// An expression that does not compile (its error, on one line).
    pub(crate) fn new(sources: &[Vec<u8>]) -> Result<Option<RegexSel>, Fatal> {
        if sources.is_empty() {
            return Ok(None);
        }
        let mut texts = Vec::with_capacity(sources.len());
        for s in sources {
            let Ok(t) = std::str::from_utf8(s) else {
                return Err(Fatal::plain(format!(
                    "unable to compile regular expression {}: not UTF-8",
                    String::from_utf8_lossy(s)
                )));
            };
            texts.push(t);
        }
        let one = |t: &str| {
            RegexBuilder::new(t)
                .size_limit(SIZE_LIMIT)
                .dfa_size_limit(SIZE_LIMIT)
                .build()
        };
        let fail = |t: &str, e: regex::Error| {
            // The crate's message spans lines; the last names the problem.
            let text = e.to_string();
            let why = text.lines().last().unwrap_or("").trim().to_string();
            Fatal::plain(format!("unable to compile regular expression {t}: {why}"))
        };
        let each = texts
            .iter()
            .map(|t| one(t).map_err(|e| fail(t, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let alternation = texts
            .iter()
            .map(|t| format!("(?:{t})"))
            .collect::<Vec<_>>()
            .join("|");
        let any_of = match one(&alternation) {
            Ok(r) if !texts.iter().any(|t| t.contains('#')) => Any::Alternation(r),
            _ => Any::Set(
                RegexSetBuilder::new(&texts)
                    .size_limit(SIZE_LIMIT)
                    .dfa_size_limit(SIZE_LIMIT)
                    .build()
                    // Every expression compiled alone; together they can
                    // only exceed the size limit.
                    .map_err(|e| fail(&texts.join(" "), e))?,
            ),
        };
        Ok(Some(RegexSel {
            any_of,
            each,
            any: None,
        }))
    }

    /// Forget the previous line.
    #[inline]
    pub(crate) fn new_line(&mut self) {
        self.any = None;
    }

    /// Does expression `k` match `text` (the current line)?
    #[inline]
    pub(crate) fn matches(&mut self, k: usize, text: &[u8]) -> bool {
        let any_of = &self.any_of;
        *self.any.get_or_insert_with(|| match any_of {
            Any::Alternation(r) => r.is_match(text),
            Any::Set(s) => s.is_match(text),
        }) && self.each[k].is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(res: &[&str]) -> RegexSel {
        let v: Vec<Vec<u8>> = res.iter().map(|r| r.as_bytes().to_vec()).collect();
        RegexSel::new(&v).unwrap().unwrap()
    }

    #[test]
    fn searched_anywhere_and_cached_per_line() {
        let mut s = sel(&["ERR(OR)?", "^id=[0-9]+$", "x"]);
        s.new_line();
        assert!(s.matches(0, b"an ERROR here"));
        assert!(!s.matches(1, b"an ERROR here"));
        s.new_line();
        assert!(s.matches(1, b"id=42"));
        assert!(!s.matches(2, b"id=42"));
    }

    #[test]
    fn bytes_mode_accepts_any_bytes() {
        let mut s = sel(&[r"(?-u)\xff", "a.b", "(?-u)a.b"]);
        s.new_line();
        assert!(s.matches(0, b"\x00\xff"));
        // Unicode mode (the default): `.` is one UTF-8 character.
        s.new_line();
        assert!(!s.matches(1, b"a\xffb"));
        assert!(s.matches(2, b"a\xffb"));
    }

    /// The alternation and the set agree with the expressions one by one,
    /// including where the alternation cannot be used.
    #[test]
    fn any_agrees_with_each() {
        let lines: [&[u8]; 5] = [b"a#b", b"xyz", b"ERROR 12", b"", b"q\xff"];
        for res in [
            &["(?x) a \\# b # comment", "z$"][..],
            &["(?P<n>E)RR", "(?P<n>q)"][..],
            &["ERR", "^x", r"\d+", r"(?-u)\xff"][..],
        ] {
            let mut s = sel(res);
            assert_eq!(
                matches!(s.any_of, Any::Alternation(_)),
                res[0].starts_with("ERR")
            );
            for l in lines {
                for (k, re) in res.iter().enumerate() {
                    s.new_line();
                    let want = Regex::new(re).unwrap().is_match(l);
                    assert_eq!(s.matches(k, l), want, "{re} on {l:?}");
                }
            }
        }
    }

    #[test]
    fn bad_expression_is_named() {
        let v = vec![b"ok".to_vec(), b"a(".to_vec()];
        let e = RegexSel::new(&v).unwrap_err();
        let m = String::from_utf8(e.message("multilog")).unwrap();
        assert!(
            m.starts_with("multilog: fatal: unable to compile regular expression a(: "),
            "{m}"
        );
        assert!(RegexSel::new(&[]).unwrap().is_none());
    }
}
