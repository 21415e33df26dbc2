//! `svlog -f` with the other options, while multilog writes and rotates:
//! `--since` (the history found by the range search, then the live lines,
//! none lost or repeated at the seam), `-n` with `-g`, several DIRs
//! labelled with their service names in arrival order, `-o json`,
//! `--until`, and a DIR that goes away.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use daemontools::tai64::Tai64N;

use crate::support::{ours, wait_deadline, wait_limit, SOON};
use crate::svlog::cat_dir;
use crate::svlog_follow::{cat_live, multilog, signal, Follow};

/// `n` lines `TAG I xxx…` from `I = from`, long enough that multilog's
/// `s4096` rotates every few lines.
fn numbered(tag: &str, from: usize, n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..from + n {
        v.extend_from_slice(format!("{tag} {i} {}\n", "x".repeat(i * 37 % 700)).as_bytes());
    }
    v
}

/// `dir` exists and holds `n` bytes.
fn holds(dir: &Path, n: usize) -> bool {
    dir.join("current").exists() && cat_live(dir).len() == n
}

fn label(t: Tai64N) -> String {
    String::from_utf8_lossy(&t.label()).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// History from `--since` (the lines before it are not printed), then
/// the lines written while svlog starts, with rotations and SIGALRMs
/// around the seam, then more: exactly the directory's lines stamped at
/// or after `--since`, each once.
#[test]
fn since_then_live_without_loss_or_repeat_at_the_seam() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    // `s100000`: `current` holds several lines at the seam (a small `s`
    // often leaves it empty); the SIGALRMs rotate it around the seam.
    let mut ml = multilog(&["t", "s100000", "n10000"], &dir);
    let mut stdin = ml.stdin.take().unwrap();
    let before = numbered("a", 0, 300);
    stdin.write_all(&before).unwrap();
    // `t` adds 26 bytes a line.
    let want_len = before.len() + 26 * 300;
    assert!(crate::support::wait_for(SOON, || holds(&dir, want_len)));
    let since = label(Tai64N::now());
    let pid = ml.id();
    // The writer goes on while svlog reads its history: the seam falls
    // among rotations.
    let writer = std::thread::spawn(move || {
        for (i, chunk) in numbered("b", 0, 3000).chunks(8192).enumerate() {
            stdin.write_all(chunk).unwrap();
            if i % 5 == 4 {
                signal(pid, rustix::process::Signal::ALARM);
            }
        }
        stdin
    });
    let cache = root.path().join("cache");
    let f = Follow::start_in(
        &cache,
        &["-f", "-o", "raw", &format!("--since={since}"), path(&dir)],
    );
    let mut stdin = writer.join().unwrap();
    stdin.write_all(&numbered("c", 0, 300)).unwrap();
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    let all = cat_dir(&dir);
    let want: Vec<u8> = all
        .split_inclusive(|&c| c == b'\n')
        .filter(|l| l[..25] >= *since.as_bytes())
        .flatten()
        .copied()
        .collect();
    assert_eq!(want.len(), all.len() - want_len, "a line before --since");
    f.expect_exactly(&want, "--since then live");
}

/// `-n 2 -g keep`: the last two matching lines, then only matching lines
/// as they come, across rotations.
#[test]
fn grep_and_last_lines_then_live() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let mut ml = multilog(&["s4096", "n10000"], &dir);
    let mut stdin = ml.stdin.take().unwrap();
    let mut input = Vec::new();
    for i in 0..40 {
        let tag = if i % 3 == 0 { "keep" } else { "drop" };
        input.extend(numbered(tag, i, 1));
    }
    stdin.write_all(&input).unwrap();
    assert!(crate::support::wait_for(SOON, || holds(&dir, input.len())));
    let f = Follow::start(&["-f", "-n", "2", "-g", "^keep", path(&dir)]);
    let mut want = [numbered("keep", 36, 1), numbered("keep", 39, 1)].concat();
    f.wait_end(&want);
    for i in 40..100 {
        let tag = if i % 4 == 0 { "keep" } else { "drop" };
        let line = numbered(tag, i, 1);
        stdin.write_all(&line).unwrap();
        if tag == "keep" {
            want.extend(line);
            f.wait_end(&want);
        }
    }
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
    f.expect_exactly(&want, "-n 2 -g");
}

/// Two DIRs: the history as `svlog -n 3 A B` prints it (merged,
/// labelled), then each new line as it arrives, labelled the same way,
/// across rotations of both.
#[test]
fn several_dirs_labelled_in_arrival_order() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("alpha"), root.path().join("beta"));
    let mut mla = multilog(&["s4096", "n10000"], &a);
    let mut mlb = multilog(&["s4096", "n10000"], &b);
    let (mut ia, mut ib) = (mla.stdin.take().unwrap(), mlb.stdin.take().unwrap());
    ia.write_all(&numbered("a", 0, 20)).unwrap();
    ib.write_all(&numbered("b", 0, 20)).unwrap();
    for (d, n) in [(&a, numbered("a", 0, 20)), (&b, numbered("b", 0, 20))] {
        assert!(crate::support::wait_for(SOON, || holds(d, n.len())));
    }
    let dump = wait_deadline(
        Command::new(ours("svlog"))
            .args(["-n", "3", path(&a), path(&b)])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        SOON,
    );
    assert!(dump.status.success());
    assert_eq!(dump.stdout.iter().filter(|&&c| c == b'\n').count(), 3);
    let f = Follow::start(&["-f", "-n", "3", path(&a), path(&b)]);
    let mut want = dump.stdout.clone();
    f.wait_end(&want);
    for i in 20..60 {
        let (w, name, tag) = if i % 3 == 0 {
            (&mut ib, "beta", "b")
        } else {
            (&mut ia, "alpha", "a")
        };
        let line = numbered(tag, i, 1);
        w.write_all(&line).unwrap();
        want.extend_from_slice(format!("{name}: ").as_bytes());
        want.extend(line);
        f.wait_end(&want);
    }
    drop((ia, ib));
    assert!(wait_limit(&mut mla, SOON).success() && wait_limit(&mut mlb, SOON).success());
    f.expect_exactly(&want, "two DIRs");
}

/// `-o json -g` over two stamped DIRs: every line printed is one JSON
/// object with its service, text and time, in arrival order; lines `-g`
/// does not select are not printed.
#[test]
fn json_lines_of_several_dirs_parse() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("alpha"), root.path().join("beta"));
    let mut mla = multilog(&["t", "s4096", "n10000"], &a);
    let mut mlb = multilog(&["t", "s4096", "n10000"], &b);
    let (mut ia, mut ib) = (mla.stdin.take().unwrap(), mlb.stdin.take().unwrap());
    ia.write_all(b"old \"quoted\" \xff\n").unwrap();
    let first = 26 + b"old \"quoted\" \xff\n".len();
    assert!(crate::support::wait_for(SOON, || holds(&a, first)));
    let f = Follow::start(&["-f", "-o", "json", "-g", "^(old|on)", path(&a), path(&b)]);
    let mut want = vec![("alpha", "old \"quoted\" \u{fffd}".to_string())];
    let lines = |f: &Follow| f.output().iter().filter(|&&c| c == b'\n').count();
    assert!(crate::support::wait_for(SOON, || lines(&f) == 1));
    for i in 0..30 {
        let (w, name) = if i % 2 == 0 {
            (&mut ia, "alpha")
        } else {
            (&mut ib, "beta")
        };
        let on = if i % 5 == 0 { "off" } else { "on" };
        let text = format!("{on} {i} {}", "y".repeat(i * 131 % 900));
        w.write_all(format!("{text}\n").as_bytes()).unwrap();
        if on == "on" {
            want.push((name, text));
            assert!(crate::support::wait_for(SOON, || lines(&f) == want.len()));
        }
    }
    drop((ia, ib));
    assert!(wait_limit(&mut mla, SOON).success() && wait_limit(&mut mlb, SOON).success());
    let out = f.stop();
    let got: Vec<(String, String)> = out
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).expect("a JSON line");
            assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");
            assert!(v["label"].as_str().is_some_and(|t| t.len() == 25), "{v}");
            (
                v["service"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = want.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
    assert_eq!(got, want);
}

/// `--until` in the future: the lines before it, then svlog ends (exit 0)
/// at the first line stamped at or after it, without printing it. In the
/// past: the range, and svlog ends at once.
#[test]
fn until_ends_following() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d");
    let mut ml = multilog(&["t", "s4096", "n10000"], &dir);
    let mut stdin = ml.stdin.take().unwrap();
    stdin.write_all(b"one\n").unwrap();
    assert!(crate::support::wait_for(SOON, || holds(&dir, 30)));
    let past = wait_deadline(
        Command::new(ours("svlog"))
            .args([
                "-f",
                "-o",
                "raw",
                &format!("--until={}", label(Tai64N::now())),
                path(&dir),
            ])
            .env("XDG_CACHE_HOME", "/dev/null/svlog-index")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        SOON,
    );
    assert!(past.status.success());
    assert_eq!(past.stdout, cat_dir(&dir));
    let until = Tai64N::from_unix(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
            + 2,
        0,
    );
    let mut f = Follow::start(&[
        "-f",
        "-o",
        "raw",
        &format!("--until={}", label(until)),
        path(&dir),
    ]);
    f.wait_end(b" one\n");
    stdin.write_all(b"two\n").unwrap();
    f.wait_end(b" two\n");
    // The clock passes --until: the next line ends svlog.
    assert!(crate::support::wait_for(SOON, || Tai64N::now() > until));
    stdin.write_all(b"three\n").unwrap();
    let st = wait_limit(&mut f.child, SOON);
    assert!(st.success(), "{st:?}");
    let out = f.output();
    assert!(out.ends_with(b" two\n") && !out.windows(5).any(|w| w == b"three"));
    drop(stdin);
    assert!(wait_limit(&mut ml, SOON).success());
}

/// One of two DIRs removed: a warning naming it, and the other is still
/// followed.
#[test]
fn a_dir_that_goes_away_leaves_the_others() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("alpha"), root.path().join("beta"));
    for d in [&a, &b] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("current"), b"").unwrap();
    }
    let f = Follow::start(&["-f", path(&a), path(&b)]);
    let append = |d: &Path, s: &[u8]| {
        let mut c = std::fs::OpenOptions::new()
            .append(true)
            .open(d.join("current"))
            .unwrap();
        c.write_all(s).unwrap();
    };
    append(&b, b"b1\n");
    f.wait_end(b"beta: b1\n");
    std::fs::remove_dir_all(&b).unwrap();
    let said = format!(
        "svlog: warning: unable to open directory {}: file does not exist\n",
        b.display()
    );
    assert!(
        crate::support::wait_for(SOON, || f.stderr() == said),
        "{}",
        f.stderr()
    );
    append(&a, b"a1\n");
    f.wait_end(b"beta: b1\nalpha: a1\n");
    let out = f.stop();
    assert_eq!(out, b"beta: b1\nalpha: a1\n");
}
