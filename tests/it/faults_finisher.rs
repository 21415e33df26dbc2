//! The background finisher of rotated files over a long run: its memory
//! must not grow with the number of rotations (it once kept one completion
//! message per rotation until exit, about 16 bytes each).

use crate::support::faults as faults_common;
use faults_common::workdir;

use std::time::Duration;

use faults_common::{multilog, read_logdir, wait_rusage, Captured, Reaper};

/// Run `multilog s4096 n3 ./d` over `total` bytes of 64-byte lines piped
/// in 8 KiB writes (as `yes | head -c` does); returns its maximum RSS in
/// KiB.
fn max_rss_kib(total: usize) -> u64 {
    use std::io::Write;
    const LINE: &[u8; 64] = b"finisher memory test line, sixty-four bytes long, no more......\n";
    let dir = workdir();
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let mut child = Reaper(
        multilog(dir.path(), &["s4096", "n3", "./d"])
            .stdin(std::process::Stdio::from(r))
            .spawn()
            .unwrap(),
    );
    let feeder = std::thread::spawn(move || {
        let block: Vec<u8> = LINE.iter().copied().cycle().take(8192).collect();
        let mut w = std::fs::File::from(w);
        for _ in 0..total / block.len() {
            w.write_all(&block).unwrap();
        }
    });
    let err = Captured::start(&mut child);
    let (st, rss) = wait_rusage(&mut child, Duration::from_secs(300));
    feeder.join().unwrap();
    assert_eq!(st.code(), Some(0), "{}", err.text());
    let lf = read_logdir(&dir.path().join("d"));
    assert_eq!(lf.archives.len(), 2, "n3 keeps two archives");
    assert!(lf.archives.iter().all(|(n, _)| n.ends_with(".s")));
    rss
}

/// 8 times the rotations must not cost memory: the maximum RSS after
/// 400 MB (about 190,000 rotations) is within 10% of the one after 50 MB.
/// (It grew by 1.5 MiB, 60%, when each rotation left a completion message
/// queued.) The small run is taken twice: its peak sometimes includes a
/// one-off 128 KiB step, which is not growth.
#[test]
fn rss_does_not_grow_with_rotations() {
    let small = max_rss_kib(50_000_000).max(max_rss_kib(50_000_000));
    let large = max_rss_kib(400_000_000);
    eprintln!("s4096 n3: maximum RSS {small} KiB after 50 MB, {large} KiB after 400 MB");
    assert!(
        large * 10 <= small * 11,
        "RSS grew from {small} KiB (50 MB) to {large} KiB (400 MB)"
    );
}
