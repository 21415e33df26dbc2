//! svlog's output: lines through a label renderer (tai64nlocal's line
//! machine by default), buffered, and why output may stop early.

use std::io;

use crate::error::Fatal;
use crate::filters::tai64nfrac::Frac;
use crate::filters::{Filter, LabelFilter, Render};
use crate::tai64::local::LocalTime;
use crate::tai64::rfc3339::format as rfc3339;
use crate::tai64::tz::Zone;
use crate::tai64::Tai64N;

use super::stamp::Stamps;
use super::{BLOCK, FLUSH_AT};
use crate::tai64::rfc3339::line_stamp;

/// Why output stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The reader of standard output went away: exit 0 quietly.
    Pipe,
    /// A fatal error.
    Fatal(Fatal),
}

impl From<Fatal> for Stop {
    fn from(f: Fatal) -> Self {
        Stop::Fatal(f)
    }
}

/// `-o FORMAT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Format {
    /// `local`: as tai64nlocal, in `TZ`.
    #[default]
    Local,
    /// `utc`: as tai64nlocal with `TZ=UTC`.
    Utc,
    /// `rfc3339`: `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ`.
    Rfc3339,
    /// `epoch`: as tai64nfrac.
    Epoch,
    /// `raw`: unchanged.
    Raw,
    /// `json`: one object per line.
    Json,
}

impl Format {
    /// The format named `s`.
    #[must_use]
    pub(crate) fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "local" => Format::Local,
            "utc" => Format::Utc,
            "rfc3339" => Format::Rfc3339,
            "epoch" => Format::Epoch,
            "raw" => Format::Raw,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

/// The `rfc3339` renderer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rfc3339;

impl Render for Rfc3339 {
    const AT_EOF: bool = false;
    fn render(&mut self, t: Tai64N, out: &mut Vec<u8>) -> bool {
        rfc3339(t, out)
    }
}

/// `raw`: a copy.
struct Raw;

impl Filter for Raw {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(chunk);
    }
    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

/// Buffered output through the label renderer.
pub(crate) struct Out<W: io::Write> {
    filter: Box<dyn Filter>,
    json: bool,
    /// Bytes of a UTF-8 sequence cut at the end of a JSON text piece.
    carry: Vec<u8>,
    /// The last byte of the last line piece written.
    last: u8,
    buf: Vec<u8>,
    w: W,
}

impl<W: io::Write> Out<W> {
    /// Output to `w` in `format`, local labels in `zone`.
    pub(crate) fn new(w: W, format: Format, zone: Zone) -> Self {
        let filter: Box<dyn Filter> = match format {
            Format::Local => Box::new(Stamps::new(LabelFilter::new(LocalTime::new(zone)))),
            Format::Utc => Box::new(Stamps::new(LabelFilter::new(LocalTime::new(Zone::utc())))),
            Format::Rfc3339 => Box::new(Stamps::new(LabelFilter::new(Rfc3339))),
            Format::Epoch => Box::new(Stamps::new(LabelFilter::new(Frac::new()))),
            Format::Raw | Format::Json => Box::new(Raw),
        };
        Out {
            filter,
            json: format == Format::Json,
            carry: Vec::new(),
            last: b'\n',
            buf: Vec::with_capacity(FLUSH_AT + BLOCK * 2),
            w,
        }
    }

    /// Whether lines must go through [`Out::line`] (`json`).
    #[must_use]
    pub(crate) fn line_only(&self) -> bool {
        self.json
    }

    /// Render and queue `bytes` (any piece of the input stream).
    ///
    /// # Errors
    /// A write error.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        for piece in bytes.chunks(16 * 1024) {
            self.filter.feed(piece, &mut self.buf);
            if self.buf.len() >= FLUSH_AT {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Start a line of service `service` (`prefix`: printed before it, or
    /// empty) with its first bytes `head`.
    ///
    /// # Errors
    /// A write error.
    pub(crate) fn line(&mut self, prefix: &[u8], service: &str, head: &[u8]) -> Result<(), Stop> {
        if !self.json {
            self.buf.extend_from_slice(prefix);
            return self.piece(head);
        }
        let stamp = line_stamp(head);
        self.buf.extend_from_slice(b"{\"time\":");
        let mut time = Vec::new();
        match stamp {
            Some((t, _)) if rfc3339(t, &mut time) => {
                self.buf.push(b'"');
                self.buf.extend_from_slice(&time);
                self.buf.push(b'"');
            }
            _ => self.buf.extend_from_slice(b"null"),
        }
        self.buf.extend_from_slice(b",\"label\":");
        let mut text = head;
        if let Some((t, n)) = stamp {
            // The TAI64N label, whichever kind of stamp the line has.
            self.buf.push(b'"');
            self.buf.extend_from_slice(&t.label());
            self.buf.push(b'"');
            text = &head[n..];
            text = text.strip_prefix(b" ").unwrap_or(text);
        } else {
            self.buf.extend_from_slice(b"null");
        }
        self.buf.extend_from_slice(b",\"service\":");
        self.json_str(service);
        self.buf.extend_from_slice(b",\"text\":\"");
        self.piece(text)
    }

    /// More of the current line.
    ///
    /// # Errors
    /// A write error.
    pub(crate) fn piece(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        if let Some(&c) = bytes.last() {
            self.last = c;
        }
        if !self.json {
            return self.feed(bytes);
        }
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let joined;
        let mut b = bytes;
        if !self.carry.is_empty() {
            let mut v = std::mem::take(&mut self.carry);
            v.extend_from_slice(bytes);
            joined = v;
            b = &joined;
        }
        loop {
            match std::str::from_utf8(b) {
                Ok(s) => {
                    self.json_inner(s);
                    break;
                }
                Err(e) => {
                    let v = e.valid_up_to();
                    self.json_inner(std::str::from_utf8(&b[..v]).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            self.json_inner("\u{fffd}");
                            b = &b[v + n..];
                        }
                        None => {
                            self.carry = b[v..].to_vec();
                            break;
                        }
                    }
                }
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// End of the current line; `terminate` adds a newline the line lacks.
    ///
    /// # Errors
    /// A write error.
    pub(crate) fn end_line(&mut self, terminate: bool) -> Result<(), Stop> {
        if self.json {
            if !std::mem::take(&mut self.carry).is_empty() {
                self.json_inner("\u{fffd}");
            }
            self.buf.extend_from_slice(b"\"}\n");
        } else if terminate && self.last != b'\n' {
            self.piece(b"\n")?;
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn json_str(&mut self, s: &str) {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, s);
    }

    /// `s` escaped as in a JSON string, without the quotes.
    fn json_inner(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let at = self.buf.len();
        self.json_str(s);
        if self.buf.len() >= at + 2 {
            self.buf.pop();
            self.buf.remove(at);
        }
    }

    /// Write what is queued.
    ///
    /// # Errors
    /// A write error.
    pub(crate) fn flush(&mut self) -> Result<(), Stop> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = self.w.write_all(&self.buf);
        self.buf.clear();
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => Err(Stop::Pipe),
            Err(e) => Err(Fatal::new("unable to write output", e).into()),
        }
    }

    /// The writer (tests look at what was written).
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> W {
        self.w
    }

    /// End of input.
    ///
    /// # Errors
    /// A write error.
    pub(crate) fn finish(&mut self) -> Result<(), Stop> {
        self.filter.finish(&mut self.buf);
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(t: Tai64N) -> Option<String> {
        let mut v = Vec::new();
        rfc3339(t, &mut v).then(|| String::from_utf8(v).unwrap())
    }

    #[test]
    fn rfc3339_shape() {
        assert_eq!(
            rfc(Tai64N::from_unix(1_795_492_941, 163_729_500)).as_deref(),
            Some("2026-11-24T04:02:21.163729500Z")
        );
        assert_eq!(
            rfc(Tai64N::from_unix(0, 0)).as_deref(),
            Some("1970-01-01T00:00:00.000000000Z")
        );
        assert_eq!(
            rfc(Tai64N::from_unix(-1, 5)).as_deref(),
            Some("1969-12-31T23:59:59.000000005Z")
        );
        assert_eq!(rfc(Tai64N::from_unix(0, 1_000_000_000)), None);
        assert_eq!(rfc(Tai64N::from_unix(300_000_000_000, 0)), None);
        assert_eq!(rfc(Tai64N::from_unix(-70_000_000_000, 0)), None);
    }

    /// A JSON line fed in pieces that cut UTF-8 sequences.
    #[test]
    fn json_pieces_keep_utf8() {
        let line = "@400000006b050c5709c2505c h\u{e9}\u{1f600} \"q\"\n".as_bytes();
        let bad = b"@400000006b050c5709c2505c a\xffb\xf0\x9f\n";
        for (input, text) in [
            (line, "h\u{e9}\u{1f600} \\\"q\\\""),
            (&bad[..], "a\u{fffd}b\u{fffd}"),
        ] {
            for cut in 26..input.len() {
                let mut o = Out::new(Vec::new(), Format::Json, Zone::utc());
                o.line(b"", "s", &input[..cut]).unwrap();
                o.piece(&input[cut..]).unwrap();
                o.end_line(false).unwrap();
                o.finish().unwrap();
                let want = format!(
                    "{{\"time\":\"2026-11-24T04:02:21.163729500Z\",\"label\":\"@400000006b050c5709c2505c\",\"service\":\"s\",\"text\":\"{text}\"}}\n"
                );
                assert_eq!(String::from_utf8(o.w.clone()).unwrap(), want, "cut {cut}");
            }
        }
    }
}
