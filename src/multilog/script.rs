//! Compiling the multilog script (argv) into actions (ports the argument
//! handling of `multilog.c:main`, `f_init` and `c_init`).
//!
//! Every argument is one action, chosen by its first byte; unknown
//! arguments are ignored, exactly as in daemontools. `t` counts only as the
//! first argument. `s`, `n` and `!` set the size, count and processor for
//! the directories named **after** them.
//!
//! Extensions (actions daemontools 0.76 ignores, because their first byte is
//! none of its letters): `T` as the first argument (RFC 3339 stamps instead
//! of `t`); `S`, `R`, `Z`, `N` set the space cap, rotation age, compression
//! and space-freeing count for later directories like `s` and `n`; `~+` and
//! `~-` select and deselect with a regular expression. See `multilog.8`,
//! EXTENSIONS.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::djb::scan::scan_ulong;

/// Default maximum size of `current` (`s`).
pub(crate) const DEFAULT_SIZE: u64 = 99_999;
/// Smallest accepted `s`.
pub(crate) const MIN_SIZE: u64 = 4096;
/// Largest accepted `s`.
pub(crate) const MAX_SIZE: u64 = 16_777_215;
/// Default number of log files (`n`), `current` included.
pub(crate) const DEFAULT_NUM: u64 = 10;
/// Smallest accepted `n`.
pub(crate) const MIN_NUM: u64 = 2;
/// Compression level of `Z` without digits: zstd's fastest standard level,
/// which on log text compresses as well as its default (3) at twice the
/// speed (BENCHMARKS.md).
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;
/// Highest accepted `Z` level (above, zstd needs far more memory).
pub const MAX_ZSTD_LEVEL: i32 = 19;

/// One log directory named in the script, with the settings in force there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSpec {
    /// The name exactly as written (relative to the start directory).
    pub name: Vec<u8>,
    /// Maximum size of `current`.
    pub size: u64,
    /// Number of files to keep, `current` included.
    pub num: u64,
    /// The processor, if one was set before this directory.
    pub processor: Option<Vec<u8>>,
    /// The extensions in force for this directory.
    pub ext: DirExt,
}

/// Settings of the extension actions for one directory (all off by default,
/// so a daemontools script gets daemontools' behaviour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirExt {
    /// `S<bytes>`: cap on the total size of the archives (0: none).
    pub space: u64,
    /// `R<seconds>`: rotate a non-empty `current` at most this long after
    /// its first byte (0: never).
    pub rotate_secs: u64,
    /// `Z[<level>]`: compress finished archives with zstd at this level.
    pub zstd: Option<i32>,
    /// `N<count>`: on a full disk, remove the oldest archives while more
    /// than this many remain.
    pub free_keep: Option<u64>,
    /// `F<ms>`: fsync `current` at most every this many milliseconds from
    /// a background thread (0: never).
    pub fsync_ms: u64,
}

/// One step of the per-line script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `-pattern`: deselect if selected and the pattern matches.
    Deselect(Vec<u8>),
    /// `+pattern`: select if deselected and the pattern matches.
    Select(Vec<u8>),
    /// `e`: copy the selected line to stderr.
    Echo,
    /// `=file`: status file number `k`.
    Status(usize),
    /// A log directory: record the selection for directory number `k`.
    Dir(usize),
    /// `~-regex`: deselect if selected and regular expression `k` matches.
    DeselectRe(usize),
    /// `~+regex`: select if deselected and regular expression `k` matches.
    SelectRe(usize),
}

/// A compiled script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// `t` was the first argument.
    pub timestamp: bool,
    /// `T` was the first argument (RFC 3339 stamps).
    pub rfc3339: bool,
    /// The per-line actions in order.
    pub actions: Vec<Action>,
    /// Log directories, indexed by `Action::Dir`.
    pub dirs: Vec<DirSpec>,
    /// Status files, indexed by `Action::Status`.
    pub status_files: Vec<Vec<u8>>,
    /// Regular expressions (source text), indexed by `Action::SelectRe`
    /// and `Action::DeselectRe`.
    pub regexes: Vec<Vec<u8>>,
}

impl Script {
    /// Compile argv (without the program name).
    #[must_use]
    pub fn parse(args: &[OsString]) -> Script {
        let mut s = Script::default();
        let mut size = DEFAULT_SIZE;
        let mut num = DEFAULT_NUM;
        let mut processor: Option<Vec<u8>> = None;
        let mut ext = DirExt::default();
        for (i, arg) in args.iter().enumerate() {
            let a = arg.clone().into_vec();
            let Some(&first) = a.first() else { continue };
            let rest = a[1..].to_vec();
            match first {
                b't' if i == 0 => s.timestamp = true,
                b'T' if i == 0 => s.rfc3339 = true,
                b'-' => s.actions.push(Action::Deselect(rest)),
                b'+' => s.actions.push(Action::Select(rest)),
                b'e' => s.actions.push(Action::Echo),
                b'=' => {
                    s.actions.push(Action::Status(s.status_files.len()));
                    s.status_files.push(rest);
                }
                b's' => size = scan_ulong(&rest).1.clamp(MIN_SIZE, MAX_SIZE),
                b'n' => num = scan_ulong(&rest).1.max(MIN_NUM),
                b'!' => processor = Some(rest),
                b'S' => ext.space = scan_ext(&rest).1,
                b'R' => ext.rotate_secs = scan_ext(&rest).1,
                b'Z' => ext.zstd = zstd_level(&rest),
                b'N' => {
                    let (n, v) = scan_ext(&rest);
                    ext.free_keep = (n > 0).then_some(v);
                }
                b'~' => match rest.split_first() {
                    Some((&b'+', re)) => {
                        s.actions.push(Action::SelectRe(s.regexes.len()));
                        s.regexes.push(re.to_vec());
                    }
                    Some((&b'-', re)) => {
                        s.actions.push(Action::DeselectRe(s.regexes.len()));
                        s.regexes.push(re.to_vec());
                    }
                    _ => {}
                },
                b'F' => ext.fsync_ms = scan_ext(&rest).1,
                b'.' | b'/' => {
                    s.actions.push(Action::Dir(s.dirs.len()));
                    s.dirs.push(DirSpec {
                        name: a,
                        size,
                        num,
                        processor: processor.clone(),
                        ext,
                    });
                }
                _ => {}
            }
        }
        s
    }

    /// True when some `+`/`-` action can change the selection.
    #[must_use]
    pub fn has_patterns(&self) -> bool {
        self.actions.iter().any(|a| {
            matches!(
                a,
                Action::Select(_)
                    | Action::Deselect(_)
                    | Action::SelectRe(_)
                    | Action::DeselectRe(_)
            )
        })
    }
}

/// The leading digits of an extension's number (`S`, `R`, `N`, `F`, `Z`):
/// `scan_ulong`, except that a number past `u64::MAX` counts as
/// `u64::MAX` (no cap, never, …) instead of wrapping to whatever its low
/// 64 bits say. `s` and `n` keep daemontools' wrapping `scan_ulong`.
fn scan_ext(s: &[u8]) -> (usize, u64) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let v = s[..n].iter().try_fold(0u64, |v, &b| {
        v.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    });
    (n, v.unwrap_or(u64::MAX))
}

/// The level of a `Z` argument: none given is zstd's default, `0` turns
/// compression off, anything else is clamped to 1..=[`MAX_ZSTD_LEVEL`].
fn zstd_level(rest: &[u8]) -> Option<i32> {
    match scan_ext(rest) {
        (0, _) => Some(DEFAULT_ZSTD_LEVEL),
        (_, 0) => None,
        (_, v) => Some(i32::try_from(v).map_or(MAX_ZSTD_LEVEL, |v| v.min(MAX_ZSTD_LEVEL))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Script {
        Script::parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn t_only_first() {
        assert!(p(&["t", "./d"]).timestamp);
        assert!(p(&["txyz", "./d"]).timestamp);
        assert!(!p(&["./d", "t"]).timestamp);
        assert!(!p(&["e", "t"]).timestamp);
    }

    #[test]
    fn size_and_num_apply_to_later_dirs() {
        let s = p(&[
            "./a",
            "s5000x",
            "n1",
            "./b",
            "s1",
            "/c",
            "s99999999999",
            "n7",
            "./d",
        ]);
        let got: Vec<_> = s.dirs.iter().map(|d| (d.size, d.num)).collect();
        assert_eq!(
            got,
            vec![(99_999, 10), (5000, 2), (4096, 2), (16_777_215, 7)]
        );
    }

    #[test]
    fn fsync_window_applies_to_later_dirs() {
        let s = p(&["./a", "F100", "./b", "Fx", "./c", "F1000", "./d"]);
        let got: Vec<_> = s.dirs.iter().map(|d| d.ext.fsync_ms).collect();
        assert_eq!(got, vec![0, 100, 0, 1000]);
    }

    #[test]
    fn processor_sticks_and_empty_is_a_processor() {
        let s = p(&["./a", "!", "./b", "!gzip", "./c", "./d"]);
        let got: Vec<_> = s.dirs.iter().map(|d| d.processor.clone()).collect();
        assert_eq!(
            got,
            vec![
                None,
                Some(vec![]),
                Some(b"gzip".to_vec()),
                Some(b"gzip".to_vec())
            ]
        );
    }

    #[test]
    fn unknown_ignored_and_actions_in_order() {
        let s = p(&[
            "foo", "", "T", "-*", "+*x*", "e", "=st", "./d", "w", "~x", "~",
        ]);
        assert_eq!(
            s.actions,
            vec![
                Action::Deselect(b"*".to_vec()),
                Action::Select(b"*x*".to_vec()),
                Action::Echo,
                Action::Status(0),
                Action::Dir(0)
            ]
        );
        assert_eq!(s.status_files, vec![b"st".to_vec()]);
        assert!(s.has_patterns());
        assert!(!p(&["t", "e", "./d"]).has_patterns());
        assert!(!s.rfc3339 && !s.timestamp);
    }

    #[test]
    fn capital_t_only_first_and_not_t() {
        let s = p(&["T", "./d"]);
        assert!(s.rfc3339 && !s.timestamp);
        assert!(p(&["Tfoo", "./d"]).rfc3339);
        assert!(!p(&["./d", "T"]).rfc3339);
        assert!(!p(&["t", "T"]).rfc3339);
    }

    #[test]
    fn extensions_apply_to_later_dirs() {
        let s = p(&[
            "./a", "S1000", "R60", "Z", "N3", "./b", "Z9", "S0", "./c", "Z0", "R", "N", "./d",
            "Z99", "./e",
        ]);
        let got: Vec<_> = s.dirs.iter().map(|d| d.ext).collect();
        let ext = |space, rotate_secs, zstd, free_keep| DirExt {
            space,
            rotate_secs,
            zstd,
            free_keep,
            fsync_ms: 0,
        };
        assert_eq!(
            got,
            vec![
                DirExt::default(),
                ext(1000, 60, Some(DEFAULT_ZSTD_LEVEL), Some(3)),
                ext(0, 60, Some(9), Some(3)),
                ext(0, 0, None, None),
                ext(0, 0, Some(MAX_ZSTD_LEVEL), None),
            ]
        );
    }

    #[test]
    fn extension_numbers_saturate_instead_of_wrapping() {
        let max = u64::MAX;
        for (arg, want) in [
            ("9223372036854775807", 9_223_372_036_854_775_807),
            ("18446744073709551615", max),
            ("18446744073709551616", max),
            ("99999999999999999999999x", max),
            ("0000000000000000000000000012", 12),
        ] {
            let s = p(&[
                &format!("S{arg}"),
                &format!("R{arg}"),
                &format!("N{arg}"),
                &format!("F{arg}"),
                "./d",
            ]);
            let e = s.dirs[0].ext;
            assert_eq!(
                (e.space, e.rotate_secs, e.free_keep, e.fsync_ms),
                (want, want, Some(want), want),
                "{arg}"
            );
        }
        // Z past 64 bits is the highest level, not 0 (off).
        let s = p(&["Z18446744073709551616", "./d"]);
        assert_eq!(s.dirs[0].ext.zstd, Some(MAX_ZSTD_LEVEL));
        // s and n wrap as daemontools' scan_ulong does (2^64 + 5000).
        let s = p(&["s18446744073709556616", "n18446744073709551619", "./d"]);
        assert_eq!((s.dirs[0].size, s.dirs[0].num), (5000, 3));
    }

    #[test]
    fn regex_actions_in_order() {
        let s = p(&["~+ab", "-*", "~-c.d", "./x", "~+", "~*x"]);
        assert_eq!(
            s.actions,
            vec![
                Action::SelectRe(0),
                Action::Deselect(b"*".to_vec()),
                Action::DeselectRe(1),
                Action::Dir(0),
                Action::SelectRe(2),
            ]
        );
        assert_eq!(s.regexes, vec![b"ab".to_vec(), b"c.d".to_vec(), Vec::new()]);
        assert!(p(&["~+x"]).has_patterns());
    }
}
