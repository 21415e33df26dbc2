//! A connection to a destination: RELP sessions (open handshake, `syslog`
//! frames with transaction numbers, `rsp` acknowledgements, `close`) or
//! RFC 5424 over TCP with RFC 6587 framing (octet counting, or an LF after
//! each message), where a message counts as delivered once the kernel took
//! all its bytes; either over TLS (`tls_stream.rs`) for `relp+tls://` and
//! `tls://` (RFC 5425).
//!
//! Nothing here blocks: `connect` runs on a non-blocking socket
//! (`sock.rs`), the TLS handshake and the `open` answer are read as the
//! main loop polls, so SIGTERM is answered at once whatever the peer does;
//! connecting, the handshake and opening must end by a deadline (`-T`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::dest::{proto_err, Dest, Proto, Trouble};
use super::relp;
use super::sock;
use super::syslog;
use super::tls_stream::{self, Stream, TlsStream};

mod answers;

/// Bytes read from the socket at once. With [`relp::MAX_DATA`] this
/// bounds the input buffer: a frame whose header or length breaks the
/// grammar is refused as soon as its bytes show it.
const READ_BLOCK: usize = 16 * 1024;

/// Where a connection is.
enum Phase {
    /// `connect` under way; the addresses still to try after this one.
    Connecting(OwnedFd, Vec<SocketAddr>),
    /// Connected; the TLS handshake under way, and for RELP, `open` sent
    /// and its `rsp` awaited.
    Opening(Stream),
    /// Ready for messages.
    Ready(Stream),
    /// Only between two phases.
    Gone,
}

/// A connection, made without ever blocking (see [`Conn::advance`]).
pub struct Conn {
    phase: Phase,
    /// When connecting and opening must be done by.
    deadline: Instant,
    proto: Proto,
    out: Vec<u8>,
    /// Bytes of `out` written.
    out_at: usize,
    /// Bytes written since the session was ready.
    written: u64,
    /// Bytes queued since the session was ready.
    queued: u64,
    inbuf: Vec<u8>,
    /// What one read takes, zeroed once (not for every read).
    rbuf: Box<[u8]>,
    txnr: u32,
    /// The TLS session to start once connected (and whether it has a
    /// client certificate).
    tls: Option<(rustls::ClientConnection, bool)>,
    /// Bytes were read and no data of ours has carried their TCP
    /// acknowledgement yet.
    owes_ack: bool,
}

/// The connected stream of `phase`, `None` while connecting.
fn stream(phase: &mut Phase) -> Option<&mut Stream> {
    match phase {
        Phase::Opening(s) | Phase::Ready(s) => Some(s),
        Phase::Connecting(..) | Phase::Gone => None,
    }
}

/// `connect` to the first of `addrs` that does not fail at once.
fn start_any(mut addrs: Vec<SocketAddr>) -> Result<Phase, Trouble> {
    let mut last = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
    while !addrs.is_empty() {
        let a = addrs.remove(0);
        match sock::start(&a) {
            Ok((fd, _)) => return Ok(Phase::Connecting(fd, addrs)),
            Err(e) => last = e,
        }
    }
    Err(Trouble::Io("connect to", last))
}

impl Conn {
    /// Start connecting to `dest`; connecting, then (RELP) opening a
    /// session must be done within `timeout` (see [`Conn::advance`]).
    ///
    /// # Errors
    /// The name does not resolve, or every address failed at once.
    pub fn connect(dest: &Dest, timeout: Duration) -> Result<Conn, Trouble> {
        let addrs: Vec<_> = dest
            .addr
            .to_socket_addrs()
            .map_err(|e| Trouble::Io("resolve", e))?
            .collect();
        let tls = match &dest.tls {
            Some(t) => Some((
                t.session().map_err(|e| proto_err(tls_stream::words(&e)))?,
                t.mutual(),
            )),
            None => None,
        };
        let mut c = Conn {
            phase: start_any(addrs)?,
            deadline: Instant::now() + timeout,
            proto: dest.proto,
            out: Vec::new(),
            out_at: 0,
            written: 0,
            queued: 0,
            inbuf: Vec::new(),
            rbuf: vec![0; READ_BLOCK].into_boxed_slice(),
            txnr: 0,
            tls,
            owes_ack: false,
        };
        c.advance()?;
        Ok(c)
    }

    /// Go on connecting, without waiting: once `connect` ended, queue the
    /// RELP `open` (offering version 0 and the `syslog` command), whose
    /// answer [`Conn::recv`] reads.
    ///
    /// # Errors
    /// The connection failed on every address, or the deadline passed
    /// before the session was ready (`ETIMEDOUT`).
    pub fn advance(&mut self) -> Result<(), Trouble> {
        self.phase = match std::mem::replace(&mut self.phase, Phase::Gone) {
            Phase::Connecting(fd, rest) => match sock::connected(&fd) {
                Ok(false) => Phase::Connecting(fd, rest),
                Ok(true) => {
                    let s = sock::stream(fd).map_err(|e| Trouble::Io("connect to", e))?;
                    let s = match self.tls.take() {
                        Some((t, mutual)) => Stream::Tls(Box::new(TlsStream::new(s, t, mutual))),
                        None => Stream::Plain(s),
                    };
                    if self.proto == Proto::Relp {
                        self.txnr = 1;
                        relp::write_frame(&mut self.out, 1, b"open", relp::OPEN_OFFERS);
                    }
                    Phase::Opening(s)
                }
                Err(e) if rest.is_empty() => return Err(Trouble::Io("connect to", e)),
                Err(_) => start_any(rest)?,
            },
            p => p,
        };
        self.settle();
        if !self.is_ready() && Instant::now() >= self.deadline {
            let what = match &self.phase {
                Phase::Connecting(..) => "connect to",
                Phase::Opening(s) if s.handshaking() => "complete the TLS handshake with",
                _ => "open a session with",
            };
            return Err(Trouble::Io(
                what,
                io::Error::from_raw_os_error(libc::ETIMEDOUT),
            ));
        }
        Ok(())
    }

    /// Without RELP, a session is ready once its stream is established
    /// (at once over plain TCP; over TLS, see `TlsStream::established`).
    fn settle(&mut self) {
        if self.proto == Proto::Relp {
            return;
        }
        if let Phase::Opening(s) = &mut self.phase {
            if s.established() {
                if let Phase::Opening(s) = std::mem::replace(&mut self.phase, Phase::Gone) {
                    self.phase = Phase::Ready(s);
                }
            }
        }
    }

    /// Whether the session is ready for messages.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready(_))
    }

    /// The socket to poll, and whether `connect` is still under way (then
    /// it is polled for writing only); `None` only between phases.
    #[must_use]
    pub fn pollable(&self) -> Option<(BorrowedFd<'_>, bool)> {
        match &self.phase {
            Phase::Connecting(fd, _) => Some((fd.as_fd(), true)),
            Phase::Opening(s) | Phase::Ready(s) => Some((s.as_fd(), false)),
            Phase::Gone => None,
        }
    }

    /// Read once into `inbuf`: `Some(full)` when bytes came (`full`: they
    /// filled the read, so more may wait), `None` when nothing is there.
    fn fill_in(&mut self) -> Result<Option<bool>, Trouble> {
        let Some(s) = stream(&mut self.phase) else {
            return Ok(None);
        };
        match s.read(&mut self.rbuf) {
            Ok(0) => Err(proto_err("connection closed by the server")),
            Ok(n) => {
                self.inbuf.extend_from_slice(&self.rbuf[..n]);
                // Owed to the server until data we send carries it
                // ([`Conn::ack_now`]).
                self.owes_ack = true;
                Ok(Some(n == self.rbuf.len()))
            }
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(tls_stream::trouble("read from", e)),
            },
        }
    }

    /// Queue `msg` (the session must be ready); its transaction number (0
    /// over TCP) and the stream offset its last byte reaches.
    pub fn send(&mut self, msg: &[u8]) -> (u32, u64) {
        let before = self.out.len();
        let txnr = match self.proto.framing() {
            None => {
                self.txnr = relp::next_txnr(self.txnr);
                relp::write_frame(&mut self.out, self.txnr, b"syslog", msg);
                self.txnr
            }
            Some(f) => {
                syslog::frame(f, msg, &mut self.out);
                0
            }
        };
        self.queued += (self.out.len() - before) as u64;
        (txnr, self.queued)
    }

    /// Whether queued bytes (or TLS records) wait for the socket.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        self.out_at < self.out.len()
            || matches!(&self.phase, Phase::Opening(s) | Phase::Ready(s) if s.wants_write())
    }

    /// Bytes of messages written since the session was ready.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Queued bytes not written yet.
    #[must_use]
    pub fn backlog(&self) -> usize {
        self.out.len() - self.out_at
    }

    /// Write what the socket takes.
    ///
    /// # Errors
    /// The write failed.
    pub fn flush(&mut self) -> Result<(), Trouble> {
        let ready = self.is_ready();
        while self.out_at < self.out.len() {
            let Some(s) = stream(&mut self.phase) else {
                return Ok(());
            };
            match s.write(&self.out[self.out_at..]) {
                Ok(0) => return Err(proto_err("connection closed")),
                Ok(n) => {
                    self.out_at += n;
                    self.owes_ack = false;
                    if ready {
                        self.written += n as u64;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(tls_stream::trouble("write to", e)),
            }
        }
        if let Some(s) = stream(&mut self.phase) {
            s.push().map_err(|e| tls_stream::trouble("write to", e))?;
        }
        if self.out_at == self.out.len() {
            self.out.clear();
            self.out_at = 0;
        } else if self.out_at > 1 << 20 {
            self.out.drain(..self.out_at);
            self.out_at = 0;
        }
        Ok(())
    }

    /// Before waiting: if bytes were read since our last write, have the
    /// kernel acknowledge them now (`TCP_QUICKACK`). A receiver that
    /// answers with many small writes (librelp, one `rsp` each) waits
    /// under Nagle's algorithm for that acknowledgement, which Linux
    /// delays (by 40 ms and more) while we have nothing to send. While we
    /// do send, our data carries it: setting `TCP_QUICKACK` after every
    /// read instead sent a packet of its own each time, and cost more
    /// CPU than all the rest of shipping a line.
    pub fn ack_now(&mut self) {
        if std::mem::take(&mut self.owes_ack) {
            if let Some(s) = stream(&mut self.phase) {
                let _ = rustix::net::sockopt::set_tcp_quickack(s.tcp(), true);
            }
        }
    }

    /// Read the server's frames: the answer to `open` while opening, then
    /// the transaction numbers acknowledged, which go to `acks` (whether
    /// they were sent is for the caller to check: [`relp::window_index`]).
    ///
    /// # Errors
    /// The read failed, a frame is bad, the session or a message was
    /// refused, or the server closed.
    pub fn recv(&mut self, acks: &mut Vec<u32>) -> Result<(), Trouble> {
        // One read per wake-up unless it came back full. Reading again
        // at once, until the socket had nothing, took one small segment a
        // read: each read acknowledged what it took, which let the
        // server's next few answers (held back by its Nagle algorithm)
        // arrive in time for the next read, a round trip of packets for
        // every few answers. Left in the socket, they gather and come in
        // one read at the next wake-up.
        while let Some(full) = self.fill_in()? {
            if self.proto.framing().is_some() {
                // Nothing is expected; what comes is dropped.
                self.inbuf.clear();
            } else {
                let mut used = 0;
                let inbuf = std::mem::take(&mut self.inbuf);
                let r = self.frames(&inbuf, &mut used, acks);
                self.inbuf = inbuf;
                self.inbuf.drain(..used);
                r?;
            }
            if !full {
                break;
            }
        }
        self.settle();
        Ok(())
    }

    /// End the session politely (RELP `close`, TLS `close_notify`),
    /// without waiting long.
    pub fn close(mut self) {
        if !self.is_ready() {
            return;
        }
        let mut f = Vec::new();
        if self.proto == Proto::Relp {
            let t = relp::next_txnr(self.txnr);
            relp::write_frame(&mut f, t, b"close", b"");
        }
        if let Some(s) = stream(&mut self.phase) {
            let _ = s.tcp().set_nonblocking(false);
            let _ = s.tcp().set_write_timeout(Some(Duration::from_millis(200)));
            let _ = s.write_all(&f);
            s.close();
        }
    }
}
