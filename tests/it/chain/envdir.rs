//! envdir against the reference: value rules, dangling symlinks, FIFOs,
//! errors and the child's view.

use super::*;

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
