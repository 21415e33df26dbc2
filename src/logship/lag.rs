//! Each directory's lag, kept for its status file (`status.rs`): counted
//! as messages are read and acknowledged (a few additions per message),
//! and written out when the state changes, at most every
//! [`status::EVERY`] while the figures change, and every
//! [`status::HEARTBEAT`] otherwise, so that it costs nothing per line.

use std::path::PathBuf;
use std::time::Instant;

use crate::error;

use super::status::{self, State, Status};
use super::{Dir, Ship, PROG};

/// One directory's figures.
pub(super) struct Lag {
    /// Its status file.
    pub path: PathBuf,
    /// The directory's absolute path and service name, as shown.
    pub directory: String,
    pub service: String,
    /// The reader's byte count just after the last message acknowledged
    /// in order.
    pub acked_seq: u64,
    /// The reader's byte count just after the last message read.
    pub read_seq: u64,
    /// Messages read since the start (for the mean line length).
    pub read_msgs: u64,
    /// Messages read and not acknowledged.
    pub unacked: u64,
    /// Unix time of the last acknowledgement that moved the position.
    pub last_ack: Option<f64>,
    /// What was written last, and when.
    shown: Option<(Status, Instant)>,
    /// The last write failed (warned once until one works).
    failing: bool,
}

/// The mean line length assumed before a line was read.
const MEAN_LINE: u64 = 100;

impl Lag {
    /// The figures of a directory starting to be shipped, its last
    /// acknowledgement taken from the status file an earlier logship left.
    pub(super) fn new(path: PathBuf, directory: String, service: String, url: &str) -> Lag {
        let last_ack = status::load(&path)
            .filter(|s| s.destination == url && s.directory == directory)
            .and_then(|s| s.last_ack);
        Lag {
            path,
            directory,
            service,
            acked_seq: 0,
            read_seq: 0,
            read_msgs: 0,
            unacked: 0,
            last_ack,
            shown: None,
            failing: false,
        }
    }

    /// Lines in `bytes` not read yet, by the mean length of those read.
    fn lines_in(&self, bytes: u64) -> u64 {
        if bytes == 0 {
            return 0;
        }
        let mean = self
            .read_seq
            .checked_div(self.read_msgs)
            .map_or(MEAN_LINE, |m| m.max(1));
        bytes.div_ceil(mean)
    }
}

impl Dir {
    /// This directory's status now.
    fn status(&self, state: State, url: &str) -> Status {
        let l = &self.lag;
        let read = self.reader.read_total();
        let unread = self.reader.follower.unread();
        Status {
            state,
            destination: url.to_string(),
            directory: l.directory.clone(),
            service: l.service.clone(),
            lag_bytes: read.saturating_sub(l.acked_seq).saturating_add(unread),
            lag_lines: l.unacked + l.lines_in(read.saturating_sub(l.read_seq) + unread),
            last_ack: l.last_ack,
            updated: status::unix_now(),
            pid: std::process::id(),
        }
    }
}

impl Ship {
    /// The state the status files show.
    fn shown_state(&self) -> State {
        if self.conn.as_ref().is_some_and(super::conn::Conn::is_ready) {
            State::Sending
        } else if self.refused {
            State::Refused
        } else {
            State::Waiting
        }
    }

    /// Write the status files that are due (see the module's comment);
    /// `stopped` at the end.
    pub(super) fn report(&mut self, stopped: bool) {
        let state = if stopped {
            State::Stopped
        } else {
            self.shown_state()
        };
        let now = Instant::now();
        // The cheap test first: nothing is due before a second has passed
        // unless the state changed.
        if state == self.report_state && now < self.report_at {
            return;
        }
        self.report_state = state;
        self.report_at = now + status::EVERY;
        let url = self.dest.url.clone();
        for d in &mut self.dirs {
            let s = d.status(state, &url);
            let due = match &d.lag.shown {
                None => true,
                Some((old, at)) => {
                    old.state != s.state
                        || now.duration_since(*at) >= status::HEARTBEAT
                        || (old.lag_bytes, old.lag_lines, old.last_ack)
                            != (s.lag_bytes, s.lag_lines, s.last_ack)
                }
            };
            if !due {
                continue;
            }
            match status::save(&d.lag.path, &s) {
                Ok(()) => {
                    d.lag.failing = false;
                    d.lag.shown = Some((s, now));
                }
                Err(e) => {
                    if !std::mem::replace(&mut d.lag.failing, true) {
                        let what = format!("unable to write {}", d.lag.path.display());
                        error::warn(PROG, &what, Some(&e));
                    }
                }
            }
        }
    }
}
