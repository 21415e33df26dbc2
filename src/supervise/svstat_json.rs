//! `svstat-json DIR...`: svstat's facts as JSON, one object per directory
//! and per line (JSON Lines), for scripts and monitors. A companion program
//! rather than an option, so that `svstat` reads its arguments exactly as
//! daemontools' does (every argument a directory).
//!
//! Keys of each object (see `docs/supervise.md`): `dir`; then either
//! `error` (svstat's text for the failure) or `up`, `pid`, `seconds`,
//! `normally_up`, `paused`, `want` (`"up"`, `"down"` or `"once"`),
//! `ready` and `ready_seconds` (readiness as `svwait -U` and svmetrics
//! see it: [`super::observe::Observed::ready`]), and, when supervise wrote
//! `supervise/extstatus` ([`super::extstatus`]): `extended`, `deaths`,
//! `restarts`,
//! `last_death` (`null`, `{"exitcode": N}` or `{"signal": "SIGTERM",
//! "signum": 15}`), `permanent_failure`, `finishing`, `backoff`,
//! `restart_delay_ms`.
//!
//! It has no options but `--help` and `--version` (to stdout, exit 0;
//! [`crate::cli`]): any other leading argument that starts with `-` is a
//! usage error (exit 100) naming it, rather than a directory, so a mistyped
//! option is never taken for one; `--` ends the options.
//!
//! Differences from daemontools: a new program.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use serde_json::{json, Map, Value};

use super::extfiles::signal_name;
use super::extstatus::{Death, ExtStatus};
use super::status::Status;
use super::svstat::{for_each_dir, inspect_here, Report};
use crate::cli::Cli;
use crate::djb::getopt::Getopt;
use crate::error::reason_errno;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

const PROG: &str = "svstat-json";
const USAGE: &str = "svstat-json [ -- ] dir ...";

/// svstat-json's command line, for `--help` and its usage errors.
const CLI: Cli = Cli {
    prog: PROG,
    usage: USAGE,
    options: &[
        (
            "--",
            "end of options (for a directory whose name starts with -)",
        ),
        ("--help", "print this help and exit"),
        ("--version", "print the version and exit"),
    ],
};

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Entry point of the `svstat-json` binary: runs it and returns the exit
/// code (0, or 111 as svstat's).
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args = match operands(&main.argv) {
        Ok(a) => a,
        Err(code) => return code,
    };
    for_each_dir(PROG, &args, |dir, out| {
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

/// `argv` without its options: it has none, so a leading word that starts
/// with `-` (but `-` itself) is a usage error, and `--` ends the options
/// (for a directory whose name starts with `-`). Element 0 stays.
fn operands(argv: &[OsString]) -> Result<Vec<OsString>, u8> {
    let mut g = Getopt::new(argv, "");
    let before = g.optind();
    match g.next_opt() {
        None => {
            if let Some(w) = Cli::ended_options(argv, before, g.optind()) {
                return Err(CLI.long_option(w));
            }
        }
        Some(Err(e)) => {
            e.print(argv);
            return Err(CLI.usage());
        }
        Some(Ok(_)) => return Err(CLI.usage()),
    }
    let mut out = Vec::with_capacity(argv.len());
    out.extend(argv.first().cloned());
    out.extend(argv.get(g.optind()..).unwrap_or_default().iter().cloned());
    Ok(out)
}

/// Add the keys for one report.
pub(crate) fn facts(report: Report, obj: &mut Map<String, Value>) {
    let (obs, normally_up, now) = match report {
        Report::Error(e) => {
            obj.insert("error".into(), e.into());
            return;
        }
        Report::Status {
            obs,
            normally_up,
            now,
        } => (obs, normally_up, now),
    };
    let Status {
        when, pid, paused, ..
    } = obs.status;
    let up = pid != 0;
    let want = match obs.status.want {
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
        // The one definition (svwait -U, svstat, svmetrics).
        ("ready".into(), obs.ready().into()),
        (
            "ready_seconds".into(),
            obs.ready_at()
                .map_or(Value::Null, |t| now.saturating_sub(t.secs).into()),
        ),
    ]);
    if let Some(e) = obs.ext {
        ext_facts(&e, obj);
    }
}

fn ext_facts(e: &ExtStatus, obj: &mut Map<String, Value>) {
    let last = match e.last_death {
        Death::None => Value::Null,
        Death::Exited(c) => json!({ "exitcode": c }),
        Death::Killed(s) => json!({ "signal": signal_name(i32::from(s)), "signum": s }),
    };
    obj.extend([
        ("extended".into(), e.extended.into()),
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
    use crate::supervise::observe::Observed;
    use crate::tai64::Tai64N;

    #[test]
    fn options_are_refused() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(operands(&a(&["j", "x", "-y"])), Ok(a(&["j", "x", "-y"])));
        assert_eq!(operands(&a(&["j", "--", "-y"])), Ok(a(&["j", "-y"])));
        assert_eq!(operands(&a(&["j", "-", "x"])), Ok(a(&["j", "-", "x"])));
        assert_eq!(operands(&a(&["j"])), Ok(a(&["j"])));
        for bad in [
            &["j", "-x", "d"][..],
            &["j", "--helpx"],
            &["j", "--json", "d"],
        ] {
            assert_eq!(operands(&a(bad)), Err(100), "{bad:?}");
        }
        // --version answers (to stdout) and ends the program with 0.
        assert_eq!(operands(&a(&["j", "--version", "d"])), Err(0));
    }

    #[test]
    fn objects() {
        let now = Tai64N::from_unix(1_700_000_000, 0).secs;
        let st = Status {
            when: Tai64N::from_unix(1_699_999_990, 500),
            pid: 42,
            paused: false,
            want: b'u',
        };
        let report = |ext, notifies| Report::Status {
            obs: Observed {
                status: st,
                ext,
                notifies,
            },
            normally_up: true,
            now,
        };
        let mut o = Map::new();
        facts(report(None, false), &mut o);
        assert_eq!(
            Value::Object(o).to_string(),
            r#"{"normally_up":true,"paused":false,"pid":42,"ready":true,"ready_seconds":null,"seconds":10,"up":true,"want":"up"}"#
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
        facts(report(Some(ext), true), &mut o);
        assert_eq!(o["ready"], json!(true));
        assert_eq!(o["ready_seconds"], json!(5));
        assert_eq!(o["last_death"], json!({"signal": "SIGKILL", "signum": 9}));
        assert_eq!(o["deaths"], json!(3));
        assert_eq!(o["restart_delay_ms"], json!(1000));
        let waiting = ExtStatus { ready: None, ..ext };
        let mut o = Map::new();
        facts(report(Some(waiting), true), &mut o);
        assert_eq!(
            (&o["ready"], &o["ready_seconds"]),
            (&json!(false), &Value::Null)
        );
        let mut o = Map::new();
        facts(Report::Error("supervise not running".into()), &mut o);
        assert_eq!(o["error"], json!("supervise not running"));
    }
}
