//! Unit tests for every form, the fold/gap rule, and properties against
//! independent arithmetic.

use super::*;
use crate::tai64::tz::Zone;
use proptest::prelude::*;

fn utc() -> LocalZone {
    LocalZone::new(Zone::utc())
}

fn zone(name: &str) -> Option<LocalZone> {
    let p = format!("/usr/share/zoneinfo/{name}");
    crate::tai64::test_zoneinfo(&p)?;
    Some(LocalZone::new(Zone::for_tz(
        Some(std::ffi::OsStr::new(name)),
        None,
    )))
}

/// 2027-01-15T08:00:00Z, 5 ns.
const NOW: i64 = 1_800_000_000;

fn now() -> Tai64N {
    Tai64N::from_unix(NOW, 5)
}

fn p(s: &str) -> Option<i64> {
    parse(s, now(), &mut utc()).map(Tai64N::unix_secs)
}

/// `s` in zone `z` with now at Unix second `at`.
fn pz(s: &str, at: i64, z: &mut LocalZone) -> Option<i64> {
    parse(s, Tai64N::from_unix(at, 0), z).map(Tai64N::unix_secs)
}

#[test]
fn forms_kept() {
    assert_eq!(
        parse("@400000006b050c5709c2505c", now(), &mut utc()),
        Tai64N::from_hex(b"400000006b050c5709c2505c")
    );
    assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(p("2026-12-01T09:24:28Z"), Some(1_796_117_068));
    assert_eq!(p("2026-12-01T09:24:28+01:00"), Some(1_796_117_068 - 3600));
    assert_eq!(p("2026-12-01T09:24:28-05:30"), Some(1_796_117_068 + 19_800));
    assert_eq!(
        parse("2026-12-01T09:24:28.123456789123Z", now(), &mut utc()).map(|t| t.nanos),
        Some(123_456_789)
    );
    assert_eq!(
        parse("2026-12-01 09:24:28.5", now(), &mut utc()).map(|t| t.nanos),
        Some(500_000_000)
    );
    assert_eq!(p("2026-12-01"), Some(1_796_083_200));
    assert_eq!(p("2026-12-01 09:24"), Some(1_796_117_040));
    assert_eq!(p("-30s"), Some(NOW - 30));
    assert_eq!(p("-10m"), Some(NOW - 600));
    assert_eq!(p("-2h"), Some(NOW - 7200));
    assert_eq!(p("-3d"), Some(NOW - 3 * 86_400));
}

#[test]
fn words() {
    assert_eq!(parse("now", now(), &mut utc()), Some(now()));
    assert_eq!(parse(" NOW ", now(), &mut utc()), Some(now()));
    let midnight = NOW - NOW.rem_euclid(86_400);
    assert_eq!(p("today"), Some(midnight));
    assert_eq!(p("yesterday"), Some(midnight - 86_400));
    assert_eq!(p("Tomorrow"), Some(midnight + 86_400));
    assert_eq!(
        p("yesterday 13:05"),
        Some(midnight - 86_400 + 13 * 3600 + 300)
    );
    assert_eq!(p("today 23:59:59"), Some(midnight + 86_399));
    assert_eq!(p("tomorrow  00:00:01Z"), Some(midnight + 86_401));
    assert_eq!(p("10:00"), Some(midnight + 36_000));
    assert_eq!(p("9:30"), Some(midnight + 9 * 3600 + 1800));
    assert_eq!(p("10:00:30.25"), Some(midnight + 36_030));
    assert_eq!(p("23:00+01:00"), Some(midnight + 22 * 3600));
}

#[test]
fn epoch() {
    assert_eq!(p("@0"), Some(0));
    assert_eq!(p("@1700000000"), Some(1_700_000_000));
    assert_eq!(p("@+12"), Some(12));
    assert_eq!(p("@-5"), Some(-5));
    assert_eq!(
        parse("@1700000000.25", now(), &mut utc()),
        Some(Tai64N::from_unix(1_700_000_000, 250_000_000))
    );
    assert_eq!(
        parse("@-1.25", now(), &mut utc()),
        Some(Tai64N::from_unix(-2, 750_000_000))
    );
}

#[test]
fn relative() {
    assert_eq!(p("-10min"), Some(NOW - 600));
    assert_eq!(p("+1h"), Some(NOW + 3600));
    assert_eq!(p("1h30m ago"), Some(NOW - 5400));
    assert_eq!(p("1h 30min ago"), Some(NOW - 5400));
    assert_eq!(p("10 minutes ago"), Some(NOW - 600));
    assert_eq!(p("1 minute ago"), Some(NOW - 60));
    assert_eq!(p("2 days ago"), Some(NOW - 2 * 86_400));
    assert_eq!(p("2 Days Ago"), Some(NOW - 2 * 86_400));
    assert_eq!(p("3 weeks"), Some(NOW + 21 * 86_400));
    assert_eq!(p("5 sec left"), Some(NOW + 5));
    assert_eq!(p("90s ago"), Some(NOW - 90));
    assert_eq!(p("2 hours 5 seconds ago"), Some(NOW - 7205));
    assert_eq!(p("-1.5h"), Some(NOW - 5400));
    assert_eq!(
        parse("-500ms", now(), &mut utc()),
        Some(Tai64N::from_unix(NOW - 1, 500_000_005))
    );
    // Calendar units: 2027-01-15 08:00 back 1 month, 1 year, 2 months.
    assert_eq!(p("1 month ago"), p("2026-12-15T08:00:00Z"));
    assert_eq!(p("-1M"), p("2026-12-15T08:00:00Z"));
    assert_eq!(p("1 year ago"), p("2026-01-15T08:00:00Z"));
    assert_eq!(p("-1y"), p("2026-01-15T08:00:00Z"));
    assert_eq!(p("+2 months"), p("2027-03-15T08:00:00Z"));
    // Past the month's end the day carries over, as mktime normalises.
    let jan31 = p("2027-01-31T12:00:00Z").unwrap();
    assert_eq!(pz("1 month", jan31, &mut utc()), p("2027-03-03T12:00:00Z"));
}

#[test]
fn rejects() {
    for s in [
        "",
        "@",
        "@400000006B050C5709C2505C",
        "@4000x",
        "@1.",
        "@.5",
        "@9999999999999",
        "-",
        "-s",
        "-5",
        "-5q",
        "2026-13-01",
        "2026-02-29",
        "2026-12-01T",
        "2026-12-01T25:00",
        "2026-12-01T09:24:28.",
        "2026-12-01T09:24:28+1",
        "2026-12-01T09:24:28Zx",
        "2026-1-01",
        "10 minuts ago",
        "10 minutes",
        "ago",
        "-10 minutes ago",
        "1.5 days ago",
        "yesterday noon",
        "yesterdays",
        "nowish",
        "24:00",
        "123:00",
        "10:0",
        "-9999999999999s",
        "1000000 years ago",
    ] {
        if s == "10 minutes" {
            // date -d "10 minutes": ten minutes from now.
            assert_eq!(p(s), Some(NOW + 600));
            continue;
        }
        assert_eq!(parse(s, now(), &mut utc()), None, "{s:?}");
    }
    assert!(p("2024-02-29").is_some());
}

#[test]
fn utc_suffix() {
    let mut ny = match zone("America/New_York") {
        Some(z) => z,
        None => return,
    };
    assert_eq!(
        pz("2026-12-01 09:24:28 UTC", NOW, &mut ny),
        p("2026-12-01T09:24:28Z")
    );
    assert_eq!(
        pz("2026-12-01 09:24:28", NOW, &mut ny),
        p("2026-12-01T14:24:28Z")
    );
}

#[test]
fn dst_berlin() {
    let Some(mut z) = zone("Europe/Berlin") else {
        return;
    };
    // Winter: UTC+1.
    let t = parse("2026-01-15 12:00", now(), &mut z).unwrap();
    assert_eq!(Some(t.unix_secs()), p("2026-01-15T11:00:00Z"));
    // Gap: 2026-03-29 02:30 does not exist; the gap ends at 01:00Z.
    let t = parse("2026-03-29 02:30", now(), &mut z).unwrap();
    assert_eq!(Some(t.unix_secs()), p("2026-03-29T01:00:00Z"));
    // Fold: 2026-10-25 02:30 happens twice; the earlier is 00:30Z.
    let t = parse("2026-10-25 02:30", now(), &mut z).unwrap();
    assert_eq!(Some(t.unix_secs()), p("2026-10-25T00:30:00Z"));
}

#[test]
fn dst_new_york_days() {
    let Some(mut z) = zone("America/New_York") else {
        return;
    };
    // Now: 2024-03-11 12:00 EDT (16:00Z); clocks went forward on the 10th.
    let at = p("2024-03-11T16:00:00Z").unwrap();
    // Midnight of the 10th was still EST (05:00Z); of the 11th, EDT.
    assert_eq!(pz("yesterday", at, &mut z), p("2024-03-10T05:00:00Z"));
    assert_eq!(pz("today", at, &mut z), p("2024-03-11T04:00:00Z"));
    // Calendar days keep the time of day: 12:00 EST two days ago is 47 h
    // back; 48 hours is 11:00 EST.
    assert_eq!(pz("2 days ago", at, &mut z), Some(at - 47 * 3600));
    assert_eq!(pz("48 hours ago", at, &mut z), Some(at - 48 * 3600));
    // Into the gap: 2024-03-10 02:30 from 2024-03-11 02:30 EDT. As a
    // calendar move, read as EST (03:30 EDT, as date -d); named, the end of
    // the gap.
    let at = p("2024-03-11T06:30:00Z").unwrap();
    assert_eq!(pz("1 day ago", at, &mut z), p("2024-03-10T07:30:00Z"));
    assert_eq!(pz("yesterday 02:30", at, &mut z), p("2024-03-10T07:00:00Z"));
    // Into the fold: 2024-11-03 01:30 from 01:30 EST the next day is the
    // EST one; from 01:30 EDT the day before, the EDT one.
    let at = p("2024-11-04T06:30:00Z").unwrap();
    assert_eq!(pz("1 day ago", at, &mut z), p("2024-11-03T06:30:00Z"));
    let at = p("2024-11-02T05:30:00Z").unwrap();
    assert_eq!(pz("+1d", at, &mut z), p("2024-11-03T05:30:00Z"));
    // Lord Howe moves by half an hour.
    if let Some(mut lh) = zone("Australia/Lord_Howe") {
        // 2024-04-07 02:00 +11 becomes 01:30 +10:30; now 12:00 on the 7th.
        let at = p("2024-04-07T01:30:00Z").unwrap();
        assert_eq!(pz("1 day ago", at, &mut lh), Some(at - 86_400 - 1800));
        assert_eq!(pz("yesterday", at, &mut lh), p("2024-04-05T13:00:00Z"));
        assert_eq!(pz("today", at, &mut lh), p("2024-04-06T13:00:00Z"));
    }
}

proptest! {
    #[test]
    fn rfc3339_round_trips(u in -2_000_000_000i64..8_000_000_000, nanos in 0u32..1_000_000_000) {
        let days = u.div_euclid(86_400);
        let sod = u.rem_euclid(86_400);
        let (y, m, d) = crate::tai64::calendar::civil_from_days(days);
        let s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            sod / 3600, sod / 60 % 60, sod % 60);
        let t = parse(&s, now(), &mut utc());
        prop_assert_eq!(t, Some(Tai64N::from_unix(u, nanos)));
        // The same moment as local time in UTC.
        let s2 = s.replace('T', " ").trim_end_matches('Z').to_string();
        prop_assert_eq!(parse(&s2, now(), &mut utc()), Some(Tai64N::from_unix(u, nanos)));
        // `@-1.25` is -1.25 s: below -1.
        let s3 = format!("@{u}.{nanos:09}");
        let want = if u < 0 && nanos > 0 { Tai64N::from_unix(u - 1, 1_000_000_000 - nanos) } else { Tai64N::from_unix(u, nanos) };
        prop_assert_eq!(parse(&s3, now(), &mut utc()), Some(want));
    }

    #[test]
    fn spans_add_up(h in 0i64..1000, m in 0i64..1000, s in 0i64..100_000) {
        let want = NOW - h * 3600 - m * 60 - s;
        prop_assert_eq!(p(&format!("{h}h{m}m{s}s ago")), Some(want));
        prop_assert_eq!(p(&format!("-{h}h {m}min {s}sec")), Some(want));
        prop_assert_eq!(p(&format!("{h} hours {m} minutes {s} seconds ago")), Some(want));
        prop_assert_eq!(p(&format!("+{h}h{m}m{s}s")), Some(2 * NOW - want));
    }

    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        let _ = parse(&s, now(), &mut utc());
    }

    #[test]
    fn never_panics_words(s in "[-+@ 0-9:.TZ]{0,12}( ?(min|h|d|days|M|y|years|ago|UTC|today|yesterday)){0,3}") {
        let _ = parse(&s, now(), &mut utc());
    }

    #[test]
    fn local_inverts_offset(u in 0i64..4_000_000_000) {
        if let Some(mut z) = zone("America/New_York") {
            let off = z.offset(u);
            let t = local(u + off, 0, &mut z).unwrap().unix_secs();
            // Same local time; the earliest such moment.
            prop_assert_eq!(t + z.offset(t), u + off);
            prop_assert!(t <= u);
        }
    }
}
