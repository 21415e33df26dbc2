//! `svscanboot [DIR]`: start `svscan` at boot with its errors shown in the
//! process list (ports daemontools 0.76's `svscanboot.sh`, spec §10.2).
//!
//! The script is
//!
//! ```sh
//! PATH=/command:/usr/local/bin:...
//! exec </dev/null >/dev/null 2>/dev/null
//! svc -dx /service/* /service/*/log
//! env - PATH=$PATH svscan /service 2>&1 | \
//! env - PATH=$PATH readproctitle service errors: .......
//! ```
//!
//! Here it is a program, so that `cargo install` and packages install it
//! like every other one. The differences from running the script are
//! invisible from outside: the globs are expanded as `sh` expands them
//! (sorted bytewise, dot files skipped, a pattern with no match passed on
//! as it is), and instead of waiting for the pipeline `svscanboot` becomes
//! `readproctitle` itself, which ends, as the pipeline does, when `svscan`
//! and everything holding the pipe are gone.

use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::EXIT_TEMP;

/// daemontools' fixed `PATH` (`svscanboot.sh`).
pub(crate) const PATH: &str =
    "/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/X11R6/bin";
/// The default scan directory.
pub(crate) const SERVICE_DIR: &str = "/service";
/// `readproctitle`'s title area: 400 dots, as in `svscanboot.sh`.
const DOTS: usize = 400;

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Ignore;

/// Run `svscanboot` with `args` (the program name first). Returns only
/// when `readproctitle` cannot be run.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let args = &main.argv;
    let path = std::env::var_os("SVSCANBOOT_PATH").unwrap_or_else(|| PATH.into());
    let dir: OsString = args
        .get(1)
        .cloned()
        .or_else(|| std::env::var_os("SVSCANDIR"))
        .unwrap_or_else(|| SERVICE_DIR.into());

    // `exec </dev/null >/dev/null 2>/dev/null`: nothing below may write to
    // a console that init gave us.
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }

    // `svc -dx DIR/* DIR/*/log`: stop supervise processes left over from
    // an earlier svscan, so the new one can start its own.
    let mut svc_args = glob_children(Path::new(&dir), None);
    svc_args.extend(glob_children(Path::new(&dir), Some("log")));
    let _ = Command::new("svc")
        .env("PATH", &path)
        .arg("-dx")
        .args(&svc_args)
        .status();

    // `env - PATH=$PATH svscan DIR 2>&1 | env - PATH=$PATH readproctitle …`
    let Ok((rd, wr)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
        return EXIT_TEMP;
    };
    let Ok(wr2) = wr.try_clone() else {
        return EXIT_TEMP;
    };
    let svscan = Command::new("svscan")
        .env_clear()
        .env("PATH", &path)
        .arg(&dir)
        .stdin(Stdio::inherit())
        .stdout(wr)
        .stderr(wr2)
        .spawn();
    if svscan.is_err() {
        return EXIT_TEMP;
    }
    let dots = ".".repeat(DOTS);
    let err = Command::new("readproctitle")
        .env_clear()
        .env("PATH", &path)
        .args(["service", "errors:", &dots])
        .stdin(rd)
        .exec();
    drop(err);
    EXIT_TEMP
}

/// `sh`'s expansion of `DIR/*` (`sub` = None) or `DIR/*/SUB`: the matching
/// names in bytewise order, dot files skipped; the pattern itself when
/// nothing matches.
fn glob_children(dir: &Path, sub: Option<&str>) -> Vec<OsString> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name())
                .filter(|n| !n.as_bytes().starts_with(b"."))
                .collect()
        })
        .unwrap_or_default();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out: Vec<OsString> = names
        .iter()
        .map(|n| {
            let p = dir.join(n);
            match sub {
                Some(s) => p.join(s),
                None => p,
            }
        })
        // `*/log` matches only where the path exists (a dangling symlink
        // still matches, as it does for the shell's readdir-based glob).
        .filter(|p| sub.is_none() || p.symlink_metadata().is_ok())
        .map(std::path::PathBuf::into_os_string)
        .collect();
    if out.is_empty() {
        let mut pat = dir.as_os_str().to_os_string();
        pat.push(OsStr::new("/*"));
        if let Some(s) = sub {
            pat.push("/");
            pat.push(s);
        }
        out.push(pat);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_sh() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        assert_eq!(
            glob_children(d, None),
            vec![d.join("*").into_os_string()],
            "no match leaves the pattern"
        );
        for n in ["b", "a", ".hidden", "B"] {
            std::fs::create_dir(d.join(n)).unwrap();
        }
        std::fs::create_dir(d.join("b/log")).unwrap();
        let got = glob_children(d, None);
        let want: Vec<OsString> = ["B", "a", "b"]
            .iter()
            .map(|n| d.join(n).into_os_string())
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            glob_children(d, Some("log")),
            vec![d.join("b/log").into_os_string()]
        );
    }
}
