//! The in-flight record's header, byte for byte (docs/durability.md):
//! encoding, and decoding with every field range-checked. Pure functions
//! of the header's bytes and of what the reader knows ([`Ctx`]), so that
//! they can be fuzzed (`fuzz/fuzz_targets/inflight.rs`).
//!
//! A header is acted on only if it was written by this format for this
//! script on this very pipe, and every field is one a live multilog can
//! have written; anything else is [`Refused`] (the caller warns and
//! recovers as daemontools does). Numbers in a refused header are never
//! used: a corrupt or stale record must not cut `current`, take input off
//! the pipe or allocate by what it says.
//!
//! Header, little-endian; written whole (one page, one `pwrite(2)`, so a
//! kill leaves either the old or the new one):
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic `mlinfl2\n` |
//! | 8 | 4 | state: 0 idle, 1 step |
//! | 12 | 4 | number of directories `D` (1 ..= [`MAX_DIRS`]) |
//! | 16 | 8 | FNV-1a 64 of the directory names, each followed by a NUL |
//! | 24 | 8 | device of the pipe (`st_dev` of stdin) |
//! | 32 | 8 | inode of the pipe (`st_ino` of stdin) |
//! | 40 | 8 | `logged` (idle), `logged` before the step (step) |
//! | 48 | 8 | `w0`: file size when the step began |
//! | 56 | 8 | `carry_used`: carry bytes the step logs |
//! | 64 | 8 | `npipe`: stdin bytes the step logs |
//! | 72 | 8 | `j`: of those, bytes taken off stdin without a witness |
//! | 80 | 1 | `b0`: the first of the `npipe` bytes |
//! | 81 | 1 | inside a long line before the step (0/1) |
//! | 82 | 1 | inside a long line after the step (idle: now) (0/1) |
//! | 83 | 5 | zero |
//! | 88 + 24k | 8 | `A`: size of directory k's `current` before the step |
//! | 96 + 24k | 8 | `B`: its size after the step |
//! | 104 + 24k | 1 | long line goes to directory k, before the step (0/1) |
//! | 105 + 24k | 1 | the same after the step (idle: now) (0/1) |
//! | 106 + 24k | 6 | zero |
//! | 88 + 24D | 8 | FNV-1a 64 of bytes 0 .. 88 + 24D |
//! | 96 + 24D | to 4096 | zero |

use super::super::input::STEP;
use super::super::stamp::MAX_STAMP;

/// Size of the header; input bytes follow it.
pub const HDR: u64 = 4096;
/// This format's magic.
pub const MAGIC: &[u8; 8] = b"mlinfl2\n";
/// The first format's: it did not name its pipe, so it is refused.
pub const OLD_MAGIC: &[u8; 8] = b"mlinfl1\n";
const FIXED: usize = 88;
const PER_DIR: usize = 24;
/// Most directories one header can describe; with more, multilog reads
/// stdin as daemontools does.
pub const MAX_DIRS: usize = (HDR as usize - FIXED - 8) / PER_DIR;
/// Most stdin bytes one step logs (the step buffer).
pub const MAX_NPIPE: u64 = STEP as u64;
/// Largest carry: it must leave room in the step buffer for input.
pub const MAX_CARRY: u64 = STEP as u64 - 1;
/// Largest size of `current` a record may name (far above `s`'s limit).
pub const MAX_CURRENT: u64 = 1 << 40;

/// Which pipe a record was made on (stdin's `st_dev`, `st_ino`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipeId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

/// What the reader knows that the header must agree with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// Number of directories in the script.
    pub ndirs: usize,
    /// [`names_hash`] of the script's directories.
    pub names: u64,
    /// The pipe multilog reads now.
    pub pipe: PipeId,
    /// Size of the record file.
    pub len: u64,
}

/// One step, as recorded before its writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Start of the carry before the step.
    pub logged0: u64,
    /// Size of the record file when the step began.
    pub w0: u64,
    /// Carry bytes the step logs.
    pub carry_used: u64,
    /// stdin bytes the step logs.
    pub npipe: u64,
    /// Of those, how many are taken off stdin without a witness.
    pub j: u64,
    /// The first of the `npipe` bytes.
    pub b0: u8,
    /// Inside a long line before the step.
    pub long_before: bool,
    /// Inside a long line after the step.
    pub long_after: bool,
    /// Per directory: `A`, `B`, long-line selection before and after.
    pub dirs: Vec<(u64, u64, bool, bool)>,
}

/// What a header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No record (a header of zeros: created, never written).
    Nothing,
    /// No step in flight; the carry starts at `logged`; the long-line
    /// state (inside one, and to which directories it goes).
    Idle(u64, bool, Vec<bool>),
    /// A step was in flight when the previous process died.
    Step(Step),
}

/// Why a header is not acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Shorter than a header, or not a record at all.
    NotRecord,
    /// Written by the first format, which did not name its pipe.
    OldFormat,
    /// Checksum, padding or a flag byte is wrong.
    Corrupt,
    /// Made for another list of directories.
    OtherScript,
    /// Made on another pipe; the carry it held (bytes of an unfinished
    /// line taken off that pipe).
    OtherPipe {
        /// Bytes of the carry lost with it.
        carry: u64,
    },
    /// A field no multilog writes (its name).
    Range(&'static str),
}

impl Refused {
    /// The reason, for `multilog: warning: ignoring DIR/inflight: …`.
    #[must_use]
    pub fn why(&self) -> String {
        match self {
            Refused::NotRecord => "not a record".into(),
            Refused::OldFormat => {
                "written in the first format, which does not name its pipe".into()
            }
            Refused::Corrupt => "checksum mismatch".into(),
            Refused::OtherScript => "made for other directories".into(),
            Refused::OtherPipe { carry: 0 } => "made on another pipe".into(),
            Refused::OtherPipe { carry } => {
                format!(
                    "made on another pipe; lost {carry} bytes of an unfinished line read from it"
                )
            }
            Refused::Range(f) => format!("{f} out of range"),
        }
    }
}

/// FNV-1a, 64 bits.
#[must_use]
pub fn fnv(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
/// FNV-1a 64's offset basis.
pub const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

/// The hash of the directory names a record is made for.
#[must_use]
pub fn names_hash(names: &[&[u8]]) -> u64 {
    names.iter().fold(FNV0, |h, n| fnv(&[0], fnv(n, h)))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

fn put(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Encode `what` for `ctx` into `buf` (at least [`HDR`] bytes; the first
/// `HDR` are written, the rest untouched). `Found::Nothing` is all zeros.
///
/// # Panics
/// If `buf` is shorter than a header or `ctx.ndirs` exceeds [`MAX_DIRS`].
pub fn encode(buf: &mut [u8], ctx: &Ctx, what: &Found) {
    assert!(ctx.ndirs <= MAX_DIRS);
    let b = &mut buf[..HDR as usize];
    b.fill(0);
    let used = FIXED + PER_DIR * ctx.ndirs;
    let step = match what {
        Found::Nothing => return,
        Found::Idle(logged, long, sel) => {
            put(b, 40, *logged);
            b[82] = u8::from(*long);
            for (k, &on) in sel.iter().take(ctx.ndirs).enumerate() {
                b[FIXED + PER_DIR * k + 17] = u8::from(on);
            }
            None
        }
        Found::Step(s) => Some(s),
    };
    b[..8].copy_from_slice(MAGIC);
    b[12..16].copy_from_slice(&(ctx.ndirs as u32).to_le_bytes());
    put(b, 16, ctx.names);
    put(b, 24, ctx.pipe.dev);
    put(b, 32, ctx.pipe.ino);
    if let Some(s) = step {
        b[8] = 1;
        for (off, v) in [
            (40, s.logged0),
            (48, s.w0),
            (56, s.carry_used),
            (64, s.npipe),
            (72, s.j),
        ] {
            put(b, off, v);
        }
        b[80] = s.b0;
        b[81] = u8::from(s.long_before);
        b[82] = u8::from(s.long_after);
        for (k, &(a, bb, before, after)) in s.dirs.iter().take(ctx.ndirs).enumerate() {
            let o = FIXED + PER_DIR * k;
            put(b, o, a);
            put(b, o + 8, bb);
            b[o + 16] = u8::from(before);
            b[o + 17] = u8::from(after);
        }
    }
    let sum = fnv(&b[..used], FNV0);
    put(b, used, sum);
}

/// Decode and check a header read from a record of `ctx.len` bytes.
///
/// # Errors
/// The header is not one this multilog may act on ([`Refused`]).
pub fn decode(b: &[u8], ctx: &Ctx) -> Result<Found, Refused> {
    if b.len() < HDR as usize || ctx.len < HDR {
        return Err(Refused::NotRecord);
    }
    let b = &b[..HDR as usize];
    if b.iter().all(|&c| c == 0) {
        return Ok(Found::Nothing);
    }
    match &b[..8] {
        m if m == MAGIC => {}
        m if m == OLD_MAGIC => return Err(Refused::OldFormat),
        _ => return Err(Refused::NotRecord),
    }
    let ndirs = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
    if ndirs == 0 || ndirs > MAX_DIRS {
        return Err(Refused::Range("number of directories"));
    }
    // Every byte counts: the fields through the checksum, the rest zero.
    let used = FIXED + PER_DIR * ndirs;
    if u64_at(b, used) != fnv(&b[..used], FNV0) || b[used + 8..].iter().any(|&c| c != 0) {
        return Err(Refused::Corrupt);
    }
    let flag = |c: u8| c <= 1;
    let dir = |k: usize| &b[FIXED + PER_DIR * k..FIXED + PER_DIR * (k + 1)];
    if !flag(b[81])
        || !flag(b[82])
        || b[83..88].iter().any(|&c| c != 0)
        || (0..ndirs).any(|k| {
            let d = dir(k);
            !flag(d[16]) || !flag(d[17]) || d[18..].iter().any(|&c| c != 0)
        })
    {
        return Err(Refused::Corrupt);
    }
    if ndirs != ctx.ndirs || u64_at(b, 16) != ctx.names {
        return Err(Refused::OtherScript);
    }
    let pipe = PipeId {
        dev: u64_at(b, 24),
        ino: u64_at(b, 32),
    };
    let (found, carry) = match u32::from_le_bytes([b[8], b[9], b[10], b[11]]) {
        0 => {
            let logged = u64_at(b, 40);
            let step_fields = (48..81).any(|o| b[o] != 0)
                || b[81] != 0
                || (0..ndirs).any(|k| dir(k)[..17].iter().any(|&c| c != 0));
            if step_fields {
                return Err(Refused::Range("step fields of an idle record"));
            }
            // `logged` past the end: the file was cut back to its header
            // after an idle header said so (`maybe_reset`); no carry.
            if logged < HDR {
                return Err(Refused::Range("logged"));
            }
            let carry = ctx.len.saturating_sub(logged);
            if carry > MAX_CARRY {
                return Err(Refused::Range("carry"));
            }
            let sel = (0..ndirs).map(|k| dir(k)[17] != 0).collect();
            (Found::Idle(logged, b[82] != 0, sel), carry)
        }
        1 => {
            let s = Step {
                logged0: u64_at(b, 40),
                w0: u64_at(b, 48),
                carry_used: u64_at(b, 56),
                npipe: u64_at(b, 64),
                j: u64_at(b, 72),
                b0: b[80],
                long_before: b[81] != 0,
                long_after: b[82] != 0,
                dirs: (0..ndirs)
                    .map(|k| {
                        let d = dir(k);
                        (u64_at(d, 0), u64_at(d, 8), d[16] != 0, d[17] != 0)
                    })
                    .collect(),
            };
            check_step(&s, ctx.len)?;
            // The part of the carry the step does not log.
            let carry = s.w0 - s.logged0 - s.carry_used;
            (Found::Step(s), carry)
        }
        _ => return Err(Refused::Range("state")),
    };
    if pipe != ctx.pipe {
        return Err(Refused::OtherPipe { carry });
    }
    Ok(found)
}

/// The ranges a step written by `steps::commit` has, in a file of `len`
/// bytes; every subtraction below is then exact.
fn check_step(s: &Step, len: u64) -> Result<(), Refused> {
    if s.logged0 < HDR || s.logged0 > s.w0 {
        return Err(Refused::Range("logged"));
    }
    if s.w0 > len {
        return Err(Refused::Range("w0"));
    }
    let carry = s.w0 - s.logged0;
    if carry > MAX_CARRY {
        return Err(Refused::Range("carry"));
    }
    if s.carry_used > carry {
        return Err(Refused::Range("carry_used"));
    }
    if s.npipe > MAX_NPIPE {
        return Err(Refused::Range("npipe"));
    }
    if s.npipe == 0 {
        if s.j != 0 || s.b0 != 0 {
            return Err(Refused::Range("j"));
        }
        if len != s.w0 {
            return Err(Refused::Range("w0"));
        }
    } else {
        // A step that takes stdin bytes logs the whole carry first.
        if s.carry_used != carry {
            return Err(Refused::Range("carry_used"));
        }
        if s.j >= s.npipe {
            return Err(Refused::Range("j"));
        }
        // The witness: at most the `npipe - j` bytes appended.
        if len - s.w0 > s.npipe - s.j {
            return Err(Refused::Range("w0"));
        }
    }
    // Each input byte gives at most itself and a stamp (a line of its
    // own); at the end of input one newline (and stamp) is added.
    let most = (s.carry_used + s.npipe + 1) * (MAX_STAMP as u64 + 1);
    for &(a, b, _, _) in &s.dirs {
        if a > b || b > MAX_CURRENT || b - a > most {
            return Err(Refused::Range("size of current"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
