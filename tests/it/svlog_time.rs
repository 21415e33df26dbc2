//! svlog's `--since`/`--until` time words: the parser against GNU
//! `date -d` (run with `TZ` set, "now" pinned by giving `date` the base
//! time in the expression) for every form both read, in four zones and
//! across DST changes; the unpinned relative forms against `date -d` with
//! a tolerance; and the real binary selecting lines with them.

use std::path::Path;
use std::process::{Command, Stdio};

use daemontools::svlog::timeexpr::parse;
use daemontools::tai64::local::LocalZone;
use daemontools::tai64::tz::Zone;
use daemontools::tai64::Tai64N;

use crate::support::faults::Rng;
use crate::support::skip;
use crate::support::svlog::svlog;

const ZONES: [&str; 4] = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
];

/// Unix seconds of `t` (from its label: TAI64 base 2^62 + 10).
fn secs(t: Tai64N) -> i64 {
    let l = t.label();
    let hex = std::str::from_utf8(&l[1..17]).unwrap();
    u64::from_str_radix(hex, 16)
        .unwrap()
        .wrapping_sub(0x4000_0000_0000_000a) as i64
}

/// `date -d EXPR +FMT` in `tz`: `None` if date rejects it.
fn date(tz: &str, expr: &str, fmt: &str) -> Option<String> {
    let out = Command::new("date")
        .env("TZ", tz)
        .env("LC_ALL", "C")
        .args(["-d", expr, fmt])
        .stdin(Stdio::null())
        .output()
        .expect("run date");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_string())
}

fn date_secs(tz: &str, expr: &str) -> Option<i64> {
    date(tz, expr, "+%s").map(|s| s.parse().unwrap())
}

/// GNU date present, and the zones installed; else skip.
fn ready(test: &str) -> bool {
    let gnu = Command::new("date")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU coreutils"));
    let zones = ZONES[1..]
        .iter()
        .all(|z| Path::new("/usr/share/zoneinfo").join(z).exists());
    if !(gnu && zones) {
        skip(
            "DTOOLS_REQUIRE_REFERENCE",
            &format!("{test}: needs GNU date and tzdata"),
        );
    }
    gnu && zones
}

fn zone(tz: &str) -> LocalZone {
    LocalZone::new(Zone::for_tz(Some(std::ffi::OsStr::new(tz)), None))
}

fn ours_at(expr: &str, now: i64, tz: &str) -> Option<i64> {
    parse(expr, Tai64N::from_unix(now, 0), &mut zone(tz)).map(secs)
}

/// Where `date -d` rejects a local time that falls in a DST gap, ours is
/// the first second after the gap: its local time differs from one second
/// before by more than one second.
fn assert_gap_end(tz: &str, expr: &str, got: Option<i64>) {
    let got = got.unwrap_or_else(|| panic!("TZ={tz} {expr:?}: ours rejects, date too"));
    let fmt = "+%s %z";
    let off = |t: i64| {
        let s = date(tz, &format!("@{t}"), fmt).unwrap();
        let z = s.split(' ').nth(1).unwrap().to_string();
        let sign = if z.starts_with('-') { -1 } else { 1 };
        sign * (z[1..3].parse::<i64>().unwrap() * 3600 + z[3..5].parse::<i64>().unwrap() * 60)
    };
    assert!(
        off(got) > off(got - 1),
        "TZ={tz} {expr:?}: date rejects it, and ours ({got}) is not the end of a gap"
    );
}

/// Ours equals date's answer, or both name the same local time in a fold,
/// ours the earlier: for a local time that happens twice glibc's `mktime`
/// picks one by its own guess (the EDT one in New York, the CET one in
/// Berlin), ours is always the first.
fn assert_same_or_fold(tz: &str, what: &str, got: Option<i64>, want: i64) {
    let got = got.unwrap_or_else(|| panic!("TZ={tz} {what}: ours rejects, date reads {want}"));
    if got == want {
        return;
    }
    let wall = |t: i64| date(tz, &format!("@{t}"), "+%F %T").unwrap();
    assert!(
        got < want && wall(got) == wall(want),
        "TZ={tz} {what}: ours {got} ({}), date {want} ({})",
        wall(got),
        wall(want)
    );
}

/// Absolute forms: no "now" involved, date reads them as they are.
#[test]
fn absolute_forms_match_date() {
    if !ready("absolute_forms_match_date") {
        return;
    }
    let exprs = [
        "2024-01-15",
        "2024-01-15 13:45",
        "2024-07-04 09:08:07",
        "2024-07-04T09:08:07",
        "2024-07-04T09:08:07Z",
        "2024-07-04T09:08:07+05:30",
        "2024-07-04T09:08:07-04:00",
        "2024-07-04 09:08:07 UTC",
        "@0",
        "@1700000000",
        "@-86401",
        // New York: gap, fold; Berlin: gap, fold; Lord Howe: half-hour
        // gap and fold.
        "2024-03-10 02:30",
        "2024-03-10 03:00",
        "2024-03-10 01:59:59",
        "2024-11-03 01:30",
        "2024-03-31 02:30",
        "2024-10-27 02:30",
        "2024-10-06 02:15",
        "2024-04-07 01:45",
    ];
    for tz in ZONES {
        for e in exprs {
            let got = ours_at(e, 1_800_000_000, tz);
            match date_secs(tz, e) {
                Some(want) => assert_same_or_fold(tz, e, got, want),
                None => assert_gap_end(tz, e, got),
            }
        }
    }
}

/// Random moments written as local wall time by `date` and read back by
/// both: the same moment (or, in a fold, ours the earlier).
#[test]
fn random_local_times_match_date() {
    if !ready("random_local_times_match_date") {
        return;
    }
    let mut rng = Rng::new(crate::support::faults::seed(2022));
    for tz in ZONES {
        for _ in 0..25 {
            let u = rng.range(0, 2_500_000_000) as i64;
            let wall = date(tz, &format!("@{u}"), "+%Y-%m-%d %H:%M:%S").unwrap();
            let want = date_secs(tz, &wall).unwrap();
            assert_same_or_fold(tz, &wall, ours_at(&wall, 0, tz), want);
            let hm = &wall[..16];
            let want = date_secs(tz, hm).unwrap();
            assert_same_or_fold(tz, hm, ours_at(hm, 0, tz), want);
        }
    }
}

/// Moments "now" is pinned to: DST days in each zone, the hours around
/// them, and random ones.
fn nows() -> Vec<i64> {
    let mut v = vec![
        1_710_072_000, // 2024-03-10T12:00Z
        1_710_138_600, // 2024-03-11T06:30Z (NY 02:30 EDT)
        1_711_886_400, // 2024-03-31T12:00Z
        1_711_938_600, // 2024-04-01T02:30Z
        1_712_453_400, // 2024-04-07T01:30Z (Lord Howe 12:00)
        1_728_216_000, // 2024-10-06T12:00Z
        1_730_001_600, // 2024-10-27T04:00Z
        1_730_635_200, // 2024-11-03T12:00Z
        1_730_701_800, // 2024-11-04T06:30Z (NY 01:30 EST)
        1_730_525_400, // 2024-11-02T05:30Z (NY 01:30 EDT)
    ];
    let mut rng = Rng::new(crate::support::faults::seed(22));
    for _ in 0..4 {
        v.push(1_600_000_000 + rng.range(0, 300_000_000) as i64);
    }
    v
}

/// Relative and day-word forms, with "now" pinned: date gets the base
/// local time and the same relative items (it applies `ago` to the item
/// just before it only, so each item gets its own).
#[test]
fn relative_forms_match_date_with_pinned_now() {
    if !ready("relative_forms_match_date_with_pinned_now") {
        return;
    }
    // (ours, date's relative items)
    let rel = [
        ("-10min", "10 minutes ago"),
        ("10 minutes ago", "10 minutes ago"),
        ("+1h", "1 hour"),
        ("1h30m ago", "1 hour ago 30 minutes ago"),
        ("2 days ago", "2 days ago"),
        ("-3d", "3 days ago"),
        ("3 weeks", "3 weeks"),
        ("1 month ago", "1 month ago"),
        ("-1y", "1 year ago"),
        ("1 day 2 hours ago", "1 day ago 2 hours ago"),
        ("+1d", "1 day"),
        ("-90s", "90 seconds ago"),
    ];
    let mut checked = 0;
    for tz in ZONES {
        for now in nows() {
            let base = date(tz, &format!("@{now}"), "+%Y-%m-%d %H:%M:%S").unwrap();
            // A base in a fold would be read back as the other moment.
            if date_secs(tz, &base) != Some(now) {
                continue;
            }
            for (e, d) in rel {
                let want = date_secs(tz, &format!("{base} {d}"));
                assert_eq!(ours_at(e, now, tz), want, "TZ={tz} now={base} {e:?}");
                checked += 1;
            }
            let day = &base[..10];
            // Day words and times of day: named local times.
            for (e, d) in [
                ("today", "00:00"),
                ("yesterday", "00:00 yesterday"),
                ("tomorrow", "00:00 tomorrow"),
                ("yesterday 02:30", "00:00 yesterday"),
                ("tomorrow 10:30:15", "00:00 tomorrow"),
                ("02:30", "00:00"),
                ("13:05:09", "00:00"),
            ] {
                let ymd = date(tz, &format!("{day} {d}"), "+%Y-%m-%d").unwrap();
                let time = e.rsplit(' ').next().filter(|t| t.contains(':'));
                let full = format!("{ymd} {}", time.unwrap_or("00:00"));
                let got = ours_at(e, now, tz);
                match date_secs(tz, &full) {
                    Some(want) => assert_same_or_fold(tz, &format!("now={base} {e:?}"), got, want),
                    None => assert_gap_end(tz, &full, got),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} cases");
}

/// The forms as typed, against date's own reading of the same words with
/// the real clock: a couple of seconds apart at most.
#[test]
fn unpinned_forms_match_date() {
    if !ready("unpinned_forms_match_date") {
        return;
    }
    for tz in ZONES {
        for (e, d) in [
            ("now", "now"),
            ("-10min", "-10min"),
            ("10 minutes ago", "10 minutes ago"),
            ("2 days ago", "2 days ago"),
            ("+1h", "1 hour"),
            ("today", "today 00:00"),
            ("yesterday", "yesterday 00:00"),
            ("tomorrow", "tomorrow 00:00"),
            ("12:34", "12:34"),
            ("@1700000000", "@1700000000"),
        ] {
            // Read twice if need be: a day word read just across
            // midnight would be a day apart once.
            let apart = || {
                let got = parse(e, Tai64N::now(), &mut zone(tz)).map(secs).unwrap();
                let want = date_secs(tz, d).unwrap();
                ((got - want).abs() > 2).then_some((got, want))
            };
            if let Some((got, want)) = apart().and_then(|_| apart()) {
                panic!("TZ={tz} {e:?}: ours {got}, date {want}");
            }
        }
    }
}

/// The binary: lines 3 days, 90 minutes and 1 minute old, selected with
/// time words; a misspelt one is a usage error.
#[test]
fn svlog_selects_with_time_words() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    let now = secs(Tai64N::now());
    let mut cur = Vec::new();
    for (age, text) in [(3 * 86_400, "old"), (5400, "middle"), (60, "recent")] {
        cur.extend_from_slice(&Tai64N::from_unix(now - age, 0).label());
        cur.extend_from_slice(format!(" {text}\n").as_bytes());
    }
    std::fs::write(dir.join("current"), &cur).unwrap();
    let d = dir.to_str().unwrap();
    let text = |args: &[&str]| {
        let o = svlog(args, "Europe/Berlin");
        assert!(o.status.success(), "{args:?}: {o:?}");
        let s = String::from_utf8(o.stdout).unwrap();
        s.lines()
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(text(&["--since", "2 hours ago", d]), ["middle", "recent"]);
    assert_eq!(text(&["--since", "-10min", d]), ["recent"]);
    assert_eq!(text(&["--since=1h ago", d]), ["recent"]);
    assert_eq!(
        text(&["--until", "1h30m ago", "--since", "4 days ago", d]),
        ["old", "middle"]
    );
    assert_eq!(text(&["--since", "now", d]), Vec::<String>::new());
    assert_eq!(text(&["--until", "@1000", d]), Vec::<String>::new());
    for bad in ["10 minuts ago", "yesterdayy", "2024-02-30", "-10"] {
        let o = svlog(&["--since", bad, d], "UTC");
        assert_eq!(o.status.code(), Some(100), "{bad:?}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("svlog: "), "{bad:?}: {err}");
        assert!(o.stdout.is_empty());
    }
}
