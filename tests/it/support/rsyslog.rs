//! A real rsyslogd for the logship tests: started in the foreground on
//! loopback with its own configuration and work directory, an `imrelp` and
//! an `imtcp` input on free ports, and an `omfile` action writing one line
//! per message with the fields rsyslog parsed; killed when dropped. Its
//! imtcp takes both RFC 6587 framings, octet counting and an LF after each
//! message (logship's `tcp://` and `tcp+lf://`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{skip, wait_for, SOON};

/// The rsyslogd binary (Debian package `rsyslog`).
pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
/// imrelp (Debian package `rsyslog-relp`).
const IMRELP: &str = "/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so";

/// One received message as rsyslog parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// APP-NAME.
    pub app: String,
    /// MSG.
    pub msg: String,
    /// TIMESTAMP as rsyslog renders it (RFC 3339).
    pub time: String,
    /// HOSTNAME.
    pub host: String,
    /// STRUCTURED-DATA.
    pub sd: String,
    /// PRI: facility × 8 + severity.
    pub pri: String,
    /// The message as received.
    pub raw: String,
}

/// A running rsyslogd.
pub struct Rsyslog {
    child: Option<Child>,
    /// Its directory: configuration, work directory, output.
    pub dir: PathBuf,
    /// The imrelp port.
    pub relp: u16,
    /// The imtcp port.
    pub tcp: u16,
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Whether rsyslogd with imrelp is installed; a loud skip if not.
pub fn available() -> bool {
    for (p, pkg) in [(RSYSLOGD, "rsyslog"), (IMRELP, "rsyslog-relp")] {
        if !Path::new(p).exists() {
            skip(
                "DTOOLS_REQUIRE_REFERENCE",
                &format!("{p} not installed (apt-get install {pkg})"),
            );
            return false;
        }
    }
    true
}

/// The template `fields`: one line per message, the fields rsyslog
/// parsed, tab-separated ([`received_in`] reads them back).
pub const FIELDS: &str = r#"template(name="fields" type="string"
         string="%app-name%\t%msg%\t%timereported:::date-rfc3339%\t%hostname%\t%structured-data%\t%pri%\t%rawmsg%\n")"#;

/// The messages an `omfile` action with template [`FIELDS`] wrote to `out`.
pub fn received_in(out: &Path) -> Vec<Received> {
    let data = std::fs::read(out).unwrap_or_default();
    let text = String::from_utf8_lossy(&data);
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(7, '\t').collect();
            (f.len() == 7).then(|| Received {
                app: f[0].to_string(),
                msg: f[1].to_string(),
                time: f[2].to_string(),
                host: f[3].to_string(),
                sd: f[4].to_string(),
                pri: f[5].to_string(),
                raw: f[6].to_string(),
            })
        })
        .collect()
}

impl Rsyslog {
    /// Start one in `dir` on new ports; `None` after a loud skip.
    pub fn start(dir: &Path) -> Option<Rsyslog> {
        if !available() {
            return None;
        }
        let mut r = Rsyslog {
            child: None,
            dir: dir.to_path_buf(),
            relp: free_port(),
            tcp: free_port(),
        };
        r.restart();
        Some(r)
    }

    /// The file the messages go to.
    pub fn out(&self) -> PathBuf {
        self.dir.join("received")
    }

    /// (Re)start on the same ports and output; wait until both inputs
    /// accept connections.
    pub fn restart(&mut self) {
        self.stop();
        let work = self.dir.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let conf = self.dir.join("rsyslog.conf");
        let text = format!(
            r#"global(workDirectory="{work}" maxMessageSize="64k")
main_queue(queue.size="200000" queue.timeoutEnqueue="30000")
module(load="imrelp")
input(type="imrelp" port="{relp}" address="127.0.0.1")
module(load="imtcp")
input(type="imtcp" port="{tcp}" address="127.0.0.1")
{fields}
action(type="omfile" file="{out}" template="fields")
"#,
            fields = FIELDS,
            work = work.display(),
            relp = self.relp,
            tcp = self.tcp,
            out = self.out().display(),
        );
        std::fs::write(&conf, text).unwrap();
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
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rsyslogd");
        self.child = Some(child);
        let (relp, tcp) = (self.relp, self.tcp);
        assert!(
            wait_for(SOON, || pid.exists()
                && std::net::TcpStream::connect(("127.0.0.1", tcp)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", relp)).is_ok()),
            "rsyslogd did not start"
        );
    }

    /// SIGTERM (rsyslogd writes out its queue) and wait.
    pub fn stop(&mut self) {
        stop(&mut self.child);
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

impl Drop for Rsyslog {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// SIGTERM the rsyslogd in `child` (it writes out its queue) and wait;
/// SIGKILL if it has not ended soon.
pub fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let pid = rustix::process::Pid::from_raw(c.id() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        if super::try_wait_for(&mut c, SOON).is_none() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// SIGKILL the rsyslogd in `child`, if any, and wait.
pub fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}
