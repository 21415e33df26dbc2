//! Which `supervise` svscan runs: the one beside its own executable when
//! there is one, before `$PATH` (a difference from daemontools), so that an
//! svscan run from a build tree never starts another installation's
//! supervise, which would ignore the extension files.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::supervise::{control, service, wait_status, write_script};
use crate::support::{ours, ours_alone, wait_for, SOON};

/// svscan killed on drop, and the service's supervise stopped.
struct Running(Child, std::path::PathBuf);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        control(&self.1, b"dx");
    }
}

/// A scan directory with one service `a`, and a `$PATH` whose first
/// `supervise` is a stand-in that only notes, in `ran`, that it was run.
fn setup(root: &Path) -> (std::path::PathBuf, String, std::path::PathBuf) {
    let scan = root.join("scan");
    fs::create_dir(&scan).unwrap();
    service(&scan, "a", "#!/bin/sh\nexec sleep 60\n");
    let fake = root.join("fake");
    fs::create_dir(&fake).unwrap();
    let ran = root.join("ran");
    write_script(
        &fake.join("supervise"),
        &format!("#!/bin/sh\necho \"$1\" >> '{}'\n", ran.display()),
    );
    (scan, format!("{}:/usr/bin:/bin", fake.display()), ran)
}

fn start(svscan: &Path, scan: &Path, path: &str) -> Running {
    let child = Command::new(svscan)
        .arg(scan)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child, scan.join("a"))
}

#[test]
fn supervise_beside_svscan_wins_over_path() {
    let t = tempfile::tempdir().unwrap();
    let (scan, path, ran) = setup(t.path());
    let _s = start(&ours("svscan"), &scan, &path);
    // Our supervise writes supervise/status and starts ./run.
    wait_status(&scan.join("a"), "up", |s| s.pid != 0);
    assert!(
        !ran.exists(),
        "PATH's supervise ran for {:?}",
        fs::read_to_string(&ran)
    );
    assert!(
        scan.join("a/supervise/extstatus").exists(),
        "not our supervise"
    );
}

#[test]
fn without_one_beside_it_path_decides_as_in_daemontools() {
    let t = tempfile::tempdir().unwrap();
    let (scan, path, ran) = setup(t.path());
    let _s = start(&ours_alone("svscan"), &scan, &path);
    // The stand-in's shell creates the file before it writes the line.
    let first = || {
        fs::read_to_string(&ran)
            .ok()?
            .lines()
            .next()
            .map(String::from)
    };
    assert!(
        wait_for(SOON, || first().is_some()),
        "PATH's supervise not run"
    );
    assert_eq!(first().as_deref(), Some("a"));
    assert!(!scan.join("a/supervise").exists());
}
