//! The command-line conventions of the programs that are new in this
//! project (`svwait`, `svstat-json`, `svmetrics`, and in time `svlog` and
//! `logship`): `--help`, `--version`, and usage errors that say what was
//! wrong. The daemontools programs keep djb's argv byte for byte and do not
//! use this module.
//!
//! These programs parse their short options with djb's getopt
//! ([`crate::djb::getopt`]), which ends the options at any word starting
//! with `--` and drops that word. [`Cli::ended_options`] tells the caller
//! whether the word that ended them was such a long option, and
//! [`Cli::long_option`] answers it: `--help` prints [`Cli::help`] to stdout,
//! `--version` prints [`Cli::version`], both exit 0; anything else is a
//! usage error naming the word. `--` alone still ends the options.
//!
//! A usage error reads `prog: usage: SYNOPSIS: WHY` (exit 100), so the
//! synopsis is still on the one line that scripts and users already look
//! for, followed by what was wrong: `svwait: usage: svwait [ ... ] dir ...:
//! unknown option: --down`.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use crate::error::{self, Kind, EXIT_TEMP, EXIT_USAGE};

/// The package's version, as Cargo has it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The package's name.
pub const PACKAGE: &str = env!("CARGO_PKG_NAME");

/// What a new program tells about its command line.
#[derive(Debug, Clone, Copy)]
pub struct Cli {
    /// The program's name, as in its messages.
    pub prog: &'static str,
    /// The synopsis, e.g. `svwait [ -u | -d ] [ -t ms ] dir ...`.
    pub usage: &'static str,
    /// One `(option, what it does)` pair per option, in `--help`'s order.
    pub options: &'static [(&'static str, &'static str)],
}

impl Cli {
    /// The word that ended djb's getopt between `optind` `before` and
    /// `after` one call, if it was a long option (`--x`, not `--`).
    #[must_use]
    pub fn ended_options(args: &[OsString], before: usize, after: usize) -> Option<&OsStr> {
        let w = args.get(before..after)?.last()?;
        (w.as_bytes().starts_with(b"--") && w.len() > 2).then_some(w.as_os_str())
    }

    /// Answer the long option `word`: `--help` and `--version` print to
    /// stdout and give 0, anything else is a usage error (100).
    #[must_use]
    pub fn long_option(&self, word: &OsStr) -> u8 {
        match word.as_bytes() {
            b"--help" => self.help(),
            b"--version" => self.version(),
            w => self.usage_why(&[b"unknown option: ", w]),
        }
    }

    /// The `--help` text: the synopsis, then one line per option.
    #[must_use]
    pub fn help_text(&self) -> String {
        let mut s = format!("usage: {}\n", self.usage);
        if !self.options.is_empty() {
            s.push('\n');
            let width = self.options.iter().map(|(o, _)| o.len()).max().unwrap_or(0);
            for (opt, what) in self.options {
                s.push_str(&format!("  {opt:width$}  {what}\n"));
            }
        }
        s
    }

    /// Print the `--help` text to stdout; 0, or 111 if it cannot be written.
    #[must_use]
    pub fn help(&self) -> u8 {
        self.print(self.help_text().as_bytes())
    }

    /// Print `prog (daemontools-rs) VERSION` to stdout; 0, or 111.
    #[must_use]
    pub fn version(&self) -> u8 {
        self.print(format!("{} ({PACKAGE}) {VERSION}\n", self.prog).as_bytes())
    }

    /// `prog: usage: SYNOPSIS` alone; [`EXIT_USAGE`].
    #[must_use]
    pub fn usage(&self) -> u8 {
        error::usage(self.prog, self.usage)
    }

    /// `prog: usage: SYNOPSIS: WHY` (the pieces of `why` joined as they
    /// are: bytes, so a path that is not UTF-8 is shown as it is);
    /// [`EXIT_USAGE`].
    #[must_use]
    pub fn usage_why(&self, why: &[&[u8]]) -> u8 {
        let mut parts: Vec<&[u8]> = vec![self.usage.as_bytes(), b": "];
        parts.extend_from_slice(why);
        error::say(self.prog, Kind::Usage, &parts, None);
        EXIT_USAGE
    }

    fn print(&self, text: &[u8]) -> u8 {
        let mut out = std::io::stdout().lock();
        match out.write_all(text).and_then(|()| out.flush()) {
            Ok(()) => 0,
            Err(e) => {
                let r = error::reason(&e);
                error::say(
                    self.prog,
                    Kind::Fatal,
                    &[b"unable to write output: "],
                    Some(r),
                );
                EXIT_TEMP
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Cli = Cli {
        prog: "p",
        usage: "p [ -a ] [ -t ms ] dir ...",
        options: &[("-a", "all"), ("-t ms", "time limit")],
    };

    fn argv(w: &[&str]) -> Vec<OsString> {
        w.iter().map(OsString::from).collect()
    }

    #[test]
    fn help_lines_are_aligned() {
        assert_eq!(
            T.help_text(),
            "usage: p [ -a ] [ -t ms ] dir ...\n\n  -a     all\n  -t ms  time limit\n"
        );
    }

    #[test]
    fn long_option_that_ended_getopt() {
        let a = argv(&["p", "-a", "--help", "x"]);
        assert_eq!(Cli::ended_options(&a, 2, 3), Some(OsStr::new("--help")));
        let a = argv(&["p", "--", "x"]);
        assert_eq!(Cli::ended_options(&a, 1, 2), None);
        // Ended by an operand: nothing was consumed.
        assert_eq!(Cli::ended_options(&a, 2, 2), None);
    }
}
