//! A real rsyslogd receiving over TLS, for logship's TLS tests: started
//! in the foreground on loopback with its own configuration and work
//! directory, `imtcp` with the GnuTLS stream driver (RFC 5425,
//! `x509/name`: a client certificate from the CA naming [`CLIENT_NAME`] is
//! required) and `imrelp` with `tls="on"` (the same requirement), both
//! writing what they parsed through the template of `support::rsyslog`.
//! The server certificate is one of [`Pki`]'s (`server` unless a test
//! wants a refused one). Killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::pki::{Pki, CLIENT_NAME};
use super::rsyslog::{free_port, received_in, Received, FIELDS, RSYSLOGD};
use super::{skip, wait_for, SOON};

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu/rsyslog";

/// Whether rsyslogd with imrelp and the GnuTLS driver is installed; a
/// loud skip if not.
pub fn available() -> bool {
    let need = [
        (RSYSLOGD.to_string(), "rsyslog"),
        (format!("{LIBDIR}/imrelp.so"), "rsyslog-relp"),
        (format!("{LIBDIR}/lmnsd_gtls.so"), "rsyslog-gnutls"),
    ];
    for (p, pkg) in need {
        if !Path::new(&p).exists() {
            skip(
                "DTOOLS_REQUIRE_REFERENCE",
                &format!("{p} not installed (apt-get install {pkg})"),
            );
            return false;
        }
    }
    true
}

/// A running rsyslogd with TLS inputs.
pub struct RsyslogTls {
    child: Option<Child>,
    pub dir: PathBuf,
    /// imrelp, `tls="on"`.
    pub relp: u16,
    /// imtcp with the gtls stream driver.
    pub tls: u16,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl RsyslogTls {
    /// Start one in `dir` presenting `pki`'s certificate `server`; `None`
    /// after a loud skip.
    pub fn start(dir: &Path, pki: &Pki, server: &str) -> Option<RsyslogTls> {
        if !available() {
            return None;
        }
        let mut r = RsyslogTls {
            child: None,
            dir: dir.to_path_buf(),
            relp: free_port(),
            tls: free_port(),
            ca: pki.cert("ca"),
            cert: pki.cert(server),
            key: pki.key(server),
        };
        r.restart();
        Some(r)
    }

    /// `relp+tls://127.0.0.1:PORT`.
    pub fn relp_url(&self) -> String {
        format!("relp+tls://127.0.0.1:{}", self.relp)
    }

    /// `tls://127.0.0.1:PORT`.
    pub fn tls_url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.tls)
    }

    /// The file the messages go to.
    pub fn out(&self) -> PathBuf {
        self.dir.join("received")
    }

    /// The configuration: both inputs on loopback, each requiring a
    /// client certificate from the CA that names [`CLIENT_NAME`].
    pub fn conf(&self) -> String {
        let work = self.dir.join("work");
        format!(
            r#"global(workDirectory="{work}" maxMessageSize="64k"
       defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
main_queue(queue.size="200000" queue.timeoutEnqueue="30000")
module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="{relp}" tls="on"
      tls.caCert="{ca}" tls.myCert="{cert}" tls.myPrivKey="{key}"
      tls.authMode="name" tls.permittedPeer=["{peer}"])
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{tls}"
      streamDriver.name="gtls" streamDriver.mode="1"
      streamDriver.authMode="x509/name" permittedPeer=["{peer}"])
{FIELDS}
action(type="omfile" file="{out}" template="fields")
"#,
            work = work.display(),
            ca = self.ca.display(),
            cert = self.cert.display(),
            key = self.key.display(),
            relp = self.relp,
            tls = self.tls,
            peer = CLIENT_NAME,
            out = self.out().display(),
        )
    }

    /// (Re)start on the same ports and output; wait until both inputs
    /// accept connections.
    pub fn restart(&mut self) {
        self.stop();
        std::fs::create_dir_all(self.dir.join("work")).unwrap();
        let conf = self.dir.join("rsyslog.conf");
        std::fs::write(&conf, self.conf()).unwrap();
        let pid = self.dir.join("rsyslogd.pid");
        let _ = std::fs::remove_file(&pid);
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(&pid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .expect("spawn rsyslogd");
        self.child = Some(child);
        let (relp, tls) = (self.relp, self.tls);
        assert!(
            wait_for(SOON, || pid.exists()
                && std::net::TcpStream::connect(("127.0.0.1", tls)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", relp)).is_ok()),
            "rsyslogd did not start: {}",
            std::fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default()
        );
    }

    /// SIGTERM (rsyslogd writes out its queue) and wait.
    pub fn stop(&mut self) {
        super::rsyslog::stop(&mut self.child);
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<Received> {
        received_in(&self.out())
    }

    /// How many messages were received so far.
    pub fn count(&self) -> usize {
        std::fs::read(self.out()).map_or(0, |d| d.iter().filter(|&&c| c == b'\n').count())
    }
}

impl Drop for RsyslogTls {
    fn drop(&mut self) {
        super::rsyslog::kill(&mut self.child);
    }
}
