//! The control protocol: one byte per command written to
//! `supervise/control` (ports the `switch` in `supervise.c:doit` and the
//! letter collection in `svc.c`).
//!
//! Differences from daemontools: none.

/// The option letters svc accepts, in the order of its getopt string.
pub(crate) const SVC_LETTERS: &[u8] = b"udopchaitkx";

/// svc's message after an unknown option.
pub(crate) const SVC_OPTIONS: &str = "svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill";

/// At most this many letters are kept (`char data[20]` in svc.c).
pub(crate) const MAX_LETTERS: usize = 20;

/// A control command understood by supervise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `u`: want up; start if down.
    Up,
    /// `d`: want down; TERM then CONT if up.
    Down,
    /// `o`: once mode; start if down.
    Once,
    /// `x`: exit when the service is down.
    Exit,
    /// `p`: SIGSTOP.
    Pause,
    /// `c`: SIGCONT.
    Continue,
    /// `h`, `a`, `i`, `t`, `k`: send this signal if up.
    Signal(i32),
}

impl Command {
    /// Decode a control byte; unknown bytes are ignored by supervise.
    #[must_use]
    pub(crate) fn from_byte(b: u8) -> Option<Command> {
        Some(match b {
            b'u' => Command::Up,
            b'd' => Command::Down,
            b'o' => Command::Once,
            b'x' => Command::Exit,
            b'p' => Command::Pause,
            b'c' => Command::Continue,
            b'h' => Command::Signal(libc::SIGHUP),
            b'a' => Command::Signal(libc::SIGALRM),
            b'i' => Command::Signal(libc::SIGINT),
            b't' => Command::Signal(libc::SIGTERM),
            b'k' => Command::Signal(libc::SIGKILL),
            _ => return None,
        })
    }
}

/// svc's letter list: each letter once, at its first occurrence, at most
/// [`MAX_LETTERS`] of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Letters {
    data: Vec<u8>,
}

impl Letters {
    /// Add `c` unless it is already present or the list is full.
    pub(crate) fn push(&mut self, c: u8) {
        if self.data.len() < MAX_LETTERS && !self.data.contains(&c) {
            self.data.push(c);
        }
    }

    /// The bytes to write, in order.
    #[must_use]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_first_occurrence() {
        // Verified against daemontools: `svc -dudx -t -h -ktpcaio` sends `duxthkpcaio`.
        let mut l = Letters::default();
        for c in b"dudxthktpcaio" {
            l.push(*c);
        }
        assert_eq!(l.as_bytes(), b"duxthkpcaio");
    }

    #[test]
    fn every_svc_letter_is_a_command() {
        for &c in SVC_LETTERS {
            assert!(Command::from_byte(c).is_some(), "{}", c as char);
        }
        assert_eq!(Command::from_byte(b'z'), None);
        assert_eq!(Command::from_byte(b'q'), None);
        assert_eq!(Command::from_byte(b'd'), Some(Command::Down));
        assert_eq!(
            Command::from_byte(b'k'),
            Some(Command::Signal(libc::SIGKILL))
        );
    }
}
