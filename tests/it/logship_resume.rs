//! logship resuming from its cursor in log directories made by hand,
//! against a plain TCP receiver (RFC 6587 octet counting) of the test's
//! own: an inode reused for a new `current` (issue 20 item 2), bad cursors
//! and links (item 10), what the follower holds open (item 11), one
//! inotify instance for many directories (item 12).

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::support::ship::Ship;
use crate::support::{ours, wait_for, wait_limit, SOON};

/// A test line: its number, padded so lines are 58 bytes.
pub fn line(n: usize) -> String {
    format!("line {n:08} the quick brown fox jumps over the lazy dog\n")
}

/// Lines `from..to`.
pub fn lines(from: usize, to: usize) -> String {
    (from..to).map(line).collect()
}

/// An archive name for label number `n` (increasing with `n`).
pub fn archive(n: u64) -> String {
    format!("@40000000690000{n:02x}00000000.s")
}

/// A plain TCP receiver: every message of every connection, in order.
pub struct Receiver {
    pub port: u16,
    msgs: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::bind(0)
    }

    /// On `port` (0: any).
    pub fn bind(port: u16) -> Receiver {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = l.local_addr().unwrap().port();
        let msgs = Arc::new(Mutex::new(Vec::new()));
        let m = msgs.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                let m = m.clone();
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut b = [0u8; 65536];
                    while let Ok(n) = c.read(&mut b) {
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&b[..n]);
                        // RFC 6587 octet counting: LEN SP MSG.
                        while let Some(sp) = buf.iter().position(|&x| x == b' ') {
                            let len: usize =
                                std::str::from_utf8(&buf[..sp]).unwrap().parse().unwrap();
                            if buf.len() < sp + 1 + len {
                                break;
                            }
                            let msg =
                                String::from_utf8_lossy(&buf[sp + 1..sp + 1 + len]).into_owned();
                            m.lock().unwrap().push(msg);
                            buf.drain(..sp + 1 + len);
                        }
                    }
                });
            }
        });
        Receiver { port, msgs }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Times each line number was received.
    pub fn counts(&self) -> HashMap<usize, usize> {
        let mut c = HashMap::new();
        for m in self.msgs.lock().unwrap().iter() {
            if let Some(i) = m.find("line ") {
                if let Some(n) = m.get(i + 5..i + 13).and_then(|s| s.parse().ok()) {
                    *c.entry(n).or_insert(0) += 1;
                }
            }
        }
        c
    }

    /// Forget what was received.
    pub fn clear(&self) {
        self.msgs.lock().unwrap().clear();
    }
}

/// Our logship with `args`, in the test's working directory.
fn start(args: &[&str]) -> Ship {
    Ship::spawn(Command::new(ours("logship")).args(args))
}

/// Wait until every line of `want` was received; fail with what is missing.
pub fn wait_lines(r: &Receiver, want: impl Iterator<Item = usize> + Clone, ship: &Ship) {
    let ok = wait_for(SOON, || {
        let c = r.counts();
        want.clone().all(|i| c.contains_key(&i))
    });
    let c = r.counts();
    let missing: Vec<usize> = want.filter(|i| !c.contains_key(i)).take(8).collect();
    assert!(ok, "missing e.g. {missing:?}; logship: {}", ship.stderr());
}

/// The one cursor file in `dir`.
pub fn cursor_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("logship-")
                && !n.starts_with("logship-status-")
                && !n.ends_with(".tmp")
                && !n.contains(".tmp.")
                && !n.ends_with(".bad")
                && !n.ends_with(".lock")
        })
        .unwrap()
}

/// Put `text` in a new file at `path`; its inode.
fn create(path: &Path, text: &str) -> u64 {
    std::fs::write(path, text).unwrap();
    std::fs::metadata(path).unwrap().ino()
}

/// Issue 20 item 2: while logship is stopped, its cursor's file (`current`)
/// is rotated, its archive deleted by retention and the next `current`
/// gets its inode (ext4 gives a freed inode to the next file at once; here
/// the new file is made until it has that inode). logship must not resume
/// in the new file at the old offset: the archive after the saved file,
/// then the new `current` from its start, and the loss warned with a count.
#[test]
fn r20_reused_inode_resumes_after_the_saved_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    let r = Receiver::start();
    let url = r.url();
    let d = dir.to_str().unwrap();
    let c = root.path().to_str().unwrap();
    let f_ino = create(&dir.join("current"), &lines(0, 10));
    let ship = start(&["-c", c, &url, d]);
    wait_lines(&r, 0..10, &ship);
    let err = ship.stop();
    assert!(err.is_empty(), "{err}");
    // While stopped: 5 more lines, a rotation, the next file's life.
    std::fs::write(dir.join("current"), lines(0, 15)).unwrap();
    std::fs::rename(dir.join("current"), dir.join(archive(1))).unwrap();
    create(&dir.join("current"), &lines(15, 20));
    std::fs::rename(dir.join("current"), dir.join(archive(2))).unwrap();
    // Retention deletes the oldest archive; the next `current` gets its
    // inode (files made meanwhile are kept, so that each try is a new
    // inode, then removed).
    std::fs::remove_file(dir.join(archive(1))).unwrap();
    let mut spare = Vec::new();
    let mut reused = false;
    for k in 0..200 {
        let p = dir.join(format!("spare{k}"));
        if create(&p, &lines(20, 40)) == f_ino {
            std::fs::rename(&p, dir.join("current")).unwrap();
            reused = true;
            break;
        }
        spare.push(p);
    }
    for p in spare {
        std::fs::remove_file(p).unwrap();
    }
    if !reused {
        // The file system would not give the inode again: the cursor is
        // made to name the new `current`, as if it had.
        let ino = create(&dir.join("current"), &lines(20, 40));
        let cur = cursor_in(root.path());
        let text = std::fs::read_to_string(&cur).unwrap();
        let mut w: Vec<String> = text.split(' ').map(str::to_string).collect();
        w[3] = ino.to_string();
        std::fs::write(&cur, w.join(" ")).unwrap();
    }
    let ship = start(&["-c", c, &url, d]);
    wait_lines(&r, (0..10).chain(15..40), &ship);
    assert!(
        wait_for(SOON, || ship.stderr().contains("saved position")),
        "no loss reported: {}",
        ship.stderr()
    );
    let err = ship.stop();
    let counts = r.counts();
    let twice: Vec<_> = counts
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(l, _)| *l)
        .collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert!(err.contains("inode is another file's now"), "{err}");
}

/// A cursor written by an older logship (no identity but the inode) that
/// names the inode of a `current` which is not its file: there are archives
/// after its label, so its file was rotated; the archives after the label,
/// then `current` from its start.
#[test]
fn r20_old_cursor_in_a_reused_inode() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(archive(0)), lines(0, 5)).unwrap();
    std::fs::write(dir.join(archive(2)), lines(10, 20)).unwrap();
    std::fs::write(dir.join("current"), lines(20, 30)).unwrap();
    let m = std::fs::metadata(dir.join("current")).unwrap();
    let r = Receiver::start();
    let url = r.url();
    let d = std::fs::canonicalize(&dir).unwrap();
    // Saved in the file after @…00 at 3 lines: an older logship's form.
    let label = &archive(0)[1..25];
    let c = root.path().join("cursors");
    std::fs::create_dir(&c).unwrap();
    let ship = start(&["-c", c.to_str().unwrap(), &url, d.to_str().unwrap()]);
    wait_lines(&r, (0..5).chain(10..30), &ship);
    ship.stop();
    let cur = cursor_in(&c);
    std::fs::write(
        &cur,
        format!("logship-cursor 1 {} {} 180 {label}\n", m.dev(), m.ino()),
    )
    .unwrap();
    r.clear();
    let ship = start(&["-c", c.to_str().unwrap(), &url, d.to_str().unwrap()]);
    wait_lines(&r, 10..30, &ship);
    let err = ship.stop();
    let counts = r.counts();
    assert!((0..5).all(|i| !counts.contains_key(&i)), "{counts:?} {err}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(err.contains("older"), "{err}");
    assert!(err.contains("saved position"), "{err}");
}

/// Issue 20 item 10: a cursor that is garbage, empty, or past the end of
/// its file does not stop logship for good: a warning, the file kept
/// aside as `NAME.bad`, and the directory shipped from its oldest archive.
#[test]
fn r20_bad_cursor_is_set_aside() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(archive(1)), lines(0, 5)).unwrap();
    std::fs::write(dir.join("current"), lines(5, 10)).unwrap();
    let r = Receiver::start();
    let url = r.url();
    let d = dir.to_str().unwrap();
    let c = root.path().to_str().unwrap();
    let ship = start(&["-c", c, &url, d]);
    wait_lines(&r, 0..10, &ship);
    ship.stop();
    let cur = cursor_in(root.path());
    let good = std::fs::read_to_string(&cur).unwrap();
    // Past the end of its file: OFF and SIZE beyond `current`'s size.
    let mut w: Vec<String> = good.split(' ').map(str::to_string).collect();
    w[4] = "99999".into();
    w[5] = "99999".into();
    let past = w.join(" ");
    let bad = cur.with_file_name(format!(
        "{}.bad",
        cur.file_name().unwrap().to_string_lossy()
    ));
    for (what, text) in [
        ("garbage", "hello\n"),
        ("empty", ""),
        ("past the end", &past),
    ] {
        std::fs::write(&cur, text).unwrap();
        let _ = std::fs::remove_file(&bad);
        r.clear();
        let ship = start(&["-c", c, &url, d]);
        // `past the end` needs a birth time to be told from a reused inode
        // (then it is the loss of a file as in item 2); either way,
        // everything is shipped again.
        wait_lines(&r, 0..10, &ship);
        let err = ship.stop();
        assert!(err.contains("warning"), "{what}: {err}");
        // (BORN is known on this file system: not a reused inode.)
        if what != "past the end" || w[8] != "-" {
            assert_eq!(std::fs::read_to_string(&bad).unwrap(), text, "{what}");
            assert!(err.contains(".bad"), "{what}: {err}");
        }
        // A good cursor again.
        assert!(std::fs::read_to_string(&cur)
            .unwrap()
            .starts_with("logship-cursor 2 "));
    }
}

/// Issue 20 item 10: archives and `current` are opened without following
/// links (a link named like an archive could make root ship a file only
/// root may read), and what is not a regular file (a FIFO named like an
/// archive would block the open) is skipped with a warning.
#[test]
fn r20_links_and_fifos_are_not_shipped() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "line 00000099 secret\n").unwrap();
    std::fs::write(dir.join(archive(1)), lines(0, 5)).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join(archive(2))).unwrap();
    let fifo = dir.join(archive(3));
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(dir.join(archive(4)), lines(5, 10)).unwrap();
    std::fs::write(dir.join("current"), lines(10, 15)).unwrap();
    let r = Receiver::start();
    let url = r.url();
    let c = root.path().to_str().unwrap();
    let ship = start(&["-c", c, &url, dir.to_str().unwrap()]);
    wait_lines(&r, 0..15, &ship);
    let err = ship.stop();
    assert!(!r.counts().contains_key(&99), "the link was followed");
    assert!(
        err.contains(&archive(2)) && err.contains(&archive(3)),
        "{err}"
    );
    // `current` a link: refused.
    std::fs::remove_file(dir.join("current")).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("current")).unwrap();
    let mut ship = start(&["-c", c, &url, dir.to_str().unwrap()]);
    let st = wait_limit(&mut ship.child, SOON);
    assert_eq!(st.code(), Some(111), "{}", ship.stderr());
    assert!(!r.counts().contains_key(&99));
}

/// The archive descriptors process `pid` holds open in `dir` (deleted or
/// not).
fn held_in(pid: u32, dir: &Path) -> usize {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|t| {
                    let t = t.to_string_lossy();
                    t.starts_with(&dir) && t.contains("/@")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Rotations made by hand while logship cannot send (nothing listens
/// yet), retention keeping 3 archives: logship holds at most `cap`
/// archives open, then ships what it held and reports the rest lost with
/// a count of bytes that matches the lines missing.
fn bounded_hold(ulimit: Option<u32>, cap: usize) {
    assert!(cap + 24 < 250, "labels: two hex digits");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("current"), "").unwrap();
    // A port with nothing listening (refused) until the receiver starts.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let c = root.path().to_str().unwrap();
    let d = dir.to_str().unwrap();
    let ship = match ulimit {
        None => start(&["-c", c, &url, d]),
        Some(n) => Ship::spawn(Command::new("sh").args([
            "-c",
            &format!("ulimit -n {n} && exec \"$0\" \"$@\""),
            ours("logship").to_str().unwrap(),
            "-c",
            c,
            &url,
            d,
        ])),
    };
    let pid = ship.child.id();
    // Started: `current` open (the watch is made before).
    let cur = dir.join("current");
    assert!(wait_for(SOON, || std::fs::read_dir(format!(
        "/proc/{pid}/fd"
    ))
    .is_ok_and(|rd| rd
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|t| t == cur))));
    let per = 5;
    let n = cap + 24;
    for k in 0..n {
        std::fs::write(dir.join("current"), lines(k * per, (k + 1) * per)).unwrap();
        std::fs::rename(dir.join("current"), dir.join(archive(k as u64 + 1))).unwrap();
        std::fs::write(dir.join("current"), "").unwrap();
        if k >= 3 {
            std::fs::remove_file(dir.join(archive(k as u64 - 2))).unwrap();
        }
        let want = (k + 1).min(cap + 1);
        assert!(
            wait_for(SOON, || held_in(pid, &dir) >= want),
            "{} held after {} rotations: {}",
            held_in(pid, &dir),
            k + 1,
            ship.stderr()
        );
    }
    // The followed file, renamed `@….s` by the first rotation, and the
    // archives held.
    let held = held_in(pid, &dir);
    assert!(
        held <= cap + 1,
        "{held} archives held open, at most {cap} wanted"
    );
    let r = Receiver::bind(port);
    let kept = (n - 3..n).flat_map(|k| k * per..(k + 1) * per);
    wait_lines(&r, (0..cap * per).chain(kept), &ship);
    // Nothing more comes; the loss is reported in bytes.
    assert!(
        wait_for(SOON, || ship.stderr().contains("bytes deleted")),
        "{}",
        ship.stderr()
    );
    let err = ship.stop();
    let missing = (0..n * per).filter(|i| !r.counts().contains_key(i)).count();
    let lost: u64 = err
        .lines()
        .filter_map(|l| l.strip_suffix(" bytes deleted before they were read"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    // Archives gone before logship heard of them (it lags on a loaded
    // machine) are counted as archives: each is `per` lines here.
    let gone: u64 = err
        .lines()
        .filter_map(|l| l.strip_suffix(" archives deleted before they could be read"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    let size = line(0).len() as u64;
    assert_eq!(
        lost + gone * per as u64 * size,
        missing as u64 * size,
        "{err}"
    );
    assert!(err.contains("were not held open"), "{err}");
}

/// Issue 20 item 11: at most 64 archives held open per directory (before:
/// up to 256, deleted ones taking disk space du cannot see).
#[test]
fn r20_held_archives_are_bounded() {
    bounded_hold(None, 64);
}

/// Issue 20 item 11: never more than a quarter of the descriptor limit.
#[test]
fn r20_held_archives_fit_the_descriptor_limit() {
    bounded_hold(Some(32), 8);
}

/// Issue 20 item 12: 140 directories (more than the per-user limit of 128
/// inotify instances, shared with every other watcher of the user): one
/// instance for the whole process, every directory shipped.
#[test]
fn r20_many_directories_share_one_inotify_instance() {
    let root = tempfile::tempdir().unwrap();
    let n = 140;
    let mut dirs = Vec::new();
    for k in 0..n {
        let d = root.path().join(format!("d{k}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("current"), line(k)).unwrap();
        dirs.push(d.to_str().unwrap().to_string());
    }
    let r = Receiver::start();
    let url = r.url();
    let c = root.path().to_str().unwrap();
    let mut args = vec!["-c", c, url.as_str()];
    args.extend(dirs.iter().map(String::as_str));
    let ship = start(&args);
    wait_lines(&r, 0..n, &ship);
    // And what is logged later, through the shared instance's events.
    for (k, d) in dirs.iter().enumerate().step_by(7) {
        let mut text = line(k);
        text.push_str(&line(n + k));
        std::fs::write(Path::new(d).join("current"), text).unwrap();
    }
    wait_lines(&r, (0..n).step_by(7).map(|k| n + k), &ship);
    let pid = ship.child.id();
    let instances = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.to_string_lossy().contains("inotify"))
        .count();
    assert_eq!(instances, 1);
    let err = ship.stop();
    assert!(err.is_empty(), "{err}");
}

/// Issue 20 item 12: without inotify (no instance left), the directories
/// are polled every second: rotations are still followed.
#[test]
fn r20_follows_without_inotify() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("current"), lines(0, 5)).unwrap();
    let r = Receiver::start();
    let url = r.url();
    let c = root.path().to_str().unwrap();
    let ship = Ship::spawn(
        Command::new(ours("logship"))
            .env("DTOOLS_TEST_NO_INOTIFY", "1")
            .args(["-c", c, &url, dir.to_str().unwrap()]),
    );
    wait_lines(&r, 0..5, &ship);
    std::fs::write(dir.join("current"), lines(0, 10)).unwrap();
    std::fs::rename(dir.join("current"), dir.join(archive(1))).unwrap();
    std::fs::write(dir.join(archive(2)), lines(10, 15)).unwrap();
    std::fs::write(dir.join("current"), lines(15, 20)).unwrap();
    wait_lines(&r, 0..20, &ship);
    let err = ship.stop();
    assert!(r.counts().values().all(|&n| n == 1));
    assert!(err.contains("polling"), "{err}");
}
