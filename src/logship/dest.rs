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

/// A [`Trouble::Protocol`].
pub fn proto_err(s: impl Into<String>) -> Trouble {
    Trouble::Protocol(s.into())
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
