//! The session side of the shipping loop: connecting (never blocking),
//! sending the window again on a new session, taking in acknowledgements
//! (refusing one for a transaction not awaiting one), and giving a session
//! up, on an error or when acknowledgements stop coming (`-t`).

use std::io;
use std::time::{Duration, Instant};

use crate::error;

use super::conn::Conn;
use super::dest::{self, Dest, Trouble};
use super::{relp, status, Ship, BACKOFF_MAX, BACKOFF_MIN, PROG};

/// How long answers may wait unread, per message of the window
/// ([`Ship::pace`]).
const PACE_PER_MESSAGE: Duration = Duration::from_micros(4);
/// And at most.
const PACE_MAX: Duration = Duration::from_millis(4);

/// The pause of [`Ship::pace`] for a window of `window` messages.
fn pause(window: usize) -> Duration {
    let window = u32::try_from(window).unwrap_or(u32::MAX);
    PACE_PER_MESSAGE.saturating_mul(window).min(PACE_MAX)
}

/// The largest message buffer kept for reuse.
const SPARE_MAX: usize = 16 * 1024;

/// The warning for a session given up: `unable to WHAT URL, pausing:
/// REASON` or `URL: PROBLEM, pausing`.
fn warn_trouble(dest: &Dest, t: &Trouble) {
    match t {
        Trouble::Io(what, e) => error::warn(
            PROG,
            &format!("unable to {what} {}, pausing", dest.url),
            Some(e),
        ),
        Trouble::Protocol(s) | Trouble::Refused(s) => {
            error::warn(PROG, &format!("{}: {s}, pausing", dest.url), None);
        }
    }
}

impl Ship {
    /// Take in acknowledgements: mark, then move the acknowledged prefix's
    /// positions to the directories. An `rsp` for a transaction not sent
    /// on this session (never, not yet written, or answered already) is a
    /// protocol error: what it names is not marked, so no cursor moves on
    /// it (RELP, librelp's `doc/relp.html`: each transaction the client
    /// sends gets exactly one response).
    pub(super) fn ack(
        &mut self,
        txnrs: &[u32],
        written: Option<u64>,
        sent: u64,
    ) -> Result<(), Trouble> {
        let mut bad = None;
        let mut moved = false;
        let first = self.inflight.front().map_or(0, |m| m.txnr);
        for &t in txnrs {
            match relp::window_index(first, self.inflight.len(), t)
                .and_then(|i| self.inflight.get_mut(i))
                .filter(|m| m.txnr == t && !m.acked && m.stream_end <= sent)
            {
                Some(m) => {
                    m.acked = true;
                    moved = true;
                }
                None => {
                    bad = Some(t);
                    break;
                }
            }
        }
        if let Some(w) = written {
            for m in self.inflight.iter_mut().take_while(|m| m.stream_end <= w) {
                moved |= !m.acked;
                m.acked = true;
            }
        }
        let mut now = None;
        while self.inflight.front().is_some_and(|m| m.acked) {
            if let Some(m) = self.inflight.pop_front() {
                let d = &mut self.dirs[m.dir];
                d.acked = Some(m.end);
                d.lag.acked_seq = m.seq;
                d.lag.unacked = d.lag.unacked.saturating_sub(1);
                d.lag.last_ack = Some(*now.get_or_insert_with(status::unix_now));
                self.unsaved += 1;
                // Kept for the next message, unless unusually large.
                if self.spare.len() < self.window && m.msg.capacity() <= SPARE_MAX {
                    self.spare.push(m.msg);
                }
            }
        }
        if moved {
            self.progress_at = Instant::now();
            self.sending_again();
        }
        match bad {
            Some(t) => Err(dest::proto_err(format!(
                "response to transaction {t}, which is not awaiting one"
            ))),
            None => Ok(()),
        }
    }

    /// The end of an outage: `logship: info: URL: sending again after N
    /// s, M lines behind`, once, at the first acknowledgement (RELP) or
    /// write the kernel took (TCP) after a failure. M counts the messages
    /// sent and not yet acknowledged; when the window is full, more lines
    /// may wait unread in the directories, so it says `at least`.
    fn sending_again(&mut self) {
        let Some(since) = self.broken_since.take() else {
            return;
        };
        let behind = self.inflight.len();
        let full = behind + self.unsaved >= self.window;
        let line = format!(
            "{PROG}: info: {}: sending again after {} s, {}{behind} lines behind\n",
            self.dest.url,
            since.elapsed().as_secs(),
            if full { "at least " } else { "" },
        );
        // A notice that cannot be written is not a reason to stop shipping.
        let _ = io::Write::write_all(&mut io::stderr().lock(), line.as_bytes());
    }

    pub(super) fn fail(&mut self, t: &Trouble) {
        warn_trouble(&self.dest, t);
        self.refused = matches!(t, Trouble::Refused(_));
        self.broken_since.get_or_insert_with(Instant::now);
        self.conn = None;
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Start connecting if it is time.
    pub(super) fn connect(&mut self) {
        if self.conn.is_some() || Instant::now() < self.retry_at {
            return;
        }
        match Conn::connect(&self.dest, self.connect_timeout) {
            Ok(c) => self.conn = Some(c),
            Err(t) => self.fail(&t),
        }
    }

    /// The session just became ready: send again what is in flight.
    pub(super) fn resend(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            for m in &mut self.inflight {
                m.acked = false;
                (m.txnr, m.stream_end) = c.send(&m.msg);
            }
        }
        self.progress_at = Instant::now();
    }

    /// Give the session up when messages in flight went without an
    /// acknowledgement (RELP) or without the kernel taking their bytes
    /// (TCP) for `-t`: a server that stopped answering without closing.
    pub(super) fn check_progress(&mut self) {
        if self.conn.as_ref().is_some_and(Conn::is_ready)
            && !self.inflight.is_empty()
            && self.progress_at.elapsed() >= self.ack_timeout
        {
            let e = io::Error::from_raw_os_error(libc::ETIMEDOUT);
            self.fail(&Trouble::Io("get acknowledgements from", e));
        }
    }

    /// Without acknowledgements (`tcp://`, `tls://`) a message is
    /// delivered once written, and nothing on the socket wakes the poll
    /// for it: true when messages in flight were all written, so the loop
    /// takes them as delivered and fills the window again without waiting
    /// for the wake-up (which capped the rate at a window per 100 ms).
    pub(super) fn written_unacked(&self) -> bool {
        self.dest.proto.framing().is_some()
            && !self.inflight.is_empty()
            && self
                .conn
                .as_ref()
                .is_some_and(|c| c.is_ready() && !c.wants_write())
    }

    /// How long to leave the server's answers unread still: `None` when
    /// they are read as soon as they come.
    ///
    /// librelp answers each message with its own small write, and under
    /// Nagle's algorithm the server's kernel sends what it holds only once
    /// ours acknowledged the last segment, which each read of ours does.
    /// Read at once, the answers came a few at a time in as many segments,
    /// reads and acknowledgements, and that round trip of packets (the
    /// kernel's work counted to logship) was most of its CPU: about 9 µs
    /// a line over loopback. Left unread for a moment, they gather and
    /// come in few segments and reads (under 2 µs a line, and a higher
    /// rate: BENCHMARKS.md). The pause is [`PACE_PER_MESSAGE`] per message
    /// the window holds, at most [`PACE_MAX`], so it never holds the rate
    /// under about 250,000 messages a second whatever the window (2, 4
    /// and 8 ms were measured with the default window: 4 used the least
    /// CPU, 8 starved the receiver); there is none for the first answer
    /// after a quiet moment.
    pub(super) fn pace(&self) -> Option<Duration> {
        if self.dest.proto.framing().is_some()
            || self.inflight.is_empty()
            || !self.conn.as_ref().is_some_and(Conn::is_ready)
        {
            return None;
        }
        pause(self.window)
            .checked_sub(self.read_at.elapsed())
            .filter(|d| !d.is_zero())
    }

    /// The socket's part of [`Ship::step`]: connect further, write, read.
    pub(super) fn exchange(&mut self, read: bool) {
        let Some(c) = self.conn.as_mut() else {
            return;
        };
        let was_ready = c.is_ready();
        let mut acks = Vec::new();
        let read = read || !was_ready;
        let r = c.advance().and_then(|()| c.flush()).and_then(|()| {
            if read {
                c.recv(&mut acks)
            } else {
                Ok(())
            }
        });
        let now_ready = c.is_ready();
        let sent = c.written();
        if read {
            self.read_at = Instant::now();
        }
        let written = (sent > 0 && self.dest.proto.framing().is_some()).then_some(sent);
        if !was_ready && now_ready {
            self.resend();
        }
        let got = !acks.is_empty();
        // The acknowledgements that came before a failure count.
        let a = self.ack(&acks, written, sent);
        match r.and(a) {
            Err(t) => self.fail(&t),
            Ok(()) if got => self.backoff = BACKOFF_MIN,
            Ok(()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window of answers left unread never holds the rate under 250,000
    /// messages a second, and the pause stays short.
    #[test]
    fn the_pause_fits_the_window() {
        for w in [1, 2, 8, 64, 1000, 1024, 5000, usize::MAX] {
            let p = pause(w);
            assert!(p <= PACE_MAX, "{w}: {p:?}");
            let rate = w.min(u32::MAX as usize) as f64 / p.as_secs_f64();
            assert!(rate >= 250_000.0, "{w}: {rate}");
        }
        assert_eq!(pause(1024), PACE_MAX);
        assert_eq!(pause(8), Duration::from_micros(32));
    }
}
