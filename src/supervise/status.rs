//! The 18-byte `supervise/status` record (ports `supervise.c:pidchange/announce`
//! and the reader in `svstat.c`), shared by supervise, svstat and svok.
//!
//! | offset | len | content |
//! |---|---|---|
//! | 0 | 12 | TAI64N of the last pid change (big-endian seconds, nanoseconds) |
//! | 12 | 4 | pid, **little-endian**; 0 = down |
//! | 16 | 1 | paused flag, forced to 0 when the pid is 0 |
//! | 17 | 1 | want: `u`, `d`, or 0 in once mode |
//!
//! Readers accept records longer than 18 bytes (daemontools-encore writes 20
//! or 40) and look only at the first 18.
//!
//! Differences from daemontools: none in the format.

use crate::tai64::Tai64N;

/// Length of a daemontools 0.76 status record.
pub const STATUS_LEN: usize = 18;

/// What supervise wants the service to be (byte 17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// `u`: keep it running.
    Up,
    /// `d`: keep it stopped.
    Down,
    /// 0: once mode, run at most until it next exits.
    Once,
}

impl Want {
    /// The status byte for this state.
    #[must_use]
    pub(crate) fn byte(self) -> u8 {
        match self {
            Want::Up => b'u',
            Want::Down => b'd',
            Want::Once => 0,
        }
    }
}

/// A decoded status record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// Moment of the last pid change.
    pub when: Tai64N,
    /// Pid of the running service; 0 when down.
    pub pid: u32,
    /// Byte 16 as stored (a reader sees it non-zero only when `pid != 0`).
    pub paused: bool,
    /// Byte 17 as stored (any value; see [`Want::byte`]).
    pub want: u8,
}

impl Status {
    /// Encode as supervise's `announce` does: the paused byte is forced to 0
    /// when the pid is 0.
    #[must_use]
    pub fn encode(&self) -> [u8; STATUS_LEN] {
        let mut out = [0u8; STATUS_LEN];
        out[..12].copy_from_slice(&self.when.pack());
        out[12..16].copy_from_slice(&self.pid.to_le_bytes());
        out[16] = u8::from(self.pid != 0 && self.paused);
        out[17] = self.want;
        out
    }

    /// Decode the first 18 bytes of a record; `None` if it is shorter.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Status> {
        if bytes.len() < STATUS_LEN {
            return None;
        }
        let mut tai = [0u8; 12];
        tai.copy_from_slice(&bytes[..12]);
        let mut pid = [0u8; 4];
        pid.copy_from_slice(&bytes[12..16]);
        Some(Status {
            when: Tai64N::unpack(&tai),
            pid: u32::from_le_bytes(pid),
            paused: bytes[16] != 0,
            want: bytes[17],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from spec §6.4 (`od -t x1` of a real daemontools status).
    const EXAMPLE: [u8; 18] = [
        0x40, 0x00, 0x00, 0x00, 0x6b, 0x05, 0x0f, 0x39, 0x34, 0x47, 0xa0, 0xfc, 0xa5, 0x42, 0x00,
        0x00, 0x00, 0x75,
    ];

    #[test]
    fn known_bytes() {
        let s = Status::decode(&EXAMPLE).unwrap();
        assert_eq!(s.pid, 17061);
        assert!(!s.paused);
        assert_eq!(s.want, b'u');
        assert_eq!(s.when.secs, 0x4000_0000_6b05_0f39);
        assert_eq!(s.when.nanos, 0x3447_a0fc);
        assert_eq!(s.encode(), EXAMPLE);
    }

    #[test]
    fn round_trip_and_paused_forced_off_when_down() {
        for pid in [0u32, 1, 0x42a5, 0xdead_beef] {
            for paused in [false, true] {
                for want in [Want::Up, Want::Down, Want::Once] {
                    let s = Status {
                        when: Tai64N::from_unix(1_700_000_000, 123_456_500),
                        pid,
                        paused,
                        want: want.byte(),
                    };
                    let b = s.encode();
                    assert_eq!(&b[12..16], &pid.to_le_bytes());
                    assert_eq!(b[16], u8::from(pid != 0 && paused));
                    let d = Status::decode(&b).unwrap();
                    assert_eq!(d.when, s.when);
                    assert_eq!(d.pid, pid);
                    assert_eq!(d.paused, pid != 0 && paused);
                    assert_eq!(d.want, want.byte());
                }
            }
        }
    }

    #[test]
    fn longer_records_are_read_short_ones_refused() {
        let mut long = EXAMPLE.to_vec();
        long.extend_from_slice(&[3, 0]);
        assert_eq!(Status::decode(&long), Status::decode(&EXAMPLE));
        assert_eq!(Status::decode(&EXAMPLE[..17]), None);
    }
}
