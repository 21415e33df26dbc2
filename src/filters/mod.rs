//! The line pump shared by `tai64n`, `tai64nlocal` and `tai64nfrac`.
//!
//! daemontools reads through a 1 KiB buffer and flushes its output before
//! every `read(2)`. Here input is read in [`READ_SIZE`] blocks, lines are
//! found with `memchr`, and the output collects in one buffer that is written
//! when it passes [`FLUSH_AT`] bytes or when the next read would block (a
//! zero-timeout `poll` decides). So a file or a busy pipe costs one `write`
//! per 64 KiB, while `tail -f | tai64nlocal` still shows each line at once.
//!
//! Each filter is a [`Filter`]: a state machine fed arbitrary chunks, so a
//! line or a label may be split anywhere between reads. The logic takes any
//! [`Input`] and [`Write`] and is tested in-process; the binaries use
//! [`StdinFd`] and [`StdoutFd`], which go straight to descriptors 0 and 1.
//!
//! Differences from daemontools: output is not flushed before a read that
//! would not block (it is still flushed before every read that would);
//! SIGPIPE is restored to its default action at start-up, so like the C
//! programs the filters die of SIGPIPE when the reader goes away.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use memchr::memchr;

use crate::tai64::scan::Scan;
use crate::tai64::Tai64N;

pub mod tai64n;
pub mod tai64nfrac;
pub mod tai64nlocal;

/// Bytes asked for by each `read(2)`.
pub const READ_SIZE: usize = 128 * 1024;
/// Output is written once it holds this many bytes.
pub(crate) const FLUSH_AT: usize = 64 * 1024;
/// Input is handed to a filter in pieces of at most this size, so the output
/// buffer stays bounded even when every line is empty.
const PIECE: usize = 16 * 1024;
/// A label split across reads keeps at most this many bytes (`@` + digits)
/// for the case where it has to be copied unchanged.
pub(crate) const LABEL_KEEP: usize = 4096;

/// A byte source that can tell whether a read would block.
pub(crate) trait Input {
    /// `read(2)`: 0 at end of input. `EINTR` is retried.
    ///
    /// # Errors
    /// The read error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// True unless a read is known to return at once (data or EOF ready).
    fn would_block(&mut self) -> bool;
}

/// Descriptor 0.
#[derive(Debug, Default)]
pub(crate) struct StdinFd;

impl Input for StdinFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let stdin = io::stdin();
        loop {
            match rustix::io::read(stdin.as_fd(), &mut *buf) {
                Ok(n) => return Ok(n),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn would_block(&mut self) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let stdin = io::stdin();
        let fd = stdin.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        !matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
    }
}

/// Descriptor 1, written with plain `write(2)` (no extra std buffering).
#[derive(Debug, Default)]
pub(crate) struct StdoutFd;

impl Write for StdoutFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let stdout = io::stdout();
        loop {
            match rustix::io::write(stdout.as_fd(), buf) {
                Ok(n) => return Ok(n),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Any [`Read`] as an [`Input`] whose reads always count as blocking, so
/// output is flushed before each of them (the daemontools rule).
#[derive(Debug)]
pub struct Blocking<R>(pub R);

impl<R: Read> Input for Blocking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn would_block(&mut self) -> bool {
        true
    }
}

/// A streaming filter: fed chunks of input, appends output.
pub trait Filter {
    /// Called once after each successful read, before its bytes are fed.
    fn on_read(&mut self) {}
    /// Process the next bytes of input.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>);
    /// End of input.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// Copy `input` through `f` to `out`, flushing before every read that would
/// block and whenever [`FLUSH_AT`] bytes are pending.
///
/// # Errors
/// The first read or write error; output pending at that point is lost.
pub(crate) fn pump<F: Filter + ?Sized, I: Input, W: Write>(
    f: &mut F,
    input: &mut I,
    out: &mut W,
) -> io::Result<()> {
    let mut buf = vec![0u8; READ_SIZE];
    let mut pending: Vec<u8> = Vec::with_capacity(FLUSH_AT + 32 * PIECE);
    loop {
        if !pending.is_empty() && input.would_block() {
            out.write_all(&pending)?;
            pending.clear();
        }
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        f.on_read();
        for piece in buf[..n].chunks(PIECE) {
            f.feed(piece, &mut pending);
            if pending.len() >= FLUSH_AT {
                out.write_all(&pending)?;
                pending.clear();
            }
        }
    }
    f.finish(&mut pending);
    out.write_all(&pending)?;
    out.flush()
}

/// Run `f` from descriptor 0 to descriptor 1 (`SIGPIPE` is at its default:
/// the filters' policy is [`Sigpipe::Default`](crate::sys::signals::Sigpipe)).
///
/// # Errors
/// The first read or write error.
pub(crate) fn run_stdio<F: Filter + ?Sized>(f: &mut F) -> io::Result<()> {
    pump(f, &mut StdinFd, &mut StdoutFd)
}

/// How a label filter renders a label.
pub trait Render {
    /// Whether a label cut short by end of input is still rendered
    /// (`tai64nfrac`) or dropped with nothing printed (`tai64nlocal`).
    const AT_EOF: bool;
    /// Append the rendering of `t`; `false` (nothing appended) means the
    /// label cannot be rendered and the line is copied unchanged.
    fn render(&mut self, t: Tai64N, out: &mut Vec<u8>) -> bool;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the first byte of a line.
    Start,
    /// Copying the rest of a line, through its newline.
    Copy,
    /// Inside the digits of a label that began the line.
    Label,
}

/// The `tai64nlocal`/`tai64nfrac` line machine: a line starting with `@`
/// has its label digits replaced by `R`'s rendering; everything else is
/// copied.
#[derive(Debug)]
pub struct LabelFilter<R> {
    render: R,
    state: State,
    scan: Scan,
    /// `@` and the digits of a label that spans reads (at most
    /// [`LABEL_KEEP`] bytes); empty while no digit has been held.
    held: Vec<u8>,
}

impl<R: Render> LabelFilter<R> {
    /// A filter at the start of its input.
    pub fn new(render: R) -> Self {
        LabelFilter {
            render,
            state: State::Start,
            scan: Scan::default(),
            held: Vec::new(),
        }
    }

    /// The renderer.
    pub fn renderer(&mut self) -> &mut R {
        &mut self.render
    }
}

impl<R: Render> Filter for LabelFilter<R> {
    fn feed(&mut self, mut b: &[u8], out: &mut Vec<u8>) {
        while let Some(&first) = b.first() {
            match self.state {
                State::Start => {
                    if first == b'@' {
                        self.state = State::Label;
                        self.scan = Scan::default();
                        b = &b[1..];
                    } else {
                        self.state = State::Copy;
                    }
                }
                State::Copy => match memchr(b'\n', b) {
                    Some(i) => {
                        out.extend_from_slice(&b[..=i]);
                        b = &b[i + 1..];
                        self.state = State::Start;
                    }
                    None => {
                        out.extend_from_slice(b);
                        return;
                    }
                },
                State::Label => {
                    let n = self.scan.feed(b);
                    if n == b.len() {
                        // The label may go on in the next read.
                        if self.held.is_empty() {
                            self.held.push(b'@');
                        }
                        let room = LABEL_KEEP.saturating_sub(self.held.len());
                        self.held.extend_from_slice(&b[..n.min(room)]);
                        return;
                    }
                    if !self.render.render(self.scan.value(), out) {
                        if self.held.is_empty() {
                            out.push(b'@');
                        } else {
                            out.extend_from_slice(&self.held);
                        }
                        out.extend_from_slice(&b[..n]);
                    }
                    self.held.clear();
                    b = &b[n..];
                    self.state = State::Copy;
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.state == State::Label && R::AT_EOF {
            // tai64nfrac renders whatever it has (it never fails).
            if !self.render.render(self.scan.value(), out) {
                out.extend_from_slice(if self.held.is_empty() {
                    b"@"
                } else {
                    &self.held
                });
            }
        }
        self.held.clear();
        self.state = State::Start;
    }
}

/// Filter a whole byte string in memory (tests, benchmarks, fuzzing).
pub fn filter_bytes<F: Filter + ?Sized>(f: &mut F, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 2 + 64);
    f.on_read();
    f.feed(input, &mut out);
    f.finish(&mut out);
    out
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::io::{self, Read};

    /// A reader returning its data in the given chunk sizes (cycled).
    pub(crate) struct Chunked<'a> {
        pub(crate) data: &'a [u8],
        pub(crate) sizes: Vec<usize>,
        pub(crate) i: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return Ok(0);
            }
            let want = self.sizes[self.i % self.sizes.len()].max(1);
            self.i += 1;
            let n = want.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Run `f` over `data` read in `sizes` chunks.
    pub(crate) fn run_chunked<F: super::Filter>(
        f: &mut F,
        data: &[u8],
        sizes: Vec<usize>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut input = super::Blocking(Chunked { data, sizes, i: 0 });
        super::pump(f, &mut input, &mut out).unwrap();
        out
    }
}
