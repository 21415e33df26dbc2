//! A real syslog-ng for the logship tests, run from Debian's
//! `syslog-ng-core` unpacked (not installed: as a package it conflicts with
//! rsyslog, which the other tests need) by `syslog-ng-fetch.sh` into
//! `$CARGO_TARGET_TMPDIR/syslog-ng`, once, then kept there. Each instance
//! runs in the foreground on 127.0.0.1 with its own configuration, persist
//! file, pid file and control socket in its directory, one source on a free
//! port, and a file destination writing one line per message with the RFC
//! 5424 fields syslog-ng parsed; killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use super::rsyslog::free_port;
use super::{skip, wait_for, SOON};

/// The unpacked package's root, or why there is none.
fn unpacked() -> Result<PathBuf, String> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("syslog-ng");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/syslog-ng-fetch.sh");
        let out = Command::new("sh")
            .arg(&script)
            .arg(&root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("unable to run {}: {e}", script.display()))?;
        if !out.status.success() || !root.join("usr/sbin/syslog-ng").exists() {
            return Err(format!(
                "syslog-ng-core could not be downloaded and unpacked (apt-get update; {}): {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(root)
    })
    .clone()
}

/// The unpacked root if syslog-ng can run; a loud skip if not.
pub fn available() -> Option<PathBuf> {
    match unpacked() {
        Ok(root) => Some(root),
        Err(why) => {
            skip("DTOOLS_REQUIRE_REFERENCE", &why);
            None
        }
    }
}

/// syslog-ng from the unpacked package under `root`: the libraries it
/// needs from there (`LD_LIBRARY_PATH`: its own, and the multiarch
/// directories of those that were not installed) and its modules
/// (`--module-path`).
fn command(root: &Path) -> Command {
    let lib = root.join("usr/lib/syslog-ng");
    let mut libs = vec![lib.clone()];
    for d in ["usr/lib", "lib"] {
        for e in std::fs::read_dir(root.join(d))
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.file_name().to_string_lossy().contains("-linux-") {
                libs.push(e.path());
            }
        }
    }
    let modules = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("libafsocket.so").exists())
        .expect("syslog-ng's module directory");
    let mut c = Command::new(root.join("usr/sbin/syslog-ng"));
    c.env("LD_LIBRARY_PATH", std::env::join_paths(&libs).unwrap())
        .arg("--module-path")
        .arg(modules);
    c
}

/// One received message as syslog-ng parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// PRI: facility × 8 + severity.
    pub pri: String,
    /// The message's own time (`${ISODATE}`, microseconds).
    pub time: String,
    /// HOSTNAME.
    pub host: String,
    /// APP-NAME.
    pub app: String,
    /// STRUCTURED-DATA (empty for `-`).
    pub sd: String,
    /// MSG, bytes as stored.
    pub msg: Vec<u8>,
}

/// A running syslog-ng.
pub struct SyslogNg {
    child: Option<Child>,
    /// Its directory: configuration, state, output, standard error.
    pub dir: PathBuf,
    /// The source's port.
    pub port: u16,
    scheme: String,
}

/// The source driver for logship's `scheme`, on `port`, with `extra`
/// options: `syslog()` (RFC 6587 octet counting, RFC 5424) for `tcp`, and
/// with `transport("tls")` for `tls` (`extra` then gives `tls(...)`);
/// `network()` newline-framed, parsing RFC 5424 (`flags(syslog-protocol)`),
/// for `tcp+lf`.
fn source(scheme: &str, port: u16, extra: &str) -> String {
    let at = format!("ip(\"127.0.0.1\") port({port})");
    match scheme {
        "tcp" => format!("syslog({at} transport(\"tcp\") {extra})"),
        "tls" => format!("syslog({at} transport(\"tls\") {extra})"),
        "tcp+lf" => {
            format!("network({at} transport(\"tcp\") flags(syslog-protocol) {extra})")
        }
        _ => panic!("no syslog-ng source for {scheme}://"),
    }
}

impl SyslogNg {
    /// Start one in `dir` receiving logship's `scheme` (see [`source`]),
    /// the source given the options `extra`; `None` after a loud skip.
    pub fn start(dir: &Path, scheme: &str, extra: &str) -> Option<SyslogNg> {
        let port = free_port();
        let out = dir.join("received");
        let text = format!(
            r#"@version: 3.38
options {{ keep-hostname(yes); use-dns(no); dns-cache(no); use-fqdn(no);
          chain-hostnames(no); frac-digits(6); stats-freq(0); log-msg-size(65536); }};
source s_logship {{ {source}; }};
destination d_fields {{
    file("{out}" template("${{PRI}}\t${{ISODATE}}\t${{HOST}}\t${{PROGRAM}}\t${{SDATA}}\t${{MSG}}\n"));
}};
log {{ source(s_logship); destination(d_fields); }};
"#,
            source = source(scheme, port, extra),
            out = out.display(),
        );
        SyslogNg::run(dir, &text, port, scheme)
    }

    /// Start one in `dir` with the configuration `text` (written there),
    /// once `port` takes connections; [`SyslogNg::url`] names `scheme` and
    /// `port`. `None` after a loud skip.
    pub fn run(dir: &Path, text: &str, port: u16, scheme: &str) -> Option<SyslogNg> {
        let root = available()?;
        std::fs::create_dir_all(dir).unwrap();
        let conf = dir.join("syslog-ng.conf");
        std::fs::write(&conf, text).unwrap();
        let pid = dir.join("syslog-ng.pid");
        let _ = std::fs::remove_file(&pid);
        let child = command(&root)
            .arg("-F")
            .arg("--no-caps")
            .arg("-f")
            .arg(&conf)
            .arg("--persist-file")
            .arg(dir.join("syslog-ng.persist"))
            .arg("--pidfile")
            .arg(&pid)
            .arg("--control")
            .arg(dir.join("syslog-ng.ctl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .expect("spawn syslog-ng");
        let mut s = SyslogNg {
            child: Some(child),
            dir: dir.to_path_buf(),
            port,
            scheme: scheme.to_string(),
        };
        let up = wait_for(SOON, || {
            let exited = s.child.as_mut().unwrap().try_wait().unwrap().is_some();
            exited || (pid.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
        });
        let alive = s.child.as_mut().unwrap().try_wait().unwrap().is_none();
        assert!(up && alive, "syslog-ng did not start: {}", s.stderr());
        Some(s)
    }

    /// logship's URL for this receiver.
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// What syslog-ng wrote to its standard error.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<Parsed> {
        let data = std::fs::read(self.dir.join("received")).unwrap_or_default();
        data.split(|&c| c == b'\n')
            .filter_map(|l| {
                let f: Vec<&[u8]> = l.splitn(6, |&c| c == b'\t').collect();
                let s = |i: usize| String::from_utf8_lossy(f[i]).into_owned();
                (f.len() == 6).then(|| Parsed {
                    pri: s(0),
                    time: s(1),
                    host: s(2),
                    app: s(3),
                    sd: s(4),
                    msg: f[5].to_vec(),
                })
            })
            .collect()
    }
}

impl Drop for SyslogNg {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
