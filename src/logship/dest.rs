//! A destination (`relp://host:port`, `tcp://host:port`,
//! `tcp+lf://host:port`, and over TLS `relp+tls://host:port`,
//! `tls://host:port`) and why a connection to it was given up.

use std::io;

use super::syslog::Framing;

/// The protocol of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// RELP: acknowledged.
    Relp,
    /// RFC 5424 with octet counting over TCP: not acknowledged.
    Tcp,
    /// RFC 5424 over TCP, one message per line (RFC 6587 non-transparent
    /// framing, for receivers that know no other): not acknowledged.
    TcpLf,
}

impl Proto {
    /// How syslog messages are framed on the stream; `None` for RELP,
    /// whose frames say their length.
    #[must_use]
    pub fn framing(self) -> Option<Framing> {
        match self {
            Proto::Relp => None,
            Proto::Tcp => Some(Framing::OctetCount),
            Proto::TcpLf => Some(Framing::Lf),
        }
    }
}

/// Where messages go.
#[derive(Debug)]
pub struct Dest {
    /// The protocol.
    pub proto: Proto,
    /// `host:port` as given.
    pub addr: String,
    /// The URL as given.
    pub url: String,
    /// Whether the URL's scheme asks for TLS (`tls://`, `relp+tls://`).
    pub secure: bool,
    /// The TLS client (files read at start), for a secure URL.
    pub tls: Option<super::tls::Client>,
}

impl Dest {
    /// The host of [`Dest::addr`] (an IPv6 address with its brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        self.addr.rsplit_once(':').map_or(&self.addr, |(h, _)| h)
    }
}

/// The destination `url` names.
///
/// # Errors
/// What is wrong with it, for the usage message (`no port: relp://h`).
pub fn parse_url(url: &str) -> Result<Dest, String> {
    // RFC 5425 names no scheme; `tls://` is what syslog-ng and Vector
    // call it; RELP over TLS is `relp+tls://`.
    let (proto, secure, rest) = if let Some(r) = url.strip_prefix("relp://") {
        (Proto::Relp, false, r)
    } else if let Some(r) = url.strip_prefix("tcp://") {
        (Proto::Tcp, false, r)
    } else if let Some(r) = url.strip_prefix("tcp+lf://") {
        // RFC 6587 section 3.4.2 framing (`syslog::lf_frame`).
        (Proto::TcpLf, false, r)
    } else if let Some(r) = url.strip_prefix("relp+tls://") {
        (Proto::Relp, true, r)
    } else if let Some(r) = url.strip_prefix("tls://") {
        (Proto::Tcp, true, r)
    } else {
        return Err(format!(
            "unknown scheme (not relp://, tcp://, tcp+lf://, relp+tls:// or tls://): {url}"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // `[::1]` alone has colons but no port.
    let Some((host, port)) = rest.rsplit_once(':').filter(|(_, p)| !p.ends_with(']')) else {
        return Err(format!("no port in URL: {url}"));
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("no host in URL: {url}"));
    }
    if port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(format!("not a port from 1 to 65535: {port}"));
    }
    Ok(Dest {
        proto,
        addr: rest.to_string(),
        url: url.to_string(),
        secure,
        tls: None,
    })
}

/// Why a connection was given up.
#[derive(Debug)]
pub enum Trouble {
    /// A system call failed: what was being done, and why.
    Io(&'static str, io::Error),
    /// The server broke the protocol or closed.
    Protocol(String),
    /// The server answered and refused: the session, a message (or its
    /// certificate). The status file says `refused` rather than `waiting`.
    Refused(String),
}

/// A [`Trouble::Protocol`].
pub fn proto_err(s: impl Into<String>) -> Trouble {
    Trouble::Protocol(s.into())
}

/// A [`Trouble::Refused`].
pub fn refused(s: impl Into<String>) -> Trouble {
    Trouble::Refused(s.into())
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
        assert_eq!(d.host(), "[::1]");
        assert!(!d.secure);
        let d = parse_url("tls://logs.example:6514").unwrap();
        assert_eq!(
            (d.proto, d.secure, d.host()),
            (Proto::Tcp, true, "logs.example")
        );
        let d = parse_url("relp+tls://127.0.0.1:2514").unwrap();
        assert_eq!(
            (d.proto, d.secure, d.host()),
            (Proto::Relp, true, "127.0.0.1")
        );
        let d = parse_url("tcp+lf://127.0.0.1:601").unwrap();
        assert_eq!(
            (d.proto, d.addr.as_str(), d.proto.framing()),
            (Proto::TcpLf, "127.0.0.1:601", Some(Framing::Lf))
        );
        for bad in [
            "udp://h:1",
            "relp://h",
            "relp://:1",
            "relp://h:0",
            "relp://h:x",
            "h:1",
            "tcp+lf://h",
            "tcp+crlf://h:1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
