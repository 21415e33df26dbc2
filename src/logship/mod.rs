//! `logship`: ship multilog log directories to a syslog receiver (rsyslog,
//! syslog-ng) so that every line logged arrives, across crashes of either
//! side (a new program; daemontools has no counterpart).
//!
//! `logship [-e] [-p fac.sev] [-H host] [-a app] [-c DIR] [-w N] [-m N] [-t SECS] [-T SECS] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME] URL DIR...`
//!
//! * Each DIR is read by the shared follower (`src/follow/`) from its
//!   cursor, or when it has none yet from its oldest archive (from its
//!   end with `-e`: only lines written from then on).
//! * Each line becomes an RFC 5424 message (`syslog.rs`), cut into pieces
//!   of at most `-m` bytes (default 8192, rsyslog's default
//!   `maxMessageSize`) when longer.
//! * `relp://`: each message is a RELP `syslog` transaction ([`relp`],
//!   `conn.rs`); it is delivered once rsyslog acknowledged it. `tcp://`:
//!   RFC 6587 octet counting; `tcp+lf://`: an LF after each message (RFC
//!   6587 non-transparent framing, `syslog::lf_frame`); both delivered once
//!   the kernel took its bytes.
//! * The cursor of each DIR (`cursor.rs`) only moves to positions whose
//!   every message was acknowledged. At most `-w` messages (default 1024)
//!   are sent and not yet both acknowledged and saved in the cursor, so a
//!   restart sends again at most one window of messages.
//! * A connection failure or a broken session: `logship: warning: unable
//!   to …, pausing: …`, a capped exponential backoff (0.1 s doubling up to
//!   [`BACKOFF_MAX`]), then the messages not acknowledged are sent again
//!   in order on the new session. Memory stays bounded: at most a window
//!   of messages is held, whatever the backlog on disk.
//! * The first acknowledgement (RELP) or write the kernel took (TCP)
//!   after a failure: `logship: info: URL: sending again after N s, M
//!   lines behind`, N the seconds since the first failure, M the messages
//!   sent and not yet acknowledged at that moment (`at least M` when the
//!   window was full, so more lines may wait in the directories).
//! * A server that stops answering: messages in flight without an
//!   acknowledgement for `-t` seconds (default 30) end the session the
//!   same way; connecting and the RELP `open` have `-T` seconds (default
//!   10) and never block the loop (`sock.rs`, `conn.rs`); TCP keepalive
//!   notices a peer gone while nothing is in flight. An `rsp` for a
//!   transaction not awaiting one is a protocol error, never an
//!   acknowledgement.
//! * Data deleted by retention before it was read: `logship: warning:
//!   DIR: N bytes deleted before they were read`.
//! * `relp+tls://`, `tls://` (RFC 5425): the same over TLS (`tls.rs`,
//!   `tls_stream.rs`), certificates always verified, never a fall back to
//!   plain text; SIGHUP reads the files again for the next connection.
//! * SIGTERM/SIGINT: the messages in flight get up to [`DRAIN`] to be
//!   acknowledged, the cursors are saved, the session is closed; exit 0.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::error::{self, Fatal};
use crate::follow::Pos;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::{self, Sigpipe};

mod args;
mod conn;
mod cursor;
mod cursor_file;
mod cursor_saver;
mod dest;
mod help;
mod lag;
pub(crate) mod reader;
pub mod relp;
mod session;
mod sock;
mod start;
pub mod status;
mod syslog;
mod tls;
mod tls_stream;

use conn::Conn;
use dest::Dest;
use reader::Reader;
use syslog::Header;

const PROG: &str = "logship";
use help::CLI;
pub use help::USAGE;
/// The first pause after a failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest pause.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long messages in flight may take to be acknowledged at the end.
pub const DRAIN: Duration = Duration::from_secs(2);
/// The safety-net wake-up (as svlog's).
const WAKE: Duration = Duration::from_millis(100);
/// Cursors are saved at least this often while they lag.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// One log directory being shipped.
struct Dir {
    name: String,
    reader: Reader,
    header: Header,
    cursor: PathBuf,
    /// Saves it.
    saver: cursor_saver::Saver,
    /// The lock on the cursor, held while logship runs.
    _lock: OwnedFd,
    /// The position after the last message acknowledged in order.
    acked: Option<Pos>,
    saved: Option<Pos>,
    /// Its lag, for its status file.
    lag: lag::Lag,
}

/// A message sent and not acknowledged yet.
struct Inflight {
    dir: usize,
    end: Pos,
    msg: Vec<u8>,
    txnr: u32,
    /// The stream offset its last byte reaches (TCP).
    stream_end: u64,
    /// The directory's byte count after it ([`reader::Next::seq`]).
    seq: u64,
    acked: bool,
}

/// The shipping state.
struct Ship {
    dest: Dest,
    dirs: Vec<Dir>,
    window: usize,
    inflight: VecDeque<Inflight>,
    /// Messages acknowledged whose positions are not in the cursors yet.
    unsaved: usize,
    /// The buffers of messages acknowledged, for the next ones.
    spare: Vec<Vec<u8>>,
    last_save: Instant,
    conn: Option<Conn>,
    /// `-t`: how long messages in flight may go without an
    /// acknowledgement before the session is given up.
    ack_timeout: Duration,
    /// `-T`: how long connecting and opening a session may take.
    connect_timeout: Duration,
    /// The last acknowledgement, or when the oldest message in flight was
    /// sent if later.
    progress_at: Instant,
    retry_at: Instant,
    backoff: Duration,
    rr: usize,
    /// When the first failure since the last acknowledgement happened:
    /// the start of an outage, for the notice at its end.
    broken_since: Option<Instant>,
    /// The last failure was a refusal ([`dest::Trouble::Refused`]).
    refused: bool,
    /// The state the status files showed last, and when they may be
    /// looked at again ([`lag`]).
    report_state: status::State,
    report_at: Instant,
    /// When answers were last read; see [`Ship::pace`].
    read_at: Instant,
}

impl Ship {
    /// Save the cursors that moved.
    fn save(&mut self) {
        let mut ok = true;
        for d in &mut self.dirs {
            if d.acked != d.saved {
                if let Some(p) = d.acked {
                    match d.saver.save(cursor::format(&p).as_bytes()) {
                        Ok(()) => d.saved = Some(p),
                        Err(e) => {
                            ok = false;
                            let what = format!("unable to write {}", d.cursor.display());
                            error::warn(PROG, &what, Some(&e));
                        }
                    }
                }
            }
        }
        if ok {
            self.unsaved = 0;
        }
        self.last_save = Instant::now();
    }

    /// Whether the cursors lag enough to be saved: half a window, nothing
    /// in flight, or [`SAVE_EVERY`] since the last save.
    fn save_due(&self) -> bool {
        self.unsaved > 0
            && (self.unsaved * 2 >= self.window
                || self.inflight.is_empty()
                || self.last_save.elapsed() >= SAVE_EVERY)
    }

    /// Send new messages while the window allows.
    fn fill(&mut self) -> Result<(), Fatal> {
        let Some(c) = self.conn.as_mut().filter(|c| c.is_ready()) else {
            return Ok(());
        };
        let n = self.dirs.len();
        let mut idle = 0;
        while self.inflight.len() + self.unsaved < self.window && idle < n && c.backlog() < 1 << 20
        {
            let k = self.rr % n;
            self.rr = self.rr.wrapping_add(1);
            let d = &mut self.dirs[k];
            let Some(next) = d.reader.next()? else {
                idle += 1;
                continue;
            };
            idle = 0;
            // A buffer of a message acknowledged earlier, if any: no
            // allocation per message.
            let mut msg = self.spare.pop().unwrap_or_default();
            msg.clear();
            syslog::message(&d.header, &next.piece, &mut msg);
            let (end, seq) = (next.end, next.seq);
            d.lag.read_seq = seq;
            d.lag.read_msgs += 1;
            d.lag.unacked += 1;
            let (txnr, stream_end) = c.send(&msg);
            if self.inflight.is_empty() {
                self.progress_at = Instant::now();
            }
            self.inflight.push_back(Inflight {
                dir: k,
                end,
                msg,
                txnr,
                stream_end,
                seq,
                acked: false,
            });
        }
        Ok(())
    }

    fn warn_lost(&mut self) {
        for d in &mut self.dirs {
            let lost = d.reader.follower.take_lost();
            if !lost.is_empty() {
                lost.warn(PROG, &d.name);
            }
        }
    }

    /// Write, wait for the socket, the directories, a signal or the
    /// timeout, then go on connecting and read acknowledgements. True if a
    /// signal to end came.
    fn step(&mut self, sig_r: &OwnedFd, timeout: Duration) -> Result<bool, Fatal> {
        if let Some(c) = self.conn.as_mut() {
            match c.flush() {
                Ok(()) => c.ack_now(),
                Err(t) => self.fail(&t),
            }
        }
        let timeout = if self.written_unacked() {
            Duration::ZERO
        } else {
            timeout
        };
        let hold = self.pace();
        let timeout = hold.map_or(timeout, |h| timeout.min(h));
        let mut fds = vec![PollFd::new(sig_r, PollFlags::IN)];
        for d in &self.dirs {
            fds.push(PollFd::from_borrowed_fd(
                d.reader.follower.fd(),
                PollFlags::IN,
            ));
        }
        if let Some((fd, connecting)) = self.conn.as_ref().and_then(Conn::pollable) {
            let want_in = if hold.is_some() {
                PollFlags::empty()
            } else {
                PollFlags::IN
            };
            let fl = if connecting {
                PollFlags::OUT
            } else if self.conn.as_ref().is_some_and(Conn::wants_write) {
                want_in | PollFlags::OUT
            } else {
                want_in
            };
            fds.push(PollFd::from_borrowed_fd(fd, fl));
        }
        let t = Timespec::try_from(timeout).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        });
        match poll(&mut fds, Some(&t)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(Fatal::new("unable to poll", io::Error::from(e))),
        }
        drop(fds);
        let mut b = [0u8; 64];
        while matches!(rustix::io::read(sig_r, &mut b), Ok(n) if n > 0) {}
        for d in &mut self.dirs {
            d.reader.follower.events()?;
        }
        if signals::caught(libc::SIGHUP) {
            if let Some(t) = self.dest.tls.as_mut() {
                t.reload();
            }
        }
        // The pause may have ended while waiting.
        self.exchange(self.pace().is_none());
        self.check_progress();
        Ok(signals::caught(libc::SIGTERM) || signals::caught(libc::SIGINT))
    }

    /// The main loop, until a signal to end.
    fn run(&mut self, sig_r: &OwnedFd) -> Result<(), Fatal> {
        loop {
            self.connect();
            // Saved first, so the window the save frees is filled at once.
            if self.save_due() {
                self.save();
            }
            self.fill()?;
            self.warn_lost();
            if self.save_due() {
                self.save();
            }
            // Woken by the socket, the directories or a signal; at the
            // latest when it is time to connect again.
            let mut timeout = WAKE;
            if self.conn.is_none() {
                timeout = timeout.min(self.retry_at.saturating_duration_since(Instant::now()));
            }
            if self.step(sig_r, timeout)? {
                return self.finish(sig_r);
            }
            self.report(false);
        }
    }

    /// At the end: wait a little for acknowledgements, save, close.
    fn finish(&mut self, sig_r: &OwnedFd) -> Result<(), Fatal> {
        // A connection not ready yet is not waited for.
        if !self.conn.as_ref().is_some_and(Conn::is_ready) {
            self.conn = None;
        }
        let until = Instant::now() + DRAIN;
        while !self.inflight.is_empty() && self.conn.is_some() && Instant::now() < until {
            self.step(sig_r, Duration::from_millis(20))?;
        }
        self.save();
        if let Some(c) = self.conn.take() {
            c.close();
        }
        self.report(true);
        Ok(())
    }
}

/// A closed connection shows as a write error, never a signal.
pub const SIGPIPE: Sigpipe = Sigpipe::Ignore;

/// The program (see the crate's entry convention).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let o = match args::parse(&main.argv) {
        Ok(o) => o,
        Err(args::Bad::Usage) => return CLI.usage(),
        Err(args::Bad::Named(why)) => return CLI.usage_why(&[why.as_bytes()]),
        Err(args::Bad::Help) => return CLI.help(),
        Err(args::Bad::Version) => return CLI.version(),
    };
    let r = (|| {
        let mut o = o;
        let sigs = tls::setup(&mut o)?;
        let (sig_r, sig_w) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
        )
        .map_err(|e| Fatal::new("unable to create pipe", io::Error::from(e)))?;
        signals::selfpipe_catch(sigs, sig_w)
            .map_err(|e| Fatal::new("unable to catch signals", e))?;
        let mut ship = start::start(o)?;
        ship.run(&sig_r)
    })();
    match r {
        Ok(()) => 0,
        Err(f) => f.report(PROG),
    }
}
