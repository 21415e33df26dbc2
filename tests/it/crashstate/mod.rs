//! The crash-state checker (in the manner of ALICE and CrashMonkey): record
//! every file-system operation the real multilog makes in a log directory
//! (`strace`, parsed by [`trace`]), generate every state a power cut or a
//! kill could leave after each prefix of them ([`model`]), run the next
//! start-up on each state and check the protocol's invariants
//! ([`check`]). docs/faults.md describes the model and the counts.
//!
//! A scenario is one entry of [`SCENARIOS`]: multilog's script, the input
//! it logs while traced, and the directory it starts from; the suite test
//! and the report run every entry. A file name a clean directory may now
//! hold goes into `check::FILES`; a new archive form (`.s.zst`) is decoded
//! in `check::check` before the `.s` checks; a new system call into the
//! directory becomes a `trace::Op` (until then the trace fails loudly).

mod check;
mod model;
mod trace;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use check::{line, Ctx};
use model::{Explore, Fs};

/// A labelled archive name older than any multilog makes today.
fn old(k: u32, code: char) -> String {
    format!("@4000000000000000{k:08x}.{code}")
}

/// Lines `range` as one file's contents.
fn lines(range: std::ops::Range<u32>) -> Vec<u8> {
    range.flat_map(line).collect()
}

/// A file of the starting directory: name, contents, mode.
type Seed = (String, Vec<u8>, u32);

/// One traced run.
pub struct Scenario {
    pub name: &'static str,
    /// multilog's script; the directory is always `./d`.
    pub args: &'static [&'static str],
    /// `n` of the script (10 if not given).
    pub num: usize,
    /// Lines logged while traced.
    pub input: std::ops::Range<u32>,
    /// The directory before the run (`None`: absent).
    pub before: fn() -> Option<Vec<Seed>>,
}

fn absent() -> Option<Vec<Seed>> {
    None
}

/// What a killed multilog (no processor) leaves: a rotation it had not
/// finished (0754 `.u`), a finished one, and `current` without x, cut
/// mid-line.
fn killed() -> Option<Vec<Seed>> {
    let mut cur = lines(20..30);
    cur.extend_from_slice(&line(30)[..9]);
    Some(vec![
        (old(1, 's'), lines(0..10), 0o744),
        (old(2, 'u'), lines(10..20), 0o754),
        ("current".into(), cur, 0o644),
        ("lock".into(), Vec::new(), 0o600),
        ("state".into(), Vec::new(), 0o644),
    ])
}

/// A processor run killed before `processed` was complete.
fn killed_processing() -> Option<Vec<Seed>> {
    Some(vec![
        (old(1, 's'), lines(0..10), 0o744),
        ("previous".into(), lines(10..20), 0o744),
        ("processed".into(), lines(10..14), 0o644),
        ("newstate".into(), Vec::new(), 0o644),
        ("state".into(), Vec::new(), 0o644),
        ("current".into(), lines(20..30), 0o644),
        ("lock".into(), Vec::new(), 0o600),
    ])
}

/// A processor run killed after `processed` was complete.
fn killed_processed() -> Option<Vec<Seed>> {
    let mut v = killed_processing().unwrap();
    v[2] = ("processed".into(), lines(10..20), 0o744);
    Some(v)
}

/// The scenarios: each is one more entry here.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "rotation",
        args: &["s4096", "n100", "./d"],
        num: 100,
        input: 100..500,
        before: absent,
    },
    Scenario {
        name: "t",
        args: &["t", "s4096", "n100", "./d"],
        num: 100,
        input: 100..400,
        before: absent,
    },
    Scenario {
        name: "retention",
        args: &["s4096", "n2", "./d"],
        num: 2,
        input: 100..400,
        before: absent,
    },
    Scenario {
        name: "processor",
        args: &["s4096", "n5", "!tr -d '\\r'", "./d"],
        num: 5,
        input: 100..300,
        before: absent,
    },
    Scenario {
        name: "processor with retention",
        args: &["s4096", "n2", "!tr -d '\\r'", "./d"],
        num: 2,
        input: 100..300,
        before: absent,
    },
    Scenario {
        name: "Z",
        args: &["s4096", "n100", "Z", "./d"],
        num: 100,
        input: 100..400,
        before: absent,
    },
    Scenario {
        name: "recovery",
        args: &["s4096", "n100", "./d"],
        num: 100,
        input: 100..200,
        before: killed,
    },
    Scenario {
        name: "recovery with processor",
        args: &["s4096", "!tr -d '\\r'", "./d"],
        num: 10,
        input: 100..200,
        before: killed_processing,
    },
    Scenario {
        name: "recovery of processed",
        args: &["s4096", "!tr -d '\\r'", "./d"],
        num: 10,
        input: 100..200,
        before: killed_processed,
    },
];

const TRACED: &str = "openat,write,pwrite64,writev,fsync,fdatasync,rename,renameat,renameat2,\
                      link,linkat,unlink,unlinkat,fchmod,chmod,mkdir,mkdirat,ftruncate,truncate,close,\
                      copy_file_range,sendfile,splice";

/// Is strace there and allowed to trace? If not, the loud skip.
fn strace() -> bool {
    let works = Command::new("/usr/bin/strace")
        .args(["-o", "/dev/null", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        crate::support::skip(
            "DTOOLS_REQUIRE_REFERENCE",
            "/usr/bin/strace not installed or not permitted (apt-get install strace)",
        );
    }
    works
}

/// The directory `d` as a model (hard links by inode number).
fn snapshot(d: &Path) -> Fs {
    if !d.exists() {
        return Fs::new(&[], false, 0o022);
    }
    let mut files = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let e = e.unwrap();
        let md = e.metadata().unwrap();
        let name = e.file_name().into_string().unwrap();
        let data = std::fs::read(e.path()).unwrap();
        files.push((name, data, md.permissions().mode() & 0o7777, md.ino()));
    }
    Fs::new(&files, true, 0o022)
}

/// Run the scenario under strace; the starting directory and the ops.
fn record(sc: &Scenario, root: &Path) -> (Fs, Vec<trace::Op>) {
    let d = root.join("d");
    if let Some(files) = (sc.before)() {
        std::fs::create_dir(&d).unwrap();
        for (name, data, mode) in files {
            std::fs::write(d.join(&name), data).unwrap();
            std::fs::set_permissions(d.join(&name), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let init = snapshot(&d);
    let input = lines(sc.input.clone());
    std::fs::write(root.join("input"), &input).unwrap();
    let st = Command::new("/usr/bin/strace")
        .args(["-f", "-y", "-xx", "-s", "1000000", "-o", "trace", "-e"])
        .arg(format!("trace={TRACED}"))
        .arg(crate::support::ours("multilog"))
        .args(sc.args)
        .current_dir(root)
        .stdin(std::fs::File::open(root.join("input")).unwrap())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(st.success(), "{}: traced run failed: {st:?}", sc.name);
    let log = std::fs::read_to_string(root.join("trace")).unwrap();
    let dir = std::fs::canonicalize(root).unwrap().join("d");
    let ops = trace::parse(&log, dir.as_os_str().as_encoded_bytes());
    // The model replays the trace to exactly the directory the run left.
    let mut fs = init.clone();
    for op in &ops {
        fs.apply(op);
    }
    let real = snapshot(&d);
    // Compared as name, size, mode and a checksum, to keep a failure short.
    let view = |f: &Fs| -> Vec<(String, usize, u32, u64)> {
        f.names
            .iter()
            .map(|(n, &i)| {
                let data = &f.inodes[i].data;
                let sum = data
                    .iter()
                    .fold(0u64, |h, &c| h.wrapping_mul(31) ^ u64::from(c));
                (n.clone(), data.len(), f.inodes[i].mode, sum)
            })
            .collect()
    };
    assert_eq!(view(&fs), view(&real), "{}: the model disagrees", sc.name);
    (init, ops)
}

/// The outcome of one scenario.
pub struct Report {
    pub ops: usize,
    /// States generated, before and after removing duplicates; checked.
    pub raw: usize,
    pub distinct: usize,
    pub checked: usize,
    /// States with at least one violation.
    pub failing: usize,
    /// (state, violation) for each violation.
    pub violations: Vec<(String, String)>,
}

/// Trace `sc`, then check its crash states (at most `cap`, an evenly
/// spaced sample in trace order, when there are more).
pub fn explore(sc: &Scenario, how: Explore, cap: usize) -> Report {
    let tmp = tempfile::Builder::new()
        .prefix("crashstate.")
        .tempdir_in(if Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .unwrap();
    let (init, ops) = record(sc, tmp.path());
    let finals = model::finals(&init, &ops);
    let (states, raw) = model::states(&init, &ops, how);
    let step = states.len().div_ceil(cap.max(1)).max(1);
    let ctx = Ctx {
        args: sc.args,
        num: sc.num,
        finals: &finals,
    };
    let mut violations = Vec::new();
    let mut checked = 0;
    let mut failing = 0;
    for st in states.iter().step_by(step) {
        let root = tmp.path().join(format!("s{checked}"));
        std::fs::create_dir(&root).unwrap();
        check::materialise(st, &root);
        let found = check::check(st, &root, &ctx);
        failing += usize::from(!found.is_empty());
        for v in found {
            let cuts: Vec<String> = st
                .cuts
                .iter()
                .map(|(i, c)| {
                    let names: Vec<&str> = st
                        .names
                        .iter()
                        .filter(|(_, j)| *j == i)
                        .map(|(n, _)| n.as_str())
                        .collect();
                    format!("{}:{c:?}", names.join("="))
                })
                .collect();
            let how = if st.power { "power cut" } else { "kill" };
            violations.push((
                format!("{how} after op {} [{}]", st.prefix, cuts.join(" ")),
                v,
            ));
        }
        std::fs::remove_dir_all(&root).unwrap();
        checked += 1;
    }
    Report {
        ops: ops.len(),
        raw,
        distinct: states.len(),
        checked,
        failing,
        violations,
    }
}

/// Explore `sc`: its counts and first violations as text, and whether it
/// had none.
fn report(sc: &Scenario, how: Explore, cap: usize) -> (String, bool) {
    use std::fmt::Write;
    let t = std::time::Instant::now();
    let r = explore(sc, how, cap);
    let mut out = format!(
        "crash states, {}: {} ops, {} states ({} distinct), {} checked, {} failing ({} violations), {:.1} s\n",
        sc.name,
        r.ops,
        r.raw,
        r.distinct,
        r.checked,
        r.failing,
        r.violations.len(),
        t.elapsed().as_secs_f64()
    );
    for (k, v) in r.violations.iter().take(20) {
        let _ = writeln!(out, "  {k}: {v}");
    }
    (out, r.violations.is_empty())
}

/// Every scenario, each on its own thread; prints the counts and fails
/// on any violation.
fn check_all(how: Explore, cap: usize) {
    if !strace() {
        return;
    }
    let results: Vec<(String, bool)> = std::thread::scope(|s| {
        let threads: Vec<_> = SCENARIOS
            .iter()
            .map(|sc| s.spawn(move || report(sc, how, cap)))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (text, _) in &results {
        print!("{text}");
    }
    let failed: Vec<&str> = SCENARIOS
        .iter()
        .zip(&results)
        .filter(|(_, r)| !r.1)
        .map(|(sc, _)| sc.name)
        .collect();
    assert!(failed.is_empty(), "violations in {failed:?} (see above)");
}

/// States checked per scenario in the suite (an evenly spaced sample).
const SUITE_CAP: usize = 150;

/// The suite's variant: cuts combined linearly, a sample of the states
/// (`--nocapture` shows the counts).
#[test]
fn crash_states() {
    check_all(Explore::Linear, SUITE_CAP);
}

/// Every state of every scenario, every combination of cuts:
/// `cargo test --release --test it crashstate::full -- --ignored --nocapture`.
#[test]
#[ignore = "report: minutes"]
fn full() {
    check_all(Explore::Product, usize::MAX);
}
