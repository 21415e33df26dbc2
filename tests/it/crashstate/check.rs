//! Materialise a crash state, run the next multilog start-up on it and
//! check the invariants of the directory protocol.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::model::State;
use crate::support::{self, logdir::is_archive};

/// The self-checking input line number `n` (with its newline):
/// `L<n> <filler>`, the filler's length and letters derived from `n`.
pub fn line(n: u32) -> Vec<u8> {
    let len = 8 + (n * 37 % 90) as usize;
    let mut v = format!("L{n:07} ").into_bytes();
    v.extend((0..len).map(|i| b'a' + ((n as usize + i) % 26) as u8));
    v.push(b'\n');
    v
}

/// The number of a whole, intact input line (`t` stamp allowed), or
/// `None` for anything else (a cut line, zeros, garbage).
pub fn number(l: &[u8]) -> Option<u32> {
    let body = match l {
        [b'@', rest @ ..] if l.len() > 26 && rest[24] == b' ' => &l[26..],
        _ => l,
    };
    let n: u32 = std::str::from_utf8(body.get(1..8)?).ok()?.parse().ok()?;
    let mut want = line(n);
    want.pop();
    (body == &want[..]).then_some(n)
}

/// The files a directory holds after a clean start-up and exit, besides
/// archives, with their modes (`current` 0744: closed cleanly).
pub const FILES: &[(&str, u32)] = &[("current", 0o744), ("lock", 0o600), ("state", 0o644)];

/// The number of the line the start-up is fed: after every other.
pub const RESTART: u32 = 9_999_999;

/// What the check needs beyond the state itself.
pub struct Ctx<'a> {
    /// multilog's script, ending in `./d`.
    pub args: &'a [&'a str],
    /// `n`: at most `n - 1` archives after a start-up.
    pub num: usize,
    /// Each inode's contents at the end of the trace: what its `.s` must be.
    pub finals: &'a [Vec<u8>],
}

/// Write `st` into `root/d` (hard links kept).
pub fn materialise(st: &State, root: &Path) {
    if !st.exists {
        return;
    }
    let d = root.join("d");
    std::fs::create_dir(&d).unwrap();
    let mut first: BTreeMap<usize, String> = BTreeMap::new();
    for (name, &i) in &st.names {
        let p = d.join(name);
        if let Some(f) = first.get(&i) {
            std::fs::hard_link(d.join(f), &p).unwrap();
            continue;
        }
        let (data, mode, _) = &st.files[&i];
        std::fs::write(&p, data).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
        first.insert(i, name.clone());
    }
}

/// A boot time (seconds since the epoch) after every file made so far.
fn boot_after_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (now.as_secs() + 2).to_string()
}

fn label(name: &str) -> &str {
    &name[..25]
}

/// An archive name, `Z`'s `@<label>.s.zst` included.
fn archive(name: &str) -> bool {
    is_archive(name)
        || name
            .strip_suffix(".zst")
            .is_some_and(|s| is_archive(s) && s.ends_with(".s"))
}

/// An archive's lines: `Z`'s are decoded first (one that does not decode
/// yields nothing, so its lines count as gone).
fn plain(name: &str, raw: Vec<u8>) -> Vec<u8> {
    if name.ends_with(".zst") {
        zstd::decode_all(&raw[..]).unwrap_or_default()
    } else {
        raw
    }
}

/// Run the start-up on the state materialised in `root` and check every
/// invariant; the violations found, as sentences.
pub fn check(st: &State, root: &Path, ctx: &Ctx<'_>) -> Vec<String> {
    let mut bad = Vec::new();
    let mut cmd = Command::new(support::ours("multilog"));
    cmd.args(ctx.args).current_dir(root);
    if st.power {
        // A power cut means a new boot, after the files were made.
        cmd.env("DTOOLS_TEST_BOOT_TIME", boot_after_now());
    }
    let out = support::run_input(&mut cmd, &line(RESTART), Duration::from_secs(20));
    if !out.status.success() || !out.stderr.is_empty() {
        bad.push(format!(
            "start-up: {:?}, stderr {:?}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
        return bad;
    }
    let d = root.join("d");
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let read = |n: &str| std::fs::read(d.join(n)).unwrap();
    let mode = |n: &str| std::fs::metadata(d.join(n)).unwrap().permissions().mode() & 0o7777;
    let archives: Vec<&String> = names.iter().filter(|n| archive(n)).collect();

    // Names and modes.
    for n in &names {
        let want = match FILES.iter().find(|f| f.0 == n) {
            Some(f) => f.1,
            None if archive(n) && !n.ends_with(".u") => 0o744,
            None if archive(n) => continue,
            None => {
                bad.push(format!("unexpected file {n}"));
                continue;
            }
        };
        if mode(n) != want {
            bad.push(format!("{n} has mode {:o}, not {want:o}", mode(n)));
        }
    }
    // After a kill every complete rotation is finished (F5): the only
    // `.u` left are unfinished files.
    if !st.power {
        for n in archives.iter().filter(|n| n.ends_with(".u")) {
            if mode(n) == 0o754 {
                bad.push(format!(
                    "{n}, a complete rotation, left unfinished after a kill"
                ));
            }
        }
    }
    // Retention.
    if archives.len() + 1 > ctx.num.max(2) {
        bad.push(format!("{} archives with n{}", archives.len(), ctx.num));
    }
    // Every .s is whole lines and exactly what its file held when finished.
    for n in archives.iter().filter(|n| !n.ends_with(".u")) {
        let raw = read(n);
        let data = plain(n, raw.clone());
        let whole = data.ends_with(b"\n")
            && data
                .split_inclusive(|&c| c == b'\n')
                .all(|l| number(&l[..l.len() - 1]).is_some());
        if !whole {
            bad.push(format!("{n} is not whole input lines"));
            continue;
        }
        let u = format!("{}.u", label(n));
        let ino = st
            .names
            .get(n.as_str())
            .or_else(|| st.names.get(&u))
            .or_else(|| st.names.get(&format!("{}.s", label(n))))
            .or_else(|| st.names.get("processed"));
        match ino {
            // A `.s.zst` already in the state is its own file; one made by
            // the start-up holds what its source held.
            Some(&i) if ctx.finals[i] == data || ctx.finals[i] == raw => {}
            Some(_) => bad.push(format!("{n} is not its file's complete contents")),
            None => bad.push(format!("{n} comes from nowhere")),
        }
    }
    // Every whole line once, in order, across archives then current.
    let mut seen: Vec<u32> = Vec::new();
    for n in archives.iter().map(|n| n.as_str()).chain(["current"]) {
        for l in plain(n, read(n)).split(|&c| c == b'\n') {
            if let Some(k) = number(l) {
                if seen.last().is_some_and(|&p| p >= k) {
                    bad.push(format!("line {k} in {n} repeated or out of order"));
                }
                seen.push(k);
            }
        }
    }
    if seen.last() != Some(&RESTART) {
        bad.push("the start-up's own line is not last in current".into());
    }
    // Nothing fsynced is gone, except what retention removes: when n - 1
    // archives are left, lines older than every line left (the start-up's
    // own archiving of `previous` and `current` trims too, as
    // daemontools' `finish` does).
    let full = archives.len() + 1 >= ctx.num;
    let first_left = seen.first().copied().unwrap_or(RESTART);
    for (name, i) in &st.names {
        let kept = ["current", "previous", "processed"].contains(&name.as_str());
        if !kept && !archive(name) {
            continue;
        }
        let durable = plain(name, st.files[i].2.clone());
        for l in durable.split(|&c| c == b'\n') {
            if let Some(k) = number(l) {
                if seen.binary_search(&k).is_err() && !(full && k < first_left) {
                    bad.push(format!("line {k}, on disk in {name}, is gone"));
                    break;
                }
            }
        }
    }
    bad
}

#[test]
fn lines_check_themselves() {
    let l = line(42);
    assert_eq!(number(&l[..l.len() - 1]), Some(42));
    assert_eq!(number(&l[..l.len() - 2]), None);
    let mut t = b"@400000006b0ec6ce023d72bc ".to_vec();
    t.extend_from_slice(&l[..l.len() - 1]);
    assert_eq!(number(&t), Some(42));
    assert_eq!(number(&[0; 30]), None);
}
