//! Reading an `strace -f -y -xx` log into the file-system operations the
//! crash model needs, restricted to one directory.
//!
//! strace prints a call that another thread interrupts as
//! `PID call(args <unfinished ...>` and later `PID <... call resumed>rest`;
//! the two halves are joined and the call is placed where it completed.
//! With `-xx` every string is `\xHH`-escaped and with `-y` every descriptor
//! argument carries its path (`6<\x2f…>`), so a file is named by the path
//! it had when the call was made. Failed calls (`= -1 …`) are dropped.

use std::collections::HashMap;

/// Which file an operation names, inside the traced directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `openat(O_CREAT)` (creates if absent, with `mode` before the umask),
    /// `O_TRUNC` truncates.
    Open {
        name: String,
        create: Option<u32>,
        trunc: bool,
    },
    /// Data written at the end (`O_APPEND`: multilog's files and the
    /// processor's output are all appended to or freshly truncated).
    Write {
        name: String,
        data: Vec<u8>,
    },
    /// `pwrite64`: data written at an offset.
    WriteAt {
        name: String,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        name: String,
        len: u64,
    },
    Fsync {
        name: String,
    },
    Chmod {
        name: String,
        mode: u32,
    },
    Rename {
        from: String,
        to: String,
    },
    Link {
        from: String,
        to: String,
    },
    Unlink {
        name: String,
    },
    /// The traced directory itself was created.
    Mkdir,
}

/// Decode strace's `\xHH` escapes (and the few C escapes it may use).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'x' if i + 4 <= b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).expect("strace hex escape"));
                    i += 4;
                    continue;
                }
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                c => out.push(c),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Split an argument list at top-level commas (quotes, `<>`, `{}`, `[]`
/// nest).
fn split_args(s: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if quoted {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                quoted = false;
            }
        } else {
            match c {
                b'"' => quoted = true,
                b'<' | b'{' | b'[' | b'(' => depth += 1,
                b'>' | b'}' | b']' | b')' => depth -= 1,
                b',' if depth == 0 => {
                    out.push(s[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.push(s[start..].trim());
    out
}

/// A quoted string argument, decoded.
fn string(arg: &str) -> Vec<u8> {
    let a = arg.trim();
    let inner = a.strip_prefix('"').and_then(|a| a.split('"').next());
    unescape(inner.unwrap_or(""))
}

/// The path of a `-y` descriptor argument (`6<\x2f…>`), and whether strace
/// marked it `(deleted)`.
fn fd_path(arg: &str) -> Option<(Vec<u8>, bool)> {
    let open = arg.find('<')?;
    let close = arg.rfind('>')?;
    let deleted = arg[close..].contains("(deleted)");
    Some((unescape(&arg[open + 1..close]), deleted))
}

/// The name inside `dir` of an absolute path, if it is directly in it.
fn in_dir(dir: &[u8], path: &[u8]) -> Option<String> {
    let rest = path.strip_prefix(dir)?.strip_prefix(b"/")?;
    if rest.is_empty() || rest.contains(&b'/') {
        return None;
    }
    Some(String::from_utf8_lossy(rest).into_owned())
}

/// The name inside `dir` of an `at`-style pair (directory fd, path).
fn at_name(dir: &[u8], dirfd: &str, path: &[u8]) -> Option<String> {
    let full = if path.starts_with(b"/") {
        path.to_vec()
    } else {
        let (base, _) = fd_path(dirfd)?;
        let mut p = base;
        p.push(b'/');
        p.extend_from_slice(path.strip_prefix(b"./").unwrap_or(path));
        p
    };
    in_dir(dir, &full)
}

/// The name an fd argument refers to, unless deleted or elsewhere.
fn fd_name(dir: &[u8], arg: &str) -> Option<String> {
    let (p, deleted) = fd_path(arg)?;
    if deleted {
        return None;
    }
    in_dir(dir, &p)
}

fn octal(s: &str) -> u32 {
    u32::from_str_radix(s.trim().trim_start_matches("0o"), 8).unwrap_or(0)
}

/// One completed call: name, arguments, return value.
fn decode(dir: &[u8], call: &str, args: &str, ret: i64) -> Option<Op> {
    let a = split_args(args);
    let name_at = |i: usize, j: usize| at_name(dir, a[i], &string(a[j]));
    Some(match call {
        "openat" => {
            let flags = a[2];
            let create = flags
                .contains("O_CREAT")
                .then(|| a.get(3).map_or(0, |m| octal(m)));
            Op::Open {
                name: name_at(0, 1)?,
                create,
                trunc: flags.contains("O_TRUNC"),
            }
        }
        "write" => {
            let mut data = string(a[1]);
            data.truncate(usize::try_from(ret).ok()?);
            Op::Write {
                name: fd_name(dir, a[0])?,
                data,
            }
        }
        "writev" => {
            // `[{iov_base="…", iov_len=N}, …]`: the buffers in order.
            let mut data: Vec<u8> = a[1].split("iov_base=").skip(1).flat_map(string).collect();
            data.truncate(usize::try_from(ret).ok()?);
            Op::Write {
                name: fd_name(dir, a[0])?,
                data,
            }
        }
        "pwrite64" => {
            let mut data = string(a[1]);
            data.truncate(usize::try_from(ret).ok()?);
            Op::WriteAt {
                name: fd_name(dir, a[0])?,
                offset: a[3].parse().ok()?,
                data,
            }
        }
        "ftruncate" => Op::Truncate {
            name: fd_name(dir, a[0])?,
            len: a[1].parse().ok()?,
        },
        "fsync" | "fdatasync" => Op::Fsync {
            name: fd_name(dir, a[0])?,
        },
        "fchmod" => Op::Chmod {
            name: fd_name(dir, a[0])?,
            mode: octal(a[1]),
        },
        "renameat" | "renameat2" => Op::Rename {
            from: name_at(0, 1)?,
            to: name_at(2, 3)?,
        },
        "linkat" => Op::Link {
            from: name_at(0, 1)?,
            to: name_at(2, 3)?,
        },
        "unlinkat" if !a[2].contains("AT_REMOVEDIR") => Op::Unlink {
            name: name_at(0, 1)?,
        },
        "mkdirat" => {
            let (base, _) = fd_path(a[0])?;
            let mut p = base;
            p.push(b'/');
            let rel = string(a[1]);
            p.extend_from_slice(rel.strip_prefix(b"./").unwrap_or(&rel));
            if p != dir {
                return None;
            }
            Op::Mkdir
        }
        // Not used by multilog, sh or cat today; fail loudly, not
        // silently, if that changes.
        "sendfile" if fd_name(dir, a[0]).is_some() => {
            panic!("trace: {call} into the log directory is not modelled: {args}")
        }
        "copy_file_range" | "splice" if fd_name(dir, a[2]).is_some() => {
            panic!("trace: {call} into the log directory is not modelled: {args}")
        }
        "rename" | "link" | "unlink" | "mkdir" | "chmod" | "truncate" => {
            panic!("trace: {call} is not modelled: {args}")
        }
        _ => return None,
    })
}

/// The operations on files directly in `dir` (an absolute path, as
/// strace prints it), in completion order.
pub fn parse(log: &str, dir: &[u8]) -> Vec<Op> {
    let mut pending: HashMap<&str, String> = HashMap::new();
    let mut ops = Vec::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let whole = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid, head.to_string());
            continue;
        } else if let Some(tail) = rest.strip_prefix("<... ") {
            let Some(head) = pending.remove(pid) else {
                continue;
            };
            let tail = tail.split_once(" resumed>").map_or("", |(_, t)| t);
            format!("{head}{tail}")
        } else {
            rest.to_string()
        };
        let Some((call, args_ret)) = whole.split_once('(') else {
            continue;
        };
        // A resumed call's `)` may be padded: `<... fsync resumed>)   = 0`.
        let Some(eq) = args_ret.rfind(" = ") else {
            continue;
        };
        let Some(args) = args_ret[..eq].trim_end().strip_suffix(')') else {
            continue;
        };
        // A descriptor result carries its path too: `8<…>`.
        let ret_text = &args_ret[eq + 3..];
        let end = ret_text
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
            .map_or(ret_text.len(), |(i, _)| i);
        let Ok(ret) = ret_text[..end].parse::<i64>() else {
            continue;
        };
        if ret < 0 {
            continue;
        }
        if let Some(op) = decode(dir, call, args, ret) {
            ops.push(op);
        }
    }
    ops
}

#[test]
fn parses_strace_lines() {
    let log = concat!(
        "7 openat(6<\\x2f\\x64>, \"\\x63\", O_WRONLY|O_CREAT|O_APPEND, 0600) = 8<\\x2f\\x64\\x2f\\x63>\n",
        "7 write(8<\\x2f\\x64\\x2f\\x63>, \"\\x61\\x62\\x0a\", 3 <unfinished ...>\n",
        "9 fsync(8<\\x2f\\x64\\x2f\\x63>) = 0\n",
        "7 <... write resumed>)     = 2\n",
        "7 renameat2(6<\\x2f\\x64>, \"\\x63\", 6<\\x2f\\x64>, \"\\x65\", RENAME_NOREPLACE) = -1 EEXIST (File exists)\n",
        "7 fchmod(8<\\x2f\\x64\\x2f\\x63>(deleted), 0744) = 0\n",
        "7 writev(8<\\x2f\\x64\\x2f\\x63>, [{iov_base=\"\\x61\", iov_len=1}, {iov_base=\"\\x62\\x63\", iov_len=2}], 2) = 2\n",
        "7 pwrite64(8<\\x2f\\x64\\x2f\\x63>, \"\\x7a\", 1, 5) = 1\n",
    );
    let ops = parse(log, b"/d");
    let c = || "c".to_string();
    assert_eq!(
        ops,
        [
            Op::Open {
                name: c(),
                create: Some(0o600),
                trunc: false
            },
            Op::Fsync { name: c() },
            Op::Write {
                name: c(),
                data: b"ab".to_vec()
            },
            Op::Write {
                name: c(),
                data: b"ab".to_vec()
            },
            Op::WriteAt {
                name: c(),
                offset: 5,
                data: b"z".to_vec()
            },
        ]
    );
}
