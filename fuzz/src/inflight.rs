//! The `inflight` record's header codec (`multilog::inflight::codec`):
//! whatever the bytes, decoding never panics, and a header it accepts is
//! safe to settle by (every count small, every subtraction exact),
//! re-encodes to itself, and is refused on another pipe.

use daemontools::multilog::inflight::codec::{
    decode, encode, fnv, names_hash, Ctx, Found, PipeId, FNV0, HDR, MAGIC, MAX_CARRY, MAX_DIRS,
    MAX_NPIPE,
};

use super::{byte, take};

/// What settling may rely on, stated on its own.
fn safe(f: &Found, c: &Ctx) -> bool {
    match f {
        Found::Nothing => true,
        Found::Idle(logged, _, sel) => {
            sel.len() == c.ndirs && *logged >= HDR && c.len.saturating_sub(*logged) <= MAX_CARRY
        }
        Found::Step(s) => {
            s.dirs.len() == c.ndirs
                && s.logged0 >= HDR
                && s.logged0 <= s.w0
                && s.w0 <= c.len
                && s.w0 - s.logged0 <= MAX_CARRY
                && s.carry_used <= s.w0 - s.logged0
                && s.j <= s.npipe
                && s.npipe <= MAX_NPIPE
                && c.len - s.w0 <= s.npipe - s.j
                && s.dirs.iter().all(|d| d.0 <= d.1)
        }
    }
}

/// Layout: a flags byte (bit 0: make the header name this script and
/// pipe; bit 1: fix its checksum; bit 2: a file length near the header's;
/// bits 4-5: directories - 1), 8 bytes of file length, then the header
/// (zero-padded to 4096 bytes).
pub fn check_inflight(data: &[u8]) {
    inflight_accepts(data);
}

/// [`check_inflight`]; true if the header was accepted.
pub fn inflight_accepts(mut data: &[u8]) -> bool {
    let flags = byte(&mut data);
    let ndirs = 1 + usize::from(flags >> 4 & 3);
    let mut l = [0u8; 8];
    let lb = take(&mut data, 8);
    l[..lb.len()].copy_from_slice(lb);
    let mut len = u64::from_le_bytes(l);
    if flags & 4 != 0 {
        len = HDR + len % 300_000;
    }
    let names: Vec<Vec<u8>> = (0..ndirs).map(|k| format!("./d{k}").into_bytes()).collect();
    let refs: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
    let ctx = Ctx {
        ndirs,
        names: names_hash(&refs),
        pipe: PipeId { dev: 12, ino: 3456 },
        len,
    };
    let mut h = vec![0u8; HDR as usize];
    let n = data.len().min(h.len());
    h[..n].copy_from_slice(&data[..n]);
    if flags & 1 != 0 {
        h[..8].copy_from_slice(MAGIC);
        h[12..16].copy_from_slice(&(ndirs as u32).to_le_bytes());
        h[16..24].copy_from_slice(&ctx.names.to_le_bytes());
        h[24..32].copy_from_slice(&ctx.pipe.dev.to_le_bytes());
        h[32..40].copy_from_slice(&ctx.pipe.ino.to_le_bytes());
    }
    let d = u32::from_le_bytes([h[12], h[13], h[14], h[15]]) as usize;
    if flags & 2 != 0 && (1..=MAX_DIRS).contains(&d) {
        let used = 88 + 24 * d;
        let sum = fnv(&h[..used], FNV0);
        h[used..used + 8].copy_from_slice(&sum.to_le_bytes());
    }
    let Ok(found) = decode(&h, &ctx) else {
        return false;
    };
    assert!(safe(&found, &ctx), "accepted {found:?} for {ctx:?}");
    let mut again = vec![0u8; HDR as usize];
    encode(&mut again, &ctx, &found);
    assert_eq!(decode(&again, &ctx).as_ref(), Ok(&found), "re-encoded");
    if found != Found::Nothing {
        let other = Ctx {
            pipe: PipeId { dev: 12, ino: 3457 },
            ..ctx
        };
        assert!(decode(&h, &other).is_err(), "accepted on another pipe");
    }
    true
}
