//! djb's option parser: ports `subgetopt.c:subgetopt` and `sgetopt.c:getopt`.
//!
//! * Options may be bundled (`-nx`); an option argument is the rest of the
//!   word (`-o100`) or the next word (`-o 100`, which may be empty).
//! * Parsing stops at the first word not starting with `-`. A word that is
//!   just `-` stops it and stays an operand. A word starting with `--`
//!   (`--`, but also `--foo`) stops it and is consumed.
//! * Errors are reported as `"<basename argv0>: illegal option -- X"` or
//!   `"<basename argv0>: option requires an argument -- X"`, where `X` is the
//!   offending byte.
//!
//! Everything is bytes: `argv` is `OsString`s and the option letter is a `u8`.
//!
//! # Differences from daemontools
//! None known.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// A getopt failure; the program prints [`OptError::message`] then its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptError {
    /// The byte is not in the option string.
    Illegal(u8),
    /// The option needs an argument and `argv` ended.
    MissingArgument(u8),
}

impl OptError {
    /// The line `sgetopt` prints, program name taken from `argv0`'s basename.
    #[must_use]
    pub fn message(&self, argv0: &OsStr) -> Vec<u8> {
        let prog = argv0.as_bytes();
        let base = match prog.iter().rposition(|&b| b == b'/') {
            Some(i) => &prog[i + 1..],
            None => prog,
        };
        let (text, c): (&[u8], u8) = match *self {
            OptError::Illegal(c) => (b": illegal option -- ", c),
            OptError::MissingArgument(c) => (b": option requires an argument -- ", c),
        };
        let mut m = base.to_vec();
        m.extend_from_slice(text);
        m.push(c);
        m.push(b'\n');
        m
    }

    /// Print [`OptError::message`] to stderr in one write, program name
    /// from `args[0]` (as `sgetopt` does before the caller's usage line).
    pub(crate) fn print(&self, args: &[OsString]) {
        let argv0 = args.first().map_or(OsStr::new(""), OsString::as_os_str);
        crate::error::emit(&self.message(argv0));
    }
}

/// An option parser over a full `argv` (including `argv[0]`).
#[derive(Debug, Clone)]
pub struct Getopt<'a> {
    args: &'a [OsString],
    opts: &'a [u8],
    ind: usize,
    pos: usize,
}

impl<'a> Getopt<'a> {
    /// Parse `args` (element 0 is the program name) with djb's option
    /// string `opts` (a letter followed by `:` takes an argument).
    #[must_use]
    pub fn new(args: &'a [OsString], opts: &'a str) -> Self {
        Getopt {
            args,
            opts: opts.as_bytes(),
            ind: 1,
            pos: 0,
        }
    }

    /// Index of the first operand once [`Getopt::next_opt`] returned `None`
    /// (djb's `optind`).
    #[must_use]
    pub fn optind(&self) -> usize {
        self.ind
    }

    /// Does `c` take an argument? `None` if `c` is not an option.
    fn lookup(&self, c: u8) -> Option<bool> {
        let o = self.opts;
        let mut i = 0;
        while i < o.len() {
            let takes = o.get(i + 1) == Some(&b':');
            if o[i] == c {
                return Some(takes);
            }
            i += if takes { 2 } else { 1 };
        }
        None
    }

    fn word(&self, i: usize) -> Option<&'a [u8]> {
        self.args.get(i).map(|w| w.as_bytes())
    }

    /// The next option: `Some(Ok((letter, argument)))`, `Some(Err(_))` on a
    /// bad option, `None` when the options are over (see [`Getopt::optind`]).
    pub fn next_opt(&mut self) -> Option<Result<(u8, Option<&'a OsStr>), OptError>> {
        let mut w = self.word(self.ind)?;
        if self.pos > 0 && self.pos >= w.len() {
            self.ind += 1;
            self.pos = 0;
            w = self.word(self.ind)?;
        }
        if self.pos == 0 {
            if w.first() != Some(&b'-') {
                return None;
            }
            self.pos = 1;
            match w.get(1) {
                None => {
                    self.pos = 0;
                    return None;
                }
                Some(b'-') => {
                    self.ind += 1;
                    self.pos = 0;
                    return None;
                }
                Some(_) => {}
            }
        }
        let c = w[self.pos];
        self.pos += 1;
        match self.lookup(c) {
            None => Some(Err(OptError::Illegal(c))),
            Some(false) => Some(Ok((c, None))),
            Some(true) => {
                let rest = &w[self.pos..];
                self.ind += 1;
                self.pos = 0;
                if !rest.is_empty() {
                    return Some(Ok((c, Some(OsStr::from_bytes(rest)))));
                }
                match self.args.get(self.ind) {
                    None => Some(Err(OptError::MissingArgument(c))),
                    Some(a) => {
                        self.ind += 1;
                        Some(Ok((c, Some(a.as_os_str()))))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    type Parsed = (Vec<(char, Option<String>)>, usize);

    /// (options with arguments, optind) or the error.
    fn parse(v: &[&str], opts: &str) -> Result<Parsed, OptError> {
        let a = args(v);
        let mut g = Getopt::new(&a, opts);
        let mut out = Vec::new();
        while let Some(r) = g.next_opt() {
            let (c, arg) = r?;
            out.push((char::from(c), arg.map(|s| s.to_string_lossy().into_owned())));
        }
        Ok((out, g.optind()))
    }

    #[test]
    fn bundling_and_arguments() {
        assert_eq!(
            parse(&["p", "-nx", "-X", "f"], "nNxX"),
            Ok((vec![('n', None), ('x', None), ('X', None)], 3))
        );
        assert_eq!(
            parse(&["p", "-o100", "-d", "", "-m", "5", "c"], "d:m:o:"),
            Ok((
                vec![
                    ('o', Some("100".into())),
                    ('d', Some(String::new())),
                    ('m', Some("5".into()))
                ],
                6
            ))
        );
        assert_eq!(
            parse(&["p", "-no", "x"], "no:"),
            Ok((vec![('n', None), ('o', Some("x".into()))], 3))
        );
    }

    #[test]
    fn terminators() {
        assert_eq!(parse(&["p", "-", "-n"], "n"), Ok((vec![], 1)));
        assert_eq!(parse(&["p", "--", "-n"], "n"), Ok((vec![], 2)));
        assert_eq!(parse(&["p", "--foo", "-n"], "n"), Ok((vec![], 2)));
        assert_eq!(
            parse(&["p", "-n", "f", "-n"], "n"),
            Ok((vec![('n', None)], 2))
        );
        assert_eq!(parse(&["p"], "n"), Ok((vec![], 1)));
        assert_eq!(parse(&[], "n"), Ok((vec![], 1)));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&["p", "-nz"], "n"), Err(OptError::Illegal(b'z')));
        assert_eq!(parse(&["p", "-:"], "a:"), Err(OptError::Illegal(b':')));
        assert_eq!(
            parse(&["p", "-o"], "o:"),
            Err(OptError::MissingArgument(b'o'))
        );
        assert_eq!(
            OptError::Illegal(b'z').message(OsStr::new("/usr/bin/softlimit")),
            b"softlimit: illegal option -- z\n"
        );
        assert_eq!(
            OptError::MissingArgument(b'o').message(OsStr::new("sl")),
            b"sl: option requires an argument -- o\n"
        );
    }
}
