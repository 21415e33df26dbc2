//! The new programs' command lines (svwait, svstat-json, svmetrics, svinit):
//! `--help` and `--version` to stdout with exit 0, wherever getopt meets
//! them among the options; usage errors (exit 100) that name what was
//! wrong, on the `prog: usage: SYNOPSIS: WHY` line.

use std::ffi::OsStr;

use crate::support::{ours, run};

const NEW: [&str; 4] = ["svwait", "svstat-json", "svmetrics", "svinit"];

/// (exit code, stdout, stderr) of `prog args`.
pub(crate) fn call(prog: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let out = run(&ours(prog), &args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_prints_synopsis_and_options_to_stdout() {
    for prog in NEW {
        let (c, out, err) = call(prog, &["--help"]);
        assert_eq!(c, Some(0), "{prog}: {err}");
        assert!(err.is_empty(), "{prog}: {err}");
        assert!(out.starts_with(&format!("usage: {prog} ")), "{prog}: {out}");
        for opt in ["--help", "--version"] {
            assert!(out.contains(&format!("\n  {opt} ")), "{prog}: {out}");
        }
    }
    // One line per option, each option of the synopsis listed.
    let (_, out, _) = call("svwait", &["--help"]);
    for opt in ["-u", "-U", "-d", "-D", "-t ms", "-a", "-o"] {
        assert!(out.contains(&format!("\n  {opt} ")), "{opt}: {out}");
    }
    let (_, out, _) = call("svmetrics", &["--help"]);
    assert!(out.contains("\n  -l addr:port "), "{out}");
    assert!(out.contains("127.0.0.1:10707"), "{out}");
}

#[test]
fn help_after_other_options_still_helps() {
    // Nothing is waited for nor served: help wins where getopt meets it.
    let (c, out, _) = call("svwait", &["-d", "-t", "100", "--help", "/nonexistent"]);
    assert_eq!(c, Some(0));
    assert!(out.starts_with("usage: svwait "), "{out}");
    let (c, out, _) = call("svmetrics", &["-l", "127.0.0.1:0", "--version"]);
    assert_eq!(c, Some(0));
    assert!(out.starts_with("svmetrics "), "{out}");
    // After `--`, `--help` is a directory like any other.
    let (c, out, _) = call("svstat-json", &["--", "--help"]);
    assert_eq!(c, Some(0));
    assert!(out.contains("\"error\":\"unable to chdir"), "{out}");
}

#[test]
fn version_names_program_and_version() {
    for prog in NEW {
        let (c, out, err) = call(prog, &["--version"]);
        assert_eq!(c, Some(0), "{prog}: {err}");
        assert_eq!(
            out,
            format!("{prog} (daemontools-rs) {}\n", env!("CARGO_PKG_VERSION")),
        );
    }
}

#[test]
fn usage_errors_name_what_was_wrong() {
    let cases: [(&str, &[&str], &str); 6] = [
        ("svwait", &["--down", "d"], ": unknown option: --down\n"),
        (
            "svwait",
            &["-t", "12x", "d"],
            ": -t: not a number of milliseconds: 12x\n",
        ),
        (
            "svstat-json",
            &["--json", "d"],
            ": unknown option: --json\n",
        ),
        ("svmetrics", &["--port=1"], ": unknown option: --port=1\n"),
        (
            "svmetrics",
            &["-l", "nonsense"],
            ": -l: unable to parse address:port: nonsense\n",
        ),
        (
            "svmetrics",
            &["-l", "127.0.0.1:0", "a", "b"],
            ": more than one directory: b\n",
        ),
    ];
    for (prog, args, why) in cases {
        let (c, out, err) = call(prog, args);
        assert_eq!(c, Some(100), "{prog} {args:?}: {err}");
        assert!(out.is_empty(), "{prog} {args:?}: {out}");
        assert!(err.starts_with(&format!("{prog}: usage: {prog} ")), "{err}");
        assert!(err.ends_with(why), "{prog} {args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // djb's getopt names an unknown letter itself, then the usage line.
    let (c, _, err) = call("svwait", &["-x", "d"]);
    assert_eq!(c, Some(100));
    assert!(err.starts_with("svwait: illegal option -- x\n"), "{err}");
}
