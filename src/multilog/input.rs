//! Reading a stdin pipe without consuming it: input leaves the pipe only
//! once it is in `current` (see [`super::steps`] for the protocol and
//! [`super::inflight`] for the record that makes it exact).
//!
//! * [`PipeInput::peek`]: `tee(2)` from stdin into a private pipe, then
//!   `read(2)` from that: the bytes stay in stdin's pipe.
//! * [`PipeInput::consume`]: remove exactly the bytes a step wrote, in two
//!   system calls each of which a `SIGKILL` cannot cut short: first
//!   `splice(2)` of `j` bytes from stdin into the (empty) private pipe —
//!   pipe-to-pipe splicing moves buffer references under both pipe locks
//!   and checks for signals only when it would wait, and the private pipe
//!   is at least as large as stdin's, so it never has to — then a
//!   `splice(2)` of the rest into the in-flight record file, appended at
//!   its end: the file's growth witnesses exactly what was taken.
//!
//! When stdin is not a pipe (a file, a socket, a terminal), or no private
//! pipe as large as stdin's can be made, multilog reads as daemontools does
//! and none of this applies.

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, SpliceFlags};

use super::inflight::{PipeId, Record};
use super::retry::complain;

/// The capacity multilog asks for stdin's pipe (Linux's default limit
/// for unprivileged users, `/proc/sys/fs/pipe-max-size`).
pub(crate) const PIPE_SIZE: usize = 1 << 20;
/// The largest step: input peeked and written at once.
pub(crate) const STEP: usize = 128 * 1024;

/// stdin as a pipe read by peeking.
pub(crate) struct PipeInput {
    priv_r: OwnedFd,
    priv_w: OwnedFd,
    /// Capacity of the private pipe.
    cap: usize,
    /// `/dev/null`, where the private pipe is drained (read otherwise).
    null: Option<OwnedFd>,
    scratch: Vec<u8>,
    /// stdin's identity: a record made on another pipe is not applied.
    id: PipeId,
}

impl PipeInput {
    /// `Some` when stdin is a pipe and a private pipe at least as large
    /// could be made.
    pub(crate) fn open() -> Option<PipeInput> {
        let stdin = rustix::stdio::stdin();
        let st = rustix::fs::fstat(stdin).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Fifo {
            return None;
        }
        let mut size = rustix::pipe::fcntl_getpipe_size(stdin).ok()?;
        if size < PIPE_SIZE {
            // Input stays in the pipe until it is written: a larger pipe
            // lets the writer run ahead while a step is written (and
            // makes steps, so their system calls, fewer). Not permitted
            // over the user's pipe limit: then the pipe stays as it is.
            if let Ok(n) = rustix::pipe::fcntl_setpipe_size(stdin, PIPE_SIZE) {
                size = n;
            }
        }
        let (priv_r, priv_w) =
            rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).ok()?;
        let cap = rustix::pipe::fcntl_setpipe_size(&priv_w, size).ok()?;
        if cap < size {
            return None;
        }
        let null =
            rustix::fs::open("/dev/null", OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()).ok();
        Some(PipeInput {
            id: PipeId {
                dev: st.st_dev,
                ino: st.st_ino,
            },
            priv_r,
            priv_w,
            cap,
            null,
            scratch: Vec::new(),
        })
    }

    /// Which pipe stdin is.
    pub(crate) fn id(&self) -> PipeId {
        self.id
    }

    /// Copy up to `buf.len()` bytes from the start of stdin's pipe into
    /// `buf`, leaving them there. `Ok(0)` at end of input; `AGAIN` when
    /// the pipe is empty.
    ///
    /// # Errors
    /// `tee(2)`'s errors.
    pub(crate) fn peek(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let n = rustix::pipe::tee(
            rustix::stdio::stdin(),
            &self.priv_w,
            buf.len(),
            SpliceFlags::NONBLOCK,
        )?;
        let mut got = 0;
        while got < n {
            match rustix::io::read(&self.priv_r, &mut buf[got..n]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    /// Remove `j + w` bytes from stdin: `j` into nothing (atomically, see
    /// the module doc), then `w` appended to the record's file at its
    /// end, which advances with what was written. A full disk frees
    /// space as `N` says ([`Record::free`]), else pauses and retries.
    pub(crate) fn consume(&mut self, j: usize, w: usize, rec: &mut Record) {
        if j > 0 {
            self.discard(j);
        }
        let mut left = w;
        while left > 0 {
            let got = rustix::pipe::splice(
                rustix::stdio::stdin(),
                None,
                &rec.file,
                Some(&mut rec.end),
                left,
                SpliceFlags::empty(),
            );
            match got {
                Ok(0) => complain(
                    "unable to write to the in-flight record",
                    &io::Error::from(Errno::PIPE),
                ),
                Ok(n) => left -= n,
                Err(Errno::INTR) => {}
                Err(e) => {
                    let e = io::Error::from(e);
                    if !rec.free.as_ref().is_some_and(|f| f(&e)) {
                        complain("unable to write to the in-flight record", &e);
                    }
                }
            }
        }
    }

    /// Take `j` bytes off stdin without a trace, in one system call that a
    /// signal cannot cut short.
    fn discard(&mut self, j: usize) {
        let stdin = rustix::stdio::stdin();
        let fits = rustix::pipe::fcntl_getpipe_size(stdin).is_ok_and(|s| s <= self.cap);
        if fits {
            if let Ok(n) =
                rustix::pipe::splice(stdin, None, &self.priv_w, None, j, SpliceFlags::empty())
            {
                self.drain(n);
                if n == j {
                    return;
                }
                return self.read_off(j - n);
            }
        }
        self.read_off(j);
    }

    /// `read(2)` of a pipe holding enough data does not return early on a
    /// signal either: the fallback when splicing is not possible.
    fn read_off(&mut self, mut j: usize) {
        if self.scratch.len() < j {
            self.scratch.resize(j, 0);
        }
        while j > 0 {
            match rustix::io::read(rustix::stdio::stdin(), &mut self.scratch[..j]) {
                Ok(0) | Err(_) => return,
                Ok(n) => j -= n,
            }
        }
    }

    /// Empty the private pipe of `n` bytes.
    fn drain(&mut self, mut n: usize) {
        while n > 0 {
            let r = match &self.null {
                Some(null) => {
                    rustix::pipe::splice(&self.priv_r, None, null, None, n, SpliceFlags::NONBLOCK)
                }
                None => {
                    self.scratch.resize(n.max(self.scratch.len()), 0);
                    rustix::io::read(&self.priv_r, &mut self.scratch[..n])
                }
            };
            match r {
                Ok(0) | Err(_) => return,
                Ok(k) => n -= k,
            }
        }
    }
}
