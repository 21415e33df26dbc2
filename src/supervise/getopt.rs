//! djb's option parser (ports `sgetopt.c` and `subgetopt.c`).
//!
//! * Options may be bundled (`-dx`); an option's argument is the rest of the
//!   word or the next word.
//! * Parsing stops at the first word not starting with `-`. A lone `-` stops
//!   it and stays an operand; any word starting with `--` stops it and is
//!   consumed (so `--foo` is swallowed, verified with `svc --foo dir`).
//! * Problems print `"{basename argv0}: illegal option -- X"` or
//!   `"...: option requires an argument -- X"` and yield [`Opt::Problem`].
//!
//! Differences from daemontools: none.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// One getopt result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opt {
    /// An option without an argument.
    Flag(u8),
    /// An option with its argument.
    Arg(u8, OsString),
    /// `?`: an unknown option or a missing argument (already reported).
    Problem(u8),
}

/// A getopt cursor over `args` (which include `argv[0]`).
pub struct Getopt<'a> {
    args: &'a [OsString],
    opts: &'static [u8],
    /// Index of the next word to look at; after the options it is the first operand.
    pub optind: usize,
    optpos: usize,
    /// Whether problems are printed to stderr (djb's `opterr`).
    pub report: bool,
}

impl<'a> Getopt<'a> {
    /// Parse `args` (with `argv[0]`) against an option string like `b"udx"` or `b"o:"`.
    #[must_use]
    pub fn new(args: &'a [OsString], opts: &'static [u8]) -> Self {
        Getopt {
            args,
            opts,
            optind: 1,
            optpos: 0,
            report: true,
        }
    }

    /// The words after the options.
    #[must_use]
    pub fn operands(&self) -> &'a [OsString] {
        &self.args[self.optind.min(self.args.len())..]
    }

    fn word(&self, i: usize) -> Option<&'a [u8]> {
        self.args.get(i).map(|w| w.as_bytes())
    }

    fn progname(&self) -> &'a [u8] {
        let a0 = self.word(0).unwrap_or(b"");
        match a0.iter().rposition(|&c| c == b'/') {
            Some(p) => &a0[p + 1..],
            None => a0,
        }
    }

    fn problem(&self, c: u8, missing: bool) -> Opt {
        if self.report {
            let mut m = self.progname().to_vec();
            m.extend_from_slice(if missing {
                b": option requires an argument -- "
            } else {
                b": illegal option -- "
            });
            m.push(c);
            m.push(b'\n');
            crate::error::emit(&m);
        }
        Opt::Problem(c)
    }

    /// `subgetopt`: the next option, or `None` when the options are done.
    pub fn next_opt(&mut self) -> Option<Opt> {
        let mut word = self.word(self.optind)?;
        if self.optpos > 0 && self.optpos >= word.len() {
            self.optind += 1;
            self.optpos = 0;
            word = self.word(self.optind)?;
        }
        if self.optpos == 0 {
            if word.first() != Some(&b'-') {
                return None;
            }
            self.optpos = 1;
            match word.get(1) {
                None => {
                    self.optpos = 0;
                    return None;
                }
                Some(b'-') => {
                    self.optpos = 0;
                    self.optind += 1;
                    return None;
                }
                Some(_) => {}
            }
        }
        let c = word[self.optpos];
        self.optpos += 1;
        let mut s = 0;
        while s < self.opts.len() {
            let takes_arg = self.opts.get(s + 1) == Some(&b':');
            if c == self.opts[s] {
                if !takes_arg {
                    return Some(Opt::Flag(c));
                }
                let rest = &word[self.optpos..];
                self.optind += 1;
                self.optpos = 0;
                if !rest.is_empty() {
                    return Some(Opt::Arg(c, std::ffi::OsStr::from_bytes(rest).to_owned()));
                }
                return match self.args.get(self.optind) {
                    Some(a) => {
                        self.optind += 1;
                        Some(Opt::Arg(c, a.clone()))
                    }
                    None => Some(self.problem(c, true)),
                };
            }
            s += if takes_arg { 2 } else { 1 };
        }
        Some(self.problem(c, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn run(v: &[&str], opts: &'static [u8]) -> (Vec<Opt>, Vec<String>) {
        let a = args(v);
        let mut g = Getopt::new(&a, opts);
        g.report = false;
        let mut out = Vec::new();
        while let Some(o) = g.next_opt() {
            let stop = matches!(o, Opt::Problem(_));
            out.push(o);
            if stop {
                break;
            }
        }
        let rest = g
            .operands()
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        (out, rest)
    }

    #[test]
    fn bundling_and_operands() {
        let (o, r) = run(&["svc", "-dx", "-t", "a", "-u", "b"], b"udx");
        assert_eq!(
            o,
            vec![Opt::Flag(b'd'), Opt::Flag(b'x'), Opt::Problem(b't')]
        );
        let (o, r2) = run(&["svc", "-dx", "-u", "a", "-u"], b"udx");
        assert_eq!(o, vec![Opt::Flag(b'd'), Opt::Flag(b'x'), Opt::Flag(b'u')]);
        assert_eq!(r2, vec!["a", "-u"]);
        drop(r);
    }

    #[test]
    fn dash_kept_double_dash_consumed() {
        let (o, r) = run(&["svc", "-u", "-", "x"], b"u");
        assert_eq!(o, vec![Opt::Flag(b'u')]);
        assert_eq!(r, vec!["-", "x"]);
        let (_, r) = run(&["svc", "-u", "--", "-d"], b"ud");
        assert_eq!(r, vec!["-d"]);
        let (o, r) = run(&["svc", "--foo", "d"], b"ud");
        assert!(o.is_empty());
        assert_eq!(r, vec!["d"]);
    }

    #[test]
    fn arguments_attached_or_next_word() {
        let (o, r) = run(&["softlimit", "-o100", "-m", "5", "-p", "p"], b"o:m:p:");
        assert_eq!(
            o,
            vec![
                Opt::Arg(b'o', "100".into()),
                Opt::Arg(b'm', "5".into()),
                Opt::Arg(b'p', "p".into())
            ]
        );
        assert!(r.is_empty());
        let (o, _) = run(&["softlimit", "-o"], b"o:");
        assert_eq!(o, vec![Opt::Problem(b'o')]);
        let (o, r) = run(&["x", "-ao", "v"], b"ao:");
        assert_eq!(o, vec![Opt::Flag(b'a'), Opt::Arg(b'o', "v".into())]);
        assert!(r.is_empty());
    }

    #[test]
    fn no_options() {
        let (o, r) = run(&["svc"], b"u");
        assert!(o.is_empty() && r.is_empty());
        let (o, r) = run(&["svc", "dir"], b"u");
        assert!(o.is_empty());
        assert_eq!(r, vec!["dir"]);
    }
}
