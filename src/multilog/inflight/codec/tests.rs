//! The header codec: valid records round-trip; corrupt, stale and
//! out-of-range ones are refused, never acted on, and decoding never
//! panics (the same property the `inflight` fuzz target checks).

use super::*;
use proptest::prelude::*;

const PIPE: PipeId = PipeId { dev: 3, ino: 99 };

fn ctx(ndirs: usize, len: u64) -> Ctx {
    let names: Vec<Vec<u8>> = (0..ndirs).map(|k| format!("./d{k}").into_bytes()).collect();
    let refs: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
    Ctx {
        ndirs,
        names: names_hash(&refs),
        pipe: PIPE,
        len,
    }
}

fn enc(c: &Ctx, f: &Found) -> Vec<u8> {
    let mut b = vec![0xAA; HDR as usize];
    encode(&mut b, c, f);
    b
}

/// What settling may rely on, stated on its own: every count it takes
/// off the pipe, carries, cuts or subtracts is small and exact.
fn safe(f: &Found, c: &Ctx) -> bool {
    let step = STEP as u64;
    match f {
        Found::Nothing => true,
        Found::Idle(logged, _, sel) => {
            sel.len() == c.ndirs && *logged >= HDR && c.len.saturating_sub(*logged) < step
        }
        Found::Step(s) => {
            s.dirs.len() == c.ndirs
                && s.logged0 >= HDR
                && s.logged0 <= s.w0
                && s.w0 <= c.len
                && s.w0 - s.logged0 < step
                && s.carry_used <= s.w0 - s.logged0
                && s.j <= s.npipe
                && s.npipe <= step
                && c.len - s.w0 <= s.npipe - s.j
                && s.dirs.iter().all(|d| d.0 <= d.1)
        }
    }
}

/// A valid record for `ndirs` directories in a file of some size.
fn valid() -> impl Strategy<Value = (Ctx, Found)> {
    let idle = (
        1usize..4,
        0u64..MAX_CARRY,
        0u64..100,
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(n, carry, extra, long, sel)| {
            let logged = HDR + extra;
            let sel = (0..n).map(|k| sel >> k & 1 == 1).collect();
            (ctx(n, logged + carry), Found::Idle(logged, long, sel))
        });
    let step = (
        1usize..4,
        (0u64..2000, 0u64..100),
        (0u64..MAX_NPIPE, any::<u64>(), any::<u64>()),
        (any::<u8>(), any::<bool>(), any::<bool>()),
        proptest::collection::vec((0u64..MAX_CURRENT / 2, 0u64..500, any::<[bool; 2]>()), 3),
    )
        .prop_map(|(n, (carry, extra), (npipe, j, w), (b0, lb, la), dirs)| {
            let logged0 = HDR + extra;
            let w0 = logged0 + carry;
            let (j, b0, witness) = if npipe == 0 {
                (0, 0, 0)
            } else {
                let j = j % npipe;
                (j, b0, w % (npipe - j + 1))
            };
            let s = Step {
                logged0,
                w0,
                carry_used: carry,
                npipe,
                j,
                b0,
                long_before: lb,
                long_after: la,
                dirs: dirs[..n]
                    .iter()
                    .map(|&(a, d, [x, y])| (a, a + d, x, y))
                    .collect(),
            };
            (ctx(n, w0 + witness), Found::Step(s))
        });
    prop_oneof![idle, step]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_records_round_trip((c, f) in valid()) {
        prop_assert!(safe(&f, &c));
        prop_assert_eq!(decode(&enc(&c, &f), &c), Ok(f));
    }

    #[test]
    fn any_changed_byte_is_refused((c, f) in valid(), at in 0usize..HDR as usize, x in 1u8..) {
        let mut b = enc(&c, &f);
        b[at] ^= x;
        prop_assert!(decode(&b, &c).is_err());
    }

    /// A record whose checksum is right but one field (or byte) says
    /// anything: never a panic, and what is accepted is safe to act on.
    #[test]
    fn rechecksummed_garbage_is_refused_or_safe(
        (c, f) in valid(),
        field in 0usize..14,
        v in prop_oneof![
            Just(0u64), Just(1), Just(HDR - 1), Just(HDR), Just(1 << 26), Just(1 << 62),
            Just(u64::MAX), any::<u64>(), 0u64..10_000,
        ],
        byte in (0usize..HDR as usize, any::<u8>()),
        len in prop_oneof![Just(None), (0u64..HDR + 300_000).prop_map(Some)],
    ) {
        let mut b = enc(&c, &f);
        let offs = [8, 12, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112];
        if field == 13 {
            b[byte.0] = byte.1;
        } else {
            b[offs[field]..offs[field] + 8].copy_from_slice(&v.to_le_bytes());
        }
        let n = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
        if (1..=MAX_DIRS).contains(&n) {
            let used = FIXED + PER_DIR * n;
            let sum = fnv(&b[..used], FNV0);
            b[used..used + 8].copy_from_slice(&sum.to_le_bytes());
        }
        let c = Ctx { len: len.unwrap_or(c.len), ..c };
        if let Ok(f) = decode(&b, &c) {
            prop_assert!(safe(&f, &c), "{f:?} {c:?}");
        }
    }

    #[test]
    fn random_headers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..5000), len in any::<u64>()) {
        let c = ctx(1, len);
        if let Ok(f) = decode(&b, &c) {
            prop_assert!(safe(&f, &c));
        }
    }
}

/// The step of a single directory `./d0`, current 10 → 20 bytes.
fn step() -> Step {
    Step {
        logged0: HDR,
        w0: HDR,
        carry_used: 0,
        npipe: 6,
        j: 5,
        b0: b'L',
        long_before: false,
        long_after: false,
        dirs: vec![(10, 20, false, false)],
    }
}

fn refused(s: Step, len: u64) -> Result<Found, Refused> {
    let c = ctx(1, len);
    decode(&enc(&c, &Found::Step(s)), &c)
}

#[test]
fn the_reported_out_of_range_records_are_refused() {
    assert_eq!(refused(step(), HDR), Ok(Found::Step(step())));
    // A 64 MB carry.
    let s = Step {
        w0: HDR + (64 << 20),
        ..step()
    };
    assert_eq!(refused(s, HDR + (64 << 20)), Err(Refused::Range("carry")));
    let c = ctx(1, HDR + (64 << 20));
    let idle = Found::Idle(HDR, false, vec![false]);
    assert_eq!(decode(&enc(&c, &idle), &c), Err(Refused::Range("carry")));
    // npipe = 2^62.
    let s = Step {
        npipe: 1 << 62,
        ..step()
    };
    assert_eq!(refused(s, HDR), Err(Refused::Range("npipe")));
    // A step not at the file's end.
    let s = Step {
        w0: HDR + 10,
        logged0: HDR + 10,
        ..step()
    };
    assert_eq!(refused(s, HDR), Err(Refused::Range("w0")));
    assert_eq!(refused(step(), HDR + 7), Err(Refused::Range("w0")));
    // logged = 0 (the header would be logged as a line).
    let s = Step {
        logged0: 0,
        ..step()
    };
    assert_eq!(refused(s, HDR), Err(Refused::Range("logged")));
    let c = ctx(1, HDR);
    let idle = Found::Idle(0, false, vec![false]);
    assert_eq!(decode(&enc(&c, &idle), &c), Err(Refused::Range("logged")));
    // j > npipe (npipe - j would wrap).
    let s = Step { j: 7, ..step() };
    assert_eq!(refused(s, HDR), Err(Refused::Range("j")));
    // current shrinking in a step, or growing far more than its input.
    let s = Step {
        dirs: vec![(20, 10, false, false)],
        ..step()
    };
    assert_eq!(refused(s, HDR), Err(Refused::Range("size of current")));
    let s = Step {
        dirs: vec![(0, 1 << 20, false, false)],
        ..step()
    };
    assert_eq!(refused(s, HDR), Err(Refused::Range("size of current")));
}

#[test]
fn another_pipe_script_or_format_is_refused() {
    let c = ctx(1, HDR + 5);
    let idle = Found::Idle(HDR, true, vec![true]);
    let b = enc(&c, &idle);
    assert_eq!(decode(&b, &c), Ok(idle));
    let other = Ctx {
        pipe: PipeId { dev: 3, ino: 98 },
        ..c
    };
    assert_eq!(decode(&b, &other), Err(Refused::OtherPipe { carry: 5 }));
    assert_eq!(decode(&b, &ctx(2, HDR + 5)), Err(Refused::OtherScript));
    let mut old = b.clone();
    old[..8].copy_from_slice(OLD_MAGIC);
    assert_eq!(decode(&old, &c), Err(Refused::OldFormat));
    assert_eq!(decode(&vec![0; HDR as usize], &c), Ok(Found::Nothing));
    assert_eq!(decode(&b[..100], &c), Err(Refused::NotRecord));
}
