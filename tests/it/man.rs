//! Man pages: every program in `src/bin/` has
//! `man/<prog>.8` with the sections we promise, cross references between
//! our pages resolve, and `mandoc -T lint -W warning` (plus
//! `groff -ww -z` when installed) reports nothing.
//!
//! Without mandoc the lint test prints `test skipped: …`; with
//! `DTOOLS_REQUIRE_REFERENCE=1` (as in CI) a missing mandoc fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Sections every page must have, in this order.
const SECTIONS: &[&str] = &[
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "EXIT STATUS",
    "DIAGNOSTICS",
    "EXAMPLES",
    "DIFFERENCES FROM DAEMONTOOLS",
    "SEE ALSO",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Program names: `src/bin/*.rs`.
fn programs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("src/bin"))
        .expect("read src/bin")
        .map(|e| e.expect("readdir").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every `man/*.8`, sorted.
fn pages() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("man"))
        .expect("read man/")
        .map(|e| e.expect("readdir").path())
        .filter(|p| p.extension().is_some_and(|x| x == "8"))
        .collect();
    v.sort();
    v
}

/// `Some(output)` of a tool run on all pages, or `None` if it is not
/// installed.
fn run_on_pages(tool: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(tool).args(args).args(pages()).output() {
        Ok(o) => Some(o),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("running {tool}: {e}"),
    }
}

#[test]
fn every_program_has_a_man_page() {
    let progs = programs();
    assert!(!progs.is_empty());
    let missing: Vec<&String> = progs
        .iter()
        .filter(|p| !root().join("man").join(format!("{p}.8")).exists())
        .collect();
    assert!(missing.is_empty(), "no man/<prog>.8 for {missing:?}");
}

#[test]
fn pages_have_title_sections_and_resolving_references() {
    let names: Vec<String> = pages()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for (page, name) in pages().iter().zip(&names) {
        let text = std::fs::read_to_string(page).expect("read page");
        let th = text
            .lines()
            .find(|l| l.starts_with(".TH "))
            .unwrap_or_else(|| panic!("{}: no .TH", page.display()));
        assert!(
            th.starts_with(&format!(".TH {} 8 ", name.to_uppercase())),
            "{}: title line {th:?}",
            page.display()
        );
        let found: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|s| s.trim_matches('"'))
            .collect();
        let expected: Vec<&str> = found
            .iter()
            .copied()
            .filter(|s| SECTIONS.contains(s))
            .collect();
        assert_eq!(expected, SECTIONS, "{}: sections {found:?}", page.display());
        // `.BR prog (8)` naming one of our programs must have a page.
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix(".BR ") {
                let mut words = rest.split_whitespace();
                let (Some(target), Some(sect)) = (words.next(), words.next()) else {
                    continue;
                };
                if sect.starts_with("(8)") && is_daemontools_program(target) {
                    assert!(
                        names.iter().any(|n| n == target),
                        "{}: reference to missing page {target}(8)",
                        page.display()
                    );
                }
            }
        }
    }
}

fn is_daemontools_program(name: &str) -> bool {
    [
        "multilog",
        "tai64n",
        "tai64nlocal",
        "tai64nfrac",
        "supervise",
        "svscan",
        "svscanboot",
        "svc",
        "svstat",
        "svok",
        "readproctitle",
        "setuidgid",
        "envuidgid",
        "envdir",
        "softlimit",
        "setlock",
        "pgrphack",
        "fghack",
    ]
    .contains(&name)
}

#[test]
fn mandoc_lint_is_clean() {
    let Some(out) = run_on_pages("mandoc", &["-T", "lint", "-W", "warning"]) else {
        crate::support::skip(
            "DTOOLS_REQUIRE_REFERENCE",
            "mandoc not installed (apt-get install mandoc)",
        );
        return;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.is_empty(),
        "mandoc -T lint -W warning:\n{text}"
    );
}

#[test]
fn groff_is_silent() {
    let Some(out) = run_on_pages("groff", &["-man", "-Tutf8", "-ww", "-z"]) else {
        eprintln!("test skipped: groff not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.is_empty(),
        "groff -man -Tutf8 -ww -z:\n{text}"
    );
}
