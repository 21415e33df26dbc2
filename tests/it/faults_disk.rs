//! Real disk-full faults: multilog writes into a small tmpfs that fills up,
//! must say so in daemontools' words and pause, and once the tmpfs is grown
//! (`mount -o remount,size=…`) must carry on and exit 0 with every line
//! logged exactly once, in order. Needs root (mount); see
//! `DTOOLS_REQUIRE_ROOT_TESTS` in `faults_common`.

use crate::support::faults as faults_common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::support::procstate;

use faults_common::{
    lines, multilog, multilog_bin, ours, read_logdir, wait_limit, Captured, Feed, Reaper, Tmpfs,
};

const LIMIT: Duration = Duration::from_secs(60);

/// Run `args` in `fs` on `input`; once `message` shows on stderr, check
/// multilog is still running (paused, not dead), call `fix`, then let the
/// input finish and return stderr. Asserts exit 0.
fn fill_then_fix(
    fs: &Tmpfs,
    args: &[&str],
    input: Vec<u8>,
    message: &str,
    fix: &dyn Fn(),
) -> String {
    let mut feed = Feed::lines(input, Duration::ZERO);
    let mut child = Reaper(
        multilog(fs.path(), args)
            .stdin(feed.stdin())
            .spawn()
            .expect("spawn multilog"),
    );
    let err = Captured::start(&mut child);
    // Paused, not dead: the warning comes again after a pause, so
    // multilog was still running after the first.
    wait_repeated(&err, message);
    assert!(
        child.try_wait().unwrap().is_none(),
        "multilog exited while the disk was full; stderr:\n{}",
        err.text()
    );
    fix();
    let st = wait_limit(&mut child, LIMIT);
    feed.join();
    let text = err.finish(LIMIT);
    assert_eq!(st.code(), Some(0), "exit status; stderr:\n{text}");
    assert!(!text.contains("fatal"), "fatal message:\n{text}");
    text
}

/// Wait until `message` has shown on stderr twice: multilog warned, paused
/// and tried again.
fn wait_repeated(err: &Captured, message: &str) {
    assert!(
        crate::support::wait_for(LIMIT, || err.text().matches(message).count() >= 2),
        "{message:?} not repeated within {LIMIT:?}; stderr:\n{}",
        err.text()
    );
}

/// Every archive is finished (`.s`), no file exceeds `size`, the directory
/// holds nothing but `current`, `lock` and `state`, and the archives
/// followed by `current` are exactly `want`.
fn check_complete(dir: &std::path::Path, size: usize, want: &[u8]) {
    let lf = read_logdir(dir);
    assert_eq!(lf.others, ["lock", "state"], "unexpected files");
    for (n, b) in &lf.archives {
        assert!(n.ends_with(".s"), "{n} not finished");
        assert!(b.len() <= size, "{n} has {} bytes > s{size}", b.len());
        assert_eq!(b.last(), Some(&b'\n'), "{n} does not end in a newline");
    }
    let all = lf.all();
    if all != want {
        let at = all.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "logged {} bytes, want {}; first difference at {at:?}",
            all.len(),
            want.len()
        );
    }
}

#[test]
fn disk_full_while_writing_current() {
    let Some(fs) = Tmpfs::mount("disk_full_while_writing_current", "size=1m") else {
        return;
    };
    let input = lines(20_000, 300); // about 3.2 MB
    let text = fill_then_fix(
        &fs,
        &["s99999", "n1000", "./d"],
        input.clone(),
        "multilog: warning: unable to write to ./d/current, pausing: out of disk space\n",
        &|| fs.remount("size=16m"),
    );
    eprintln!(
        "disk full: {} pausing messages",
        text.matches("pausing").count()
    );
    check_complete(&fs.path().join("d"), 99_999, &input);
}

#[test]
fn disk_full_with_small_files_rotating() {
    let Some(fs) = Tmpfs::mount("disk_full_with_small_files_rotating", "size=512k") else {
        return;
    };
    // With s4096 every file is one page: rotations happen all the time,
    // including right at the moment the disk fills.
    let input = lines(8_000, 200); // about 900 KB
    fill_then_fix(
        &fs,
        &["s4096", "n100000", "./d"],
        input.clone(),
        "multilog: warning: unable to write to ./d/current, pausing: out of disk space\n",
        &|| fs.remount("size=8m"),
    );
    check_complete(&fs.path().join("d"), 4096, &input);
}

#[test]
fn out_of_inodes_during_rotation() {
    // Inodes: the root, d, lock, state, current, then one per archive.
    let Some(fs) = Tmpfs::mount("out_of_inodes_during_rotation", "size=16m,nr_inodes=16") else {
        return;
    };
    let input = lines(3_000, 200);
    let text = fill_then_fix(
        &fs,
        &["s4096", "n100000", "./d"],
        input.clone(),
        "multilog: warning: unable to create ./d/current, pausing: out of disk space\n",
        &|| fs.remount("nr_inodes=10000"),
    );
    assert!(!text.contains("unable to write to"), "{text}");
    check_complete(&fs.path().join("d"), 4096, &input);
}

#[test]
fn disk_full_with_a_processor() {
    let Some(fs) = Tmpfs::mount("disk_full_with_a_processor", "size=1m") else {
        return;
    };
    let input = lines(16_000, 200); // about 1.8 MB
    let text = fill_then_fix(
        &fs,
        &["s16384", "n100000", "!cat", "./d"],
        input.clone(),
        "multilog: warning: processor failed in ./d, pausing\n",
        &|| fs.remount("size=16m"),
    );
    eprintln!(
        "processor on a full disk: {} 'processor failed' messages",
        text.matches("multilog: warning: processor failed in ./d, pausing\n")
            .count()
    );
    check_complete(&fs.path().join("d"), 16_384, &input);
}

#[test]
fn status_file_on_a_full_partition() {
    let Some(fs) = Tmpfs::mount("status_file_on_a_full_partition", "size=64k") else {
        return;
    };
    // Fill the tmpfs completely.
    let filler = fs.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![b'f'; 4096];
        while f.write_all(&block).is_ok() {}
    }
    let logs = tempfile::tempdir().unwrap();
    let st = fs.path().join("st");
    let status_arg = format!("={}", st.display());
    let input = lines(2_000, 200);
    let message = format!(
        "multilog: warning: unable to write {}, pausing: out of disk space\n",
        st.display()
    );
    let mut feed = Feed::lines(input.clone(), Duration::ZERO);
    let mut child = Reaper(
        multilog(logs.path(), &[status_arg.as_str(), "./d"])
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    wait_repeated(&err, &message);
    assert!(child.try_wait().unwrap().is_none(), "{}", err.text());
    std::fs::remove_file(&filler).unwrap();
    let status = wait_limit(&mut child, LIMIT);
    feed.join();
    assert_eq!(status.code(), Some(0), "{}", err.text());
    // The status file holds the last line, padded to 1001 bytes.
    let mut want = input[..input.len() - 1]
        .rsplit(|&c| c == b'\n')
        .next()
        .unwrap()
        .to_vec();
    want.resize(1001, b'\n');
    assert_eq!(std::fs::read(&st).unwrap(), want);
    check_complete(&logs.path().join("d"), 99_999, &input);
}

#[test]
fn term_while_paused_on_a_full_disk() {
    let Some(fs) = Tmpfs::mount("term_while_paused_on_a_full_disk", "size=256k") else {
        return;
    };
    let input = lines(20_000, 200);
    let mut feed = Feed::lines(input.clone(), Duration::ZERO);
    let mut child = Reaper(
        multilog(fs.path(), &["s99999", "n1000", "./d"])
            .stdin(feed.stdin())
            .spawn()
            .unwrap(),
    );
    let err = Captured::start(&mut child);
    let full = "multilog: warning: unable to write to ./d/current, pausing: out of disk space\n";
    err.wait_for(full, LIMIT);
    // TERM while pausing: nothing happens until the disk has room again,
    // then multilog finishes the line it is in and exits 0. Once TERM is
    // no longer pending (its handler ran), a further warning shows
    // multilog paused and tried again instead of exiting.
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(
        crate::support::wait_for(LIMIT, || !procstate::signal_pending(
            child.id(),
            libc::SIGTERM
        )),
        "TERM still pending"
    );
    let seen = err.text().matches(full).count();
    assert!(
        crate::support::wait_for(LIMIT, || err.text().matches(full).count() > seen
            || child.try_wait().unwrap().is_some()),
        "no further warning after TERM; stderr:\n{}",
        err.text()
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited on TERM while the disk was full"
    );
    fs.remount("size=16m");
    let st = wait_limit(&mut child, LIMIT);
    assert_eq!(st.code(), Some(0), "{}", err.text());
    // What is logged is a whole-line prefix of the input (the rest stays
    // unread in the pipe, which the test then closes).
    let lf = read_logdir(&fs.path().join("d"));
    let all = lf.all();
    assert!(!all.is_empty() && all.len() < input.len());
    assert_eq!(all.last(), Some(&b'\n'));
    assert!(
        input.starts_with(&all),
        "logged bytes are not a prefix of the input"
    );
    drop(child);
    // Unblock and finish the feeder: nobody reads the pipe any more.
    drop(feed.read);
    if let Some(w) = feed.writer.take() {
        let _ = w.join();
    }
}

/// The `e` alerts `bin` prints before its first "pausing" warning when it
/// runs `args` in a fresh tmpfs of `size` on `input`, all of which is in the
/// pipe before it starts (so our multilog sees it in as few reads as it
/// can). `None` when the test is skipped.
fn alerts_before_pause(
    test: &str,
    size: &str,
    bin: &Path,
    args: &[&str],
    input: &[u8],
) -> Option<usize> {
    let fs = Tmpfs::mount(test, &format!("size={size}"))?;
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
    rustix::pipe::fcntl_setpipe_size(&wr, input.len().next_power_of_two()).expect("pipe size");
    // The write end stays open until multilog is gone: no EOF.
    let mut wr = std::fs::File::from(wr);
    wr.write_all(input).expect("fill pipe");
    let mut child = Reaper(
        multilog_bin(bin, fs.path(), args)
            .stdin(Stdio::from(rd))
            .spawn()
            .expect("spawn multilog"),
    );
    let err = Captured::start(&mut child);
    // Everything before the first warning was printed before the write
    // that blocks on the full disk.
    err.wait_for(", pausing: out of disk space\n", LIMIT);
    let text = err.text();
    let before = &text[..text.find("multilog: warning: ").unwrap()];
    let alerts = before
        .lines()
        .filter(|l| !l.starts_with("multilog:"))
        .count();
    drop(child);
    drop(wr);
    drop(fs);
    Some(alerts)
}

/// daemontools prints a line's `e` alert before the line goes to its
/// directories; ours must have printed at least as many alerts as
/// daemontools when a write to a full disk starts pausing.
fn alerts_not_behind_a_blocked_write(test: &str, size: &str, args: &[&str], input: &[u8]) {
    let Some(theirs) = ({
        let Some(bin) = crate::support::reference("multilog") else {
            return;
        };
        alerts_before_pause(test, size, &bin, args, input)
    }) else {
        return;
    };
    let Some(ours) = alerts_before_pause(test, size, &ours("multilog"), args, input) else {
        return;
    };
    let total = input.iter().filter(|&&c| c == b'\n').count();
    eprintln!("{test}: alerts before the pause: ours {ours}, daemontools {theirs}, of {total}");
    assert!(theirs > 0, "daemontools printed no alert before pausing");
    assert!(
        ours >= theirs,
        "ours printed {ours} alerts before pausing, daemontools {theirs}"
    );
}

#[test]
fn echo_is_not_held_behind_a_full_disk() {
    // 40 lines of 3000 bytes overflow 64 KiB about half way.
    let input: Vec<u8> = (0..40)
        .flat_map(|k| {
            let mut l = format!("alert {k:02} ").into_bytes();
            l.resize(3000, b'x');
            l.push(b'\n');
            l
        })
        .collect();
    alerts_not_behind_a_blocked_write(
        "echo_is_not_held_behind_a_full_disk",
        "64k",
        &["e", "./d"],
        &input,
    );
}

#[test]
fn echo_is_not_held_behind_a_full_output_buffer() {
    // Short stamped lines: one 128 KiB input block makes more output than
    // the 256 KiB directory buffer holds, so the write that blocks happens
    // inside the block, while its lines are being processed. The disk
    // fills near the end of that first buffer (240 of 256 KiB), after the
    // alerts of more than three 64 KiB `e` batches have been selected.
    let input: Vec<u8> = (0..14_000)
        .flat_map(|k| format!("l{k:08}\n").into_bytes())
        .collect();
    alerts_not_behind_a_blocked_write(
        "echo_is_not_held_behind_a_full_output_buffer",
        "240k",
        &["t", "e", "s16777215", "./d"],
        &input,
    );
}
