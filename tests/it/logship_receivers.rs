//! logship to every common receiver, each a real one started on loopback
//! with its own configuration and directories: syslog-ng's `syslog()`
//! (RFC 6587 octet counting, logship's `tcp://`) and `network()`
//! newline-framed (`tcp+lf://`), both from Debian's `syslog-ng-core`
//! unpacked (`support::syslog_ng`), and rsyslog's `imtcp`, which takes
//! both framings. Each gets the same lines (a TAI64N-stamped directory and
//! an RFC 3339-stamped one, text of every kind, a line cut in parts), and
//! what it parsed back as RFC 5424 — PRI, TIMESTAMP, HOSTNAME, APP-NAME,
//! STRUCTURED-DATA, MSG — is compared with what was logged.
//!
//! syslog-ng's `syslog(transport("tls"))` (`tls://`, RFC 5425, a client
//! certificate required) gets them too, through the same
//! [`syslog_ng_receives`] (a scheme and the source's options).

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::support::pki::Pki;
use crate::support::rsyslog::Rsyslog;
use crate::support::ship::{Logger, Ship};
use crate::support::syslog_ng::SyslogNg;
use crate::support::{wait_for, SOON};

/// `-p local4.warning`: facility 20, severity 4.
const PRI: u8 = 20 * 8 + 4;
/// `-m`: small enough that the long line is cut in 3 parts.
const MAX: &str = "2048";
/// The long line's length.
const LONG: usize = 5000;

/// One message in the terms logship sends, as logged or as parsed back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Msg {
    time: Timestamp,
    pri: u8,
    host: String,
    app: String,
    /// STRUCTURED-DATA, `-` as empty.
    sd: String,
    msg: Vec<u8>,
}

/// The text of the lines every receiver gets (without their stamps),
/// numbered so that each is unique: ASCII, UTF-8, the characters RFC 5424
/// and the receivers' configurations treat specially, leading spaces,
/// control bytes (NUL and CR end a message for some receivers, see
/// [`stored`]), an empty line, and one longer than `-m`.
fn texts(tag: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "plain ascii text",
        "utf-8: gr\u{fc}\u{df}e \u{2014} \u{2603} \u{1f600}",
        "quotes \"q\" 'a' backslash \\ brackets [x=\"1\"] ] = @",
        "  two leading spaces",
        "percent %msg% dollar ${MSG} hash #012",
        "control a\u{1}b\rc\0d\r",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| format!("{tag} {i} {t}").into_bytes())
    .collect();
    v.push(Vec::new());
    let mut long = format!("{tag} long ").into_bytes();
    long.extend((0..LONG).map(|i| b'a' + (i % 26) as u8));
    v.push(long);
    v
}

/// A TAI64N label or an RFC 3339 stamp as the moment logship sends: UTC,
/// microseconds (RFC 5424's TIME-SECFRAC has at most 6 digits).
fn stamp_time(stamp: &str) -> Timestamp {
    let t = if let Some(hex) = stamp.strip_prefix('@') {
        let secs = u64::from_str_radix(&hex[..16], 16).unwrap() - (1 << 62) - 10;
        let nanos = u32::from_str_radix(&hex[16..24], 16).unwrap();
        Timestamp::new(secs as i64, nanos as i32).unwrap()
    } else {
        stamp.parse().unwrap()
    };
    Timestamp::from_microsecond(t.as_microsecond()).unwrap()
}

/// `msg` as a receiver stores it: rsyslog escapes control bytes as `#`
/// and 3 octal digits whatever the framing (its
/// `parser.escapeControlCharactersOnReceive`); syslog-ng keeps them,
/// except that over `tcp+lf://` logship itself sends NUL and CR (and LF)
/// escaped the same way, so that the message is not cut
/// (`syslog::lf_frame`).
fn stored(receiver: &str, msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for &c in msg {
        let escaped = match receiver {
            "rsyslog" => c < 32,
            "syslog-ng tcp+lf" => matches!(c, b'\n' | b'\0' | b'\r'),
            _ => false,
        };
        if escaped {
            v.extend_from_slice(format!("#{c:03o}").as_bytes());
        } else {
            v.push(c);
        }
    }
    v
}

/// What was logged in `dir`, as the messages it must become.
fn logged(dir: &Path, host: &str, app: &str) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name != "current" && !name.starts_with('@') {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        for l in data.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let sp = l.iter().position(|&c| c == b' ').unwrap();
            let stamp = String::from_utf8(l[..sp].to_vec()).unwrap();
            out.push(Msg {
                time: stamp_time(&stamp),
                pri: PRI,
                host: host.to_string(),
                app: app.to_string(),
                sd: format!("[multilog@32473 label=\"{stamp}\"]"),
                msg: l[sp + 1..].to_vec(),
            });
        }
    }
    out
}

/// `msgs` with the parts of each cut line (` part="N"` in the SD, in the
/// order received) joined back into one; and how many parts there were.
fn join_parts(msgs: Vec<Msg>) -> (Vec<Msg>, usize) {
    let mut out: Vec<Msg> = Vec::new();
    let mut parts = 0;
    for mut m in msgs {
        let Some(at) = m.sd.find(" part=\"") else {
            out.push(m);
            continue;
        };
        parts += 1;
        let n: usize = m.sd[at + 7..].split('"').next().unwrap().parse().unwrap();
        m.sd = format!("{}]", &m.sd[..at]);
        let prev = out
            .iter_mut()
            .rev()
            .find(|o| o.sd == m.sd && o.time == m.time);
        match prev {
            Some(o) if n > 1 => o.msg.extend_from_slice(&m.msg),
            _ => {
                assert_eq!(n, 1, "part {n} first: {m:?}");
                out.push(m);
            }
        }
    }
    (out, parts)
}

/// The lines the standard receivers' tests log: two directories, stamped
/// with TAI64N labels (`t`) and RFC 3339 (`T`), each fed by our multilog.
struct Logged {
    root: tempfile::TempDir,
    dirs: Vec<String>,
    loggers: Vec<Logger>,
}

impl Logged {
    /// Log [`texts`] in both directories.
    fn new() -> Logged {
        let root = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        let mut loggers = Vec::new();
        for (sub, action) in [("tai", "t"), ("rfc", "T")] {
            let at = root.path().join(sub);
            let mut lg = Logger::start(&at, &[action]);
            let mut input = Vec::new();
            for t in texts(sub).iter().map(Vec::as_slice) {
                input.extend_from_slice(t);
                input.push(b'\n');
            }
            lg.write_bytes(&input);
            dirs.push(lg.dir.to_str().unwrap().to_string());
            loggers.push(lg);
        }
        let lines = texts("x").len();
        for d in &dirs {
            let current = Path::new(d).join("current");
            let n =
                || std::fs::read(&current).map_or(0, |v| v.iter().filter(|&&c| c == b'\n').count());
            assert!(wait_for(SOON, || n() == lines), "{d}: {} lines", n());
        }
        Logged {
            root,
            dirs,
            loggers,
        }
    }

    /// Every line logged, as the message it must become.
    fn expected(&self) -> Vec<Msg> {
        let mut v: Vec<Msg> = self
            .dirs
            .iter()
            .flat_map(|d| logged(Path::new(d), "host1", "app"))
            .collect();
        v.sort();
        v
    }

    /// [`Logged::expected`], as `receiver` stores it ([`stored`]).
    fn expected_in(&self, receiver: &str) -> Vec<Msg> {
        let mut v = self.expected();
        for m in &mut v {
            m.msg = stored(receiver, &m.msg);
        }
        v.sort();
        v
    }

    /// Messages logship sends for what was logged (the long lines in parts).
    fn sent_count(&self) -> usize {
        // Each long line is cut into 3 parts under `-m 2048`.
        self.expected().len() + 2 * self.dirs.len()
    }

    /// Ship both directories to `url` (with `args` besides the standard
    /// ones), wait until `read` gives as many messages as were sent, stop.
    fn ship(&self, url: &str, args: &[&str], read: &dyn Fn() -> Vec<Msg>) -> Vec<Msg> {
        let mut a = vec!["-H", "host1", "-p", "local4.warning", "-m", MAX];
        a.extend_from_slice(args);
        a.push(url);
        a.extend(self.dirs.iter().map(String::as_str));
        let ship = Ship::start(&a, self.root.path());
        let want = self.sent_count();
        let ok = wait_for(SOON, || read().len() >= want);
        assert!(
            ok,
            "{url}: {} of {want} messages; logship: {}",
            read().len(),
            ship.stderr()
        );
        let err = ship.stop();
        assert!(err.is_empty(), "{url}: {err}");
        read()
    }

    fn finish(self) {
        for lg in self.loggers {
            lg.finish();
        }
    }
}

/// What `receiver` parsed back equals what was logged, as it stores it:
/// every message, each once, every field.
fn check(receiver: &str, what: &str, l: &Logged, got: Vec<Msg>) {
    let (mut got, parts) = join_parts(got);
    got.sort();
    let want = l.expected_in(receiver);
    assert_eq!(parts, 3 * l.dirs.len(), "{receiver} {what}: parts");
    assert_eq!(got.len(), want.len(), "{receiver} {what}: {got:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{receiver} {what}");
    }
}

/// A syslog-ng record in the terms of [`Msg`].
fn from_syslog_ng(r: crate::support::syslog_ng::Parsed) -> Msg {
    Msg {
        time: r.time.parse().unwrap_or_else(|e| panic!("{r:?}: {e}")),
        pri: r.pri.parse().unwrap(),
        host: r.host,
        app: r.app,
        sd: r.sd,
        msg: r.msg,
    }
}

/// An rsyslog record in the terms of [`Msg`].
fn from_rsyslog(r: crate::support::rsyslog::Received) -> Msg {
    Msg {
        time: r.time.parse().unwrap_or_else(|e| panic!("{r:?}: {e}")),
        pri: r.pri.parse().unwrap(),
        host: r.host,
        app: r.app,
        sd: if r.sd == "-" { String::new() } else { r.sd },
        msg: r.msg.into_bytes(),
    }
}

/// The standard lines, shipped to a syslog-ng receiving logship's
/// `scheme` with the source options `extra` (logship given `args`
/// besides), arrive as logged; the syslog-ng, still running, for more
/// checks (`None` after a loud skip).
fn syslog_ng_receives(scheme: &str, extra: &str, args: &[&str]) -> Option<SyslogNg> {
    let l = Logged::new();
    let dir = l.root.path().join("syslog-ng");
    let s = SyslogNg::start(&dir, scheme, extra)?;
    let read = || s.received().into_iter().map(from_syslog_ng).collect();
    let got = l.ship(&s.url(), args, &read);
    let receiver = format!("syslog-ng {scheme}");
    check(&receiver, &s.stderr(), &l, got);
    l.finish();
    Some(s)
}

/// The standard lines, shipped to rsyslog's imtcp as `scheme`, arrive as
/// logged.
fn rsyslog_receives(scheme: &str) {
    let l = Logged::new();
    let Some(r) = Rsyslog::start(&l.root.path().join("rsyslog")) else {
        return;
    };
    let read = || r.received().into_iter().map(from_rsyslog).collect();
    let got = l.ship(&format!("{scheme}://127.0.0.1:{}", r.tcp), &[], &read);
    check("rsyslog", &format!("imtcp {scheme}"), &l, got);
    l.finish();
}

#[test]
fn syslog_ng_syslog_octet_counting() {
    syslog_ng_receives("tcp", "", &[]);
}

#[test]
fn syslog_ng_network_newline_framing() {
    syslog_ng_receives("tcp+lf", "", &[]);
}

#[test]
fn rsyslog_imtcp_newline_framing() {
    rsyslog_receives("tcp+lf");
}

#[test]
fn rsyslog_imtcp_octet_counting() {
    rsyslog_receives("tcp");
}

#[test]
fn syslog_ng_syslog_over_tls() {
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::make(t.path());
    let f = |p: PathBuf| p.to_str().unwrap().to_string();
    // RFC 5425 with a client certificate from the CA required.
    let opts = format!(
        "tls(key-file(\"{}\") cert-file(\"{}\") ca-file(\"{}\") peer-verify(required-trusted))",
        f(pki.key("server")),
        f(pki.cert("server")),
        f(pki.cert("ca"))
    );
    let args = pki.client_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(s) = syslog_ng_receives("tls", &opts, &args) else {
        return;
    };
    // Without a client certificate: refused, retried, nothing received.
    let before = s.received().len();
    let mut lg = Logger::start(t.path(), &["t"]);
    lg.write(0, 1);
    let ca = f(pki.cert("ca"));
    let url = s.url();
    let ship = Ship::start(&["--ca", &ca, &url, lg.dir.to_str().unwrap()], t.path());
    let refused = format!("logship: warning: {url}: TLS refused by the server");
    assert!(
        wait_for(SOON, || ship.stderr().matches(&refused).count() >= 2),
        "{}",
        ship.stderr()
    );
    ship.kill();
    assert_eq!(s.received().len(), before);
    lg.finish();
}
