//! The byte stream under a connection: the TCP socket itself, or a rustls
//! client session over it. Both are non-blocking; a TLS stream reads and
//! writes records as the socket allows, so the main loop's poll (with the
//! signal pipe) drives the handshake as it drives everything else, and
//! `-T` bounds it. Buffers are bounded: rustls keeps at most
//! [`BUFFER_LIMIT`] of records not yet written, and plain text is taken
//! only as records go out.
//!
//! A TLS failure surfaces as an `io::Error` carrying a [`Failure`] with
//! words made from the rustls error ([`words`]), which [`trouble`] turns
//! into the session's warning (`unable to verify certificate: expired`).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use rustls::{CertificateError as C, ClientConnection, Error as E, ProtocolVersion};

use super::dest::{proto_err, refused, Trouble};

/// Bytes of TLS records rustls holds before a write must wait.
pub const BUFFER_LIMIT: usize = 64 * 1024;

/// How long after its own handshake ended a client with a certificate
/// still listens for the server's verdict on it, beyond the handshake's
/// own duration (see [`TlsStream::established`]).
const VERDICT_GRACE: Duration = Duration::from_millis(100);
/// The most rustls 0.23 reads of the socket in one `read_tls` (its
/// deframer's `READ_SIZE`): a read of that much may have left more.
const RUSTLS_READ: usize = 4096;

/// A TLS failure, in words, and whether it is a refusal (a certificate
/// refused either way, an alert from the server) rather than a broken
/// exchange: the status file then says `refused`, not `waiting`.
#[derive(Debug)]
pub struct Failure(pub String, pub bool);
impl std::error::Error for Failure {}
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn failure(s: String) -> io::Error {
    io::Error::other(Failure(s, false))
}

/// The [`failure`] a rustls error `e` means.
fn tls_failure(e: &E) -> io::Error {
    let refusal = matches!(e, E::InvalidCertificate(_) | E::AlertReceived(_));
    io::Error::other(Failure(words(e), refusal))
}

/// `_` before each capital following a small letter, all small:
/// `BadCertificate` → `bad_certificate` (RFC 8446's alert names).
fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A name rustls presents as `DnsName("h")` or `IpAddress(a)`: `h`, `a`.
fn san(p: &str) -> &str {
    let inner = p
        .split_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or(p);
    inner.trim_matches('"')
}

/// The words for a certificate the verifier refused.
fn cert_words(c: &C) -> String {
    match c {
        C::Expired | C::ExpiredContext { .. } => "expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet".into(),
        C::UnknownIssuer => "issued by an unknown certificate authority".into(),
        C::NotValidForName => "not valid for the server's name".into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "not valid for {} (it names {})",
            expected.to_str(),
            if presented.is_empty() {
                "nothing".into()
            } else {
                presented
                    .iter()
                    .map(|p| san(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        C::BadSignature => "bad signature".into(),
        C::Revoked => "revoked".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "not for a TLS server (extended key usage)".into()
        }
        other => snake(&format!("{other:?}"))
            .split(['{', '(', ' '])
            .next()
            .unwrap_or_default()
            .replace('_', " "),
    }
}

/// The words for a TLS error: what the warning says after the URL.
#[must_use]
pub fn words(e: &E) -> String {
    match e {
        E::InvalidCertificate(c) => format!("unable to verify certificate: {}", cert_words(c)),
        E::AlertReceived(a) => format!(
            "TLS refused by the server: alert {}",
            snake(&format!("{a:?}"))
        ),
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => {
            format!("TLS handshake failed: the server's answer is not TLS ({e})")
        }
        E::PeerIncompatible(_) => format!("TLS handshake failed: nothing in common ({e})"),
        e => format!("TLS failed: {e}"),
    }
}

/// The trouble an I/O error of a stream means: a TLS [`Failure`]'s words,
/// or the error (while doing `what`).
#[must_use]
pub fn trouble(what: &'static str, e: io::Error) -> Trouble {
    match e.get_ref().and_then(|x| x.downcast_ref::<Failure>()) {
        Some(Failure(s, true)) => refused(s.clone()),
        Some(Failure(s, false)) => proto_err(s.clone()),
        None => Trouble::Io(what, e),
    }
}

/// A rustls client session over a non-blocking TCP socket.
pub struct TlsStream {
    tcp: TcpStream,
    tls: ClientConnection,
    started: Instant,
    /// When the handshake was first seen complete.
    done_at: Option<Instant>,
    mutual: bool,
}

impl TlsStream {
    /// Start the handshake on `tcp` (the ClientHello is queued).
    #[must_use]
    pub fn new(tcp: TcpStream, mut tls: ClientConnection, mutual: bool) -> TlsStream {
        tls.set_buffer_limit(Some(BUFFER_LIMIT));
        let mut s = TlsStream {
            tcp,
            tls,
            started: Instant::now(),
            done_at: None,
            mutual,
        };
        let _ = s.push();
        s
    }

    /// Write the records rustls holds, as far as the socket takes them.
    ///
    /// # Errors
    /// The write failed (`WouldBlock` is not an error: the rest waits).
    pub fn push(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn note_done(&mut self) {
        if self.done_at.is_none() && !self.tls.is_handshaking() {
            self.done_at = Some(Instant::now());
        }
    }

    /// Whether the session may carry messages that count as delivered once
    /// written (`tls://`): the handshake is over, and with a client
    /// certificate under TLS 1.3, where the server judges it only after
    /// the client's handshake ended, no refusal came within the
    /// handshake's duration again plus [`VERDICT_GRACE`] (a refused
    /// client would otherwise count messages sent into a closing session
    /// as delivered, on every retry).
    pub fn established(&mut self) -> bool {
        self.note_done();
        let Some(done) = self.done_at else {
            return false;
        };
        if !self.mutual || self.tls.protocol_version() != Some(ProtocolVersion::TLSv1_3) {
            return true;
        }
        done.elapsed() >= (done - self.started) + VERDICT_GRACE
    }

    /// `close_notify`, written as far as the socket takes it.
    pub fn close(&mut self) {
        self.tls.send_close_notify();
        let _ = self.push();
    }

    /// Read what the socket has and let rustls take it in, until `want`
    /// bytes of plain text are there: false if the server closed.
    ///
    /// rustls reads at most [`RUSTLS_READ`] bytes of the socket a call; a
    /// read that took that much may have left more behind, so it reads
    /// again. Taking one such read per wake-up held `relp+tls://` to about
    /// 4 KiB of answers per pause of the main loop (40,000 messages a
    /// second); reading until the socket has nothing would instead bring
    /// back the round trip per segment that the pause avoids (see
    /// `Ship::pace`).
    fn take_in(&mut self, want: usize) -> io::Result<bool> {
        let mut took = false;
        loop {
            let n = match self.tls.read_tls(&mut self.tcp) {
                Ok(n) => n,
                Err(e) if took && e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            };
            took |= n > 0;
            let state = match self.tls.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    // The alert rustls queued for the server, if the socket takes it.
                    let _ = self.push();
                    return Err(tls_failure(&e));
                }
            };
            if n < RUSTLS_READ || state.plaintext_bytes_to_read() >= want {
                break;
            }
        }
        self.note_done();
        // Handshake answers go out at once.
        self.push()?;
        Ok(took)
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The server closed without close_notify: closed all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if !self.take_in(buf.len())? {
                if self.tls.is_handshaking() {
                    return Err(failure(
                        "connection closed by the server during the TLS handshake".into(),
                    ));
                }
                return match self.tls.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                    r => r,
                };
            }
        }
    }
}

impl Write for TlsStream {
    /// Plain text is taken only when no record waits for the socket, so
    /// what rustls holds stays within one write's records.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push()?;
        if self.tls.wants_write() {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        }
        let n = self.tls.writer().write(buf)?;
        if n == 0 && !buf.is_empty() {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        }
        match self.push() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()
    }
}

/// A connection's stream: plain TCP or TLS over it.
pub enum Stream {
    /// Plain text.
    Plain(TcpStream),
    /// TLS.
    Tls(Box<TlsStream>),
}

impl Stream {
    /// The TCP socket.
    #[must_use]
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.tcp,
        }
    }

    /// Whether the stream may carry messages: always for plain TCP, for
    /// TLS once [`TlsStream::established`].
    pub fn established(&mut self) -> bool {
        match self {
            Stream::Plain(_) => true,
            Stream::Tls(t) => t.established(),
        }
    }

    /// Whether a TLS handshake is under way.
    #[must_use]
    pub fn handshaking(&self) -> bool {
        matches!(self, Stream::Tls(t) if t.tls.is_handshaking())
    }

    /// Whether TLS records wait for the socket.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        matches!(self, Stream::Tls(t) if t.tls.wants_write())
    }

    /// Write the TLS records waiting, as far as the socket takes them.
    ///
    /// # Errors
    /// The write failed.
    pub fn push(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(t) => t.push(),
        }
    }

    /// The end of a TLS session (`close_notify`); nothing for plain TCP.
    pub fn close(&mut self) {
        if let Stream::Tls(t) = self {
            t.close();
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.tcp().as_fd()
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_and_error_words() {
        assert_eq!(snake("BadCertificate"), "bad_certificate");
        assert_eq!(snake("UnknownCA"), "unknown_ca");
        assert_eq!(
            words(&E::InvalidCertificate(C::Expired)),
            "unable to verify certificate: expired"
        );
        assert_eq!(
            words(&E::InvalidCertificate(C::UnknownIssuer)),
            "unable to verify certificate: issued by an unknown certificate authority"
        );
        assert_eq!(
            words(&E::AlertReceived(
                rustls::AlertDescription::CertificateRequired
            )),
            "TLS refused by the server: alert certificate_required"
        );
        assert_eq!(san("DnsName(\"localhost\")"), "localhost");
        assert_eq!(san("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(san("odd"), "odd");
        let t = trouble("read from", failure("x".into()));
        assert!(matches!(t, Trouble::Protocol(s) if s == "x"));
        let t = trouble("read from", tls_failure(&E::InvalidCertificate(C::Expired)));
        assert!(matches!(t, Trouble::Refused(s) if s == "unable to verify certificate: expired"));
    }
}
