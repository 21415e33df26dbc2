//! The receiving configurations logship's documentation gives: every
//! input listens on 127.0.0.1 on the usual ports (RELP 2514, plain TCP
//! 601 or 514, syslog over TLS 6514 and only with the TLS driver), and
//! rsyslogd and syslog-ng accept the whole configurations of
//! docs/logship.md, plain and TLS (with certificates made for the test).

use std::path::Path;
use std::process::Command;

use crate::support::skip;
use crate::support::syslog_ng::syslog_ng;

fn read(p: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

/// The `input(...)` statements of `text`, each on one line.
fn inputs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for l in text.lines() {
        if l.trim_start().starts_with("input(type=\"im") {
            cur = Some(String::new());
        }
        if let Some(c) = cur.as_mut() {
            c.push_str(l.trim());
            c.push(' ');
            if l.trim_end().ends_with(')') {
                out.extend(cur.take());
            }
        }
    }
    out
}

#[test]
fn receiving_examples_bind_to_loopback_on_the_usual_ports() {
    for doc in ["docs/logship.md", "man/logship.8"] {
        let text = read(doc);
        let ins = inputs(&text);
        assert!(ins.len() >= 2, "{doc}: {ins:?}");
        for l in ins {
            assert!(l.contains("address=\"127.0.0.1\""), "{doc}: {l}");
            let tls = l.contains("streamDriver.mode=\"1\"");
            let ok = if l.contains("imrelp") {
                l.contains("port=\"2514\"")
            } else if tls {
                l.contains("port=\"6514\"")
            } else {
                l.contains("port=\"601\"") || l.contains("port=\"514\"")
            };
            assert!(ok, "{doc}: {l}");
            assert_eq!(tls, l.contains("port=\"6514\""), "{doc}: {l}");
        }
        // syslog-ng's sources: `syslog(...)` and `network(...)` lines.
        let sng: Vec<&str> = text
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("syslog(ip") || l.starts_with("network(ip"))
            .collect();
        assert_eq!(sng.len(), 2, "{doc}: {sng:?}");
        for l in sng {
            assert!(l.contains("ip(\"127.0.0.1\")"), "{doc}: {l}");
            assert!(
                l.contains("port(601)") || l.contains("port(514)"),
                "{doc}: {l}"
            );
            assert!(l.contains("transport(\"tcp\")"), "{doc}: {l}");
        }
    }
}

#[test]
fn rsyslogd_accepts_the_documented_tls_configuration() {
    if !crate::support::rsyslog_tls::available() {
        return;
    }
    let text = read("docs/logship.md");
    let at = text.find("## A receiving rsyslog over TLS").unwrap();
    let block = text[at..].split("```").nth(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::support::pki::Pki::make(dir.path());
    let mut conf = block.to_string();
    for (name, file) in [
        ("ca.pem", pki.cert("ca")),
        ("server.pem", pki.cert("server")),
        ("server.key", pki.key("server")),
    ] {
        conf = conf.replace(
            &format!("/etc/rsyslog.d/tls/{name}"),
            file.to_str().unwrap(),
        );
    }
    assert!(!conf.contains("/etc/rsyslog.d/tls/"), "{conf}");
    check(&conf);
}

/// `rsyslogd -N1` accepts `conf`, without an error.
fn check(conf: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logship.conf");
    std::fs::write(&path, conf).unwrap();
    let out = Command::new("/usr/sbin/rsyslogd")
        .arg("-N1")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn rsyslogd_accepts_the_documented_configuration() {
    let rsyslogd = Path::new("/usr/sbin/rsyslogd");
    if !rsyslogd.exists() {
        skip("DTOOLS_REQUIRE_REFERENCE", "rsyslogd not installed");
        return;
    }
    let text = read("docs/logship.md");
    let at = text.find("## A receiving rsyslog").unwrap();
    let block = text[at..].split("```").nth(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("logship.conf");
    std::fs::write(&conf, block).unwrap();
    let out = Command::new(rsyslogd)
        .arg("-N1")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn syslog_ng_accepts_the_documented_configuration() {
    let Some(mut sng) = syslog_ng() else {
        return;
    };
    let text = read("docs/logship.md");
    let at = text.find("## A receiving syslog-ng").unwrap();
    let block = text[at..].split("```").nth(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("logship.conf");
    // A conf.d file: the version line is the main file's.
    std::fs::write(&conf, format!("@version: 3.38\n{block}")).unwrap();
    let out = sng
        .arg("--syntax-only")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("rror"), "{err}");
}
