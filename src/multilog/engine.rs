//! The line engine (ports `multilog.c:doit`): split input blocks into lines,
//! apply the script to each line's first 1000 bytes, and hand the bytes to
//! the selected directories, `e` and `=` outputs.
//!
//! Input is copied exactly once, into the output buffers. A line longer than
//! 1000 bytes (timestamp included) is decided on its first 1000 bytes and
//! then streamed, so memory stays bounded whatever the input. An incomplete
//! line shorter than that is held until its newline arrives, as daemontools
//! holds it in its line buffer.

use std::os::fd::OwnedFd;

use memchr::{memchr, memrchr};

use super::logdir::LogDir;
use super::pattern::matches;
use super::regexsel::RegexSel;
use super::script::{Action, Script};
use super::stamp::{Stamp, MAX_STAMP};
use super::statusfile::StatusFile;
use crate::error::Fatal;
use crate::tai64::Tai64N;

mod outputs;
mod stepwise;

/// The matcher, `e` and `=` see at most this many bytes of a line.
pub const SELECT_BYTES: usize = 1000;
/// `e` prints at most this many bytes, then `...`.
pub(crate) const ECHO_BYTES: usize = 200;
/// Length of the `t` prefix: `@` + 24 hex digits + space.
pub const STAMP_LEN: usize = crate::tai64::STAMP_LEN;

/// What [`Engine::prepare`] makes before any directory is touched.
pub(crate) type Prepared = (Option<RegexSel>, Vec<StatusFile>);

/// The running multilog: script, outputs and per-line state.
pub struct Engine {
    actions: Vec<Action>,
    stamp: Stamp,
    stamp_len: usize,
    regex: Option<RegexSel>,
    /// Some directory rotates by age (`R`).
    timed: bool,
    /// Some action has to be evaluated per line (patterns, `e` or `=`).
    needs_eval: bool,
    dirs: Vec<LogDir>,
    status: Vec<StatusFile>,
    echo: Vec<u8>,
    sel: Vec<bool>,
    long_sel: Vec<bool>,
    in_long: bool,
    held_stamp: [u8; MAX_STAMP],
    block_stamp: [u8; MAX_STAMP],
    head: Vec<u8>,
    /// Input is taken in steps that end at rotation points (see
    /// [`super::steps`]): every put is limited so that no directory passes
    /// a rotation point inside a step, and [`Engine::process`] returns
    /// right after the first one that reaches one.
    stepwise: bool,
    /// Some directory reached a rotation point in this call.
    stop: bool,
}

impl Engine {
    /// `f_init` then `c_init`: open the status files, then the directories
    /// in script order.
    ///
    /// # Errors
    /// The first start-up failure.
    pub fn start(script: &Script, startfd: &OwnedFd) -> Result<Engine, Fatal> {
        let (regex, status) = Self::prepare(script, startfd)?;
        let mut dirs = Vec::with_capacity(script.dirs.len());
        for spec in &script.dirs {
            dirs.push(LogDir::start(startfd, spec)?);
        }
        Ok(Self::assemble(script, regex, status, dirs))
    }

    /// Compile the `~` expressions (a script error stops multilog before
    /// it touches any file), then `f_init`: open the status files.
    ///
    /// # Errors
    /// A bad expression, or a status file that cannot be opened.
    pub(crate) fn prepare(script: &Script, startfd: &OwnedFd) -> Result<Prepared, Fatal> {
        let regex = RegexSel::new(&script.regexes, &script.actions)?;
        let status = script
            .status_files
            .iter()
            .map(|f| StatusFile::open(startfd, f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((regex, status))
    }

    /// The engine over a [`Engine::prepare`]d script and started directories.
    pub(crate) fn assemble(
        script: &Script,
        regex: Option<RegexSel>,
        status: Vec<StatusFile>,
        dirs: Vec<LogDir>,
    ) -> Engine {
        let needs_eval = script.actions.iter().any(|a| !matches!(a, Action::Dir(_)));
        let stamp = match (script.timestamp, script.rfc3339) {
            (true, _) => Stamp::Tai64N,
            (false, true) => Stamp::Rfc3339,
            (false, false) => Stamp::None,
        };
        Engine {
            actions: script.actions.clone(),
            stamp,
            stamp_len: stamp.width(),
            regex,
            timed: dirs.iter().any(LogDir::has_timer),
            needs_eval,
            sel: vec![true; dirs.len()],
            long_sel: vec![true; dirs.len()],
            dirs,
            status,
            echo: Vec::new(),
            in_long: false,
            held_stamp: [b' '; MAX_STAMP],
            block_stamp: [b' '; MAX_STAMP],
            head: Vec::with_capacity(SELECT_BYTES),
            stepwise: false,
            stop: false,
        }
    }

    /// In the overflow part of a line longer than 1000 bytes?
    #[must_use]
    pub(crate) fn in_long_line(&self) -> bool {
        self.in_long
    }

    /// Process a block: `buf[..held]` is the incomplete line kept from the
    /// previous call, the rest was just read. Returns how many bytes were
    /// consumed; the remainder (an incomplete line under 1000 bytes) must be
    /// passed again, at the start of the next block.
    ///
    /// Stepwise, it returns early, right after the first line (or part of
    /// a line, cut at exactly `s`) that brings a directory to a rotation
    /// point.
    pub(crate) fn process(&mut self, buf: &[u8], held: usize) -> usize {
        self.stop = false;
        if self.stamp_len > 0 {
            self.block_stamp = self.stamp.at(Tai64N::now());
        }
        let mut pos = 0;
        if self.in_long {
            match memchr(b'\n', buf) {
                Some(i) => {
                    let n = self.emit_long(&buf[..=i]);
                    if n <= i {
                        return n;
                    }
                    pos = i + 1;
                    self.in_long = false;
                    if self.stop {
                        return pos;
                    }
                }
                None => return self.emit_long(buf),
            }
        }
        if !self.needs_eval && self.stamp_len == 0 {
            return pos + self.bulk(&buf[pos..]);
        }
        let mut use_held = held > 0;
        loop {
            let rest = &buf[pos..];
            if rest.is_empty() {
                return pos;
            }
            let stamp = if use_held {
                self.held_stamp
            } else {
                self.block_stamp
            };
            use_held = false;
            match memchr(b'\n', rest) {
                Some(i) => {
                    self.line(&stamp, &rest[..i]);
                    pos += i + 1;
                    if self.stop {
                        return pos;
                    }
                }
                None => {
                    if self.stamp_len + rest.len() >= SELECT_BYTES {
                        return pos + self.start_long(&stamp, rest);
                    }
                    self.held_stamp = stamp;
                    return pos;
                }
            }
        }
    }

    /// Every line goes everywhere unchanged: copy all complete lines at once.
    /// Stepwise, the bytes are limited to the first rotation point.
    fn bulk(&mut self, buf: &[u8]) -> usize {
        let done = memrchr(b'\n', buf).map_or(0, |i| i + 1);
        let long = buf.len() - done >= SELECT_BYTES;
        let data = if long { buf } else { &buf[..done] };
        let n = self.limit(&self.sel, 0, data);
        if n > 0 {
            for d in &mut self.dirs {
                d.put(&data[..n]);
            }
        }
        if n > 0 && data[n - 1] != b'\n' {
            // Cut inside a line (at `s`, or the start of a long line).
            self.long_sel.fill(true);
            self.in_long = true;
        }
        self.check_stop(false);
        n
    }

    /// Evaluate the script on `head` (the first 1000 bytes of the line as
    /// the matcher sees it, timestamp included), filling `self.sel`.
    fn select(&mut self, head_from_scratch: bool, text_head: &[u8]) {
        if !self.needs_eval {
            return;
        }
        let head: &[u8] = if head_from_scratch {
            &self.head
        } else {
            text_head
        };
        // `~` expressions see the text after the stamp.
        let text = &head[if head_from_scratch { self.stamp_len } else { 0 }..];
        if let Some(r) = &mut self.regex {
            r.new_line();
        }
        let mut selected = true;
        for a in &self.actions {
            match a {
                Action::Deselect(p) => {
                    if selected && matches(p, head) {
                        selected = false;
                    }
                }
                Action::Select(p) => {
                    if !selected && matches(p, head) {
                        selected = true;
                    }
                }
                Action::Echo => {
                    if selected {
                        if head.len() > ECHO_BYTES {
                            self.echo.extend_from_slice(&head[..ECHO_BYTES]);
                            self.echo.extend_from_slice(b"...\n");
                        } else {
                            self.echo.extend_from_slice(head);
                            self.echo.push(b'\n');
                        }
                    }
                }
                Action::Status(k) => {
                    if selected {
                        self.status[*k].set(head);
                    }
                }
                Action::Dir(k) => self.sel[*k] = selected,
                Action::DeselectRe(k) => {
                    if selected && self.regex.as_mut().is_some_and(|r| r.matches(*k, text)) {
                        selected = false;
                    }
                }
                Action::SelectRe(k) => {
                    if !selected && self.regex.as_mut().is_some_and(|r| r.matches(*k, text)) {
                        selected = true;
                    }
                }
            }
        }
        if self.echo.len() >= 64 * 1024 {
            self.flush_echo();
        }
    }

    /// Build the head in scratch when a timestamp has to precede the text.
    fn prepare_head(&mut self, stamp: &[u8; MAX_STAMP], text: &[u8]) -> bool {
        if self.stamp_len == 0 || !self.needs_eval {
            return false;
        }
        let n = text.len().min(SELECT_BYTES - self.stamp_len);
        self.head.clear();
        self.head.extend_from_slice(&stamp[..self.stamp_len]);
        self.head.extend_from_slice(&text[..n]);
        true
    }

    /// A complete line (without its newline).
    fn line(&mut self, stamp: &[u8; MAX_STAMP], text: &[u8]) {
        let scratch = self.prepare_head(stamp, text);
        let n = text.len().min(SELECT_BYTES - self.stamp_len);
        self.select(scratch, &text[..n]);
        self.echo_before_put(self.stamp_len + text.len() + 1);
        let prefix = &stamp[..self.stamp_len];
        for (d, &on) in self.dirs.iter_mut().zip(&self.sel) {
            if on {
                d.put_line(prefix, text);
            }
        }
        self.check_stop(false);
    }

    /// The first part of a line longer than 1000 bytes; returns how much
    /// of `part` was put (all of it unless a directory reached `s`).
    fn start_long(&mut self, stamp: &[u8; MAX_STAMP], part: &[u8]) -> usize {
        let scratch = self.prepare_head(stamp, part);
        let n = part.len().min(SELECT_BYTES - self.stamp_len);
        self.select(scratch, &part[..n]);
        let part = &part[..self.limit(&self.sel, self.stamp_len, part)];
        self.echo_before_put(self.stamp_len + part.len());
        let prefix = &stamp[..self.stamp_len];
        for (d, &on) in self.dirs.iter_mut().zip(&self.sel) {
            if on {
                d.put(prefix);
                d.put(part);
            }
        }
        self.long_sel.copy_from_slice(&self.sel);
        self.in_long = true;
        self.check_stop(true);
        part.len()
    }

    /// More of a long line (possibly ending with its newline); returns how
    /// much was put (all of it unless a directory reached `s`).
    fn emit_long(&mut self, bytes: &[u8]) -> usize {
        let bytes = &bytes[..self.limit(&self.long_sel, 0, bytes)];
        self.echo_before_put(bytes.len());
        for (d, &on) in self.dirs.iter_mut().zip(&self.long_sel) {
            if on {
                d.put(bytes);
            }
        }
        self.check_stop(true);
        bytes.len()
    }

    /// End of input: complete a pending line with a newline.
    pub fn eof(&mut self, held: &[u8]) {
        if self.in_long {
            // A directory at exactly `s` takes the newline after its
            // rotation, as c_write does (stepwise, the caller has rotated).
            let stepwise = std::mem::replace(&mut self.stepwise, false);
            self.emit_long(b"\n");
            self.stepwise = stepwise;
            self.in_long = false;
        } else if !held.is_empty() {
            let stamp = self.held_stamp;
            self.line(&stamp, held);
        }
    }
}
