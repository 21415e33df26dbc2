//! A TLS server of the test's own (rustls), for what a real receiver
//! cannot show: every byte each connection received on the wire (so a
//! test can check that nothing but TLS records ever came, never a plain
//! text message), the client certificate each connection presented, and
//! peers that misbehave (silent during the handshake, garbage instead of
//! a ServerHello). Served connections read RFC 6587 octet-counted
//! messages (`tls://`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use super::pki::Pki;

/// How the peer answers each connection.
#[derive(Clone)]
pub enum TlsMode {
    /// TLS with this configuration, then octet-counted messages.
    Serve(Arc<ServerConfig>),
    /// Reads and never answers.
    Silent,
    /// Answers the ClientHello with bytes that are not TLS, then closes.
    Garbage,
}

#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `NAME.pem` of `pki`; with
/// `client_auth`, a client certificate from the CA is required.
pub fn serve(pki: &Pki, name: &str, client_auth: bool) -> TlsMode {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.cert(name))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.key(name)).unwrap();
    let b = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let b = if client_auth {
        let mut roots = RootCertStore::empty();
        roots.add(ca(&pki.cert("ca"))).unwrap();
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        b.with_client_cert_verifier(v)
    } else {
        b.with_no_client_auth()
    };
    TlsMode::Serve(Arc::new(b.with_single_cert(chain, key).unwrap()))
}

fn ca(p: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(p).unwrap()
}

/// What the peer saw.
#[derive(Default)]
pub struct TlsSeen {
    /// The bytes each connection received, as they came on the wire.
    pub raw: Vec<Vec<u8>>,
    /// The messages received (in plain text, after TLS).
    pub msgs: Vec<String>,
    /// The client certificate of each connection that completed the
    /// handshake (DER), or `None` when it presented none.
    pub client_certs: Vec<Option<Vec<u8>>>,
}

/// A running peer; its threads end with the process.
pub struct TlsPeer {
    pub port: u16,
    pub seen: Arc<Mutex<TlsSeen>>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

/// The connection's socket, recording what it reads.
struct Recorder {
    tcp: TcpStream,
    conn: usize,
    seen: Arc<Mutex<TlsSeen>>,
}

impl Read for Recorder {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = self.tcp.read(b)?;
        self.seen.lock().unwrap().raw[self.conn].extend_from_slice(&b[..n]);
        Ok(n)
    }
}

impl Write for Recorder {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// Octet-counted messages at the start of `buf`, taken out of it.
fn messages(buf: &mut Vec<u8>, out: &mut Vec<String>) {
    while let Some(sp) = buf.iter().position(|&c| c == b' ') {
        let Some(len) = std::str::from_utf8(&buf[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return;
        };
        if buf.len() < sp + 1 + len {
            return;
        }
        out.push(String::from_utf8_lossy(&buf[sp + 1..sp + 1 + len]).into_owned());
        buf.drain(..sp + 1 + len);
    }
}

fn handle(mode: TlsMode, rec: Recorder) {
    let (seen, mut tcp) = (rec.seen.clone(), rec.tcp.try_clone().unwrap());
    match mode {
        TlsMode::Silent => {
            let mut rec = rec;
            let mut b = [0u8; 4096];
            while matches!(rec.read(&mut b), Ok(n) if n > 0) {}
        }
        TlsMode::Garbage => {
            let mut rec = rec;
            let mut b = [0u8; 4096];
            let _ = rec.read(&mut b);
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            let _ = tcp.shutdown(Shutdown::Both);
        }
        TlsMode::Serve(cfg) => {
            let mut s = StreamOwned::new(ServerConnection::new(cfg).unwrap(), rec);
            while s.conn.is_handshaking() {
                if s.conn.complete_io(&mut s.sock).is_err() {
                    return;
                }
            }
            let cert = s
                .conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            seen.lock().unwrap().client_certs.push(cert);
            let (mut buf, mut b) = (Vec::new(), [0u8; 65536]);
            while let Ok(n) = s.read(&mut b) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&b[..n]);
                let mut got = Vec::new();
                messages(&mut buf, &mut got);
                seen.lock().unwrap().msgs.extend(got);
            }
        }
    }
}

impl TlsPeer {
    /// Listen on 127.0.0.1; every connection answered by `mode`.
    pub fn start(mode: TlsMode) -> TlsPeer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(TlsSeen::default()));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (s, o) = (seen.clone(), open.clone());
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(tcp) = c else { return };
                o.lock().unwrap().push(tcp.try_clone().unwrap());
                let conn = {
                    let mut g = s.lock().unwrap();
                    g.raw.push(Vec::new());
                    g.raw.len() - 1
                };
                let rec = Recorder {
                    tcp,
                    conn,
                    seen: s.clone(),
                };
                let mode = mode.clone();
                std::thread::spawn(move || handle(mode, rec));
            }
        });
        TlsPeer { port, seen, open }
    }

    /// `tls://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.lock().unwrap().raw.len()
    }

    /// Messages received so far.
    pub fn msgs(&self) -> Vec<String> {
        self.seen.lock().unwrap().msgs.clone()
    }

    /// Close every connection (the client must connect again).
    pub fn drop_connections(&self) {
        for c in self.open.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}
