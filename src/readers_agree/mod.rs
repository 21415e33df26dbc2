//! The readers of a log directory agree. Over random directories —
//! rotations cut anywhere (or, as multilog cuts, at line starts),
//! `.s`, `.u` and `.s.zst` archives, a compressor's `.s.zst` twin beside
//! its original, a processor's own `.s` output, a processor at work
//! (`previous`, `processed`, `state`) or between its steps, labels out of
//! step with the stamps and with the order of writing (clock steps), lines
//! stamped with TAI64N labels or RFC 3339 stamps — and with a finisher's,
//! a compressor's or retention's rename racing each reader between its
//! listing and its open, these see the same files and bytes, all through
//! `logdir`:
//!
//! - svlog's dump, `svlog -n`, and `svlog --since/--until` (against the
//!   dump filtered by stamp, the slow way);
//! - the follower from the oldest archive, and logship's reader on it;
//! - svmetrics' archive count and bytes (against the disk).
//!
//! `twins.rs` pins the twin rule itself: with twins of different bytes,
//! every reader reads the uncompressed one.

mod plan;
mod race;
mod readers;
mod twins;

use std::path::{Path, PathBuf};

use plan::{on_disk, Plan, Proc};
use race::{Op, Race, OPS};
use readers::{
    cuts_a_stamp, follower, in_range, last_lines, logship, shipped, svlog, svmetrics, Range,
};

use crate::tai64::Tai64N;

/// `plan` written afresh: the scan directory (kept alive) and the log
/// directory `svc/log/main` in it.
fn fresh(plan: &Plan) -> (tempfile::TempDir, PathBuf) {
    let scan = tempfile::tempdir().unwrap();
    let dir = scan.path().join("svc/log/main");
    plan.write(&dir);
    (scan, dir)
}

/// What a reader read, whether the race was run, and the label of the
/// archive retention took from it, if it did.
struct Ran<T> {
    got: T,
    fired: bool,
    gone: Option<Vec<u8>>,
}

/// Run `read` (given the scan and the log directory) on a fresh copy of
/// `plan` with `race` set.
fn run<T>(
    plan: &Plan,
    race: Option<&(Vec<u8>, Op)>,
    read: impl FnOnce(&Path, &Path) -> T,
) -> Ran<T> {
    let (scan, dir) = fresh(plan);
    let r = Race::set(&dir, race.cloned());
    let got = read(scan.path(), &dir);
    let gone = match race {
        Some((l, Op::Retention)) if r.fired() => Some(l.clone()),
        _ => None,
    };
    Ran {
        got,
        fired: r.fired(),
        gone,
    }
}

/// A range end from a generated (offset, present).
fn end((x, on): (u16, bool)) -> Option<Tai64N> {
    on.then(|| Tai64N::from_unix(1_700_000_000 - 10 + i64::from(x % 5020), 1))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    #[test]
    fn readers_see_the_same_bytes(
        lines in proptest::collection::vec((0u32..5000, proptest::bool::ANY, "[a-z ]{0,40}"), 0..60),
        cuts in proptest::collection::vec((0usize..4000, 0u8..4, 0u8..4, 0u32..1_000_000), 0..8),
        whole in proptest::bool::ANY,
        proc in 0usize..4,
        n in 1u64..80,
        ends in proptest::collection::vec((0u16..6000, proptest::bool::ANY), 2),
        race in proptest::option::of((0usize..8, 0usize..5)),
    ) {
        let proc = [Proc::None, Proc::AtWork, Proc::Between, Proc::Idle][proc];
        let plan = Plan::new(&lines, &cuts, whole, proc);
        let race = race
            .filter(|_| !plan.archives.is_empty())
            .map(|(i, op)| (plan.archives[i % plan.archives.len()].label.clone(), OPS[op]));
        let race = race.as_ref();
        let want = |gone: Option<Vec<u8>>| plan.stream(gone.as_deref());

        // The dump and the follower open every archive: the race is run.
        let ran = run(&plan, race, |_, d| svlog(d, None, (None, None)));
        proptest::prop_assert_eq!(ran.fired, race.is_some());
        proptest::prop_assert_eq!(&ran.got, &want(ran.gone), "svlog");
        let ran = run(&plan, race, |_, d| follower(d));
        proptest::prop_assert_eq!(ran.fired, race.is_some());
        proptest::prop_assert_eq!(&ran.got, &want(ran.gone), "follower");
        let ran = run(&plan, race, |_, d| logship(d));
        proptest::prop_assert_eq!(&ran.got, &shipped(&want(ran.gone)), "logship");
        let ran = run(&plan, race, |_, d| svlog(d, Some(n), (None, None)));
        let all = want(ran.gone);
        let n = usize::try_from(n).unwrap();
        proptest::prop_assert_eq!(&ran.got[..], last_lines(&all, n), "svlog -n");

        let r: Range = (end(ends[0]), end(ends[1]));
        let ran = run(&plan, race, |_, d| svlog(d, None, r));
        let all = want(ran.gone.clone());
        if !cuts_a_stamp(&all, &plan.boundaries(ran.gone.as_deref())) {
            proptest::prop_assert_eq!(&ran.got, &in_range(&all, r), "svlog --since --until");
        }

        let ran = run(&plan, race, |scan, d| {
            let before = on_disk(d);
            (svmetrics(scan), before, on_disk(d))
        });
        let (got, before, after) = ran.got;
        // A `.s.zst` made after the listing is not counted; everything
        // else is counted as it is on disk after the scrape.
        let disk = if race.is_some_and(|r| r.1 == Op::TwinAppears) {
            before
        } else {
            after
        };
        proptest::prop_assert_eq!(got, disk, "svmetrics");
    }
}
