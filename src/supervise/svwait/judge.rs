//! svwait's verdict: does an observed state satisfy the wait (`-u -U -d
//! -D`, all or one), or can it never? Pure logic over [`Observed`]; the
//! waiting itself is in [`super`].

use super::super::observe::Observed;

/// The largest permanent-failure count reported as an exit code.
const MAX_FAILED: usize = 98;

/// The state waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// `-u`: up (a pid in `status`).
    Up,
    /// `-U`: up and ready.
    Ready,
    /// `-d`: down.
    Down,
    /// `-D`: down and `finish` not running.
    Finished,
}

impl Want {
    /// Does `o` satisfy this?
    #[must_use]
    pub(crate) fn holds(self, o: &Observed) -> bool {
        match self {
            Want::Up => o.up(),
            Want::Ready => o.ready(),
            Want::Down => !o.up(),
            Want::Finished => !o.up() && !o.finishing(),
        }
    }

    /// Can `o` never satisfy this (down for good while waiting for up)?
    #[must_use]
    pub(crate) fn hopeless(self, o: &Observed) -> bool {
        matches!(self, Want::Up | Want::Ready) && o.permanent_failure()
    }
}

/// The verdict on a set of observations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Keep waiting.
    Wait,
    /// Exit with this code.
    Exit(u8),
}

/// `-a` (all, `any == false`) or `-o` (one): is the wait over?
#[must_use]
pub(crate) fn judge(want: Want, any: bool, seen: &[Observed]) -> Verdict {
    let holding = seen.iter().filter(|o| want.holds(o)).count();
    let failed = seen.iter().filter(|o| want.hopeless(o)).count();
    let done = if any {
        holding > 0 || seen.is_empty()
    } else {
        holding == seen.len()
    };
    if done {
        return Verdict::Exit(0);
    }
    let lost = if any {
        failed == seen.len()
    } else {
        failed > 0
    };
    if lost {
        // `failed` > 0 here; capped below the codes with other meanings.
        return Verdict::Exit(u8::try_from(failed.min(MAX_FAILED)).unwrap_or(1));
    }
    Verdict::Wait
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::extstatus::ExtStatus;

    fn o(pid: u32, ext: Option<ExtStatus>) -> Observed {
        crate::supervise::observe::test_observed(pid, ext)
    }

    #[test]
    fn all_one_and_permanent_failures() {
        let pf = Some(ExtStatus {
            permanent_failure: true,
            ..ExtStatus::default()
        });
        let (up, down, dead) = (o(7, None), o(0, None), o(0, pf));
        assert_eq!(judge(Want::Up, false, &[up, up]), Verdict::Exit(0));
        assert_eq!(judge(Want::Up, false, &[up, down]), Verdict::Wait);
        assert_eq!(judge(Want::Up, true, &[up, down]), Verdict::Exit(0));
        assert_eq!(judge(Want::Down, false, &[down, dead]), Verdict::Exit(0));
        assert_eq!(judge(Want::Up, false, &[up, dead]), Verdict::Exit(1));
        assert_eq!(judge(Want::Ready, false, &[dead, dead]), Verdict::Exit(2));
        assert_eq!(judge(Want::Up, true, &[down, dead]), Verdict::Wait);
        assert_eq!(judge(Want::Up, true, &[dead, dead]), Verdict::Exit(2));
        assert_eq!(judge(Want::Up, true, &[]), Verdict::Exit(0));
        let many = vec![dead; 300];
        assert_eq!(judge(Want::Up, false, &many), Verdict::Exit(98));
    }

    #[test]
    fn finished_needs_finish_done() {
        let fin = Some(ExtStatus {
            finishing: true,
            ..ExtStatus::default()
        });
        assert!(Want::Down.holds(&o(0, fin)));
        assert!(!Want::Finished.holds(&o(0, fin)));
        assert!(Want::Finished.holds(&o(0, None)));
        assert!(!Want::Finished.holds(&o(3, None)));
    }
}
