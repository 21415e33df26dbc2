//! Compiling the multilog script (argv) into actions (ports the argument
//! handling of `multilog.c:main`, `f_init` and `c_init`).
//!
//! Every argument is one action, chosen by its first byte; unknown
//! arguments are ignored, exactly as in daemontools. `t` counts only as the
//! first argument. `s`, `n` and `!` set the size, count and processor for
//! the directories named **after** them.

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
    /// `F<ms>` (an extension): fsync `current` at most every this many
    /// milliseconds from a background thread; 0 (the default) never.
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
}

/// A compiled script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// `t` was the first argument.
    pub timestamp: bool,
    /// The per-line actions in order.
    pub actions: Vec<Action>,
    /// Log directories, indexed by `Action::Dir`.
    pub dirs: Vec<DirSpec>,
    /// Status files, indexed by `Action::Status`.
    pub status_files: Vec<Vec<u8>>,
}

impl Script {
    /// Compile argv (without the program name).
    #[must_use]
    pub fn parse(args: &[OsString]) -> Script {
        let mut s = Script::default();
        let mut size = DEFAULT_SIZE;
        let mut num = DEFAULT_NUM;
        let mut processor: Option<Vec<u8>> = None;
        let mut fsync_ms = 0;
        for (i, arg) in args.iter().enumerate() {
            let a = arg.clone().into_vec();
            let Some(&first) = a.first() else { continue };
            let rest = a[1..].to_vec();
            match first {
                b't' if i == 0 => s.timestamp = true,
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
                b'F' => fsync_ms = scan_ulong(&rest).1,
                b'.' | b'/' => {
                    s.actions.push(Action::Dir(s.dirs.len()));
                    s.dirs.push(DirSpec {
                        name: a,
                        size,
                        num,
                        processor: processor.clone(),
                        fsync_ms,
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
        self.actions
            .iter()
            .any(|a| matches!(a, Action::Select(_) | Action::Deselect(_)))
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
        let got: Vec<_> = s.dirs.iter().map(|d| d.fsync_ms).collect();
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
        let s = p(&["foo", "", "T", "-*", "+*x*", "e", "=st", "./d", "w"]);
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
    }
}
