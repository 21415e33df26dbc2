//! The receiving configurations logship's documentation gives: every
//! input listens on 127.0.0.1 on the usual ports (RELP 2514, plain TCP
//! 601 or 514, syslog over TLS 6514 and only with the TLS driver), and
//! rsyslogd accepts the whole configurations of docs/logship.md, plain and
//! TLS (with certificates made for the test); syslog-ng runs its own, and
//! logship ships to it.

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use crate::support::pki::Pki;
use crate::support::rsyslog::free_port;
use crate::support::ship::{number, Logger, Ship};
use crate::support::syslog_ng::SyslogNg;
use crate::support::{skip, wait_for, SOON};

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
        assert!(sng.len() >= 2, "{doc}: {sng:?}");
        for l in sng {
            assert!(l.contains("ip(\"127.0.0.1\")"), "{doc}: {l}");
            let ok = if l.contains("transport(\"tls\")") {
                l.contains("port(6514)")
            } else {
                l.contains("transport(\"tcp\")")
                    && (l.contains("port(601)") || l.contains("port(514)"))
            };
            assert!(ok, "{doc}: {l}");
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

/// The documented syslog-ng configuration under `heading` (a conf.d file,
/// given the main file's version line), with `subst` made (ports, the
/// output directory, certificate files), run in `dir`; it listens on
/// `port` for `scheme`.
fn documented_syslog_ng(
    heading: &str,
    subst: &[(String, String)],
    dir: &Path,
    port: u16,
    scheme: &str,
) -> Option<SyslogNg> {
    let text = read("docs/logship.md");
    let at = text.find(&format!("{heading}\n")).unwrap();
    let mut conf = format!(
        "@version: 3.38\n{}",
        text[at..].split("```").nth(1).unwrap()
    );
    for (from, to) in subst {
        assert!(conf.contains(from.as_str()), "{heading}: no {from}");
        conf = conf.replace(from.as_str(), to);
    }
    SyslogNg::run(dir, &conf, port, scheme)
}

/// Wait until `file` has every line of `0..n` `times` times.
fn wait_lines(file: &Path, n: usize, times: usize, ship: &[&Ship]) {
    let counts = || {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut c = vec![0; n];
        for l in text.lines() {
            if let Some(i) = l.rfind("line ").and_then(|at| number(&l[at..])) {
                c[i] += 1;
            }
        }
        c
    };
    let ok = wait_for(SOON, || counts().iter().all(|&k| k == times));
    let err: Vec<String> = ship.iter().map(|s| s.stderr()).collect();
    assert!(ok, "{}: {:?}; logship: {err:?}", file.display(), counts());
}

#[test]
fn syslog_ng_runs_the_documented_configuration() {
    let root = tempfile::tempdir().unwrap();
    let (p1, p2) = (free_port(), free_port());
    let remote = root.path().join("remote");
    let subst = [
        ("port(601)".into(), format!("port({p1})")),
        ("port(514)".into(), format!("port({p2})")),
        ("/var/log/remote".into(), remote.to_str().unwrap().into()),
    ];
    let dir = root.path().join("syslog-ng");
    let Some(s) = documented_syslog_ng("## A receiving syslog-ng", &subst, &dir, p1, "tcp") else {
        return;
    };
    assert!(wait_for(SOON, || TcpStream::connect(("127.0.0.1", p2)).is_ok()));
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let d = lg.dir.to_str().unwrap().to_string();
    let lf = format!("tcp+lf://127.0.0.1:{p2}");
    let a = Ship::start(&["-H", "host1", &s.url(), &d], root.path());
    let b = Ship::start(&["-H", "host1", &lf, &d], root.path());
    // Both framings, into the one file of host1's app.
    wait_lines(&remote.join("host1/app.log"), 20, 2, &[&a, &b]);
    a.stop();
    b.stop();
    lg.finish();
}

#[test]
fn syslog_ng_runs_the_documented_tls_configuration() {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let port = free_port();
    let remote = root.path().join("remote");
    let mut subst = vec![
        ("port(6514)".into(), format!("port({port})")),
        ("/var/log/remote".into(), remote.to_str().unwrap().into()),
    ];
    for (name, file) in [
        ("ca.pem", pki.cert("ca")),
        ("server.pem", pki.cert("server")),
        ("server.key", pki.key("server")),
    ] {
        let to = file.to_str().unwrap().to_string();
        subst.push((format!("/etc/syslog-ng/tls/{name}"), to));
    }
    let dir = root.path().join("syslog-ng");
    let heading = "## A receiving syslog-ng over TLS";
    let Some(s) = documented_syslog_ng(heading, &subst, &dir, port, "tls") else {
        return;
    };
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let mut args = pki.client_args();
    args.extend(["-H", "host1", &s.url(), lg.dir.to_str().unwrap()].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ship = Ship::start(&args, root.path());
    wait_lines(&remote.join("host1/app.log"), 20, 1, &[&ship]);
    ship.stop();
    lg.finish();
}
