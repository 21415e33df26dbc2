//! RELP frames (rsyslog's Reliable Event Logging Protocol, as specified in
//! librelp's `doc/relp.html`): the writer of the client's frames and the
//! strict reader of the server's, plus the `rsp` status.
//!
//! ```text
//! FRAME   = TXNR SP COMMAND SP DATALEN [SP DATA] TRAILER
//! TXNR    = 1*9DIGIT        (1..999999999, then 1 again; 0: unsolicited)
//! COMMAND = 1*32ALPHA       (open, syslog, close, rsp, serverclose)
//! DATALEN = 1*9DIGIT        (no SP DATA when 0)
//! TRAILER = LF
//! rsp DATA = 3DIGIT [SP TEXT] [LF more]   ("200 OK")
//! ```

/// The highest transaction number; the next is 1.
pub const MAX_TXNR: u32 = 999_999_999;
/// The longest server frame's DATA accepted (a response is a few bytes; an
/// `open` response lists offers).
pub const MAX_DATA: usize = 64 * 1024;
/// The longest COMMAND.
const MAX_COMMAND: usize = 32;
/// The longest TXNR and DATALEN.
const MAX_DIGITS: usize = 9;

/// The offers logship makes in `open`.
pub const OPEN_OFFERS: &[u8] =
    b"relp_version=0\nrelp_software=logship,0.1.0,https://github.com/daemontools-rs\ncommands=syslog";

/// Append the frame `txnr command data` to `out`.
pub fn write_frame(out: &mut Vec<u8>, txnr: u32, command: &[u8], data: &[u8]) {
    push_decimal(out, u64::from(txnr));
    out.push(b' ');
    out.extend_from_slice(command);
    out.push(b' ');
    push_decimal(out, data.len() as u64);
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
}

/// Append `n` in decimal, without allocating (this runs for every
/// message).
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

/// The transaction number after `t`.
#[must_use]
pub fn next_txnr(t: u32) -> u32 {
    if t >= MAX_TXNR {
        1
    } else {
        t + 1
    }
}

/// Where `t` sits among `len` transaction numbers sent in a row from
/// `first` (wrapping from [`MAX_TXNR`] to 1); `None` when it is not one of
/// them: an `rsp` for a transaction the client never sent (or for 0, the
/// unsolicited number) is a protocol error, never an acknowledgement.
#[must_use]
pub fn window_index(first: u32, len: usize, t: u32) -> Option<usize> {
    if t == 0 || t > MAX_TXNR || first == 0 || first > MAX_TXNR {
        return None;
    }
    let d = if t >= first {
        t - first
    } else {
        t + (MAX_TXNR - first)
    };
    usize::try_from(d).ok().filter(|&d| d < len)
}

/// A frame received.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Its transaction number.
    pub txnr: u32,
    /// Its command (`rsp`, `serverclose`).
    pub command: &'a [u8],
    /// Its data.
    pub data: &'a [u8],
}

/// A server frame that breaks the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFrame;

/// A number of 1..=9 digits at the start of `b`, ended by `end`: the value
/// and the bytes used (with `end`), `Ok(None)` if `b` may still grow into
/// one.
fn number(b: &[u8], end: u8) -> Result<Option<(u32, usize)>, BadFrame> {
    for (i, &c) in b.iter().enumerate() {
        if c == end && i > 0 {
            let v = b[..i]
                .iter()
                .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
            return Ok(Some((v, i + 1)));
        }
        if !c.is_ascii_digit() || i >= MAX_DIGITS {
            return Err(BadFrame);
        }
    }
    Ok(None)
}

/// The first frame in `buf` and the bytes it takes; `Ok(None)` if `buf`
/// holds only the start of one.
///
/// # Errors
/// The bytes cannot start a frame.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, BadFrame> {
    let Some((txnr, mut at)) = number(buf, b' ')? else {
        return Ok(None);
    };
    let rest = &buf[at..];
    let Some(cl) = rest.iter().position(|&c| !c.is_ascii_alphabetic()) else {
        return if rest.len() > MAX_COMMAND {
            Err(BadFrame)
        } else {
            Ok(None)
        };
    };
    if cl == 0 || cl > MAX_COMMAND || rest[cl] != b' ' {
        return Err(BadFrame);
    }
    let command = &rest[..cl];
    at += cl + 1;
    // DATALEN ends with SP (data follows) or LF (no data, DATALEN 0).
    let rest = &buf[at..];
    let Some(dl) = rest.iter().position(|&c| !c.is_ascii_digit()) else {
        return if rest.len() > MAX_DIGITS {
            Err(BadFrame)
        } else {
            Ok(None)
        };
    };
    if dl == 0 || dl > MAX_DIGITS {
        return Err(BadFrame);
    }
    let len = rest[..dl]
        .iter()
        .fold(0usize, |v, &d| v * 10 + usize::from(d - b'0'));
    at += dl;
    let data = match (rest[dl], len) {
        (b'\n', 0) => {
            return Ok(Some((
                Frame {
                    txnr,
                    command,
                    data: &[],
                },
                at + 1,
            )))
        }
        (b' ', n) if n > 0 && n <= MAX_DATA => {
            at += 1;
            if buf.len() < at + n + 1 {
                return Ok(None);
            }
            &buf[at..at + n]
        }
        _ => return Err(BadFrame),
    };
    at += len;
    if buf[at] != b'\n' {
        return Err(BadFrame);
    }
    Ok(Some((
        Frame {
            txnr,
            command,
            data,
        },
        at + 1,
    )))
}

/// An `rsp` frame's status code and text (up to the first LF).
///
/// # Errors
/// The data does not start with three digits and SP, LF or its end.
pub fn rsp_status(data: &[u8]) -> Result<(u16, &[u8]), BadFrame> {
    if data.len() < 3 || !data[..3].iter().all(u8::is_ascii_digit) {
        return Err(BadFrame);
    }
    let code = data[..3]
        .iter()
        .fold(0u16, |v, &d| v * 10 + u16::from(d - b'0'));
    let rest = &data[3..];
    let text = match rest.first() {
        None | Some(b'\n') => &[][..],
        Some(b' ') => {
            let t = &rest[1..];
            &t[..t.iter().position(|&c| c == b'\n').unwrap_or(t.len())]
        }
        _ => return Err(BadFrame),
    };
    Ok((code, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_written() {
        let mut v = Vec::new();
        write_frame(&mut v, 1, b"open", b"x=1");
        write_frame(&mut v, 2, b"close", b"");
        assert_eq!(v, b"1 open 3 x=1\n2 close 0\n");
        assert_eq!(next_txnr(MAX_TXNR), 1);
        assert_eq!(next_txnr(1), 2);
    }

    #[test]
    fn frames_read() {
        let b = b"2 rsp 6 200 OK\n0 serverclose 0\n";
        let (f, n) = parse_frame(b).unwrap().unwrap();
        assert_eq!(
            (f.txnr, f.command, f.data),
            (2, &b"rsp"[..], &b"200 OK"[..])
        );
        let (f, m) = parse_frame(&b[n..]).unwrap().unwrap();
        assert_eq!(
            (f.txnr, f.command, f.data),
            (0, &b"serverclose"[..], &b""[..])
        );
        assert_eq!(n + m, b.len());
        assert_eq!(rsp_status(b"200 OK"), Ok((200, &b"OK"[..])));
        assert_eq!(rsp_status(b"200 OK\nrelp_version=0"), Ok((200, &b"OK"[..])));
        assert_eq!(rsp_status(b"500"), Ok((500, &b""[..])));
        assert!(rsp_status(b"20").is_err());
        assert!(rsp_status(b"200x").is_err());
    }

    #[test]
    fn every_prefix_is_incomplete_and_bad_bytes_are_refused() {
        let b = b"123 rsp 6 200 OK\n";
        for i in 0..b.len() {
            assert_eq!(parse_frame(&b[..i]), Ok(None), "{i}");
        }
        for bad in [
            &b"x rsp 0\n"[..],
            b" rsp 0\n",
            b"1234567890 rsp 0\n",
            b"1 rsp1 0\n",
            b"1  0\n",
            b"1 rsp 0 \n",
            b"1 rsp 3 abcd\n",
            b"1 rsp 1x",
            b"1 rsp 99999999 x",
            b"1 rsp 0x",
        ] {
            assert_eq!(
                parse_frame(bad),
                Err(BadFrame),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// The slow oracle: walk the window with [`next_txnr`].
    fn window_index_slow(first: u32, len: usize, t: u32) -> Option<usize> {
        let mut x = first;
        for i in 0..len {
            if x == t {
                return Some(i);
            }
            x = next_txnr(x);
        }
        None
    }

    #[test]
    fn window_edges() {
        assert_eq!(window_index(5, 3, 5), Some(0));
        assert_eq!(window_index(5, 3, 7), Some(2));
        assert_eq!(window_index(5, 3, 8), None);
        assert_eq!(window_index(5, 3, 4), None);
        assert_eq!(window_index(5, 0, 5), None);
        assert_eq!(window_index(MAX_TXNR, 3, 1), Some(1));
        assert_eq!(window_index(MAX_TXNR, 3, 2), Some(2));
        assert_eq!(window_index(MAX_TXNR, 3, 0), None);
        assert_eq!(window_index(1, 3, MAX_TXNR + 1), None);
    }

    proptest::proptest! {
        #[test]
        fn written_frames_read_back(txnr in 0u32..=MAX_TXNR, cmd in "[a-z]{1,32}",
                                    data in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                                    cut in 0usize..400) {
            let mut v = Vec::new();
            write_frame(&mut v, txnr, cmd.as_bytes(), &data);
            let (f, n) = parse_frame(&v).unwrap().unwrap();
            proptest::prop_assert_eq!(n, v.len());
            proptest::prop_assert_eq!(f.txnr, txnr);
            proptest::prop_assert_eq!(f.command, cmd.as_bytes());
            proptest::prop_assert_eq!(f.data, &data[..]);
            let cut = cut.min(v.len() - 1);
            proptest::prop_assert_eq!(parse_frame(&v[..cut]), Ok(None));
        }

        #[test]
        fn window_index_agrees_with_walking(first in proptest::prop_oneof![1u32..=MAX_TXNR, MAX_TXNR - 300..=MAX_TXNR], len in 0usize..300,
                                            back in 0u32..400, near in proptest::bool::ANY,
                                            any in 0u32..=u32::MAX) {
            // Mostly numbers near the window (either side, across the wrap).
            let t = if near { first.wrapping_add(back).wrapping_sub(100) % (MAX_TXNR + 1) } else { any };
            proptest::prop_assert_eq!(window_index(first, len, t), window_index_slow(first, len, t));
        }
    }
}
