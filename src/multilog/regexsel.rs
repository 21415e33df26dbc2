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
//!
//! A run of consecutive `~+` actions selects a deselected line exactly when
//! one of its expressions matches (once one has, the rest have nothing to
//! do), so a run is asked as one alternation too, and its other members
//! are never asked on their own: reached while the line is still
//! deselected, they know the run's alternation found nothing.

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::script::Action;
use crate::error::Fatal;

/// "Does any expression match?"
#[derive(Debug)]
enum Any {
    Alternation(Regex),
    Set(RegexSet),
}

/// How expression `k` is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// On its own.
    Alone,
    /// It starts a run of `~+` actions: the run's alternation is asked
    /// (`None`: the run is every expression, so "any" is the answer).
    Leads(Option<usize>),
    /// In a run, after its first: asked only when the run found nothing.
    Follows,
}

/// Compiled expressions and what is known of the current line.
#[derive(Debug)]
pub(crate) struct RegexSel {
    any_of: Any,
    each: Vec<Regex>,
    role: Vec<Role>,
    runs: Vec<Regex>,
    /// Does any expression match the current line (`None`: not asked yet)?
    any: Option<bool>,
}

/// Compiled-program size limit per expression set: generous for any
/// hand-written pattern, but bounded, so a hostile script fails at start
/// rather than eating memory.
const SIZE_LIMIT: usize = 64 << 20;

impl RegexSel {
    /// Compile the script's expressions (`actions` are the script's, to
    /// find runs of `~+`); `None` without any.
    ///
    /// # Errors
    /// An expression that does not compile (its error, on one line).
    pub(crate) fn new(sources: &[Vec<u8>], actions: &[Action]) -> Result<Option<RegexSel>, Fatal> {
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
        let alternation = |texts: &[&str]| -> Option<Regex> {
            if texts.iter().any(|t| t.contains('#')) {
                return None;
            }
            let a: Vec<String> = texts.iter().map(|t| format!("(?:{t})")).collect();
            one(&a.join("|")).ok()
        };
        let mut role = vec![Role::Alone; texts.len()];
        let mut runs = Vec::new();
        let mut i = 0;
        while i < actions.len() {
            let mut j = i;
            while matches!(actions.get(j), Some(Action::SelectRe(_))) {
                j += 1;
            }
            if let (Some(Action::SelectRe(first)), Some(Action::SelectRe(last))) =
                (actions.get(i), actions.get(j.wrapping_sub(1)))
            {
                let (first, last) = (*first, *last);
                if j - i >= 2 && last + 1 - first == j - i {
                    let whole = first == 0 && last + 1 == texts.len();
                    let lead = if whole {
                        Some(None)
                    } else {
                        alternation(&texts[first..=last]).map(|r| {
                            runs.push(r);
                            Some(runs.len() - 1)
                        })
                    };
                    if let Some(lead) = lead {
                        role[first] = Role::Leads(lead);
                        role[first + 1..=last].fill(Role::Follows);
                    }
                }
            }
            i = j.max(i + 1);
        }
        let any_of = match alternation(&texts) {
            Some(r) => Any::Alternation(r),
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
            role,
            runs,
            any: None,
        }))
    }

    /// Forget the previous line.
    #[inline]
    pub(crate) fn new_line(&mut self) {
        self.any = None;
    }

    /// Does expression `k` match `text` (the current line)? For a `~+`
    /// in a run (see the module comment), does the run's?
    #[inline]
    pub(crate) fn matches(&mut self, k: usize, text: &[u8]) -> bool {
        let any_of = &self.any_of;
        let any = *self.any.get_or_insert_with(|| match any_of {
            Any::Alternation(r) => r.is_match(text),
            Any::Set(s) => s.is_match(text),
        });
        any && match self.role[k] {
            Role::Alone => self.each[k].is_match(text),
            Role::Leads(None) => true,
            Role::Leads(Some(g)) => self.runs[g].is_match(text),
            Role::Follows => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One `~-` action per expression: no runs.
    fn sel(res: &[&str]) -> RegexSel {
        let v: Vec<Vec<u8>> = res.iter().map(|r| r.as_bytes().to_vec()).collect();
        let actions: Vec<Action> = (0..v.len()).map(Action::DeselectRe).collect();
        RegexSel::new(&v, &actions).unwrap().unwrap()
    }

    /// Runs of `~+` are asked as one; the result of the script is that of
    /// asking each expression in turn.
    #[test]
    fn runs_of_select_are_one_question() {
        let v: Vec<Vec<u8>> = ["a", "b", "c", "d", "e#", "f"]
            .iter()
            .map(|r| r.as_bytes().to_vec())
            .collect();
        use Action::{DeselectRe as D, Echo, SelectRe as S};
        // a b a run; c alone; d a `~-`; e# f a run that cannot be an
        // alternation (a `#`), so asked one by one.
        let actions = [S(0), S(1), Echo, S(2), D(3), S(4), S(5)];
        let mut r = RegexSel::new(&v, &actions).unwrap().unwrap();
        assert_eq!(
            r.role,
            [
                Role::Leads(Some(0)),
                Role::Follows,
                Role::Alone,
                Role::Alone,
                Role::Alone,
                Role::Alone
            ]
        );
        for (line, want) in [(&b"xbx"[..], true), (b"c", false), (b"zzz", false)] {
            r.new_line();
            assert_eq!(r.matches(0, line), want, "{line:?}");
        }
        r.new_line();
        assert!(r.matches(2, b"c"));
        r.new_line();
        assert!(r.matches(5, b"f") && !r.matches(4, b"f"));
        // The whole script one run: "any" answers.
        let all = [S(0), S(1), S(2), S(3), S(4)];
        let v2: Vec<Vec<u8>> = v.iter().take(4).chain([&v[5]]).cloned().collect();
        let mut r = RegexSel::new(&v2, &all[..]).unwrap().unwrap();
        assert_eq!(r.role[0], Role::Leads(None));
        r.new_line();
        assert!(r.matches(0, b"..f.."));
        r.new_line();
        assert!(!r.matches(0, b"xyz"));
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
        let e = RegexSel::new(&v, &[]).unwrap_err();
        let m = String::from_utf8(e.message("multilog")).unwrap();
        assert!(
            m.starts_with("multilog: fatal: unable to compile regular expression a(: "),
            "{m}"
        );
        assert!(RegexSel::new(&[], &[]).unwrap().is_none());
    }
}
