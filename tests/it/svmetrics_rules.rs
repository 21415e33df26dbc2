//! `examples/prometheus/`: the alert rules pass `promtool check rules`,
//! their unit tests pass `promtool test rules`, and every metric name they
//! use (but the ones they record themselves) is one svmetrics serves, as
//! a real scrape shows.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use daemontools::logship::status::{self, State, Status};

use crate::support::http::get;
use crate::support::{installed, SOON};
use crate::svmetrics::svmetrics;

fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prometheus"))
}

const RULES: &str = "daemontools.rules.yml";

#[test]
fn promtool_checks_and_tests_the_rules() {
    let Some(promtool) = installed("promtool", "prometheus") else {
        return;
    };
    for args in [
        &["check", "rules", RULES][..],
        &["test", "rules", "daemontools.rules.test.yml"],
    ] {
        let out = crate::support::wait_deadline(
            Command::new(&promtool)
                .args(args)
                .current_dir(examples())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
            SOON * 4,
        );
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The `daemontools_*` names in `text`, and those it records.
fn names(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut used = BTreeSet::new();
    let mut recorded = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(at) = rest.find("daemontools_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            if line.trim_start().starts_with("- record:") {
                recorded.insert(name);
            } else {
                used.insert(name);
            }
        }
    }
    (used, recorded)
}

#[test]
fn the_rules_use_only_metrics_svmetrics_serves() {
    let text = std::fs::read_to_string(examples().join(RULES)).unwrap();
    let (used, recorded) = names(&text);
    assert!(used.len() >= 10, "{used:?}");
    // A service with a log directory and a logship status file.
    let t = tempfile::tempdir().unwrap();
    let scan = t.path().join("service");
    let main = scan.join("app/log/main");
    std::fs::create_dir_all(&main).unwrap();
    std::fs::write(main.join("current"), "x\n").unwrap();
    std::fs::write(main.join("@400000006b0e3d7400000000.s"), "y\n").unwrap();
    let dir = main.to_string_lossy().into_owned();
    let s = Status {
        state: State::Sending,
        destination: "relp://127.0.0.1:1".into(),
        directory: dir,
        service: "app".into(),
        lag_bytes: 0,
        lag_lines: 0,
        last_ack: Some(1.5),
        updated: status::unix_now(),
        pid: 1,
    };
    status::save(&scan.join("app/logship-status-x"), &s).unwrap();
    let (_srv, addr) = svmetrics(&scan);
    let body = get(&addr, "/metrics").unwrap().body;
    for n in used.difference(&recorded) {
        assert!(
            body.contains(&format!("# TYPE {n} ")),
            "{n} is not served:\n{body}"
        );
        if n.starts_with("daemontools_logship_") || n.starts_with("daemontools_log_") {
            assert!(
                body.contains(&format!("\n{n}{{")),
                "no sample of {n}:\n{body}"
            );
        }
    }
}
