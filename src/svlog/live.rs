//! `-f` after the history: one followed directory ([`Tail`]) and how what
//! its follower reads is printed. One directory without `-g`, `-o json`
//! or `--until` goes out as the bytes come (a line is printed as far as it
//! is written, like `tail -f`); otherwise line by line, through the same
//! [`Out::line`] as the history's merge: a line waits for its newline
//! (one longer than [`BLOCK`] goes out from its head on, and no other
//! directory's line is printed until it ends), `-g` tests it as the dump
//! does (a long line on its head), several directories' lines are
//! labelled with their service names, and the first line stamped at or
//! after `--until` ends svlog (as it ends `journalctl -f --until`).

use std::io;

use memchr::memchr;

use crate::follow::{Follower, Got};
use crate::tai64::Tai64N;

use super::gone::Gone;
use super::stamp::{line_label, line_text};
use super::{Out, Stop, BLOCK};

/// How lines go out.
pub(crate) struct Mode<'a> {
    /// Line by line (else the bytes as read).
    pub lines: bool,
    /// Several directories: each line labelled, and ended with a newline.
    pub merge: bool,
    /// `-g`.
    pub re: Option<&'a regex::bytes::Regex>,
    /// `--until`.
    pub until: Option<Tai64N>,
}

/// A followed directory.
pub(crate) struct Tail {
    /// The service name.
    pub name: String,
    /// Printed before each of its lines (several directories).
    prefix: Vec<u8>,
    /// Its follower.
    pub f: Follower,
    /// What is said when it goes away.
    pub gone: Gone,
    /// A line whose newline has not come yet.
    part: Vec<u8>,
    /// A long line is being printed (`Some(true)`) or skipped.
    open: Option<bool>,
}

/// A line's fate: printed or not, or `--until` reached.
type Fate = Option<bool>;

/// Print `line` (a whole line, or the head of a long one) of service
/// `name` as `m` says.
fn emit<W: io::Write>(
    line: &[u8],
    whole: bool,
    (name, prefix): (&str, &[u8]),
    m: &Mode<'_>,
    out: &mut Out<W>,
) -> Result<Fate, Stop> {
    if let (Some(u), Some(t)) = (m.until, line_label(line)) {
        if t >= u {
            return Ok(None);
        }
    }
    let keep = m.re.is_none_or(|re| re.is_match(line_text(line)));
    if keep {
        out.line(prefix, name, line)?;
        if whole {
            out.end_line(m.merge)?;
        }
    }
    Ok(Some(keep))
}

impl Tail {
    /// Follow `f`, the directory of service `name`; `merge`: one of
    /// several.
    pub(crate) fn new(name: String, f: Follower, gone: Gone, merge: bool) -> Tail {
        let prefix = if merge {
            format!("{name}: ").into_bytes()
        } else {
            Vec::new()
        };
        Tail {
            name,
            prefix,
            f,
            gone,
            part: Vec::new(),
            open: None,
        }
    }

    /// Inside a long line: no other directory's line may be printed.
    #[must_use]
    pub(crate) fn in_line(&self) -> bool {
        self.open.is_some()
    }

    /// Print what the follower has read since; `true` when a line at or
    /// after `--until` came (nothing after it is printed).
    ///
    /// # Errors
    /// The follower's, or a write error.
    pub(crate) fn pump<W: io::Write>(
        &mut self,
        m: &Mode<'_>,
        buf: &mut [u8],
        out: &mut Out<W>,
    ) -> Result<bool, Stop> {
        while let Got::Data { n, .. } = self.f.read(buf)? {
            if !m.lines {
                out.feed(&buf[..n])?;
            } else if self.take(&buf[..n], m, out)?.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Print the complete lines in `part` + `bytes`, keep the rest.
    fn take<W: io::Write>(
        &mut self,
        mut bytes: &[u8],
        m: &Mode<'_>,
        out: &mut Out<W>,
    ) -> Result<Fate, Stop> {
        let who = (self.name.as_str(), self.prefix.as_slice());
        while !bytes.is_empty() {
            let nl = memchr(b'\n', bytes);
            let (now, rest) = bytes.split_at(nl.map_or(bytes.len(), |i| i + 1));
            bytes = rest;
            if let Some(print) = self.open {
                // The rest of a long line.
                if print {
                    out.piece(now)?;
                }
                if nl.is_some() {
                    if print {
                        out.end_line(m.merge)?;
                    }
                    self.open = None;
                }
                continue;
            }
            if nl.is_none() {
                self.part.extend_from_slice(now);
                if self.part.len() >= BLOCK {
                    // A long line: its head decides, as in the dump.
                    let head = std::mem::take(&mut self.part);
                    let Some(print) = emit(&head, false, who, m, out)? else {
                        return Ok(None);
                    };
                    self.open = Some(print);
                }
                continue;
            }
            let fate = if self.part.is_empty() {
                emit(now, true, who, m, out)?
            } else {
                self.part.extend_from_slice(now);
                let f = emit(&self.part, true, who, m, out)?;
                self.part.clear();
                f
            };
            if fate.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(true))
    }
}
