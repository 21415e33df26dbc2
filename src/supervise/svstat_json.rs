//! `svstat-json DIR...`: svstat's facts as JSON, one object per directory
//! and per line (JSON Lines), for scripts and monitors. A companion program
//! rather than an option, so that `svstat` reads its arguments exactly as
//! daemontools' does (every argument a directory).
//!
//! Keys of each object (see `docs/supervise.md`): `dir`; then either
//! `error` (svstat's text for the failure) or `up`, `pid`, `seconds`,
//! `normally_up`, `paused`, `want` (`"up"`, `"down"` or `"once"`), and,
//! when supervise wrote `supervise/extstatus` ([`super::extstatus`]):
//! `extended`, `ready`, `ready_seconds`, `deaths`, `restarts`,
//! `last_death` (`null`, `{"exitcode": N}` or `{"signal": "SIGTERM",
//! "signum": 15}`), `permanent_failure`, `finishing`, `backoff`,
//! `restart_delay_ms`.
//!
//! Differences from daemontools: a new program.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use serde_json::{json, Map, Value};

use super::extfiles::signal_name;
use super::extstatus::{Death, ExtStatus};
use super::status::Status;
use super::svstat::{for_each_dir, inspect_here, Report};
use crate::error::reason_errno;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

const PROG: &str = "svstat-json";

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Entry point of the `svstat-json` binary: runs it and returns the exit
/// code (0, or 111 as svstat's).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    for_each_dir(PROG, &main.argv, |dir, out| {
        let mut obj = Map::new();
        obj.insert("dir".into(), String::from_utf8_lossy(dir).into());
        match rustix::process::chdir(OsStr::from_bytes(dir)) {
            Err(e) => {
                let why = format!("unable to chdir: {}", reason_errno(e));
                obj.insert("error".into(), why.into());
            }
            Ok(()) => facts(inspect_here(), &mut obj),
        }
        out.extend_from_slice(Value::Object(obj).to_string().as_bytes());
        out.push(b'\n');
    })
}

/// Add the keys for one report.
pub(crate) fn facts(report: Report, obj: &mut Map<String, Value>) {
    let (st, normally_up, ext, now) = match report {
        Report::Error(e) => {
            obj.insert("error".into(), e.into());
            return;
        }
        Report::Status {
            st,
            normally_up,
            ext,
            now,
        } => (st, normally_up, ext, now),
    };
    let Status {
        when, pid, paused, ..
    } = st;
    let up = pid != 0;
    let want = match st.want {
        b'u' => "up",
        b'd' => "down",
        _ => "once",
    };
    obj.extend([
        ("up".into(), up.into()),
        ("pid".into(), if up { pid.into() } else { Value::Null }),
        ("seconds".into(), now.saturating_sub(when.secs).into()),
        ("normally_up".into(), normally_up.into()),
        ("paused".into(), (up && paused).into()),
        ("want".into(), want.into()),
    ]);
    if let Some(e) = ext {
        ext_facts(&e, up, now, obj);
    }
}

fn ext_facts(e: &ExtStatus, up: bool, now: u64, obj: &mut Map<String, Value>) {
    let ready = e.ready.filter(|_| up);
    let last = match e.last_death {
        Death::None => Value::Null,
        Death::Exited(c) => json!({ "exitcode": c }),
        Death::Killed(s) => json!({ "signal": signal_name(i32::from(s)), "signum": s }),
    };
    obj.extend([
        ("extended".into(), e.extended.into()),
        ("ready".into(), ready.is_some().into()),
        (
            "ready_seconds".into(),
            ready.map_or(Value::Null, |t| now.saturating_sub(t.secs).into()),
        ),
        ("deaths".into(), e.deaths.into()),
        ("restarts".into(), e.restarts.into()),
        ("last_death".into(), last),
        ("permanent_failure".into(), e.permanent_failure.into()),
        ("finishing".into(), e.finishing.into()),
        ("backoff".into(), e.backoff_wait.into()),
        ("restart_delay_ms".into(), e.delay_ms.into()),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tai64::Tai64N;

    #[test]
    fn objects() {
        let now = Tai64N::from_unix(1_700_000_000, 0).secs;
        let st = Status {
            when: Tai64N::from_unix(1_699_999_990, 500),
            pid: 42,
            paused: false,
            want: b'u',
        };
        let mut o = Map::new();
        facts(
            Report::Status {
                st,
                normally_up: true,
                ext: None,
                now,
            },
            &mut o,
        );
        assert_eq!(
            Value::Object(o).to_string(),
            r#"{"normally_up":true,"paused":false,"pid":42,"seconds":10,"up":true,"want":"up"}"#
        );
        let ext = ExtStatus {
            ready: Some(Tai64N::from_unix(1_699_999_995, 500)),
            deaths: 3,
            restarts: 3,
            last_death: Death::Killed(9),
            extended: true,
            ..ExtStatus::default()
        };
        let mut o = Map::new();
        facts(
            Report::Status {
                st,
                normally_up: true,
                ext: Some(ext),
                now,
            },
            &mut o,
        );
        assert_eq!(o["ready_seconds"], json!(5));
        assert_eq!(o["last_death"], json!({"signal": "SIGKILL", "signum": 9}));
        assert_eq!(o["deaths"], json!(3));
        assert_eq!(o["restart_delay_ms"], json!(1000));
        let mut o = Map::new();
        facts(Report::Error("supervise not running".into()), &mut o);
        assert_eq!(o["error"], json!("supervise not running"));
    }
}
