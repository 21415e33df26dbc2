//! TLS for `tls://` (RFC 5425: RFC 5424 messages over TLS, RFC 6587
//! octet counting) and `relp+tls://` (RELP over TLS, rsyslog's imrelp
//! `tls="on"`): the options (`--ca`, `--cert`, `--key`, `--server-name`),
//! the rustls client configuration built from their files at start and
//! again on SIGHUP, and the name the server's certificate must carry.
//!
//! The certificate is always verified (rustls' webpki verifier: chain to
//! `--ca` or the system's roots, validity dates, the name as a DNS or IP
//! SAN); there is no option to turn that off and no plain-text fallback.
//! The stream itself is in `tls_stream.rs`.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::error::{self, Fatal};

use super::PROG;

/// The TLS options as given (long options only).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Files {
    /// `--ca FILE`: the certificate authorities (PEM); the system's if none.
    pub ca: Option<PathBuf>,
    /// `--cert FILE`: the client's certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// `--key FILE`: the client's private key (PEM).
    pub key: Option<PathBuf>,
    /// `--server-name NAME`: SNI and the name verified, when not the URL's.
    pub server_name: Option<String>,
}

/// The long options this module takes, each with a value.
pub const OPTIONS: &[&str] = &["ca", "cert", "key", "server-name"];

impl Files {
    /// Take `--NAME VALUE` if NAME is one of [`OPTIONS`].
    pub fn take(&mut self, name: &[u8], value: &OsStr) -> bool {
        let path = || Some(PathBuf::from(value));
        match name {
            b"ca" => self.ca = path(),
            b"cert" => self.cert = path(),
            b"key" => self.key = path(),
            b"server-name" => self.server_name = Some(value.to_string_lossy().into_owned()),
            _ => return false,
        }
        true
    }

    fn any(&self) -> bool {
        *self != Files::default()
    }

    /// Whether the options go together and with a URL whose scheme is
    /// TLS (`tls`) or not; what is wrong, for the usage message.
    ///
    /// # Errors
    /// A TLS option with a plain URL, `--cert` without `--key` or the
    /// reverse, a server name that is not one.
    pub fn check(&self, tls: bool, url: &str) -> Result<(), String> {
        if !tls && self.any() {
            return Err(format!(
                "--ca, --cert, --key and --server-name need tls:// or relp+tls://: {url}"
            ));
        }
        match (&self.cert, &self.key) {
            (Some(_), None) => return Err("--cert needs --key".into()),
            (None, Some(_)) => return Err("--key needs --cert".into()),
            _ => {}
        }
        if let Some(n) = &self.server_name {
            ServerName::try_from(n.as_str())
                .map_err(|_| format!("--server-name: not a DNS name or IP address: {n}"))?;
        }
        Ok(())
    }
}

/// The signals logship catches.
const SIGNALS: &[libc::c_int] = &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// For a TLS URL, the client made from the options' files (fatal if one
/// is bad); the signals to catch: SIGHUP reads the files again, and
/// without TLS ends logship as it always did.
///
/// # Errors
/// A file cannot be read or used ([`Client::load`]).
pub fn setup(o: &mut super::args::Opts) -> Result<&'static [libc::c_int], Fatal> {
    if !o.dest.secure {
        return Ok(&SIGNALS[..2]);
    }
    let files = std::mem::take(&mut o.tls);
    o.dest.tls = Some(Client::load(files, o.dest.host())?);
    Ok(SIGNALS)
}

/// A file that could not be used: what (`unable to read --cert FILE`)
/// and why, in words.
struct Unusable(String, String);

/// `--OPT FILE` read whole.
fn read(opt: &str, path: &PathBuf) -> Result<Vec<u8>, Unusable> {
    let what = || format!("unable to read --{opt} {}", path.display());
    std::fs::read(path).map_err(|e| Unusable(what(), error::reason(&e).into()))
}

/// The words for a PEM parsing error.
fn pem_words(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as E;
    match e {
        E::NoItemsFound => "nothing usable in it".into(),
        E::Io(e) => error::reason(e).into(),
        e => format!("not PEM: {e}"),
    }
}

/// Every certificate in `--OPT FILE`, at least one.
fn certs(opt: &str, path: &PathBuf) -> Result<Vec<CertificateDer<'static>>, Unusable> {
    let data = read(opt, path)?;
    let what = || format!("unable to read --{opt} {}", path.display());
    let v = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Unusable(what(), pem_words(&e)))?;
    if v.is_empty() {
        return Err(Unusable(what(), "no certificate in it".into()));
    }
    Ok(v)
}

/// The roots: `--ca FILE`, else the system's (rustls-native-certs:
/// `SSL_CERT_FILE`, `SSL_CERT_DIR`, then the distribution's bundle).
fn roots(ca: Option<&PathBuf>) -> Result<RootCertStore, Unusable> {
    let mut store = RootCertStore::empty();
    if let Some(p) = ca {
        for c in certs("ca", p)? {
            store.add(c).map_err(|e| {
                let what = format!("unable to read --ca {}", p.display());
                Unusable(what, format!("not a certificate authority: {e}"))
            })?;
        }
        return Ok(store);
    }
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or_else(
            || "none found (give --ca FILE)".to_string(),
            |e| format!("{e} (give --ca FILE)"),
        );
        return Err(Unusable(
            "unable to read the system's certificate authorities".into(),
            why,
        ));
    }
    Ok(store)
}

/// ring's cipher suites and key exchanges (X25519, P-256, P-384). rustls
/// 0.23.48 deprecates this provider for its want of post-quantum key
/// exchange (aws-lc-rs has it, but needs cmake and a C toolchain to
/// build); rsyslog's and syslog-ng's TLS (GnuTLS, OpenSSL) negotiate the
/// classical groups.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The client configuration `files` make: TLS 1.3 and 1.2 with ring's
/// cipher suites, the roots, the client certificate if any.
fn config(files: &Files) -> Result<ClientConfig, Unusable> {
    let roots = roots(files.ca.as_ref())?;
    let b = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Unusable("unable to set up TLS".into(), e.to_string()))?
        .with_root_certificates(roots);
    let (Some(cp), Some(kp)) = (&files.cert, &files.key) else {
        return Ok(b.with_no_client_auth());
    };
    let chain = certs("cert", cp)?;
    let data = read("key", kp)?;
    let key = PrivateKeyDer::from_pem_slice(&data).map_err(|e| {
        let what = format!("unable to read --key {}", kp.display());
        match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                Unusable(what, "no private key in it".into())
            }
            e => Unusable(what, pem_words(&e)),
        }
    })?;
    b.with_client_auth_cert(chain, key).map_err(|e| {
        let what = format!(
            "unable to use --cert {} with --key {}",
            cp.display(),
            kp.display()
        );
        let why = match e {
            rustls::Error::InconsistentKeys(_) => "the key is not the certificate's".into(),
            e => e.to_string(),
        };
        Unusable(what, why)
    })
}

/// The name of `host` (from a URL: an IPv6 address in brackets) for
/// SNI and verification.
fn server_name(host: &str) -> Option<ServerName<'static>> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(h.to_string()).ok()
}

/// A TLS client: its options, the name verified, and the configuration
/// new connections use.
pub struct Client {
    files: Files,
    name: ServerName<'static>,
    config: Arc<ClientConfig>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("files", &self.files)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Read `files` for connections to `host` (the URL's, unless
    /// `--server-name` names another).
    ///
    /// # Errors
    /// A file cannot be read or used: `unable to read --cert FILE:
    /// REASON` (fatal at start, exit 111).
    pub fn load(files: Files, host: &str) -> Result<Client, Fatal> {
        let n = files.server_name.as_deref().unwrap_or(host);
        let name = server_name(n)
            .ok_or_else(|| Fatal::plain(format!("unable to use {n} as a TLS server name")))?;
        let config =
            config(&files).map_err(|Unusable(w, why)| Fatal::plain(format!("{w}: {why}")))?;
        Ok(Client {
            files,
            name,
            config: Arc::new(config),
        })
    }

    /// Read the files again (SIGHUP): the new configuration serves the
    /// next connection; if a file is bad, the previous one stays, with a
    /// warning.
    pub fn reload(&mut self) {
        match config(&self.files) {
            Ok(c) => {
                self.config = Arc::new(c);
                let line =
                    format!("{PROG}: info: TLS files read again, used from the next connection\n");
                error::emit(line.as_bytes());
            }
            Err(Unusable(what, why)) => error::warn(
                PROG,
                &format!("{what}: {why}; the TLS files read before stay in use"),
                None,
            ),
        }
    }

    /// A new client session.
    ///
    /// # Errors
    /// rustls refused to start one.
    pub fn session(&self) -> Result<rustls::ClientConnection, rustls::Error> {
        rustls::ClientConnection::new(self.config.clone(), self.name.clone())
    }

    /// Whether a client certificate is configured.
    #[must_use]
    pub fn mutual(&self) -> bool {
        self.files.cert.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_go_together() {
        let mut f = Files::default();
        assert!(f.check(false, "relp://h:1").is_ok());
        assert!(f.take(b"ca", OsStr::new("ca.pem")));
        assert!(!f.take(b"bogus", OsStr::new("x")));
        assert!(f
            .check(false, "relp://h:1")
            .unwrap_err()
            .contains("relp://h:1"));
        assert!(f.check(true, "tls://h:1").is_ok());
        f.take(b"cert", OsStr::new("c.pem"));
        assert_eq!(
            f.check(true, "tls://h:1").unwrap_err(),
            "--cert needs --key"
        );
        f.cert = None;
        f.take(b"key", OsStr::new("k.pem"));
        assert_eq!(
            f.check(true, "tls://h:1").unwrap_err(),
            "--key needs --cert"
        );
        f.take(b"cert", OsStr::new("c.pem"));
        assert!(f.check(true, "tls://h:1").is_ok());
        f.take(b"server-name", OsStr::new("bad name!"));
        assert!(f
            .check(true, "tls://h:1")
            .unwrap_err()
            .contains("bad name!"));
    }

    #[test]
    fn names_from_url_hosts() {
        assert!(matches!(
            server_name("127.0.0.1"),
            Some(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("[::1]"),
            Some(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("logs.example"),
            Some(ServerName::DnsName(_))
        ));
        assert!(server_name("a b").is_none());
    }
}
