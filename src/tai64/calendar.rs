//! Proleptic Gregorian calendar arithmetic shared by the zone rules
//! ([`super::tz`]) and the rendering ([`super::local`]): Howard Hinnant's
//! `days_from_civil`/`civil_from_days`, and the pieces of glibc's
//! `__offtime` and `compute_change` that the zone rules need.

/// Seconds in a day (glibc's `SECSPERDAY`).
pub(crate) const SECSPERDAY: i64 = 86_400;

/// `days_from_civil`: days since 1970-01-01 of proleptic Gregorian
/// `y-m-d` (inverse of [`civil_from_days`]).
#[must_use]
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian `(year, month, day)` of day `z` since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, exact over the whole `i64` range
/// used here).
#[must_use]
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The UTC year of `t` if `__offtime(t, 0)` succeeds (year - 1900 fits an
/// `int`): the true year, and `1900 + tm_year` as C computes it in `int`.
#[must_use]
pub(crate) fn utc_year(t: i64) -> Option<(i64, i32)> {
    let (y, _, _) = civil_from_days(t.div_euclid(SECSPERDAY));
    i32::try_from(y - 1900)
        .ok()
        .map(|ty| (y, 1900i32.wrapping_add(ty)))
}

/// Gregorian leap year (glibc's `__isleap`), on C `int` years.
#[must_use]
pub(crate) fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// glibc's `__mon_yday`: days before each month, common and leap years.
pub(crate) static MON_YDAY: [[u16; 13]; 2] = [
    [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365],
    [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for day in (-3_652_059i64..2_932_896)
            .step_by(997)
            .chain([i64::from(i32::MAX) * 400, -1_000_000_000_000])
        {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
