//! The 32-byte `supervise/extstatus` record: what supervise knows beyond the
//! 18-byte [`super::status`] (readiness, deaths, restarts, the last death,
//! permanent failure, `finish`, back-off). No counterpart in daemontools;
//! the facts are s6's (`s6-svstat`), the layout is ours.
//!
//! | offset | len | content |
//! |---|---|---|
//! | 0 | 12 | TAI64N (big-endian seconds label, nanoseconds) of when the service became ready since its last start; all zero if not ready |
//! | 12 | 4 | deaths of `./run` since supervise started, big-endian |
//! | 16 | 4 | restarts since supervise started, big-endian |
//! | 20 | 1 | last death: 0 none, 1 exited, 2 killed by a signal |
//! | 21 | 1 | its exit code or signal number |
//! | 22 | 2 | zero |
//! | 24 | 1 | flags: bit 0 ready, bit 1 permanent failure, bit 2 `finish` running, bit 3 back-off wait, bit 4 the service uses the extension files |
//! | 25 | 3 | zero |
//! | 28 | 4 | current restart delay in milliseconds, big-endian |
//!
//! supervise writes it atomically (a new file renamed over the old one).
//! The file may be missing (daemontools' supervise, older versions of
//! ours): readers then treat these facts as unknown and work from
//! `supervise/status` alone. Readers accept longer records and look only at
//! the first 32 bytes.

use crate::tai64::Tai64N;

/// Length of the record.
pub const EXTSTATUS_LEN: usize = 32;
/// Its path relative to the service directory.
pub const EXTSTATUS_FILE: &str = "supervise/extstatus";

const FLAG_READY: u8 = 1;
const FLAG_PERMANENT_FAILURE: u8 = 1 << 1;
const FLAG_FINISHING: u8 = 1 << 2;
const FLAG_BACKOFF_WAITING: u8 = 1 << 3;
const FLAG_USES_EXTENSIONS: u8 = 1 << 4;

/// How `./run` last ended (bytes 20 and 21).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LastDeath {
    /// It has not died since supervise started (kind 0).
    #[default]
    None,
    /// It exited with this code (kind 1).
    Exited(u8),
    /// It was killed by this signal (kind 2).
    Signaled(u8),
}

/// A decoded extended status record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtStatus {
    /// When the service became ready since its last start; `None` if not.
    pub ready_at: Option<Tai64N>,
    /// Deaths of `./run` since supervise started.
    pub deaths: u32,
    /// Restarts since supervise started.
    pub restarts: u32,
    /// How `./run` last ended.
    pub last_death: LastDeath,
    /// The service said it is ready (flag bit 0).
    pub ready: bool,
    /// `finish` exited 125: the service stays down (bit 1).
    pub permanent_failure: bool,
    /// `./finish` is running (bit 2).
    pub finishing: bool,
    /// supervise is waiting out a restart delay (bit 3).
    pub backoff_waiting: bool,
    /// The service directory uses at least one extension file (bit 4).
    pub uses_extensions: bool,
    /// The current restart delay in milliseconds.
    pub delay_ms: u32,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decode the first 32 bytes of a record; `None` if it is shorter or the
/// last-death kind is unknown.
#[must_use]
pub fn decode(bytes: &[u8]) -> Option<ExtStatus> {
    if bytes.len() < EXTSTATUS_LEN {
        return None;
    }
    let mut tai = [0u8; 12];
    tai.copy_from_slice(&bytes[..12]);
    let ready_at = (tai != [0u8; 12]).then(|| Tai64N::unpack(&tai));
    let last_death = match bytes[20] {
        0 => LastDeath::None,
        1 => LastDeath::Exited(bytes[21]),
        2 => LastDeath::Signaled(bytes[21]),
        _ => return None,
    };
    let flags = bytes[24];
    Some(ExtStatus {
        ready_at,
        deaths: be32(bytes, 12),
        restarts: be32(bytes, 16),
        last_death,
        ready: flags & FLAG_READY != 0,
        permanent_failure: flags & FLAG_PERMANENT_FAILURE != 0,
        finishing: flags & FLAG_FINISHING != 0,
        backoff_waiting: flags & FLAG_BACKOFF_WAITING != 0,
        uses_extensions: flags & FLAG_USES_EXTENSIONS != 0,
        delay_ms: be32(bytes, 28),
    })
}

/// Encode a record (the reserved bytes are zero).
#[must_use]
pub fn encode(e: &ExtStatus) -> [u8; EXTSTATUS_LEN] {
    let mut out = [0u8; EXTSTATUS_LEN];
    if let Some(t) = e.ready_at {
        out[..12].copy_from_slice(&t.pack());
    }
    out[12..16].copy_from_slice(&e.deaths.to_be_bytes());
    out[16..20].copy_from_slice(&e.restarts.to_be_bytes());
    let (kind, code) = match e.last_death {
        LastDeath::None => (0, 0),
        LastDeath::Exited(c) => (1, c),
        LastDeath::Signaled(s) => (2, s),
    };
    out[20] = kind;
    out[21] = code;
    let flag = |on: bool, bit: u8| if on { bit } else { 0 };
    out[24] = flag(e.ready, FLAG_READY)
        | flag(e.permanent_failure, FLAG_PERMANENT_FAILURE)
        | flag(e.finishing, FLAG_FINISHING)
        | flag(e.backoff_waiting, FLAG_BACKOFF_WAITING)
        | flag(e.uses_extensions, FLAG_USES_EXTENSIONS);
    out[28..32].copy_from_slice(&e.delay_ms.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bytes() {
        let e = ExtStatus {
            ready_at: Some(Tai64N {
                secs: 0x4000_0000_6b05_0f39,
                nanos: 0x3447_a0fc,
            }),
            deaths: 3,
            restarts: 0x0102_0304,
            last_death: LastDeath::Signaled(9),
            ready: true,
            permanent_failure: false,
            finishing: true,
            backoff_waiting: false,
            uses_extensions: true,
            delay_ms: 2000,
        };
        let b = encode(&e);
        assert_eq!(
            b,
            [
                0x40, 0, 0, 0, 0x6b, 0x05, 0x0f, 0x39, 0x34, 0x47, 0xa0, 0xfc, 0, 0, 0, 3, 1, 2, 3,
                4, 2, 9, 0, 0, 0b1_0101, 0, 0, 0, 0, 0, 0x07, 0xd0
            ]
        );
        assert_eq!(decode(&b), Some(e));
    }

    #[test]
    fn round_trips_every_flag_and_death() {
        for bits in 0u8..32 {
            for last_death in [
                LastDeath::None,
                LastDeath::Exited(0),
                LastDeath::Exited(125),
                LastDeath::Signaled(15),
            ] {
                let e = ExtStatus {
                    ready_at: (bits & 1 != 0).then(|| Tai64N::from_unix(1_700_000_000, 500)),
                    deaths: u32::from(bits) * 7,
                    restarts: u32::MAX - u32::from(bits),
                    last_death,
                    ready: bits & 1 != 0,
                    permanent_failure: bits & 2 != 0,
                    finishing: bits & 4 != 0,
                    backoff_waiting: bits & 8 != 0,
                    uses_extensions: bits & 16 != 0,
                    delay_ms: u32::from(bits) << 20,
                };
                assert_eq!(decode(&encode(&e)), Some(e));
            }
        }
    }

    #[test]
    fn short_or_unknown_records_refused_longer_accepted() {
        let b = encode(&ExtStatus::default());
        assert_eq!(b, [0u8; EXTSTATUS_LEN]);
        assert_eq!(decode(&b[..31]), None);
        let mut long = b.to_vec();
        long.extend_from_slice(&[7, 7]);
        assert_eq!(decode(&long), Some(ExtStatus::default()));
        let mut bad = b;
        bad[20] = 3;
        assert_eq!(decode(&bad), None);
    }
}
