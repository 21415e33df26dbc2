//! For tests of HTTP servers (svmetrics, Prometheus): a free loopback port,
//! a one-request HTTP/1.0 client, and a guard that kills a server process
//! when the test ends, failed or not.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::Duration;

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0 and
/// released; the kernel does not hand it out again at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// One HTTP reply.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub code: u16,
    /// The header lines, as sent.
    pub head: String,
    /// The body.
    pub body: String,
}

/// Send `METHOD path HTTP/1.0` to `addr` and read the reply to the end.
pub fn request(addr: &str, method: &str, path: &str) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok(Reply {
        code,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// `GET path`.
pub fn get(addr: &str, path: &str) -> std::io::Result<Reply> {
    request(addr, "GET", path)
}

/// A server process, killed and reaped on drop.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
