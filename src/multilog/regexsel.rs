//! The extension actions `~+regex` and `~-regex`: selection by regular
//! expression (the `regex` crate in bytes mode), searched anywhere in the
//! line's text after its stamp, within the first 1000 bytes of the line.
//!
//! All of a script's expressions are one [`RegexSet`], run at most once per
//! line, when the first `~` action that has to look at the line is reached
//! (a `~+` on a selected line, or a `~-` on a deselected one, does not). A
//! script with twenty expressions thus reads each line once, not twenty
//! times.

use regex::bytes::{RegexSet, RegexSetBuilder, SetMatches};

use crate::error::Fatal;

/// Compiled expressions and the current line's matches.
#[derive(Debug)]
pub(crate) struct RegexSel {
    set: RegexSet,
    matches: Option<SetMatches>,
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
        let set = RegexSetBuilder::new(&texts)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| {
                // The crate's message spans lines; the first names the
                // expression, the last the problem.
                let text = e.to_string();
                let why = text.lines().last().unwrap_or("").trim().to_string();
                let which = texts
                    .iter()
                    .find(|t| regex::bytes::Regex::new(t).is_err())
                    .copied()
                    .unwrap_or("");
                Fatal::plain(format!(
                    "unable to compile regular expression {which}: {why}"
                ))
            })?;
        Ok(Some(RegexSel { set, matches: None }))
    }

    /// Forget the previous line's matches.
    #[inline]
    pub(crate) fn new_line(&mut self) {
        self.matches = None;
    }

    /// Does expression `k` match `text` (the current line)?
    #[inline]
    pub(crate) fn matches(&mut self, k: usize, text: &[u8]) -> bool {
        let set = &self.set;
        self.matches
            .get_or_insert_with(|| set.matches(text))
            .matched(k)
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
