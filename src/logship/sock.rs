//! The TCP socket under a connection: made non-blocking before `connect`
//! so that connecting never blocks the main loop (SIGTERM stays prompt
//! however long the SYN goes unanswered), with TCP keepalive so that a
//! peer gone silent while nothing is in flight is noticed too.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};

/// Idle time before the first keepalive probe.
pub const KEEPIDLE: Duration = Duration::from_secs(30);
/// Time between probes.
pub const KEEPINTVL: Duration = Duration::from_secs(10);
/// Probes unanswered before the kernel drops the connection (so a dead
/// idle peer is noticed within about a minute).
pub const KEEPCNT: u32 = 3;

/// A socket for `addr` with keepalive, connecting: `connect(2)` on a
/// non-blocking socket (as `connect_timeout` in C programs: start, then poll
/// for writability and read `SO_ERROR`). True when it connected at once.
///
/// # Errors
/// `socket`, `setsockopt` or `connect` failed (other than `EINPROGRESS`).
pub fn start(addr: &SocketAddr) -> io::Result<(OwnedFd, bool)> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    keepalive(&fd)?;
    match rustix::net::connect(&fd, addr) {
        Ok(()) => Ok((fd, true)),
        Err(Errno::INPROGRESS | Errno::INTR) => Ok((fd, false)),
        Err(e) => Err(e.into()),
    }
}

/// `SO_KEEPALIVE` with [`KEEPIDLE`], [`KEEPINTVL`], [`KEEPCNT`].
fn keepalive(fd: &OwnedFd) -> io::Result<()> {
    sockopt::set_socket_keepalive(fd, true)?;
    sockopt::set_tcp_keepidle(fd, KEEPIDLE)?;
    sockopt::set_tcp_keepintvl(fd, KEEPINTVL)?;
    sockopt::set_tcp_keepcnt(fd, KEEPCNT)?;
    Ok(())
}

/// Whether the connect started by [`start`] has ended, without waiting:
/// `Ok(false)` while it goes on.
///
/// # Errors
/// The connection failed (`SO_ERROR`).
pub fn connected(fd: &OwnedFd) -> io::Result<bool> {
    let mut p = [PollFd::new(fd, PollFlags::OUT)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut p, Some(&zero)) {
        Ok(0) | Err(Errno::INTR) => return Ok(false),
        Ok(_) => {}
        Err(e) => return Err(e.into()),
    }
    match sockopt::socket_error(fd)? {
        Ok(()) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// The connected socket as a stream, `TCP_NODELAY` set (each frame goes
/// out at once; the window, not Nagle, bounds what is in flight).
///
/// # Errors
/// `setsockopt` failed.
pub fn stream(fd: OwnedFd) -> io::Result<TcpStream> {
    let s = TcpStream::from(fd);
    s.set_nodelay(true)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connects_with_keepalive_and_reports_refusal() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (fd, mut done) = start(&addr).unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while !done && std::time::Instant::now() < until {
            done = connected(&fd).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(done);
        let s = stream(fd).unwrap();
        assert!(sockopt::socket_keepalive(&s).unwrap());
        assert_eq!(sockopt::tcp_keepidle(&s).unwrap(), KEEPIDLE);
        assert_eq!(sockopt::tcp_keepcnt(&s).unwrap(), KEEPCNT);
        // A port nobody listens on: refused, now or once polled.
        drop(l);
        match start(&addr) {
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED)),
            Ok((fd, _)) => {
                let until = std::time::Instant::now() + Duration::from_secs(5);
                loop {
                    match connected(&fd) {
                        Err(e) => {
                            assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
                            break;
                        }
                        Ok(c) => assert!(!c && std::time::Instant::now() < until),
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}
