//! The RFC 5424 message a log line becomes, and its RFC 6587 framing on a
//! stream: octet counting (section 3.4.1) or an LF after each message
//! (non-transparent framing, section 3.4.2).
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME - - [multilog@32473 label="…" part="N"] MSG
//! ```
//!
//! * PRI: facility × 8 + severity (RFC 5424 section 6.2.1).
//! * TIMESTAMP: the line's stamp (a TAI64N label or multilog `T`'s RFC 3339
//!   stamp, [`crate::tai64::rfc3339::line_stamp`]) in UTC with microseconds
//!   (TIME-SECFRAC has at most 6 digits, section 6.2.3); an unstamped line
//!   gets the moment it was read.
//! * HOSTNAME, APP-NAME: PRINTUSASCII only (other bytes become `_`), at
//!   most 255 and 48 bytes; `-` when empty. PROCID and MSGID: `-`.
//! * STRUCTURED-DATA: the stamp exactly as in the line, and `part` for the
//!   pieces of a line longer than the message size allows. SD-ID
//!   `multilog@32473`: 32473 is the enterprise number reserved for
//!   documentation (RFC 5612). `-` when there is neither.
//! * MSG: the line after its stamp and one space, without the newline,
//!   bytes unchanged (MSG-ANY, no BOM).

use super::relp::push_decimal;
use crate::tai64::rfc3339;
use crate::tai64::Tai64N;

/// The SD-ID of the element logship adds.
pub const SD_ID: &str = "multilog@32473";

/// What goes in every message of one directory.
#[derive(Debug, Clone)]
pub struct Header {
    /// `<PRI>1 `.
    pri_version: Vec<u8>,
    /// ` HOSTNAME APP-NAME - - `.
    middle: Vec<u8>,
}

/// Keep PRINTUSASCII (33..=126), others as `_`, at most `max` bytes; `-`
/// when empty (the NILVALUE).
fn field(s: &[u8], max: usize) -> Vec<u8> {
    let v: Vec<u8> = s
        .iter()
        .take(max)
        .map(|&c| if (33..=126).contains(&c) { c } else { b'_' })
        .collect();
    if v.is_empty() {
        b"-".to_vec()
    } else {
        v
    }
}

impl Header {
    /// The header parts for `pri`, `host` and `app`.
    #[must_use]
    pub fn new(pri: u8, host: &[u8], app: &[u8]) -> Header {
        let pri_version = format!("<{pri}>1 ").into_bytes();
        let mut middle = vec![b' '];
        middle.extend_from_slice(&field(host, 255));
        middle.push(b' ');
        middle.extend_from_slice(&field(app, 48));
        middle.extend_from_slice(b" - - ");
        Header {
            pri_version,
            middle,
        }
    }

    /// Bytes the header and structured data may take at most (with the
    /// longest stamp and part number).
    #[must_use]
    pub fn overhead(&self) -> usize {
        self.pri_version.len() + 27 + self.middle.len() + SD_ID.len() + 80
    }
}

/// One piece of a line, ready to become a message.
#[derive(Debug, Clone, Copy)]
pub struct Piece<'a> {
    /// The moment: the line's stamp, or when it was read.
    pub time: Tai64N,
    /// The stamp as it is in the line, if it has one.
    pub stamp: Option<&'a [u8]>,
    /// 0 for a whole line, else which piece of a long line (from 1).
    pub part: u32,
    /// The text.
    pub text: &'a [u8],
}

/// Append the RFC 5424 message for `p` to `out`.
pub fn message(h: &Header, p: &Piece<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(&h.pri_version);
    let start = out.len();
    if rfc3339::format(p.time, out) {
        // Nanoseconds to microseconds: drop 3 of the 9 fraction digits.
        let end = out.len();
        out.copy_within(end - 1..end, end - 4);
        out.truncate(end - 3);
    } else {
        out.truncate(start);
        out.push(b'-');
    }
    out.extend_from_slice(&h.middle);
    if p.stamp.is_none() && p.part == 0 {
        out.push(b'-');
    } else {
        out.push(b'[');
        out.extend_from_slice(SD_ID.as_bytes());
        if let Some(s) = p.stamp {
            out.extend_from_slice(b" label=\"");
            // A stamp is hex digits or RFC 3339: nothing to escape.
            out.extend_from_slice(s);
            out.push(b'"');
        }
        if p.part > 0 {
            out.extend_from_slice(b" part=\"");
            push_decimal(out, u64::from(p.part));
            out.push(b'"');
        }
        out.push(b']');
    }
    if !p.text.is_empty() {
        out.push(b' ');
        out.extend_from_slice(p.text);
    }
}

/// How messages are delimited on a stream (RFC 6587 section 3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `LEN SP MSG` (section 3.4.1): any bytes, nothing escaped.
    OctetCount,
    /// `MSG LF` (section 3.4.2, non-transparent framing): see [`lf_frame`].
    Lf,
}

/// Append `msg` framed as `framing` says.
pub fn frame(framing: Framing, msg: &[u8], out: &mut Vec<u8>) {
    match framing {
        Framing::OctetCount => octet_count(msg, out),
        Framing::Lf => lf_frame(msg, out),
    }
}

/// Append `msg` with RFC 6587 octet-counting framing (`LEN SP MSG`).
pub fn octet_count(msg: &[u8], out: &mut Vec<u8>) {
    push_decimal(out, msg.len() as u64);
    out.push(b' ');
    out.extend_from_slice(msg);
}

/// Append `msg` with RFC 6587 non-transparent framing (section 3.4.2): the
/// message, then LF.
///
/// A message must not hold the bytes a receiver takes as the end of one:
/// LF (every receiver); NUL (syslog-ng's text transports end a message at
/// NUL as well, `find_eom`); CR (syslog-ng drops CRs and NULs before the
/// LF, `log_proto_text_server_remove_trailing_newline`, so a line ending in
/// CR would lose it). An LF cannot occur today: lines are split at LF and
/// the header fields are PRINTUSASCII; NUL and CR can, in MSG. Each of the
/// three is sent as rsyslog's escape for a control character, `#` and
/// three octal digits (`#012`, `#000`, `#015`): the text rsyslog itself
/// stores for such a byte received with octet counting
/// (`parser.escapeControlCharactersOnReceive`, on by default), so there
/// both framings store the same text. Nothing else is escaped, not `#`
/// either: the escape is for reading, not meant to be undone. Every other
/// byte goes as it is, as with octet counting.
pub fn lf_frame(msg: &[u8], out: &mut Vec<u8>) {
    let mut rest = msg;
    while let Some(i) = memchr::memchr3(b'\n', b'\0', b'\r', rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(match rest[i] {
            b'\n' => b"#012",
            b'\0' => b"#000",
            _ => b"#015",
        });
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'\n');
}

/// PRI of `facility.severity` (names as in syslog.conf(5)).
#[must_use]
pub fn parse_pri(s: &str) -> Option<u8> {
    const FAC: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    const SEV: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    let (f, s) = s.split_once('.')?;
    let f = FAC.iter().position(|&n| n == f)?;
    let s = SEV.iter().position(|&n| n == s)?;
    u8::try_from(f * 8 + s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labelled_line() {
        let h = Header::new(13, b"host", b"app");
        let t = Tai64N::from_unix(1_796_117_068, 123_456_789);
        let label = t.label();
        let p = Piece {
            time: t,
            stamp: Some(&label),
            part: 0,
            text: b"hello world",
        };
        let mut v = Vec::new();
        message(&h, &p, &mut v);
        let want = format!(
            "<13>1 2026-12-01T09:24:28.123456Z host app - - [multilog@32473 label=\"{}\"] hello world",
            String::from_utf8_lossy(&label)
        );
        assert_eq!(String::from_utf8_lossy(&v), want);
        assert!(v.len() <= h.overhead() + p.text.len() + label.len());
    }

    #[test]
    fn unstamped_pieces_and_fields() {
        let h = Header::new(191, b"h o\xff", b"");
        let t = Tai64N::from_unix(0, 0);
        let mut v = Vec::new();
        message(
            &h,
            &Piece {
                time: t,
                stamp: None,
                part: 0,
                text: b"",
            },
            &mut v,
        );
        assert_eq!(v, b"<191>1 1970-01-01T00:00:00.000000Z h_o_ - - - -");
        v.clear();
        message(
            &h,
            &Piece {
                time: t,
                stamp: None,
                part: 2,
                text: b"x",
            },
            &mut v,
        );
        assert!(v.ends_with(b" - - [multilog@32473 part=\"2\"] x"));
        v.clear();
        octet_count(b"abc", &mut v);
        assert_eq!(v, b"3 abc");
    }

    #[test]
    fn lf_framing_escapes_what_ends_a_line() {
        let mut v = Vec::new();
        frame(Framing::Lf, b"<13>1 - h a - - - x", &mut v);
        assert_eq!(v, b"<13>1 - h a - - - x\n");
        v.clear();
        lf_frame(b"a\rb\0c\nd\r", &mut v);
        assert_eq!(v, b"a#015b#000c#012d#015\n");
        v.clear();
        lf_frame(b"", &mut v);
        assert_eq!(v, b"\n");
        // Octet counting sends any bytes as they are.
        v.clear();
        frame(Framing::OctetCount, b"a\0\r\n", &mut v);
        assert_eq!(v, b"4 a\0\r\n");
    }

    #[test]
    fn priorities() {
        assert_eq!(parse_pri("user.notice"), Some(13));
        assert_eq!(parse_pri("local7.debug"), Some(191));
        assert_eq!(parse_pri("kern.emerg"), Some(0));
        assert_eq!(parse_pri("user"), None);
        assert_eq!(parse_pri("bogus.info"), None);
    }
}
