//! multilog: integration tests of our binary, and differential tests that
//! run the same script and input through Debian's `/usr/bin/multilog` and
//! compare exit code, stdout, stderr and the resulting directory trees
//! (timestamps masked).

use crate::support as common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::logdir::tree;
use common::{mask, ours, procstate, reference, run_input, try_wait_for, wait_deadline, Entry};

const DEADLINE: Duration = Duration::from_secs(30);

/// Everything a run leaves behind, timestamps masked.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    tree: Vec<(String, Vec<Entry>)>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&mask(b)).into_owned()
}

/// Run `bin` with `args` in a fresh directory prepared by `setup`.
fn run_in(bin: &Path, setup: &dyn Fn(&Path), args: &[&str], input: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let out = run_input(
        Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .env("DTOOLS_TEST_PAUSE_MS", "10"),
        input,
        DEADLINE,
    );
    Outcome {
        code: out.status.code(),
        stdout: lossy(&out.stdout),
        stderr: lossy(&out.stderr),
        tree: tree(dir.path()),
    }
}

/// Run ours and the reference on the same case and insist on equality.
fn differential(setup: &dyn Fn(&Path), args: &[&str], input: &[u8]) -> Option<Outcome> {
    let refbin = reference("multilog")?;
    let theirs = run_in(&refbin, setup, args, input);
    let mine = run_in(&ours("multilog"), setup, args, input);
    assert_eq!(
        mine, theirs,
        "ours (left) vs daemontools (right) for {args:?}"
    );
    Some(mine)
}

fn nothing(_: &Path) {}

fn file(dir: &Path, rel: &str, contents: &[u8], mode: u32) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, contents).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

fn entry<'a>(o: &'a Outcome, dir: &str, name: &str) -> &'a Entry {
    o.tree
        .iter()
        .find(|(d, _)| d == dir)
        .and_then(|(_, es)| es.iter().find(|e| e.name == name))
        .unwrap_or_else(|| panic!("{dir}/{name} missing in {:#?}", o.tree))
}

// ---------------------------------------------------------------------------
// Our binary alone.

#[test]
fn first_start_creates_the_daemontools_layout() {
    let o = run_in(&ours("multilog"), &nothing, &["./main"], b"one\ntwo\n");
    assert_eq!(o.code, Some(0));
    assert_eq!(entry(&o, "main", "current").mode, 0o744);
    assert_eq!(entry(&o, "main", "current").contents, b"one\ntwo\n");
    assert_eq!(entry(&o, "main", "lock").mode, 0o600);
    assert_eq!(entry(&o, "main", "state").mode, 0o644);
    assert_eq!(entry(&o, "", "main").mode, 0o700);
}

#[test]
fn timestamps_are_tai64n_labels_with_a_space() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_input(
        Command::new(ours("multilog"))
            .args(["t", "./d"])
            .current_dir(dir.path()),
        b"hello\n\nworld",
        DEADLINE,
    );
    assert!(out.status.success());
    let cur = fs::read(dir.path().join("d/current")).unwrap();
    let lines: Vec<&[u8]> = cur.split(|&c| c == b'\n').collect();
    assert_eq!(lines.len(), 4, "{cur:?}");
    for (l, text) in lines.iter().zip([&b"hello"[..], b"", b"world"]) {
        assert_eq!(l[0], b'@');
        let t = daemontools::tai64::Tai64N::from_hex(&l[1..25]).expect("24 hex digits");
        assert_eq!(t.nanos % 1000, 500);
        let now = daemontools::tai64::Tai64N::now();
        assert!(t.secs <= now.secs && t.secs + 60 > now.secs);
        assert_eq!(l[25], b' ');
        assert_eq!(&l[26..], text);
    }
    assert_eq!(lines[3], b"");
}

#[test]
fn huge_line_streams_through_and_is_cut_at_s() {
    // 3 MB line without a newline: streamed through, cut at exactly s.
    let line = vec![b'x'; 3_000_000];
    let dir = tempfile::tempdir().unwrap();
    let out = run_input(
        Command::new(ours("multilog"))
            .args(["s1000000", "n10", "./d"])
            .current_dir(dir.path()),
        &line,
        DEADLINE,
    );
    assert!(out.status.success());
    let mut files: Vec<_> = fs::read_dir(dir.path().join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('@'))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    let mut all = Vec::new();
    for f in &files {
        let b = fs::read(dir.path().join("d").join(f)).unwrap();
        assert_eq!(b.len(), 1_000_000);
        all.extend(b);
    }
    all.extend(fs::read(dir.path().join("d/current")).unwrap());
    let mut want = line.clone();
    want.push(b'\n');
    assert_eq!(all, want);
}

#[test]
fn nul_bytes_and_invalid_utf8_pass_unchanged() {
    let input = b"a\0b\xff\xfe\n\x80\x81 z\n".to_vec();
    let o = run_in(&ours("multilog"), &nothing, &["./d"], &input);
    assert_eq!(entry(&o, "d", "current").contents, input);
}

/// A multilog fed through a pipe that the test controls.
struct Live {
    child: Child,
    dir: tempfile::TempDir,
}

impl Live {
    fn start(bin: &Path, args: &[&str], setup: &dyn Fn(&Path)) -> Live {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let child = Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .env("DTOOLS_TEST_PAUSE_MS", "10")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Live { child, dir }
    }
    fn send(&mut self, b: &[u8]) {
        let s = self.child.stdin.as_mut().unwrap();
        s.write_all(b).unwrap();
        s.flush().unwrap();
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn signal(&self, sig: i32) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::from_named_raw(sig).unwrap())
            .unwrap();
    }
    fn wait_until(&self, what: &str, cond: impl Fn(&Live) -> bool) {
        assert!(
            common::wait_for(DEADLINE, || cond(self)),
            "timed out waiting for {what}"
        );
    }
    /// Everything sent has been read and multilog sleeps waiting for more.
    fn idle(&self) -> bool {
        procstate::pipe_unread(self.child.stdin.as_ref().unwrap()) == 0
            && procstate::waiting_for_input(self.child.id())
    }
    /// `sig` has been handled and multilog waits for input again (or has
    /// exited).
    fn handled(&self, sig: i32) -> bool {
        procstate::signal_handled(self.child.id(), sig)
    }
    /// Send SIGALRM until `cond` holds. daemontools 0.76 can miss an ALRM
    /// that arrives between its `sig_unblock` and `read` (it then sleeps in
    /// `read` until more input comes), so a second signal is sent after a
    /// while; the flag coalesces, so one rotation still happens.
    fn alarm_until(&self, what: &str, cond: impl Fn(&Live) -> bool) {
        let start = Instant::now();
        loop {
            self.signal(libc::SIGALRM);
            if common::wait_for(Duration::from_secs(2), || cond(self)) {
                return;
            }
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        }
    }

    fn archives(&self, d: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.path(d))
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| n.starts_with('@'))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    fn finish(mut self) -> (Outcome, tempfile::TempDir) {
        drop(self.child.stdin.take());
        let out = wait_deadline(self.child, DEADLINE);
        let o = Outcome {
            code: out.status.code(),
            stdout: lossy(&out.stdout),
            stderr: lossy(&out.stderr),
            tree: tree(self.dir.path()),
        };
        (o, self.dir)
    }
}

fn current_is(l: &Live, d: &str, want: &[u8]) -> bool {
    fs::read(l.path(d).join("current"))
        .map(|b| b == want)
        .unwrap_or(false)
}

/// SIGTERM mid-line: the line is finished, nothing after it is read, exit 0.
fn term_mid_line(bin: &Path) -> (Outcome, Vec<u8>) {
    let mut l = Live::start(bin, &["./d"], &nothing);
    l.send(b"first\n");
    l.wait_until("first line", |l| current_is(l, "d", b"first\n"));
    l.send(b"partial");
    // TERM only once the partial line has been read, and the rest only
    // once TERM has been handled.
    l.wait_until("partial line read", Live::idle);
    l.signal(libc::SIGTERM);
    l.wait_until("TERM handled", |l| l.handled(libc::SIGTERM));
    l.send(b"-rest\nmore\n");
    let status = try_wait_for(&mut l.child, DEADLINE).expect("no exit after TERM");
    // Whatever multilog did not read is still in the pipe: it has exited,
    // so the bytes are lost with the pipe; what matters is the file.
    assert_eq!(status.code(), Some(0));
    let cur = fs::read(l.path("d/current")).unwrap();
    let mode = fs::metadata(l.path("d/current"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o744);
    let (o, _dir) = l.finish();
    (o, cur)
}

#[test]
fn term_finishes_the_line_and_reads_no_further() {
    let (_, cur) = term_mid_line(&ours("multilog"));
    assert_eq!(cur, b"first\npartial-rest\n");
    if let Some(r) = reference("multilog") {
        let (_, theirs) = term_mid_line(&r);
        assert_eq!(theirs, cur);
    }
}

#[test]
fn term_when_idle_exits_at_once() {
    let mut l = Live::start(&ours("multilog"), &["./d"], &nothing);
    l.send(b"x\n");
    l.wait_until("line", |l| current_is(l, "d", b"x\n"));
    l.signal(libc::SIGTERM);
    assert!(
        try_wait_for(&mut l.child, DEADLINE).is_some(),
        "no exit after TERM"
    );
    let (o, _d) = l.finish();
    assert_eq!(o.code, Some(0));
}

/// SIGALRM rotates a non-empty current only; a held partial line goes to
/// the new file.
fn alarm_case(bin: &Path, args: &[&str]) -> (Outcome, Vec<Vec<u8>>) {
    let mut l = Live::start(bin, args, &nothing);
    l.send(b"one\ntw");
    l.wait_until("one", |l| current_is(l, "d", b"one\n"));
    l.alarm_until("rotation", |l| l.archives("d").len() == 1);
    // A second ALRM, delivered while multilog waits in read (daemontools
    // can miss one that comes elsewhere); once it has been handled, any
    // rotation it caused has happened.
    l.wait_until("idle after the rotation", Live::idle);
    l.signal(libc::SIGALRM);
    l.wait_until("second ALRM handled", |l| l.handled(libc::SIGALRM));
    assert_eq!(l.archives("d").len(), 1, "ALRM on an empty current rotated");
    l.send(b"o\nthree\n");
    let names = l.archives("d");
    let contents = names
        .iter()
        .map(|n| fs::read(l.path("d").join(n)).unwrap())
        .collect();
    let (o, _d) = l.finish();
    (o, contents)
}

#[test]
fn alarm_rotates_nonempty_current() {
    let (o, archived) = alarm_case(&ours("multilog"), &["./d"]);
    assert_eq!(archived, vec![b"one\n".to_vec()]);
    assert_eq!(entry(&o, "d", "current").contents, b"two\nthree\n");
    if let Some(r) = reference("multilog") {
        let (theirs, their_archived) = alarm_case(&r, &["./d"]);
        assert_eq!(o, theirs);
        assert_eq!(archived, their_archived);
    }
}

#[test]
fn alarm_with_processor() {
    let args = ["!tr a-z A-Z; echo st >&5", "./d"];
    let (o, archived) = alarm_case(&ours("multilog"), &args);
    assert_eq!(archived, vec![b"ONE\n".to_vec()]);
    assert_eq!(entry(&o, "d", "state").contents, b"st\n");
    if let Some(r) = reference("multilog") {
        let (theirs, their_archived) = alarm_case(&r, &args);
        assert_eq!(o, theirs);
        assert_eq!(archived, their_archived);
    }
}

#[test]
fn failing_processor_is_retried_with_the_daemontools_messages() {
    let setup = |d: &Path| file(d, "flag", b"", 0o644);
    // Fails once (removing the flag), then succeeds.
    let args = ["![ -e ../flag ] && { rm ../flag; exit 3; }; cat", "./d"];
    for bin in [Some(ours("multilog")), reference("multilog")]
        .into_iter()
        .flatten()
    {
        let mut l = Live::start(&bin, &args, &setup);
        l.send(b"abc\n");
        l.wait_until("abc", |l| current_is(l, "d", b"abc\n"));
        l.alarm_until("rotation", |l| current_is(l, "d", b""));
        l.send(b"def\n");
        let (o, _d) = l.finish();
        assert_eq!(o.code, Some(0));
        assert!(
            o.stderr
                .contains("multilog: warning: processor failed in ./d, pausing\n"),
            "{bin:?}: {}",
            o.stderr
        );
        let archives: Vec<&Entry> = o
            .tree
            .iter()
            .find(|(d, _)| d == "d")
            .unwrap()
            .1
            .iter()
            .filter(|e| e.name.starts_with('@'))
            .collect();
        assert_eq!(archives.len(), 1, "{bin:?}");
        assert_eq!(archives[0].contents, b"abc\n");
        assert_eq!(archives[0].mode, 0o744);
        assert_eq!(entry(&o, "d", "current").contents, b"def\n");
    }
}

// ---------------------------------------------------------------------------
// Differential: exact agreement with daemontools.

#[test]
fn diff_plain_and_stamped_selection() {
    let input = b"alpha one\nbeta two\nERROR three\n\nfour ERROR\nlast-no-newline";
    differential(&nothing, &["./a"], input);
    differential(
        &nothing,
        &["-*", "+*ERROR*", "./a", "+*", "-a*", "./b"],
        input,
    );
    differential(&nothing, &["t", "-*", "+* ERROR*", "./a", "e"], input);
    differential(&nothing, &["e", "-b*", "e", "./a"], input);
}

#[test]
fn diff_unknown_actions_and_empty_script() {
    differential(&nothing, &[], b"x\ny\n");
    differential(
        &nothing,
        &["foo", "", "T", "w", "N5", "./d", "t"],
        b"x\ny\n",
    );
    differential(&nothing, &["+", "./d"], b"x\n\ny\n\n");
}

#[test]
fn diff_echo_truncation_and_long_lines() {
    let mut input = Vec::new();
    for n in [
        0usize, 1, 199, 200, 201, 973, 974, 975, 999, 1000, 1001, 1500, 5000,
    ] {
        input.extend(std::iter::repeat_n(b'a' + (n % 26) as u8, n));
        input.push(b'\n');
    }
    differential(&nothing, &["e", "./d", "=st"], &input);
    differential(&nothing, &["t", "e", "./d", "=st"], &input);
    // Selection is decided on the first 1000 bytes only.
    differential(&nothing, &["-*", "+aaa*", "./d"], &input);
}

#[test]
fn diff_status_file_is_1001_bytes_and_never_truncated() {
    let setup = |d: &Path| file(d, "st", &[b'z'; 3000], 0o644);
    differential(&setup, &["=st", "-*b*", "=st2"], b"abc\nb\nxyz\n");
    differential(&nothing, &["=st"], b"");
}

#[test]
fn diff_status_file_errors() {
    let setup = |d: &Path| fs::create_dir(d.join("dd")).unwrap();
    differential(&setup, &["=dd", "./x"], b"a\n");
    differential(&nothing, &["=nope/st"], b"a\n");
}

#[test]
fn diff_directory_errors() {
    let is_file = |d: &Path| file(d, "f", b"", 0o644);
    differential(&is_file, &["./f"], b"a\n");
    differential(&nothing, &["./missing/parent"], b"a\n");
    differential(&nothing, &["./a", "./b", "./a"], b"a\n");
    differential(&nothing, &["./a", "/nonexistent-dir/x/y"], b"a\n");
}

#[test]
fn diff_lock_held_by_another_multilog() {
    let Some(r) = reference("multilog") else {
        return;
    };
    for holder in [ours("multilog"), r.clone()] {
        let mut l = Live::start(&holder, &["./d"], &nothing);
        l.send(b"held\n");
        l.wait_until("holder ready", |l| current_is(l, "d", b"held\n"));
        for bin in [ours("multilog"), r.clone()] {
            let out = run_input(
                Command::new(&bin).arg("./d").current_dir(l.dir.path()),
                b"x\n",
                DEADLINE,
            );
            assert_eq!(out.status.code(), Some(111), "{bin:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                "multilog: fatal: unable to lock directory ./d: temporary failure\n"
            );
        }
        let (o, _d) = l.finish();
        assert_eq!(o.code, Some(0));
    }
}

#[test]
fn diff_resume_after_clean_exit_touches_nothing_else() {
    let setup = |d: &Path| {
        file(d, "d/current", b"old\n", 0o744);
        file(d, "d/previous", b"prev\n", 0o644);
        file(d, "d/state", b"st\n", 0o644);
        file(d, "d/processed", b"pr\n", 0o644);
    };
    let o = differential(&setup, &["./d"], b"new\n");
    if let Some(o) = o {
        assert_eq!(entry(&o, "d", "current").contents, b"old\nnew\n");
    }
}

#[test]
fn diff_crash_recovery_archives_as_u() {
    // current without the x bit: a crash. previous is archived as .u too.
    let crashed = |d: &Path| {
        file(d, "d/current", b"cur\n", 0o644);
        file(d, "d/previous", b"prev\n", 0o644);
        file(d, "d/state", b"st\n", 0o644);
        file(d, "d/newstate", b"ns\n", 0o644);
        file(d, "d/processed", b"pr\n", 0o644);
    };
    differential(&crashed, &["./d"], b"new\n");
    // processed complete (0744): it becomes .s, previous is dropped.
    let processed = |d: &Path| {
        file(d, "d/current", b"", 0o644);
        file(d, "d/previous", b"prev\n", 0o644);
        file(d, "d/processed", b"PREV\n", 0o744);
    };
    differential(&processed, &["./d"], b"new\n");
    // An empty crashed current still becomes an empty .u.
    let empty = |d: &Path| file(d, "d/current", b"", 0o644);
    differential(&empty, &["./d"], b"");
    // A link already made before the crash: no second archive.
    let linked = |d: &Path| {
        file(d, "d/previous", b"prev\n", 0o744);
        fs::hard_link(
            d.join("d/previous"),
            d.join("d/@400000006b050c5709c2505c.s"),
        )
        .unwrap();
    };
    differential(&linked, &["./d"], b"x\n");
}

#[test]
fn diff_retention_counts_current() {
    // Pre-existing archives; recovery adds a .u and trims to n-1 archives.
    for n in ["n2", "n3", "n5"] {
        let setup = |d: &Path| {
            for (i, name) in [
                "@400000006b050c5700000001.s",
                "@400000006b050c5700000002.u",
                "@400000006b050c5700000003.s",
                "@400000006b050c5700000004.s",
            ]
            .iter()
            .enumerate()
            {
                file(d, &format!("d/{name}"), format!("{i}\n").as_bytes(), 0o744);
            }
            file(d, "d/current", b"c\n", 0o644);
        };
        differential(&setup, &[n, "./d"], b"x\n");
    }
}

#[test]
fn diff_long_line_cut_at_exactly_s() {
    let mut input = vec![b'q'; 5000];
    input.push(b'\n');
    input.extend_from_slice(b"tail\n");
    differential(&nothing, &["s4096", "./d"], &input);
}

#[test]
fn diff_stdin_closed_or_a_directory() {
    for bin in [Some(ours("multilog")), reference("multilog")]
        .into_iter()
        .flatten()
    {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new(&bin)
            .arg("./d")
            .current_dir(dir.path())
            .stdin(fs::File::open(dir.path()).unwrap())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(0), "{bin:?}");
    }
}

/// Rotation under load: every file at most s, at most n files, and the
/// archives plus `current` are exactly the selected input, in order.
#[test]
fn rotation_keeps_every_line_once_in_order() {
    let mut input = Vec::new();
    for i in 0..20_000u32 {
        writeln!(input, "line {i} {}", "y".repeat((i % 97) as usize)).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run_input(
        Command::new(ours("multilog"))
            .args(["s4096", "n1000", "./d"])
            .current_dir(dir.path()),
        &input,
        DEADLINE,
    );
    assert!(out.status.success());
    let mut names: Vec<_> = fs::read_dir(dir.path().join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('@'))
        .collect();
    names.sort();
    let mut all = Vec::new();
    for n in &names {
        assert!(n.ends_with(".s"));
        let b = fs::read(dir.path().join("d").join(n)).unwrap();
        assert!(b.len() <= 4096 && b.len() >= 2096, "{n}: {}", b.len());
        assert_eq!(b.last(), Some(&b'\n'));
        all.extend(b);
    }
    all.extend(fs::read(dir.path().join("d/current")).unwrap());
    assert_eq!(all, input);
}

#[test]
fn retention_trims_to_n_minus_one_archives() {
    let input: Vec<u8> = (0..5000)
        .flat_map(|i| format!("{i:0>50}\n").into_bytes())
        .collect();
    for n in [2usize, 3, 7] {
        let o = run_in(
            &ours("multilog"),
            &nothing,
            &["s4096", &format!("n{n}"), "./d"],
            &input,
        );
        let d = &o.tree.iter().find(|(d, _)| d == "d").unwrap().1;
        let archives = d.iter().filter(|e| e.name.starts_with('@')).count();
        assert_eq!(archives, n - 1, "n{n}");
        // The newest archives are kept: the last one ends just before current.
        let last_line = &input[input.len() - 51..];
        let cur = &entry(&o, "d", "current").contents;
        assert!(cur.is_empty() || cur.ends_with(last_line));
    }
}

/// utime + stime of `pid` in clock ticks, from /proc/PID/stat.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// SIGTERM while a partial line is held and stdin is an O_NONBLOCK pipe:
/// multilog must wait for the rest of the line in poll, not spin on EAGAIN.
#[test]
fn term_with_nonblocking_stdin_does_not_spin() {
    use rustix::fs::OFlags;
    let dir = tempfile::tempdir().unwrap();
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    // O_NONBLOCK lives in the open file description, which the child shares.
    let fl = rustix::fs::fcntl_getfl(&rd).unwrap();
    rustix::fs::fcntl_setfl(&rd, fl | OFlags::NONBLOCK).unwrap();
    let mut child = Command::new(ours("multilog"))
        .arg("./d")
        .current_dir(dir.path())
        .stdin(Stdio::from(rd.try_clone().unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut w = fs::File::from(wr);
    let current = dir.path().join("d/current");
    w.write_all(b"first\n").unwrap();
    assert!(
        common::wait_for(DEADLINE, || fs::read(&current).ok().as_deref()
            == Some(b"first\n")),
        "first line not logged"
    );
    // The partial line must have been read (the pipe is empty again)
    // before TERM, or multilog would exit at a line boundary.
    w.write_all(b"partial").unwrap();
    assert!(
        common::wait_for(DEADLINE, || procstate::pipe_unread(&rd) == 0),
        "partial line not read"
    );
    let p = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(p, rustix::process::Signal::TERM).unwrap();
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    // The window under test: the CPU multilog uses over one second of
    // waiting for the rest of the line.
    std::thread::sleep(Duration::from_secs(1));
    let ticks = cpu_ticks(pid) - ticks0;
    let wall = t0.elapsed().as_secs_f64();
    // USER_HZ, the unit of /proc/PID/stat times, is 100 on Linux.
    let share = ticks as f64 / 100.0 / wall;
    eprintln!(
        "multilog CPU while waiting after TERM: {:.0}%",
        share * 100.0
    );
    let running = child.try_wait().unwrap().is_none();
    if !running || share >= 0.2 {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(running, "exited before the line was finished");
    assert!(
        share < 0.2,
        "multilog used {:.0}% CPU waiting for the rest of the line",
        share * 100.0
    );
    w.write_all(b"-rest\nmore\n").unwrap();
    drop(w);
    drop(rd);
    let out = wait_deadline(child, DEADLINE);
    assert_eq!(out.status.code(), Some(0), "{}", lossy(&out.stderr));
    assert_eq!(fs::read(&current).unwrap(), b"first\npartial-rest\n");
}
