//! The bash completion in `completions/daemontools-rs.bash`: sourced by
//! bash alone (it needs nothing of bash-completion), it registers a
//! function for svc, svstat, svwait, svlog and logship (`complete -p`),
//! and each function, called as bash calls it (`COMP_WORDS`,
//! `COMP_CWORD`), offers the options, the option values, and directories
//! and services under the scan directory.

use std::fs;
use std::path::Path;
use std::process::Command;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/completions/daemontools-rs.bash"
);
const PROGRAMS: [&str; 5] = ["svc", "svstat", "svwait", "svlog", "logship"];

/// Run `body` in `bash --norc --noprofile` after sourcing the script, in
/// `cwd`, with `SVSCANDIR=scan`; its stdout.
fn bash(cwd: &Path, scan: &Path, body: &str) -> String {
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!("source '{SCRIPT}' || exit 9\n{body}"))
        .current_dir(cwd)
        .env("SVSCANDIR", scan)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The candidates for the command line `words` (the last is the word being
/// completed), one per element, as the registered function gives them.
fn complete(cwd: &Path, scan: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let body = format!(
        "COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         f=$(complete -p {} | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')\n\
         \"$f\" {} \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        words[0],
        words[0],
    );
    let mut v: Vec<String> = bash(cwd, scan, &body)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// A scan directory with services `sshd`, `syslog` and a dot-name, and a
/// working directory holding `sub/`.
fn layout(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let scan = root.join("scan");
    for s in ["sshd", "syslog", ".hidden", "web"] {
        fs::create_dir_all(scan.join(s)).unwrap();
    }
    let wd = root.join("wd");
    fs::create_dir_all(wd.join("sub")).unwrap();
    (scan, wd)
}

#[test]
fn every_program_is_registered() {
    let t = tempfile::tempdir().unwrap();
    let out = bash(
        t.path(),
        t.path(),
        &format!("complete -p {}", PROGRAMS.join(" ")),
    );
    for p in PROGRAMS {
        assert!(
            out.lines()
                .any(|l| l.starts_with("complete -F _dtools_") && l.ends_with(&format!(" {p}"))),
            "{p}: {out}"
        );
    }
}

#[test]
fn service_names_and_directories() {
    let t = tempfile::tempdir().unwrap();
    let (scan, wd) = layout(t.path());
    let s = |n: &str| scan.join(n).display().to_string();
    for p in ["svc", "svstat", "svwait", "svlog"] {
        assert_eq!(
            complete(&wd, &scan, &[p, "s"]),
            [s("sshd"), s("syslog"), "sub".into()],
            "{p}"
        );
    }
    assert_eq!(complete(&wd, &scan, &["svc", "-dx", "w"]), [s("web")]);
    // Dot-names are no services; a word with a `/` is a path only.
    let dots = complete(&wd, &scan, &["svstat", "."]);
    assert!(!dots.iter().any(|c| c.contains("hidden")), "{dots:?}");
    assert_eq!(complete(&wd, &scan, &["svstat", "su"]), ["sub"]);
    // From inside the scan directory the plain names are enough.
    assert_eq!(complete(&scan, &scan, &["svc", "ss"]), ["sshd"]);
    // logship: the url first, then log directories.
    assert_eq!(
        complete(&wd, &scan, &["logship", "-w", "5", "r"]),
        ["relp+tls://", "relp://"]
    );
    assert_eq!(
        complete(&wd, &scan, &["logship", "--ca", "x.pem", "t"]),
        ["tcp+lf://", "tcp://", "tls://"]
    );
    assert_eq!(
        complete(&wd, &scan, &["logship", "tc"]),
        ["tcp+lf://", "tcp://"]
    );
    assert_eq!(
        complete(&wd, &scan, &["logship", "relp://h:2514", "ss"]),
        [s("sshd")]
    );
}

#[test]
fn options_and_their_values() {
    let t = tempfile::tempdir().unwrap();
    let (scan, wd) = layout(t.path());
    let c = |w: &[&str]| complete(&wd, &scan, w);
    let mut svc: Vec<String> = "udopchaitkx".chars().map(|l| format!("-{l}")).collect();
    svc.sort();
    assert_eq!(c(&["svc", "-"]), svc);
    assert_eq!(c(&["svlog", "-o", "r"]), ["raw", "rfc3339"]);
    assert_eq!(c(&["svlog", "--s"]), ["--since"]);
    assert_eq!(c(&["svlog", "-n", ""]), Vec::<String>::new());
    assert_eq!(c(&["svwait", "-t", ""]), Vec::<String>::new());
    assert_eq!(
        c(&["logship", "-p", "local7.e"]),
        ["local7.emerg", "local7.err"]
    );
    assert_eq!(c(&["logship", "-p", "ma"]), ["mail."]);
    assert_eq!(c(&["logship", "-c", "s"]), ["sub"]);
}

/// svwait's completion offers exactly the options its `--help` lists.
#[test]
fn svwait_options_match_its_help() {
    let t = tempfile::tempdir().unwrap();
    let help = Command::new(crate::support::ours("svwait"))
        .arg("--help")
        .output()
        .unwrap();
    let mut listed: Vec<String> = String::from_utf8(help.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("  -"))
        .map(|l| format!("-{}", l.split(' ').next().unwrap()))
        .collect();
    listed.sort();
    assert_eq!(complete(t.path(), t.path(), &["svwait", "-"]), listed);
}

/// svlog's and logship's completions offer every option their `--help`
/// lists, and nothing it does not mention.
#[test]
fn svlog_logship_options_match_their_help() {
    let t = tempfile::tempdir().unwrap();
    for prog in ["svlog", "logship"] {
        let help = Command::new(crate::support::ours(prog))
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let offered = complete(t.path(), t.path(), &[prog, "-"]);
        for l in help.lines().filter_map(|l| l.strip_prefix("  -")) {
            let opt = format!("-{}", l.split(' ').next().unwrap());
            assert!(offered.contains(&opt), "{prog}: {opt} not offered");
        }
        for w in &offered {
            assert!(help.contains(w.as_str()), "{prog}: {w} not in --help");
        }
    }
}
