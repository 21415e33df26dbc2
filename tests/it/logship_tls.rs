//! logship over TLS: to a real rsyslogd (`support::rsyslog_tls`: imtcp
//! with the GnuTLS driver, RFC 5425, and imrelp with `tls="on"`, both
//! requiring a client certificate), the same messages parsed back as RFC
//! 5424 by each; certificates refused (unknown CA, wrong name, expired)
//! with a warning, retried, and never a byte of plain text on the wire
//! (`support::tls_peer` records what came); the files read again on
//! SIGHUP.

use std::collections::HashMap;
use std::path::Path;

use daemontools::logship::status::{self, State};

use crate::support::pki::{Pki, CLIENT_NAME, WRONG_NAME};
use crate::support::rsyslog::Received;
use crate::support::rsyslog_tls::RsyslogTls;
use crate::support::ship::{line, number, status_in, Logger, Ship};
use crate::support::tls_peer::{serve, TlsPeer};
use crate::support::{wait_for, SOON};

/// Every line of `0..n` received: (line number → message), or `None`.
fn by_number(got: &[Received], n: usize) -> Option<HashMap<usize, Received>> {
    let m: HashMap<usize, Received> = got
        .iter()
        .filter_map(|x| Some((number(&x.msg)?, x.clone())))
        .collect();
    (0..n).all(|i| m.contains_key(&i)).then_some(m)
}

/// logship with `pki`'s client certificate and `extra` arguments.
fn ship(pki: &Pki, extra: &[&str], url: &str, dir: &Path, cwd: &Path) -> Ship {
    let mut args = pki.client_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.to_string());
    args.push(dir.to_str().unwrap().to_string());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    Ship::start(&a, cwd)
}

#[test]
fn rsyslog_receives_over_tls_and_relp_tls() {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let Some(mut r) = RsyslogTls::start(&root.path().join("rsyslog"), &pki, "server") else {
        return;
    };
    let mut lg = Logger::start(root.path(), &["t", "s4096", "n100"]);
    let n = 500;
    lg.write(0, n);
    // The same lines through each input, one after the other.
    let mut seen = Vec::new();
    for url in [r.tls_url(), r.relp_url()] {
        // A new output file (rsyslogd reopens it when started).
        std::fs::remove_file(r.out()).ok();
        r.restart();
        let s = ship(&pki, &["-H", "host1"], &url, &lg.dir, root.path());
        let ok = wait_for(SOON, || by_number(&r.received(), n).is_some());
        assert!(
            ok,
            "{url}: {} of {n}; logship: {}; rsyslogd: {}",
            r.count(),
            s.stderr(),
            std::fs::read_to_string(r.dir.join("rsyslogd.err")).unwrap_or_default()
        );
        let err = s.stop();
        assert!(err.is_empty(), "{url}: {err}");
        let got = r.received();
        assert_eq!(got.len(), n, "{url}: each line once");
        seen.push(by_number(&got, n).unwrap());
    }
    let dir = lg.dir.clone();
    lg.finish();
    // What was logged: label and text of each line.
    let mut logged = HashMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        for l in text.lines() {
            if let Some((label, text)) = l.split_once(' ') {
                logged.insert(text.to_string(), label.to_string());
            }
        }
    }
    for i in 0..n {
        let (a, b) = (&seen[0][&i], &seen[1][&i]);
        let label = &logged[line(i).trim_end()];
        for x in [a, b] {
            assert_eq!(x.msg.trim_start(), line(i).trim_end());
            assert_eq!((x.host.as_str(), x.app.as_str()), ("host1", "app"));
            assert_eq!(x.sd, format!("[multilog@32473 label=\"{label}\"]"));
            assert!(x.raw.starts_with("<13>1 "), "{}", x.raw);
        }
        assert_eq!((&a.raw, &a.time), (&b.raw, &b.time), "the same message");
    }
}

#[test]
fn rsyslog_refuses_a_client_without_its_certificate() {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let Some(r) = RsyslogTls::start(&root.path().join("rsyslog"), &pki, "server") else {
        return;
    };
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let ca = pki.cert("ca");
    let dir = lg.dir.to_str().unwrap();
    for url in [r.tls_url(), r.relp_url()] {
        let s = Ship::start(&["--ca", ca.to_str().unwrap(), &url, dir], root.path());
        let warned = |s: &Ship| s.stderr().matches("logship: warning: ").count() >= 2;
        assert!(wait_for(SOON, || warned(&s)), "{url}: {}", s.stderr());
        assert_eq!(r.count(), 0, "{url}: delivered without a certificate");
        s.stop();
    }
    lg.finish();
}

/// A TLS peer presenting certificate `name`: logship (`tls://`, CA
/// `ca`) warns with `want`, tries again, and never sends a message: every
/// connection's bytes are TLS records, the text of no line among them.
fn refused(name: &str, extra: &[&str], want: &str) {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let peer = TlsPeer::start(serve(&pki, name, false));
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let mut args = vec!["--ca".to_string(), pki.cert("ca").display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([peer.url(), lg.dir.display().to_string()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Ship::start(&a, root.path());
    let line = format!("logship: warning: {}: {want}, pausing\n", peer.url());
    assert!(
        wait_for(SOON, || s.stderr().matches(&line).count() >= 2
            && peer.connections() >= 2),
        "{name}: {}",
        s.stderr()
    );
    // A certificate refused is a refusal, not a receiver out of reach.
    assert!(
        wait_for(SOON, || status_in(root.path())
            .is_some_and(|st| st.state == State::Refused)),
        "{name}: {:?}",
        status_in(root.path())
    );
    let err = s.stop();
    assert!(
        err.lines().all(|l| format!("{l}\n") == line),
        "{name}: {err}"
    );
    let seen = peer.seen.lock().unwrap();
    assert!(seen.msgs.is_empty());
    for raw in &seen.raw {
        assert_eq!(
            raw.first(),
            Some(&0x16),
            "{name}: not a TLS handshake record"
        );
        assert!(
            !raw.windows(9).any(|w| w == b"line 0000") && !raw.windows(5).any(|w| w == b"quick"),
            "{name}: plain text sent"
        );
    }
    lg.finish();
}

#[test]
fn unknown_ca_is_refused() {
    refused(
        "wrong-ca",
        &[],
        "unable to verify certificate: issued by an unknown certificate authority",
    );
}

#[test]
fn wrong_name_is_refused() {
    refused(
        "wrong-name",
        &[],
        &format!("unable to verify certificate: not valid for 127.0.0.1 (it names {WRONG_NAME})"),
    );
}

#[test]
fn expired_is_refused() {
    refused("expired", &[], "unable to verify certificate: expired");
}

#[test]
fn server_name_option_names_the_certificate_wanted() {
    // The right certificate, but logship told to want another name.
    refused(
        "server",
        &["--server-name", WRONG_NAME],
        &format!(
            "unable to verify certificate: not valid for {WRONG_NAME} (it names localhost, 127.0.0.1)"
        ),
    );
    // The wrong-name certificate is right for that name.
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let peer = TlsPeer::start(serve(&pki, "wrong-name", true));
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 10);
    let s = ship(
        &pki,
        &["--server-name", WRONG_NAME],
        &peer.url(),
        &lg.dir,
        root.path(),
    );
    assert!(wait_for(SOON, || peer.msgs().len() >= 10), "{}", s.stderr());
    assert!(s.stop().is_empty());
    lg.finish();
}

/// The client certificate's DER in a PEM file.
fn der(p: &Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_file(p)
        .unwrap()
        .to_vec()
}

#[test]
fn sighup_reads_the_files_again_and_keeps_them_when_bad() {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let peer = TlsPeer::start(serve(&pki, "server", true));
    // The files logship is given, replaced during the test.
    let (cert, key) = (root.path().join("my.pem"), root.path().join("my.key"));
    std::fs::copy(pki.cert("client"), &cert).unwrap();
    std::fs::copy(pki.key("client"), &key).unwrap();
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 10);
    let mut args = pki.tls_args(&cert, &key);
    args.extend([peer.url(), lg.dir.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Ship::start(&args, root.path());
    assert!(wait_for(SOON, || peer.msgs().len() >= 10), "{}", s.stderr());
    let certs = || peer.seen.lock().unwrap().client_certs.clone();
    assert_eq!(certs(), [Some(der(&pki.cert("client")))]);
    // A bad new certificate: a warning, the old one stays in use.
    std::fs::write(&cert, "not a certificate\n").unwrap();
    s.signal(rustix::process::Signal::HUP);
    let want = format!(
        "logship: warning: unable to read --cert {}: no certificate in it; the TLS files read before stay in use\n",
        cert.display()
    );
    assert!(
        wait_for(SOON, || s.stderr().contains(&want)),
        "{}",
        s.stderr()
    );
    // tls:// has no acknowledgements: lines written before logship saw
    // the close would be lost, so wait for it.
    let closed = |n: usize| {
        wait_for(SOON, || {
            s.stderr().matches("closed by the server").count() >= n
        })
    };
    peer.drop_connections();
    assert!(closed(1), "{}", s.stderr());
    lg.write(10, 20);
    assert!(wait_for(SOON, || peer.msgs().len() >= 20), "{}", s.stderr());
    assert_eq!(certs().last(), Some(&Some(der(&pki.cert("client")))));
    // A good new one: used from the next connection.
    std::fs::copy(pki.cert("client2"), &cert).unwrap();
    std::fs::copy(pki.key("client2"), &key).unwrap();
    s.signal(rustix::process::Signal::HUP);
    let info = "logship: info: TLS files read again, used from the next connection\n";
    assert!(
        wait_for(SOON, || s.stderr().contains(info)),
        "{}",
        s.stderr()
    );
    peer.drop_connections();
    assert!(closed(2), "{}", s.stderr());
    lg.write(20, 30);
    assert!(wait_for(SOON, || peer.msgs().len() >= 30), "{}", s.stderr());
    assert_eq!(certs().last(), Some(&Some(der(&pki.cert("client2")))));
    s.stop();
    let nums: Vec<usize> = peer.msgs().iter().filter_map(|m| number_in(m)).collect();
    assert!((0..30).all(|i| nums.contains(&i)), "{nums:?}");
    let _ = CLIENT_NAME;
    lg.finish();
}

/// The line number in a whole RFC 5424 message.
fn number_in(m: &str) -> Option<usize> {
    let at = m.rfind("line ")?;
    number(&m[at..])
}

#[test]
fn bad_files_are_fatal_at_start_and_options_checked() {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let d = root.path().join("d");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::support::ours("logship"))
            .args(args)
            .current_dir(root.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ca, key) = (pki.cert("ca"), pki.key("client"));
    let missing = root.path().join("nothing.pem");
    let dir = d.to_str().unwrap();
    let (code, err) = run(&[
        "--ca",
        ca.to_str().unwrap(),
        "--cert",
        missing.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "tls://127.0.0.1:1",
        dir,
    ]);
    assert_eq!(code, Some(111));
    assert_eq!(
        err,
        format!(
            "logship: fatal: unable to read --cert {}: file does not exist\n",
            missing.display()
        )
    );
    let other = pki.key("server");
    let (code, err) = run(&[
        "--ca",
        ca.to_str().unwrap(),
        "--cert",
        pki.cert("client").to_str().unwrap(),
        "--key",
        other.to_str().unwrap(),
        "tls://127.0.0.1:1",
        dir,
    ]);
    assert_eq!(code, Some(111));
    assert!(err.contains("the key is not the certificate's"), "{err}");
    let (code, err) = run(&["--ca", ca.to_str().unwrap(), "relp://127.0.0.1:1", dir]);
    assert_eq!(code, Some(100));
    assert!(err.contains("need tls:// or relp+tls://"), "{err}");
    let (code, err) = run(&["--cert", ca.to_str().unwrap(), "tls://127.0.0.1:1", dir]);
    assert_eq!(code, Some(100));
    assert!(err.ends_with(": --cert needs --key\n"), "{err}");
}

/// A client certificate the server refuses (from another CA): under TLS
/// 1.3 the server says so only after logship's handshake ended, so
/// `tls://` must not count messages as delivered before that verdict:
/// nothing is taken as delivered (no cursor is written) and nothing but
/// the handshake reaches the server.
#[test]
fn refused_client_certificate_delivers_nothing_over_tls() {
    let root = tempfile::tempdir().unwrap();
    let pki = Pki::make(&root.path().join("pki"));
    let peer = TlsPeer::start(serve(&pki, "server", true));
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let mut args = pki.tls_args(&pki.cert("wrong-ca"), &pki.key("wrong-ca"));
    args.extend([peer.url(), lg.dir.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Ship::start(&args, root.path());
    let want = format!(
        "logship: warning: {}: TLS refused by the server: alert ",
        peer.url()
    );
    assert!(
        wait_for(SOON, || s.stderr().matches(&want).count() >= 3),
        "{}",
        s.stderr()
    );
    s.stop();
    assert!(peer.msgs().is_empty());
    let cursors: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("logship-") && !n.ends_with(".lock") && !n.starts_with(status::PREFIX)
        })
        .collect();
    assert!(cursors.is_empty(), "taken as delivered: {cursors:?}");
    lg.finish();
}
