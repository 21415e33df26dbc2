//! Tests of the POSIX TZ rule strings: DST rules, parsing quirks, hostile strings.

use super::super::tests::off;
use super::super::Zone;

#[test]
fn posix_rules() {
    let z = Zone::from_posix("EST5EDT,M3.2.0,M11.1.0");
    // 2024-03-10 07:00 UTC: EDT begins.
    assert_eq!(off(&z, 1_710_053_999), -5 * 3600);
    assert_eq!(off(&z, 1_710_054_000), -4 * 3600);
    // 2024-11-03 06:00 UTC: EST again.
    assert_eq!(off(&z, 1_730_613_599), -4 * 3600);
    assert_eq!(off(&z, 1_730_613_600), -5 * 3600);
    // glibc: no DST before 1970 with a rule string.
    assert_eq!(off(&z, -15_000_000), -5 * 3600);
    let south = Zone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
    assert_eq!(off(&south, -15_000_000), 11 * 3600);
    assert_eq!(off(&south, 1_720_000_000), 10 * 3600);
}

#[test]
fn posix_parse_quirks() {
    assert_eq!(off(&Zone::from_posix("IST-5:30"), 0), 19_800);
    assert_eq!(off(&Zone::from_posix("<+0330>-3:30"), 0), 12_600);
    assert_eq!(off(&Zone::from_posix("Nowhere/Bogus"), 0), 0);
    assert_eq!(off(&Zone::from_posix("EST"), 0), 0);
    // No rule: the US one.
    assert_eq!(off(&Zone::from_posix("FOO5BAR"), 1_720_000_000), -4 * 3600);
}

#[test]
fn glibc_oob_month() {
    // "M" with no numbers: glibc keeps type M with m = 0.
    let z = Zone::from_posix("EST5EDT,Mx,M11.1.0");
    let _ = z.span(1_720_000_000);
    let _ = z.span(1_704_067_200 + 86_400 * 366); // a leap year
}

proptest::proptest! {
    #[test]
    fn posix_strings_never_panic(s in "[A-Za-z<>+0-9:,./JM-]{0,40}", t in proptest::prelude::any::<i64>()) {
        let z = Zone::from_posix(&s);
        let sp = z.span(t);
        proptest::prop_assert!(sp.fail || (sp.lo <= t && t < sp.hi));
    }
}
