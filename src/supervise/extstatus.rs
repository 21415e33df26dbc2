//! The 32-byte `supervise/extstatus` record: the facts daemontools'
//! 18-byte `supervise/status` has no room for (readiness, deaths and
//! restarts, the last death, `finish` and back-off state). Written by
//! supervise beside `status` for every service, read by svstat and by any
//! monitor; daemontools' own tools never look at it, and `status` stays
//! byte-identical to daemontools'.
//!
//! | offset | len | content |
//! |---|---|---|
//! | 0 | 12 | TAI64N (big-endian seconds label, big-endian nanoseconds) of when the service became ready since its last start; all zero if not ready |
//! | 12 | 4 | deaths: big-endian u32, times `./run` died since supervise started |
//! | 16 | 4 | restarts: big-endian u32, times `./run` was started after the first start |
//! | 20 | 1 | last death kind: 0 none yet, 1 exited, 2 killed by a signal |
//! | 21 | 1 | exit code (kind 1) or signal number (kind 2), else 0 |
//! | 22 | 2 | zero (reserved) |
//! | 24 | 1 | flags: bit 0 ready, bit 1 permanent failure, bit 2 finish running, bit 3 back-off wait in progress, bit 4 an extension file is in use |
//! | 25 | 3 | zero (reserved) |
//! | 28 | 4 | current restart delay in milliseconds, big-endian u32 (1000 without back-off) |
//!
//! The file is written as `supervise/extstatus.new` (mode 0644) and renamed
//! over `supervise/extstatus`, at supervise's start and whenever a field
//! changes. Readers accept longer records and look only at the first 32
//! bytes; they ignore the reserved bytes and flag bits 5–7.
//!
//! Differences from daemontools: daemontools has no such file.

use std::ffi::CStr;

use crate::tai64::Tai64N;

/// Length of an extstatus record.
pub const EXTSTATUS_LEN: usize = 32;
/// The record's path relative to the service directory.
pub const EXTSTATUS_PATH: &str = "supervise/extstatus";
/// The temporary file renamed over [`EXTSTATUS_PATH`].
pub const EXTSTATUS_NEW_PATH: &str = "supervise/extstatus.new";
/// [`EXTSTATUS_PATH`] for system calls.
pub const EXTSTATUS_CPATH: &CStr = c"supervise/extstatus";
/// [`EXTSTATUS_NEW_PATH`] for system calls.
pub const EXTSTATUS_NEW_CPATH: &CStr = c"supervise/extstatus.new";

/// Flag bit 0: the service is ready.
pub const FLAG_READY: u8 = 1;
/// Flag bit 1: `finish` exited 125; the service stays down.
pub const FLAG_PERMANENT_FAILURE: u8 = 1 << 1;
/// Flag bit 2: `./finish` is running.
pub const FLAG_FINISHING: u8 = 1 << 2;
/// Flag bit 3: supervise is waiting out a back-off delay before a restart.
pub const FLAG_BACKOFF: u8 = 1 << 3;
/// Flag bit 4: the service directory has at least one extension file
/// (`notification-fd`, `finish`, `down-signal`, `timeout-kill`,
/// `timeout-finish`, `process-group`, `backoff`).
pub const FLAG_EXTENDED: u8 = 1 << 4;

/// The restart delay written when there is no back-off (daemontools'
/// fixed one-second pause).
pub const DEFAULT_DELAY_MS: u32 = 1000;

/// How `./run` last died (bytes 20 and 21).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Death {
    /// It has not died since supervise started (kind 0).
    #[default]
    None,
    /// It exited with this code (kind 1).
    Exited(u8),
    /// It was killed by this signal (kind 2).
    Killed(u8),
}

/// A decoded extstatus record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtStatus {
    /// When the service became ready since its last start (flag bit 0 and
    /// bytes 0..12); `None` when not ready.
    pub ready: Option<Tai64N>,
    /// Times `./run` died since supervise started.
    pub deaths: u32,
    /// Times `./run` was started after the first start.
    pub restarts: u32,
    /// How `./run` last died.
    pub last_death: Death,
    /// `finish` exited 125: the service stays down (flag bit 1).
    pub permanent_failure: bool,
    /// `./finish` is running (flag bit 2).
    pub finishing: bool,
    /// A back-off wait is in progress (flag bit 3).
    pub backoff_wait: bool,
    /// The service uses an extension file (flag bit 4).
    pub extended: bool,
    /// The current restart delay in milliseconds.
    pub delay_ms: u32,
}

impl Default for ExtStatus {
    fn default() -> Self {
        ExtStatus {
            ready: None,
            deaths: 0,
            restarts: 0,
            last_death: Death::None,
            permanent_failure: false,
            finishing: false,
            backoff_wait: false,
            extended: false,
            delay_ms: DEFAULT_DELAY_MS,
        }
    }
}

impl ExtStatus {
    /// The flags byte (byte 24).
    #[must_use]
    pub fn flags(&self) -> u8 {
        let mut f = 0;
        for (on, bit) in [
            (self.ready.is_some(), FLAG_READY),
            (self.permanent_failure, FLAG_PERMANENT_FAILURE),
            (self.finishing, FLAG_FINISHING),
            (self.backoff_wait, FLAG_BACKOFF),
            (self.extended, FLAG_EXTENDED),
        ] {
            if on {
                f |= bit;
            }
        }
        f
    }

    /// Encode the 32-byte record.
    #[must_use]
    pub fn encode(&self) -> [u8; EXTSTATUS_LEN] {
        let mut out = [0u8; EXTSTATUS_LEN];
        if let Some(t) = self.ready {
            out[..12].copy_from_slice(&t.pack());
        }
        out[12..16].copy_from_slice(&self.deaths.to_be_bytes());
        out[16..20].copy_from_slice(&self.restarts.to_be_bytes());
        let (kind, code) = match self.last_death {
            Death::None => (0, 0),
            Death::Exited(c) => (1, c),
            Death::Killed(s) => (2, s),
        };
        out[20] = kind;
        out[21] = code;
        out[24] = self.flags();
        out[28..32].copy_from_slice(&self.delay_ms.to_be_bytes());
        out
    }

    /// Decode the first 32 bytes of a record; `None` if it is shorter or
    /// its death kind is not 0, 1 or 2.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<ExtStatus> {
        let b: &[u8; EXTSTATUS_LEN] = bytes.get(..EXTSTATUS_LEN)?.try_into().ok()?;
        let be32 = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let last_death = match b[20] {
            0 => Death::None,
            1 => Death::Exited(b[21]),
            2 => Death::Killed(b[21]),
            _ => return None,
        };
        let flags = b[24];
        let mut tai = [0u8; 12];
        tai.copy_from_slice(&b[..12]);
        Some(ExtStatus {
            ready: (flags & FLAG_READY != 0).then(|| Tai64N::unpack(&tai)),
            deaths: be32(12),
            restarts: be32(16),
            last_death,
            permanent_failure: flags & FLAG_PERMANENT_FAILURE != 0,
            finishing: flags & FLAG_FINISHING != 0,
            backoff_wait: flags & FLAG_BACKOFF != 0,
            extended: flags & FLAG_EXTENDED != 0,
            delay_ms: be32(28),
        })
    }

    /// Read and decode `DIR/supervise/extstatus`.
    ///
    /// # Errors
    /// The error of opening or reading the file; `InvalidData` when the
    /// record is short or malformed.
    pub fn read(service_dir: &std::path::Path) -> std::io::Result<ExtStatus> {
        let bytes = std::fs::read(service_dir.join(EXTSTATUS_PATH))?;
        ExtStatus::decode(&bytes).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed extstatus")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_agree() {
        assert_eq!(EXTSTATUS_CPATH.to_bytes(), EXTSTATUS_PATH.as_bytes());
        assert_eq!(
            EXTSTATUS_NEW_CPATH.to_bytes(),
            EXTSTATUS_NEW_PATH.as_bytes()
        );
        assert_eq!(EXTSTATUS_NEW_PATH, format!("{EXTSTATUS_PATH}.new").as_str());
    }

    #[test]
    fn default_is_zero_but_the_delay() {
        let mut want = [0u8; EXTSTATUS_LEN];
        want[28..].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(ExtStatus::default().encode(), want);
    }

    #[test]
    fn known_bytes() {
        let s = ExtStatus {
            ready: Some(Tai64N {
                secs: 0x4000_0000_6b05_0f39,
                nanos: 0x3447_a0fc,
            }),
            deaths: 0x0102_0304,
            restarts: 7,
            last_death: Death::Killed(9),
            permanent_failure: true,
            finishing: false,
            backoff_wait: true,
            extended: true,
            delay_ms: 64_000,
        };
        let want: [u8; EXTSTATUS_LEN] = [
            0x40, 0x00, 0x00, 0x00, 0x6b, 0x05, 0x0f, 0x39, 0x34, 0x47, 0xa0, 0xfc, // ready
            0x01, 0x02, 0x03, 0x04, // deaths
            0x00, 0x00, 0x00, 0x07, // restarts
            0x02, 0x09, 0x00, 0x00, // killed by 9, reserved
            0x1b, 0x00, 0x00, 0x00, // flags 1+2+8+16, reserved
            0x00, 0x00, 0xfa, 0x00, // 64000 ms
        ];
        assert_eq!(s.encode(), want);
        assert_eq!(ExtStatus::decode(&want), Some(s));
    }

    #[test]
    fn round_trip() {
        for last_death in [
            Death::None,
            Death::Exited(0),
            Death::Exited(255),
            Death::Killed(15),
        ] {
            for bits in 0u8..32 {
                let s = ExtStatus {
                    ready: (bits & 1 != 0).then(|| Tai64N::from_unix(1_700_000_000, 500)),
                    deaths: u32::from(bits) * 3,
                    restarts: u32::MAX - u32::from(bits),
                    last_death,
                    permanent_failure: bits & 2 != 0,
                    finishing: bits & 4 != 0,
                    backoff_wait: bits & 8 != 0,
                    extended: bits & 16 != 0,
                    delay_ms: 1000 << (bits % 8),
                };
                let b = s.encode();
                assert_eq!(b[24], bits);
                assert_eq!(&b[22..24], &[0, 0]);
                assert_eq!(&b[25..28], &[0, 0, 0]);
                assert_eq!(ExtStatus::decode(&b), Some(s));
                if s.ready.is_none() {
                    assert_eq!(&b[..12], &[0; 12]);
                }
            }
        }
    }

    #[test]
    fn longer_read_shorter_and_bad_kind_refused() {
        let b = ExtStatus {
            last_death: Death::Exited(3),
            ..ExtStatus::default()
        }
        .encode();
        let mut long = b.to_vec();
        long.extend_from_slice(&[0xff; 8]);
        assert_eq!(ExtStatus::decode(&long), ExtStatus::decode(&b));
        assert_eq!(ExtStatus::decode(&b[..31]), None);
        let mut bad = b;
        bad[20] = 3;
        assert_eq!(ExtStatus::decode(&bad), None);
        // Reserved bytes and unknown flag bits are ignored.
        let mut odd = b;
        odd[23] = 1;
        odd[24] = 0xe0;
        assert_eq!(ExtStatus::decode(&odd), ExtStatus::decode(&b));
    }
}
