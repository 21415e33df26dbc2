//! The request head of HTTP/1.1 (RFC 9112), as far as svmetrics' one
//! endpoint needs it: the request line and the header fields, checked,
//! never a body. Pure: bytes in, a verdict out ([`parse`]); the
//! connections are `server.rs`'s, the answers `reply.rs`'s.
//!
//! What is accepted (RFC 9112 §2–§5, RFC 9110 §5):
//! * empty lines before the request line are skipped (§2.2);
//! * lines end in CRLF or a lone LF (§2.2); a CR elsewhere is refused;
//! * `method SP request-target SP HTTP/1.n`, one space each (§3); a method
//!   is a token; the target is visible ASCII, in origin form (`/metrics`,
//!   `/metrics?x`) or absolute form (`http://host/metrics`, §3.2.2), whose
//!   path is what is compared; another major version gets 505;
//! * header fields `name: value`: a token name with no space before the
//!   colon (§5.1, a MUST), no obsolete line folding (§5.2), values of
//!   visible characters, spaces and tabs; HTTP/1.1 needs exactly one
//!   `Host` (§3.2, a MUST); a `Content-Length` must be digits (its value is
//!   never converted: `9000000000000000000` is as good as `5`).
//!
//! The whole head, up to and including its empty line, must fit in
//! [`HEAD_MAX`] bytes (431 beyond). A body announced by `Content-Length`
//! or `Transfer-Encoding` is never read: the answer says
//! `Connection: close`, and what follows the head is discarded.

/// The largest request head read, in bytes.
pub const HEAD_MAX: usize = 8192;

/// The answer to a request that cannot be served as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not a well-formed HTTP/1.x request head.
    BadRequest,
    /// 431: no end of the head within [`HEAD_MAX`] bytes.
    TooLarge,
    /// 505: an HTTP version other than 1.x.
    Version,
}

impl Refusal {
    /// Status code and reason phrase.
    #[must_use]
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Refusal::BadRequest => (400, "Bad Request"),
            Refusal::TooLarge => (431, "Request Header Fields Too Large"),
            Refusal::Version => (505, "HTTP Version Not Supported"),
        }
    }
}

/// The method, as far as it matters here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: the answer to a `GET`, without its body.
    Head,
    /// Any other token.
    Other,
}

/// A well-formed request head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The target's path: up to its `?`, without scheme and authority.
    pub path: &'a [u8],
    /// `n` of `HTTP/1.n`.
    pub minor: u8,
    /// A body was announced (it is not read).
    pub body: bool,
    /// Length of the head, its final empty line included.
    pub len: usize,
}

/// What the bytes received so far amount to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parse<'a> {
    /// A head, not complete yet.
    Partial,
    /// A complete, well-formed head.
    Done(Request<'a>),
    /// A head that will not become acceptable.
    Refused(Refusal),
}

/// RFC 9110 §5.6.2 `tchar`.
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| tchar(b))
}

/// The path of a request target (§3.2): origin form as is, absolute form
/// without `scheme://authority`; up to the query.
fn target_path(t: &[u8]) -> &[u8] {
    let mut p = t;
    for scheme in [&b"http://"[..], b"https://"] {
        if t.len() >= scheme.len() && t[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &t[scheme.len()..];
            p = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .map_or(&b""[..], |i| &rest[i..]);
            if p.first() != Some(&b'/') {
                return b"/";
            }
        }
    }
    p.iter().position(|&b| b == b'?').map_or(p, |i| &p[..i])
}

/// `HTTP/1.n`: `Ok(n)`; another `HTTP/x.y`: 505; anything else: 400.
fn version(v: &[u8]) -> Result<u8, Refusal> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            if *major == b'1' {
                Ok(minor - b'0')
            } else {
                Err(Refusal::Version)
            }
        }
        _ => Err(Refusal::BadRequest),
    }
}

/// The request line (§3).
fn request_line(l: &[u8]) -> Result<(Method, &[u8], u8), Refusal> {
    let mut parts = l.split(|&b| b == b' ');
    let (Some(m), Some(t), Some(v), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    if !token(m) || t.is_empty() || !t.iter().all(u8::is_ascii_graphic) {
        return Err(Refusal::BadRequest);
    }
    let minor = version(v)?;
    let method = match m {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        _ => Method::Other,
    };
    Ok((method, target_path(t), minor))
}

/// What one header field line says.
#[derive(Default)]
struct Fields {
    hosts: usize,
    body: bool,
}

/// One header field line (§5): checked, and noted in `f`.
fn field(l: &[u8], f: &mut Fields) -> Result<(), Refusal> {
    let colon = l
        .iter()
        .position(|&b| b == b':')
        .ok_or(Refusal::BadRequest)?;
    let (name, value) = (&l[..colon], &l[colon + 1..]);
    // A token cannot hold a space, so this also refuses "Host :" (§5.1)
    // and a folded continuation line starting with a space (§5.2).
    if !token(name) {
        return Err(Refusal::BadRequest);
    }
    if !value
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic() || b >= 0x80)
    {
        return Err(Refusal::BadRequest);
    }
    let value = value.trim_ascii();
    if name.eq_ignore_ascii_case(b"host") {
        f.hosts += 1;
    } else if name.eq_ignore_ascii_case(b"content-length") {
        if !token(value) || !value.iter().all(u8::is_ascii_digit) {
            return Err(Refusal::BadRequest);
        }
        f.body |= value.iter().any(|&b| b != b'0');
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        f.body = true;
    }
    Ok(())
}

/// Read the request head at the start of `buf` (the bytes received so
/// far; only the first [`HEAD_MAX`] are looked at). A line is judged as
/// soon as it is complete, so junk is refused without waiting for more.
#[must_use]
pub fn parse(buf: &[u8]) -> Parse<'_> {
    let buf = &buf[..buf.len().min(HEAD_MAX)];
    let mut at = 0;
    let mut first: Option<(Method, &[u8], u8)> = None;
    let mut f = Fields::default();
    while let Some(n) = buf[at..].iter().position(|&b| b == b'\n') {
        let end = at + n;
        let line = &buf[at..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at = end + 1;
        if line.contains(&b'\r') {
            return Parse::Refused(Refusal::BadRequest);
        }
        let r = match first {
            // Empty lines before the request line are skipped (§2.2).
            None if line.is_empty() => Ok(()),
            None => request_line(line).map(|l| first = Some(l)),
            Some((method, path, minor)) if line.is_empty() => {
                if minor >= 1 && f.hosts != 1 {
                    return Parse::Refused(Refusal::BadRequest);
                }
                return Parse::Done(Request {
                    method,
                    path,
                    minor,
                    body: f.body,
                    len: at,
                });
            }
            Some(_) => field(line, &mut f),
        };
        if let Err(e) = r {
            return Parse::Refused(e);
        }
    }
    // The line being received: a CR can only be followed by its LF.
    let tail = &buf[at..];
    if tail.iter().rev().skip(1).any(|&b| b == b'\r') {
        return Parse::Refused(Refusal::BadRequest);
    }
    if buf.len() >= HEAD_MAX {
        return Parse::Refused(Refusal::TooLarge);
    }
    Parse::Partial
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
