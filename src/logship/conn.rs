//! The destination (`relp://host:port`, `tcp://host:port`) and a
//! connection to it: RELP sessions (open handshake, `syslog` frames with
//! transaction numbers, `rsp` acknowledgements, `close`) or RFC 5424 over
//! TCP with RFC 6587 octet counting, where a message counts as delivered
//! once the kernel took all its bytes.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::relp::{self, parse_frame, rsp_status};
use super::syslog::octet_count;

/// How long a connection and the RELP `open` may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes read from the socket at once.
const READ_BLOCK: usize = 16 * 1024;

/// The protocol of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// RELP: acknowledged.
    Relp,
    /// RFC 5424 with octet counting over TCP: not acknowledged.
    Tcp,
}

/// Where messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// The protocol.
    pub proto: Proto,
    /// `host:port` as given.
    pub addr: String,
    /// The URL as given.
    pub url: String,
}

/// The destination `url` names; `None` if it is not one logship knows.
#[must_use]
pub fn parse_url(url: &str) -> Option<Dest> {
    let (proto, rest) = if let Some(r) = url.strip_prefix("relp://") {
        (Proto::Relp, r)
    } else if let Some(r) = url.strip_prefix("tcp://") {
        (Proto::Tcp, r)
    } else {
        return None;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest.rsplit_once(':')?;
    if host.is_empty() || host.contains('/') || port.parse::<u16>().ok()? == 0 {
        return None;
    }
    Some(Dest {
        proto,
        addr: rest.to_string(),
        url: url.to_string(),
    })
}

/// Why a connection was given up.
#[derive(Debug)]
pub enum Trouble {
    /// A system call failed: what was being done, and why.
    Io(&'static str, io::Error),
    /// The server broke the protocol, refused a message or closed.
    Protocol(String),
}

fn proto_err(s: impl Into<String>) -> Trouble {
    Trouble::Protocol(s.into())
}

/// A connection.
pub struct Conn {
    sock: TcpStream,
    proto: Proto,
    out: Vec<u8>,
    /// Bytes of `out` written.
    out_at: usize,
    /// Bytes written since the connection was made.
    written: u64,
    /// Bytes queued since the connection was made.
    queued: u64,
    inbuf: Vec<u8>,
    txnr: u32,
}

impl Conn {
    /// Connect to `dest` and, for RELP, open a session.
    ///
    /// # Errors
    /// The connection or the `open` handshake failed.
    pub fn connect(dest: &Dest) -> Result<Conn, Trouble> {
        let addrs: Vec<_> = dest
            .addr
            .to_socket_addrs()
            .map_err(|e| Trouble::Io("resolve", e))?
            .collect();
        let mut last = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        let mut sock = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let sock = sock.ok_or(Trouble::Io("connect to", last))?;
        sock.set_nodelay(true)
            .map_err(|e| Trouble::Io("connect to", e))?;
        let mut c = Conn {
            sock,
            proto: dest.proto,
            out: Vec::new(),
            out_at: 0,
            written: 0,
            queued: 0,
            inbuf: Vec::new(),
            txnr: 0,
        };
        if c.proto == Proto::Relp {
            c.open()?;
        }
        c.sock
            .set_nonblocking(true)
            .map_err(|e| Trouble::Io("connect to", e))?;
        Ok(c)
    }

    /// RELP `open`: offer version 0 and the `syslog` command, and wait for
    /// `200` (blocking, at most [`CONNECT_TIMEOUT`]).
    fn open(&mut self) -> Result<(), Trouble> {
        let mut f = Vec::new();
        self.txnr = 1;
        relp::write_frame(&mut f, 1, b"open", relp::OPEN_OFFERS);
        self.sock
            .write_all(&f)
            .map_err(|e| Trouble::Io("write to", e))?;
        let until = Instant::now() + CONNECT_TIMEOUT;
        loop {
            if let Some((fr, _)) = parse_frame(&self.inbuf).map_err(|_| proto_err("bad frame"))? {
                let (code, text) = rsp_status(fr.data).map_err(|_| proto_err("bad response"))?;
                if fr.command != b"rsp" || fr.txnr != 1 {
                    return Err(proto_err("unexpected frame to open"));
                }
                if code != 200 {
                    return Err(proto_err(format!(
                        "session refused: {code} {}",
                        String::from_utf8_lossy(text)
                    )));
                }
                let data = fr.data;
                if !data.split(|&c| c == b'\n').any(|l| {
                    l.starts_with(b"commands=")
                        && l[9..].split(|&c| c == b',').any(|c| c == b"syslog")
                }) {
                    return Err(proto_err("server does not offer the syslog command"));
                }
                self.inbuf.clear();
                return Ok(());
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Trouble::Io(
                    "open a session with",
                    io::Error::from_raw_os_error(libc::ETIMEDOUT),
                ));
            }
            self.sock
                .set_read_timeout(Some(left))
                .map_err(|e| Trouble::Io("read from", e))?;
            self.fill_in()?;
        }
    }

    /// Read what the socket has into `inbuf`.
    fn fill_in(&mut self) -> Result<bool, Trouble> {
        let at = self.inbuf.len();
        self.inbuf.resize(at + READ_BLOCK, 0);
        let r = self.sock.read(&mut self.inbuf[at..]);
        match r {
            Ok(0) => {
                self.inbuf.truncate(at);
                Err(proto_err("connection closed by the server"))
            }
            Ok(n) => {
                self.inbuf.truncate(at + n);
                // Acknowledge at once: a receiver that answers with many
                // small writes (librelp, one `rsp` each) waits under
                // Nagle's algorithm for our ACK, which Linux delays (by
                // 40 ms and more) while we have nothing to send.
                let _ = rustix::net::sockopt::set_tcp_quickack(&self.sock, true);
                Ok(true)
            }
            Err(e) => {
                self.inbuf.truncate(at);
                match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(false),
                    io::ErrorKind::TimedOut => Err(Trouble::Io(
                        "open a session with",
                        io::Error::from_raw_os_error(libc::ETIMEDOUT),
                    )),
                    _ => Err(Trouble::Io("read from", e)),
                }
            }
        }
    }

    /// Queue `msg`; its transaction number (0 over TCP) and the stream
    /// offset its last byte reaches.
    pub fn send(&mut self, msg: &[u8]) -> (u32, u64) {
        let before = self.out.len();
        let txnr = match self.proto {
            Proto::Relp => {
                self.txnr = relp::next_txnr(self.txnr);
                relp::write_frame(&mut self.out, self.txnr, b"syslog", msg);
                self.txnr
            }
            Proto::Tcp => {
                octet_count(msg, &mut self.out);
                0
            }
        };
        self.queued += (self.out.len() - before) as u64;
        (txnr, self.queued)
    }

    /// Whether queued bytes wait for the socket.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        self.out_at < self.out.len()
    }

    /// Bytes written since the connection was made.
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
        while self.out_at < self.out.len() {
            match self.sock.write(&self.out[self.out_at..]) {
                Ok(0) => return Err(proto_err("connection closed")),
                Ok(n) => {
                    self.out_at += n;
                    self.written += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Trouble::Io("write to", e)),
            }
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

    /// Read the server's frames: the transaction numbers acknowledged go to
    /// `acks`.
    ///
    /// # Errors
    /// The read failed, a frame is bad, a message was refused, or the
    /// server closed.
    pub fn recv(&mut self, acks: &mut Vec<u32>) -> Result<(), Trouble> {
        while self.fill_in()? {
            if self.proto == Proto::Tcp {
                // Nothing is expected; what comes is dropped.
                self.inbuf.clear();
                continue;
            }
            let mut used = 0;
            while let Some((fr, n)) =
                parse_frame(&self.inbuf[used..]).map_err(|_| proto_err("bad frame"))?
            {
                used += n;
                match fr.command {
                    b"rsp" => {
                        let (code, text) =
                            rsp_status(fr.data).map_err(|_| proto_err("bad response"))?;
                        if code != 200 {
                            return Err(proto_err(format!(
                                "message refused: {code} {}",
                                String::from_utf8_lossy(text)
                            )));
                        }
                        acks.push(fr.txnr);
                    }
                    b"serverclose" => return Err(proto_err("session closed by the server")),
                    _ => return Err(proto_err("unexpected frame")),
                }
            }
            self.inbuf.drain(..used);
        }
        Ok(())
    }

    /// The socket, to poll.
    #[must_use]
    pub fn sock(&self) -> &TcpStream {
        &self.sock
    }

    /// End the session politely (RELP `close`), without waiting long.
    pub fn close(mut self) {
        if self.proto == Proto::Relp {
            let t = relp::next_txnr(self.txnr);
            let mut f = Vec::new();
            relp::write_frame(&mut f, t, b"close", b"");
            let _ = self.sock.set_nonblocking(false);
            let _ = self
                .sock
                .set_write_timeout(Some(Duration::from_millis(200)));
            let _ = self.sock.write_all(&f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let d = parse_url("relp://logs.example:2514").unwrap();
        assert_eq!(
            (d.proto, d.addr.as_str()),
            (Proto::Relp, "logs.example:2514")
        );
        let d = parse_url("tcp://[::1]:514/").unwrap();
        assert_eq!((d.proto, d.addr.as_str()), (Proto::Tcp, "[::1]:514"));
        for bad in [
            "udp://h:1",
            "relp://h",
            "relp://:1",
            "relp://h:0",
            "relp://h:x",
            "h:1",
        ] {
            assert_eq!(parse_url(bad), None, "{bad}");
        }
    }
}
