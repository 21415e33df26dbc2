//! svlog's output: lines through tai64nlocal's label renderer, buffered,
//! and why output may stop early.

use std::io;

use crate::error::Fatal;
use crate::filters::{Filter, LabelFilter};
use crate::tai64::local::LocalTime;
use crate::tai64::tz::Zone;

use super::{BLOCK, FLUSH_AT};

/// Why output stopped early.
#[derive(Debug)]
pub enum Stop {
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

/// Buffered output through the label renderer.
pub struct Out<W: io::Write> {
    filter: LabelFilter<LocalTime>,
    buf: Vec<u8>,
    w: W,
}

impl<W: io::Write> Out<W> {
    /// Output to `w`, labels rendered in `zone`.
    pub fn new(w: W, zone: Zone) -> Self {
        Out {
            filter: LabelFilter::new(LocalTime::new(zone)),
            buf: Vec::with_capacity(FLUSH_AT + BLOCK * 2),
            w,
        }
    }

    /// Render and queue `bytes` (any piece of the input stream).
    ///
    /// # Errors
    /// A write error.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        for piece in bytes.chunks(16 * 1024) {
            self.filter.feed(piece, &mut self.buf);
            if self.buf.len() >= FLUSH_AT {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Write what is queued.
    ///
    /// # Errors
    /// A write error.
    pub fn flush(&mut self) -> Result<(), Stop> {
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

    /// End of input.
    ///
    /// # Errors
    /// A write error.
    pub fn finish(&mut self) -> Result<(), Stop> {
        self.filter.finish(&mut self.buf);
        self.flush()
    }
}
