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

// ---- setuidgid / envuidgid --------------------------------------------------

fn id_lines(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.starts_with("Uid:") || l.starts_with("Gid:") || l.starts_with("Groups:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn setuidgid_drops_to_account_and_primary_group_only() {
    if !is_root() {
        return;
    }
    // `games` has uid 5 and gid 60 on Debian, so a uid/gid mix-up shows;
    // fall back to nobody elsewhere. setpriv gives the caller extra groups
    // that must not survive.
    let (acct, want) = match Command::new("id").args(["-u", "games"]).output() {
        Ok(o) if o.status.success() && o.stdout == b"5\n" => {
            ("games", "Uid: 5 5 5 5\nGid: 60 60 60 60\nGroups: 60")
        }
        _ => (
            "nobody",
            "Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nGroups: 65534",
        ),
    };
    let setpriv = Path::new("/usr/bin/setpriv").exists();
    let o = both("setuidgid", |bin| {
        let mut c = if setpriv {
            let mut c = Command::new("/usr/bin/setpriv");
            c.args(["--groups", "4,24,27", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        c.args([
            acct,
            "grep",
            "-E",
            "^(Uid|Gid|Groups):",
            "/proc/self/status",
        ]);
        c
    });
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(id_lines(&o.stdout), want);
}

#[test]
fn setuidgid_keeps_environment() {
    if !is_root() {
        return;
    }
    let o = both("setuidgid", |bin| {
        let mut c = Command::new(bin);
        c.env_clear()
            .env("B", "2")
            .env("A", "1")
            .env("PATH", "/usr/bin:/bin")
            .args(["nobody", "env"]);
        c
    });
    let mut lines: Vec<&[u8]> = o
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        vec![&b"A=1"[..], b"B=2", b"PATH=/usr/bin:/bin"],
        "{}",
        show(&o)
    );
}

#[test]
fn setuidgid_errors() {
    let o = both_args("setuidgid", &["no-such-account-x", "true"]);
    expect(
        &o,
        111,
        b"",
        b"setuidgid: fatal: unknown account no-such-account-x\n",
    );
    let o = both_args("setuidgid", &["", "true"]);
    expect(&o, 111, b"", b"setuidgid: fatal: unknown account \n");
    let o = both("setuidgid", |bin| {
        let mut c = Command::new(bin);
        c.arg(bytes(b"acc\xff")).arg("true");
        c
    });
    expect(&o, 111, b"", b"setuidgid: fatal: unknown account acc\xff\n");
    if !is_root() {
        return;
    }
    // As nobody, setgroups fails: reported as setgid.
    let o = both("setuidgid", |bin| {
        let mut c = Command::new(ours("setuidgid"));
        c.arg("nobody").arg(bin).args(["root", "true"]);
        c
    });
    expect(
        &o,
        111,
        b"",
        b"setuidgid: fatal: unable to setgid: permission denied\n",
    );
    // The PATH search after dropping privileges sees an unsearchable
    // directory as EACCES and keeps going (spec §1.3's example).
    let fx = PathFixture::new();
    let o = both("setuidgid", |bin| {
        let mut c = Command::new(bin);
        c.env("PATH", fx.path(&["locked", "empty"]))
            .args(["nobody", "prog"]);
        c
    });
    expect(
        &o,
        111,
        b"",
        b"setuidgid: fatal: unable to run prog: access denied\n",
    );
}

#[test]
fn envuidgid_sets_ids_in_djb_order() {
    // GID is queued first; an existing UID is replaced by moving the last
    // entry into its slot, then appending.
    let o = both("envuidgid", |bin| {
        // env(1) keeps this order; Command would sort the variables.
        let mut c = Command::new("/usr/bin/env");
        c.args(["-i", "A=1", "UID=5", "B=2"])
            .arg(bin)
            .args(["nobody", "/usr/bin/env"]);
        c
    });
    expect(&o, 0, b"A=1\nGID=65534\nB=2\nUID=65534\n", b"");
    let o = both("envuidgid", |bin| {
        let mut c = Command::new("/usr/bin/env");
        c.args(["-i", "GID=x", "UID=y", "Z=z"])
            .arg(bin)
            .args(["root", "/usr/bin/env"]);
        c
    });
    expect(&o, 0, b"Z=z\nGID=0\nUID=0\n", b"");
    // No ids change.
    let o = both_args("envuidgid", &["nobody", "sh", "-c", "id -u; id -g"]);
    let me = Command::new("sh")
        .args(["-c", "id -u; id -g"])
        .output()
        .unwrap();
    expect(&o, 0, &me.stdout, b"");
    let o = both_args("envuidgid", &["no-such-account-x", "true"]);
    expect(
        &o,
        111,
        b"",
        b"envuidgid: fatal: unknown account no-such-account-x\n",
    );
}

// ---- envdir -------------------------------------------------------------------

fn envdir_env(dir: &Path, vars: &[(&str, &str)]) -> Output {
    both("envdir", |bin| {
        let mut c = Command::new(bin);
        c.env_clear()
            .envs(vars.iter().copied())
            .arg(dir)
            .arg("/usr/bin/env");
        c
    })
}

fn sorted_lines(b: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
    v.sort();
    v
}

#[test]
fn envdir_value_rules() {
    let d = tmp();
    let e = d.path();
    let files: &[(&[u8], &[u8])] = &[
        (b"EMPTY", b""),
        (b"NL", b"\n"),
        (b"SPACES", b"  \t \n"),
        (b"TRAIL", b"val \t \t\nsecond line\n"),
        (b"NUL", b"a\0b\0"),
        (b"LEAD", b"  lead"),
        (b"NONL", b"no newline"),
        (b"CR", b"cr\r\n"),
        (b".HIDDEN", b"hidden"),
        (b"E=Q", b"v"),
        (b"ZERO=EQ", b""),
        (b"N\xffAME", b"\xfe\xfd \n"),
    ];
    for (name, body) in files {
        fs::write(e.join(OsStr::from_bytes(name)), body).unwrap();
    }
    let o = envdir_env(
        e,
        &[
            ("EMPTY", "was"),
            ("TRAIL", "old"),
            ("KEEP", "1"),
            ("E", "old"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    // The order follows readdir; compare the set with the golden values.
    let mut want: Vec<Vec<u8>> = [
        &b"KEEP=1"[..],
        b"NL=",
        b"SPACES=",
        b"TRAIL=val",
        b"NUL=a",
        b"b",
        b"LEAD=  lead",
        b"NONL=no newline",
        b"CR=cr\r",
        b"E=Q=v",
        b"ZERO=EQ",
        b"N\xffAME=\xfe\xfd",
        b"",
        b"",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    want.sort();
    assert_eq!(sorted_lines(&o.stdout), want, "{}", show(&o));
}

/// A file `A` with `body` among 20 dangling symlinks `L00`..`L19`; returns
/// the expected `env` lines (sorted), following readdir order: a dangling
/// entry read after `A` gets the previous buffer (value + NUL), one read
/// before it is unset.
fn dangling_fixture(e: &Path, body: &[u8]) -> Vec<Vec<u8>> {
    fs::write(e.join("A"), body).unwrap();
    for i in 0..20 {
        symlink("/nonexistent/target", e.join(format!("L{i:02}"))).unwrap();
    }
    let mut buf: Vec<u8> = Vec::new(); // djb's stralloc, NUL included
    let mut lines: Vec<Vec<u8>> = vec![Vec::new()];
    let mut after_a = 0;
    for entry in fs::read_dir(e).unwrap() {
        let name = entry.unwrap().file_name().into_vec();
        if name == b"A" {
            buf = body.to_vec();
        } else if !buf.is_empty() {
            after_a += 1;
        }
        if buf.is_empty() {
            continue;
        }
        let mut v: Vec<u8> = buf.split(|&b| b == b'\n').next().unwrap().to_vec();
        while matches!(v.last(), Some(b' ' | b'\t')) {
            v.pop();
        }
        for b in &mut v {
            if *b == 0 {
                *b = b'\n';
            }
        }
        buf.clone_from(&v);
        buf.push(0);
        let mut line = name;
        line.push(b'=');
        line.extend_from_slice(&v);
        lines.extend(line.split(|&b| b == b'\n').map(<[u8]>::to_vec));
    }
    assert!(after_a > 0, "no dangling entry after A in readdir order");
    lines.sort();
    lines
}

#[test]
fn envdir_dangling_symlink_reuses_previous_buffer() {
    // After "ab" the buffer is "ab\0": the next vanished entry gets "ab\n",
    // the one after that "ab" again (cut at the newline), and so on.
    let d = tmp();
    let want = dangling_fixture(d.path(), b"ab");
    let o = envdir_env(d.path(), &[("L00", "old")]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(sorted_lines(&o.stdout), want, "{}", show(&o));
    // A value with a NUL-made newline is cut at it when reused.
    let d = tmp();
    let want = dangling_fixture(d.path(), b"x\0y \n");
    let o = envdir_env(d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(sorted_lines(&o.stdout), want, "{}", show(&o));
}

#[test]
fn envdir_fifo_and_symlinks() {
    let d = tmp();
    let e = d.path();
    let st = Command::new("mkfifo").arg(e.join("FIFO")).status().unwrap();
    assert!(st.success());
    fs::write(d.path().join("target"), "t\n").unwrap();
    let e2 = d.path().join("sub");
    fs::create_dir(&e2).unwrap();
    let st = Command::new("mkfifo")
        .arg(e2.join("FIFO"))
        .status()
        .unwrap();
    assert!(st.success());
    symlink("../target", e2.join("LINK")).unwrap();
    // A FIFO with no writer reads as empty (O_NONBLOCK): unset, no hang.
    let o = envdir_env(&e2, &[("FIFO", "x")]);
    expect(&o, 0, b"LINK=t\n", b"");
}

#[test]
fn envdir_errors() {
    let d = tmp();
    let sub = d.path().join("withsub");
    fs::create_dir_all(sub.join("inner")).unwrap();
    let o = both_args("envdir", &[sub.as_os_str(), OsStr::new("true")]);
    let msg = format!(
        "envdir: fatal: unable to read {}/inner: is a directory\n",
        sub.display()
    );
    expect(&o, 111, b"", msg.as_bytes());

    let o = both_args("envdir", &["/nonexistent/dir", "true"]);
    expect(
        &o,
        111,
        b"",
        b"envdir: fatal: unable to switch to directory /nonexistent/dir: file does not exist\n",
    );

    let file = d.path().join("plain");
    fs::write(&file, "x").unwrap();
    let o = both_args("envdir", &[file.as_os_str(), OsStr::new("true")]);
    let msg = format!(
        "envdir: fatal: unable to switch to directory {}: not a directory\n",
        file.display()
    );
    expect(&o, 111, b"", msg.as_bytes());

    // Relative DIR: messages name it as given.
    let o = both("envdir", |bin| {
        let mut c = Command::new(bin);
        c.current_dir(d.path()).args(["withsub", "true"]);
        c
    });
    expect(
        &o,
        111,
        b"",
        b"envdir: fatal: unable to read withsub/inner: is a directory\n",
    );

    if !is_root() {
        return;
    }
    // Unreadable file (as nobody): access denied. Unreadable dir too.
    let locked = d.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("SECRET"), "s").unwrap();
    fs::set_permissions(locked.join("SECRET"), fs::Permissions::from_mode(0o000)).unwrap();
    let o = both("envdir", |bin| {
        let mut c = Command::new(ours("setuidgid"));
        c.arg("nobody").arg(bin).arg(&locked).arg("true");
        c
    });
    let msg = format!(
        "envdir: fatal: unable to read {}/SECRET: access denied\n",
        locked.display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    let noread = d.path().join("noread");
    fs::create_dir(&noread).unwrap();
    fs::set_permissions(&noread, fs::Permissions::from_mode(0o711)).unwrap();
    let o = both("envdir", |bin| {
        let mut c = Command::new(ours("setuidgid"));
        c.arg("nobody").arg(bin).arg(&noread).arg("true");
        c
    });
    let msg = format!(
        "envdir: fatal: unable to read directory {}: access denied\n",
        noread.display()
    );
    expect(&o, 111, b"", msg.as_bytes());
}

#[test]
fn envdir_child_view() {
    let d = tmp();
    let e = d.path().join("e");
    fs::create_dir(&e).unwrap();
    fs::write(e.join("PATH"), "/nonexistent\n").unwrap();
    // The child is found with the original PATH, then sees the new one;
    // cwd is restored and no descriptor leaks (ls's own is fd 3).
    let o = both("envdir", |bin| {
        let mut c = Command::new(bin);
        c.current_dir(d.path()).env("PATH", "/usr/bin:/bin").args([
            "e",
            "sh",
            "-c",
            "echo \"$PATH\"; pwd; exec /bin/ls /proc/self/fd",
        ]);
        c
    });
    let want = format!("/nonexistent\n{}\n", d.path().display());
    assert!(o.stdout.starts_with(want.as_bytes()), "{}", show(&o));
    // Only ls's own directory descriptor is new.
    assert_eq!(extra_fds(&o.stdout[want.len()..]), 1, "{}", show(&o));
}

// ---- softlimit -------------------------------------------------------------

fn limit_line<'a>(limits: &'a str, name: &str) -> Vec<&'a str> {
    let l = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {limits}"));
    l[name.len()..].split_whitespace().collect()
}

fn softlimit_limits(args: &[&str]) -> String {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["cat", "/proc/self/limits"]);
    let o = both_args("softlimit", &a);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn softlimit_each_option() {
    let l = softlimit_limits(&[
        "-a",
        "900000000",
        "-c",
        "12345",
        "-d",
        "200000000",
        "-f",
        "99999",
        "-l",
        "65536",
        "-o",
        "77",
        "-p",
        "500",
        "-r",
        "1000000",
        "-s",
        "1000000",
        "-t",
        "100",
    ]);
    assert_eq!(limit_line(&l, "Max address space")[0], "900000000");
    assert_eq!(limit_line(&l, "Max core file size")[0], "12345");
    assert_eq!(limit_line(&l, "Max data size")[0], "200000000");
    assert_eq!(limit_line(&l, "Max file size")[0], "99999");
    assert_eq!(limit_line(&l, "Max locked memory")[0], "65536");
    assert_eq!(limit_line(&l, "Max open files")[0], "77");
    assert_eq!(limit_line(&l, "Max processes")[0], "500");
    assert_eq!(limit_line(&l, "Max resident set")[0], "1000000");
    assert_eq!(limit_line(&l, "Max stack size")[0], "1000000");
    assert_eq!(limit_line(&l, "Max cpu time")[0], "100");
}

#[test]
fn softlimit_m_sets_four_limits_and_clamps() {
    let l = softlimit_limits(&["-m", "300000000"]);
    for name in ["Max data size", "Max stack size", "Max address space"] {
        assert_eq!(limit_line(&l, name)[0], "300000000", "{name}");
    }
    let lock = limit_line(&l, "Max locked memory");
    let hard: u64 = lock[1].parse().unwrap_or(u64::MAX);
    assert_eq!(lock[0], hard.min(300_000_000).to_string().as_str());
}

#[test]
fn softlimit_numbers() {
    // Clamped to the hard limit.
    let o = both_args(
        "softlimit",
        &["-o", "99999999999", "sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    let lines: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(lines[0], lines[1], "{}", show(&o));
    // Options apply in order; `=` means the hard limit.
    let o = both_args(
        "softlimit",
        &["-o", "50", "-o", "40", "sh", "-c", "ulimit -n"],
    );
    expect(&o, 0, b"40\n", b"");
    let o = both_args(
        "softlimit",
        &["-o", "40", "-o=", "sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    let lines: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(lines[0], lines[1], "{}", show(&o));
    // Empty is 0; digits wrap modulo 2^64 like scan_ulong.
    let l = softlimit_limits(&[
        "-c",
        "",
        "-f",
        "18446744073709551616",
        "-t",
        "18446744073709551617",
    ]);
    // (A CPU limit of 0 would race SIGXCPU; stdout is a pipe, so FSIZE 0 is
    // harmless.)
    assert_eq!(limit_line(&l, "Max core file size")[0], "0");
    assert_eq!(limit_line(&l, "Max file size")[0], "0");
    assert_eq!(limit_line(&l, "Max cpu time")[0], "1");
    // Attached arguments.
    let o = both_args("softlimit", &["-o33", "sh", "-c", "ulimit -n"]);
    expect(&o, 0, b"33\n", b"");
    // Options before a bad number are applied but nothing runs.
    let o = both_args("softlimit", &["-o", "5", "-c", "1x", "echo", "no"]);
    expect(&o, 100, b"", SOFTLIMIT_USAGE);
}

// ---- setlock -----------------------------------------------------------------

#[test]
fn setlock_fd_inherited_and_mode() {
    let d = tmp();
    let lock = d.path().join("lock");
    let o = both("setlock", |bin| {
        let _ = fs::remove_file(&lock);
        let mut c = Command::new(bin);
        c.arg(&lock).args([
            "sh",
            "-c",
            "readlink /proc/self/fd/3; grep flags /proc/self/fdinfo/3; stat -c %a \"$0\"",
        ]);
        c.arg(&lock);
        c
    });
    // O_WRONLY|O_APPEND|O_NONBLOCK|O_LARGEFILE, no O_CLOEXEC; 0600 under umask 022.
    let want = format!("{}\nflags:\t0106001\n600\n", lock.display());
    expect(&o, 0, want.as_bytes(), b"");
    // The lock lives as long as the child: a second -n setlock fails.
    let mut holder = Command::new(ours("setlock"))
        .arg(&lock)
        .args(["sh", "-c", "echo held; sleep 3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 5];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut line).unwrap();
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.arg("-n").arg(&lock).arg("true");
        c
    });
    let msg = format!(
        "setlock: fatal: unable to lock {}: temporary failure\n",
        lock.display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.arg("-nx").arg(&lock).arg("echo");
        c
    });
    expect(&o, 0, b"", b"");
    let o = both("setlock", |bin| {
        let mut c = Command::new(bin);
        c.args(["-x", "-n", "-X"]).arg(&lock).arg("true");
        c
    });
    expect(&o, 111, b"", msg.as_bytes());
    // Blocking mode waits for the holder.
    let start = Instant::now();
    let o = run({
        let mut c = Command::new(ours("setlock"));
        c.args(["-n", "-N"]).arg(&lock).args(["echo", "got"]);
        c
    });
    expect(&o, 0, b"got\n", b"");
    assert!(
        start.elapsed() > Duration::from_millis(500),
        "did not wait for the lock"
    );
    let _ = holder.wait();
}

#[test]
fn setlock_open_failures() {
    let d = tmp();
    let bad = d.path().join("missing/lock");
    let o = both_args("setlock", &[bad.as_os_str(), OsStr::new("true")]);
    let msg = format!(
        "setlock: fatal: unable to open {}: file does not exist\n",
        bad.display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    let o = both_args(
        "setlock",
        &[OsStr::new("-x"), bad.as_os_str(), OsStr::new("echo")],
    );
    expect(&o, 0, b"", b"");
    let o = both_args(
        "setlock",
        &[OsStr::new("-xX"), bad.as_os_str(), OsStr::new("echo")],
    );
    expect(&o, 111, b"", msg.as_bytes());
    // A directory cannot be opened for writing.
    let o = both_args("setlock", &[d.path().as_os_str(), OsStr::new("true")]);
    let msg = format!(
        "setlock: fatal: unable to open {}: is a directory\n",
        d.path().display()
    );
    expect(&o, 111, b"", msg.as_bytes());
    // Non-UTF-8 file names work.
    let mut name = d.path().as_os_str().as_bytes().to_vec();
    name.extend_from_slice(b"/l\xff");
    let o = both_args("setlock", &[bytes(&name), "echo".into(), "ok".into()]);
    expect(&o, 0, b"ok\n", b"");
    assert!(Path::new(OsStr::from_bytes(&name)).exists());
}

// ---- pgrphack -----------------------------------------------------------------

/// (pid, pgrp, session) from /proc/PID/stat output.
fn stat_ids(stat: &[u8]) -> (String, String, String) {
    let s = String::from_utf8_lossy(stat);
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    (
        s.split_whitespace().next().unwrap().to_owned(),
        f[2].to_owned(),
        f[3].to_owned(),
    )
}

#[test]
fn pgrphack_makes_session_leader() {
    for bin in [Some(ours("pgrphack")), reference("pgrphack")]
        .into_iter()
        .flatten()
    {
        let o = run({
            let mut c = Command::new(&bin);
            c.args(["cat", "/proc/self/stat"]);
            c
        });
        let (pid, pgrp, sid) = stat_ids(&o.stdout);
        assert_eq!(
            (&pgrp, &sid),
            (&pid, &pid),
            "{}: {}",
            bin.display(),
            show(&o)
        );
        // Already a session leader: setsid fails, the exec still happens.
        let o = run({
            let mut c = Command::new(&bin);
            c.arg(&bin).args(["cat", "/proc/self/stat"]);
            c
        });
        let (pid, pgrp, sid) = stat_ids(&o.stdout);
        assert_eq!((&pgrp, &sid), (&pid, &pid), "{}", show(&o));
    }
    let o = both_args("pgrphack", &["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(&o, 3, b"out\n", b"err\n");
}

// ---- fghack ---------------------------------------------------------------------

#[test]
fn fghack_fds_and_exit_codes() {
    // 31 copies of the pipe's write end, plus ls's own directory fd.
    let o = both_args("fghack", &["ls", "/proc/self/fd"]);
    assert_eq!(extra_fds(&o.stdout), 32, "{}", show(&o));
    expect(&both_args("fghack", &["sh", "-c", "exit 7"]), 7, b"", b"");
    expect(
        &both_args("fghack", &["sh", "-c", "exit 255"]),
        255,
        b"",
        b"",
    );
    expect(
        &both_args("fghack", &["sh", "-c", "echo hi"]),
        0,
        b"hi\n",
        b"",
    );
    let o = both_args("fghack", &["sh", "-c", "kill -9 $$"]);
    expect(&o, 111, b"", b"fghack: fatal: child crashed\n");
    let o = both_args("fghack", &["sh", "-c", "kill -TERM $$"]);
    expect(&o, 111, b"", b"fghack: fatal: child crashed\n");
}

#[test]
fn fghack_waits_for_descendants() {
    for bin in [Some(ours("fghack")), reference("fghack")]
        .into_iter()
        .flatten()
    {
        let start = Instant::now();
        let o = run({
            let mut c = Command::new(&bin);
            c.args(["sh", "-c", "(sleep 1 &); exit 7"]);
            c
        });
        expect(&o, 7, b"", b"");
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{} did not wait",
            bin.display()
        );
        // A descendant that closes the pipe copies does not hold it up.
        let start = Instant::now();
        let o = run({
            let mut c = Command::new(&bin);
            c.args([
                "bash",
                "-c",
                "(for fd in $(seq 3 300); do eval \"exec $fd>&-\"; done; \
                 exec sleep 3 >/dev/null 2>&1 </dev/null) & exit 0",
            ]);
            c
        });
        expect(&o, 0, b"", b"");
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{} waited",
            bin.display()
        );
    }
}

#[test]
fn fghack_child_stdin_passes() {
    let o = both("fghack", |bin| {
        let mut c = Command::new("sh");
        c.arg("-c").arg("echo piped | \"$0\" cat").arg(bin);
        c
    });
    expect(&o, 0, b"piped\n", b"");
}
