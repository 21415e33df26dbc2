//! A destination (`relp://host:port`, `tcp://host:port`) and why a
//! connection to it was given up.

use std::io;

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

/// The destination `url` names.
///
/// # Errors
/// What is wrong with it, for the usage message (`no port: relp://h`).
pub fn parse_url(url: &str) -> Result<Dest, String> {
    let (proto, rest) = if let Some(r) = url.strip_prefix("relp://") {
        (Proto::Relp, r)
    } else if let Some(r) = url.strip_prefix("tcp://") {
        (Proto::Tcp, r)
    } else {
        return Err(format!("unknown scheme (not relp:// or tcp://): {url}"));
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
        for bad in [
            "udp://h:1",
            "relp://h",
            "relp://:1",
            "relp://h:0",
            "relp://h:x",
            "h:1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
