//! setuidgid and envuidgid against the reference: the account's ids and
//! groups, the environment kept, the errors.

use super::*;

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
