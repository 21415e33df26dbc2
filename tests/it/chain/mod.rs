//! Differential tests for the chain-loading tools against the reference
//! daemontools binaries in `/usr/bin`, plus golden checks that run even when
//! the reference is missing.
//!
//! Each case runs our binary and the reference with the same arguments,
//! environment, cwd and fixtures, and compares exit status, stdout and
//! stderr byte for byte. The child's view (ids, groups, limits, env, fds,
//! process group) is compared by making the child print it.

use crate::support as common;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ours, ours_public, reference, wait_deadline};

mod envdir;
mod ids;
mod tools;

const DEADLINE: Duration = Duration::from_secs(30);

// ---- harness ---------------------------------------------------------------

fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_deadline(cmd.spawn().expect("spawn"), DEADLINE)
}

fn show(o: &Output) -> String {
    format!(
        "status={:?} signal={:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        o.status.signal(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run `mk(binary)` for our `prog` and, when installed, the reference;
/// assert identical results; return ours. Ours is the world-executable
/// copy, as some cases run it as `nobody` (see `ours_public`).
fn both(prog: &str, mk: impl Fn(&Path) -> Command) -> Output {
    let mine = run(mk(&ours_public(prog)));
    if let Some(r) = reference(prog) {
        let theirs = run(mk(&r));
        assert!(
            mine.status.code() == theirs.status.code()
                && mine.status.signal() == theirs.status.signal()
                && mine.stdout == theirs.stdout
                && mine.stderr == theirs.stderr,
            "{prog} differs from the reference\n=== ours ===\n{}\n=== reference ===\n{}",
            show(&mine),
            show(&theirs)
        );
    }
    mine
}

/// `both` with plain arguments and the test's environment.
fn both_args<S: AsRef<OsStr>>(prog: &str, args: &[S]) -> Output {
    both(prog, |bin| {
        let mut c = Command::new(bin);
        c.args(args);
        c
    })
}

fn expect(o: &Output, code: i32, stdout: &[u8], stderr: &[u8]) {
    assert!(
        o.status.code() == Some(code) && o.stdout == stdout && o.stderr == stderr,
        "expected status {code}, stdout {:?}, stderr {:?}; got\n{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr),
        show(o)
    );
}

/// The descriptors a child of this test process starts with (the test
/// runner may itself have inherited some beyond 0-2).
fn baseline_fds() -> Vec<u32> {
    let o = run({
        let mut c = Command::new("ls");
        c.arg("/proc/self/fd");
        c
    });
    let mut v = fd_list(&o.stdout);
    v.pop(); // ls's own directory descriptor, the highest
    v
}

fn fd_list(out: &[u8]) -> Vec<u32> {
    let mut v: Vec<u32> = String::from_utf8_lossy(out)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    v.sort_unstable();
    v
}

/// How many descriptors in `out` (an `ls /proc/self/fd` listing) are not
/// in the baseline.
fn extra_fds(out: &[u8]) -> usize {
    let base = baseline_fds();
    fd_list(out).iter().filter(|f| !base.contains(f)).count()
}

fn is_root() -> bool {
    common::root_or_skip("root-only test")
}

fn tmp() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn bytes(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

fn write_exec(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

const SOFTLIMIT_USAGE: &[u8] = b"softlimit: usage: softlimit [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child\n";
const SETLOCK_USAGE: &[u8] = b"setlock: usage: setlock [ -nNxX ] file program [ arg ... ]\n";

// ---- usage lines -----------------------------------------------------------

#[test]
fn usage_lines_and_codes() {
    let cases: &[(&str, &[&str], i32, &[u8])] = &[
        (
            "setuidgid",
            &[],
            100,
            b"setuidgid: usage: setuidgid account child\n",
        ),
        (
            "setuidgid",
            &["nobody"],
            100,
            b"setuidgid: usage: setuidgid account child\n",
        ),
        (
            "envuidgid",
            &[],
            100,
            b"envuidgid: usage: envuidgid account child\n",
        ),
        (
            "envuidgid",
            &["nobody"],
            100,
            b"envuidgid: usage: envuidgid account child\n",
        ),
        ("envdir", &[], 111, b"envdir: usage: envdir dir child\n"),
        ("envdir", &["/"], 111, b"envdir: usage: envdir dir child\n"),
        ("pgrphack", &[], 100, b"pgrphack: usage: pgrphack child\n"),
        ("fghack", &[], 100, b"fghack: usage: fghack child\n"),
        ("softlimit", &[], 100, SOFTLIMIT_USAGE),
        ("softlimit", &["-o", "5"], 100, SOFTLIMIT_USAGE),
        ("softlimit", &["-o", "10k", "true"], 100, SOFTLIMIT_USAGE),
        ("softlimit", &["-o", "-1", "true"], 100, SOFTLIMIT_USAGE),
        ("softlimit", &["-o", " 1", "true"], 100, SOFTLIMIT_USAGE),
        ("softlimit", &["-o", "=5", "true"], 100, SOFTLIMIT_USAGE),
        ("softlimit", &["-o", "5", "--"], 100, SOFTLIMIT_USAGE),
        ("setlock", &[], 100, SETLOCK_USAGE),
        ("setlock", &["f"], 100, SETLOCK_USAGE),
        ("setlock", &["-n", "-x", "f"], 100, SETLOCK_USAGE),
        ("setlock", &["--", "f"], 100, SETLOCK_USAGE),
    ];
    for (prog, args, code, err) in cases {
        let o = both_args(prog, args);
        expect(&o, *code, b"", err);
    }
}

#[test]
fn getopt_errors_use_argv0_basename() {
    let mut illegal = b"softlimit: illegal option -- x\n".to_vec();
    illegal.extend_from_slice(SOFTLIMIT_USAGE);
    expect(&both_args("softlimit", &["-x", "5"]), 100, b"", &illegal);

    let mut missing = b"softlimit: option requires an argument -- o\n".to_vec();
    missing.extend_from_slice(SOFTLIMIT_USAGE);
    expect(&both_args("softlimit", &["-o"]), 100, b"", &missing);

    let mut bundled = b"setlock: illegal option -- q\n".to_vec();
    bundled.extend_from_slice(SETLOCK_USAGE);
    expect(
        &both_args("setlock", &["-nxq", "f", "true"]),
        100,
        b"",
        &bundled,
    );

    // The getopt line names argv[0]'s basename; the usage line does not.
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.arg0("/some/where/sl").args(["-z", "f", "true"]);
        c
    });
    let mut renamed = b"sl: illegal option -- z\n".to_vec();
    renamed.extend_from_slice(SETLOCK_USAGE);
    expect(&o, 100, b"", &renamed);

    // A non-ASCII option byte is printed raw.
    let o = both("softlimit", |bin| {
        let mut c = Command::new(bin);
        c.arg(bytes(b"-\xff")).arg("true");
        c
    });
    let mut raw = b"softlimit: illegal option -- \xff\n".to_vec();
    raw.extend_from_slice(SOFTLIMIT_USAGE);
    expect(&o, 100, b"", &raw);
}

#[test]
fn getopt_terminators() {
    let d = tmp();
    let lock = d.path().join("lock");
    // `--anything` is consumed like `--`.
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.arg("--foo").arg(&lock).args(["echo", "ran"]);
        c
    });
    expect(&o, 0, b"ran\n", b"");
    // A lone `-` is an operand (the lock file name here).
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.current_dir(d.path()).args(["-", "echo", "dash"]);
        c
    });
    expect(&o, 0, b"dash\n", b"");
    assert!(d.path().join("-").exists());
    // Options stop at the first operand.
    let o = both("softlimit", |bin| {
        let mut c = Command::new(bin);
        c.args(["-c0", "echo", "-o", "5"]);
        c
    });
    expect(&o, 0, b"-o 5\n", b"");
}

// ---- PATH search (pathexec_run) -------------------------------------------

struct PathFixture {
    dir: tempfile::TempDir,
}

impl PathFixture {
    /// `noexec/prog` (0644: EACCES), `empty/`, `good/prog` (prints "good"),
    /// `badfmt/prog` (0755 garbage: ENOEXEC), `locked/` (0700).
    fn new() -> Self {
        let dir = tmp();
        let p = dir.path();
        for sub in ["noexec", "empty", "good", "badfmt", "locked"] {
            fs::create_dir(p.join(sub)).unwrap();
        }
        fs::write(p.join("noexec/prog"), "#!/bin/sh\necho noexec\n").unwrap();
        write_exec(&p.join("good/prog"), "#!/bin/sh\necho good \"$@\"\n");
        write_exec(&p.join("badfmt/prog"), "\x7fELF garbage\n");
        fs::set_permissions(p.join("locked"), fs::Permissions::from_mode(0o700)).unwrap();
        PathFixture { dir }
    }

    fn path(&self, subs: &[&str]) -> OsString {
        let v: Vec<String> = subs
            .iter()
            .map(|s| {
                if s.is_empty() {
                    String::new()
                } else {
                    self.dir.path().join(s).to_str().unwrap().to_owned()
                }
            })
            .collect();
        OsString::from(v.join(":"))
    }
}

fn pgrphack_with_path(
    fx: &PathFixture,
    path: Option<OsString>,
    cwd: &Path,
    args: &[&str],
) -> Output {
    both("pgrphack", |bin| {
        let mut c = Command::new(bin);
        c.current_dir(cwd).args(args);
        match &path {
            Some(p) => c.env("PATH", p),
            None => c.env_remove("PATH"),
        };
        let _ = fx;
        c
    })
}

#[test]
fn path_search_rules() {
    let fx = PathFixture::new();
    let root = fx.dir.path();
    // EACCES is remembered and the search goes on.
    let o = pgrphack_with_path(
        &fx,
        Some(fx.path(&["noexec", "empty", "good"])),
        root,
        &["prog", "x"],
    );
    expect(&o, 0, b"good x\n", b"");
    // ... and reported when nothing is found.
    let o = pgrphack_with_path(&fx, Some(fx.path(&["noexec", "empty"])), root, &["prog"]);
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run prog: access denied\n",
    );
    // Other errors stop the search at once.
    let o = pgrphack_with_path(&fx, Some(fx.path(&["badfmt", "good"])), root, &["prog"]);
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run prog: exec format error\n",
    );
    // Nothing at all: ENOENT.
    let o = pgrphack_with_path(&fx, Some(fx.path(&["empty"])), root, &["prog"]);
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run prog: file does not exist\n",
    );
    // Empty elements mean the current directory.
    let good = root.join("good");
    for p in [
        fx.path(&["", "empty"]),
        fx.path(&["empty", ""]),
        OsString::new(),
    ] {
        let o = pgrphack_with_path(&fx, Some(p), &good, &["prog"]);
        expect(&o, 0, b"good\n", b"");
    }
    // PATH unset means /bin:/usr/bin, not the current directory.
    let o = pgrphack_with_path(&fx, None, &good, &["prog"]);
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run prog: file does not exist\n",
    );
    let o = pgrphack_with_path(&fx, None, &good, &["echo", "found"]);
    expect(&o, 0, b"found\n", b"");
    // A name with a slash is not searched.
    let o = pgrphack_with_path(&fx, Some(fx.path(&["good"])), root, &["good/prog"]);
    expect(&o, 0, b"good\n", b"");
    let o = pgrphack_with_path(&fx, Some(fx.path(&["good"])), root, &["./prog"]);
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run ./prog: file does not exist\n",
    );
    // An empty name tries "DIR/", a directory.
    let o = pgrphack_with_path(&fx, Some(fx.path(&["empty"])), root, &[""]);
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run : access denied\n",
    );
}

#[test]
fn unable_to_run_for_every_tool() {
    let d = tmp();
    let envd = d.path().join("env");
    fs::create_dir(&envd).unwrap();
    let lock = d.path().join("lock");
    let envd_s = envd.to_str().unwrap();
    let lock_s = lock.to_str().unwrap();
    let cases: &[(&str, Vec<&str>)] = &[
        ("setuidgid", vec!["root"]),
        ("envuidgid", vec!["root"]),
        ("envdir", vec![envd_s]),
        ("softlimit", vec!["-o", "="]),
        ("setlock", vec![lock_s]),
        ("setlock", vec!["-x", lock_s]),
        ("pgrphack", vec![]),
        ("fghack", vec![]),
    ];
    for (prog, pre) in cases {
        if *prog == "setuidgid" && !is_root() {
            continue;
        }
        let o = both(prog, |bin| {
            let mut c = Command::new(bin);
            c.args(pre)
                .arg("no-such-program-x")
                .env("PATH", "/nonexistent:/usr/bin");
            c
        });
        let msg = format!("{prog}: fatal: unable to run no-such-program-x: file does not exist\n");
        expect(&o, 111, b"", msg.as_bytes());
    }
    // Non-UTF-8 program names are reported as raw bytes.
    let o = both("pgrphack", |bin| {
        let mut c = Command::new(bin);
        c.arg(bytes(b"/nonexistent/\xff\xfe"));
        c
    });
    expect(
        &o,
        111,
        b"",
        b"pgrphack: fatal: unable to run /nonexistent/\xff\xfe: file does not exist\n",
    );
}

#[test]
fn non_utf8_arguments_pass_through() {
    let o = both("pgrphack", |bin| {
        let mut c = Command::new(bin);
        c.arg("printf")
            .arg("%s|%s")
            .arg(bytes(b"\xff\x80"))
            .arg(bytes(b"a\xc3"));
        c
    });
    expect(&o, 0, b"\xff\x80|a\xc3", b"");
}

#[test]
fn inherited_state_is_passed_on() {
    // SIGPIPE ignored by the caller stays ignored in the child, and a
    // closed stdin stays closed (so setlock's lock lands on fd 0).
    let d = tmp();
    let lock = d.path().join("lock");
    let o = both("setlock", |bin| {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("trap '' PIPE; exec \"$0\" \"$1\" sh -c 'grep SigIgn /proc/self/status; readlink /proc/self/fd/0' <&-")
            .arg(bin)
            .arg(&lock);
        c
    });
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines = text.lines();
    assert!(sigpipe_ignored(lines.next().unwrap()), "{}", show(&o));
    assert_eq!(lines.next(), Some(lock.to_str().unwrap()), "{}", show(&o));
    // And a default SIGPIPE stays default.
    let o = both_args("pgrphack", &["grep", "SigIgn", "/proc/self/status"]);
    assert!(
        !sigpipe_ignored(&String::from_utf8_lossy(&o.stdout)),
        "{}",
        show(&o)
    );
}

/// Is SIGPIPE (13) in a `SigIgn:` line?
fn sigpipe_ignored(line: &str) -> bool {
    let hex = line.trim().strip_prefix("SigIgn:").unwrap().trim();
    u64::from_str_radix(hex, 16).unwrap() & (1 << (libc_sigpipe() - 1)) != 0
}

fn libc_sigpipe() -> u32 {
    13
}
