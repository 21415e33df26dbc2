//! Tests of svstat's status lines: daemontools' wording and the extension facts.

use super::*;

fn st(pid: u32, paused: bool, want: u8, secs_ago: u64) -> (Status, u64) {
    let now = Tai64N::from_unix(1_700_000_000, 0).secs;
    (
        Status {
            when: Tai64N {
                secs: now.wrapping_sub(secs_ago),
                nanos: 500,
            },
            pid,
            paused,
            want,
        },
        now,
    )
}

#[test]
fn line_table() {
    // (pid, paused byte, want byte, seconds ago, normally up, expected)
    let cases: &[(u32, bool, u8, u64, bool, &str)] = &[
        (17061, false, b'u', 2, true, "up (pid 17061) 2 seconds"),
        (0, false, b'd', 0, true, "down 0 seconds, normally up"),
        (
            17154,
            false,
            b'u',
            1,
            false,
            "up (pid 17154) 1 seconds, normally down",
        ),
        (
            17251,
            true,
            b'u',
            1,
            false,
            "up (pid 17251) 1 seconds, normally down, paused",
        ),
        (
            17304,
            false,
            b'd',
            4,
            true,
            "up (pid 17304) 4 seconds, want down",
        ),
        (0, false, b'u', 3600, false, "down 3600 seconds, want up"),
        (
            0,
            true,
            b'u',
            5,
            true,
            "down 5 seconds, normally up, want up",
        ),
        (
            9,
            true,
            b'd',
            7,
            false,
            "up (pid 9) 7 seconds, normally down, paused, want down",
        ),
        (9, false, 0, 7, true, "up (pid 9) 7 seconds"),
        (0, false, 0, 7, false, "down 7 seconds"),
        (0, false, b'd', 7, false, "down 7 seconds"),
        (9, false, b'u', 7, true, "up (pid 9) 7 seconds"),
    ];
    for &(pid, paused, want, ago, nu, want_line) in cases {
        let (s, now) = st(pid, paused, want, ago);
        assert_eq!(describe(&s, now, nu), want_line);
    }
}

#[test]
fn extension_facts() {
    let now = Tai64N::from_unix(1_700_000_000, 0).secs;
    let base = ExtStatus {
        extended: true,
        ..ExtStatus::default()
    };
    let cases: &[(ExtStatus, bool, &str)] = &[
        (ExtStatus::default(), false, ""),
        (
            ExtStatus {
                last_death: Death::Exited(1),
                ..ExtStatus::default()
            },
            false,
            "",
        ),
        (base, true, ""),
        (
            ExtStatus {
                ready: Some(Tai64N::from_unix(1_699_999_988, 500)),
                ..base
            },
            true,
            ", ready 12 seconds",
        ),
        (
            ExtStatus {
                finishing: true,
                last_death: Death::Killed(15),
                ..base
            },
            false,
            ", finishing, signal SIGTERM",
        ),
        (
            ExtStatus {
                permanent_failure: true,
                last_death: Death::Exited(2),
                ..base
            },
            false,
            ", permanent failure, exitcode 2",
        ),
        (
            ExtStatus {
                backoff_wait: true,
                delay_ms: 800,
                last_death: Death::Exited(0),
                ..base
            },
            false,
            ", back-off 800 ms, exitcode 0",
        ),
        (
            ExtStatus {
                last_death: Death::Exited(0),
                ..base
            },
            true,
            "",
        ),
    ];
    for (ext, up, want) in cases {
        let obs = Observed {
            status: Status {
                when: Tai64N::from_unix(1_699_999_980, 500),
                pid: if *up { 9 } else { 0 },
                paused: false,
                want: b'u',
            },
            ext: Some(*ext),
            notifies: true,
        };
        assert_eq!(describe_ext(&obs, now), *want, "{ext:?}");
    }
}

#[test]
fn future_stamp_is_clamped() {
    let (s, now) = st(0, false, b'd', 0);
    assert_eq!(describe(&s, now - 100, false), "down 0 seconds");
}
