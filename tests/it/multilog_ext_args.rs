//! The numbers of the extension actions `S`, `R`, `N`, `F` and `Z` at and
//! past the 64-bit limit, through our binary: multilog never aborts; a
//! number past `u64::MAX` counts as `u64::MAX` (no cap, no rotation by
//! age, no removal, no fsync tick, the highest level), whether stdin is
//! a pipe (read in steps) or a file (read as daemontools reads).

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::faults::{read_logdir, wait_limit, workdir, Reaper};
use crate::support::{ours, run_input};

const HUGE: [&str; 4] = [
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
];

#[test]
fn huge_extension_numbers_never_abort() {
    let input = b"first\nsecond\nthird";
    for letter in ["S", "R", "N", "F", "Z"] {
        for v in HUGE {
            let arg = format!("{letter}{v}");
            for pipe in [true, false] {
                let dir = workdir();
                let mut cmd = Command::new(ours("multilog"));
                cmd.args([&arg, "./d"]).current_dir(dir.path());
                let (code, err) = if pipe {
                    let out = run_input(&mut cmd, input, Duration::from_secs(20));
                    (
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr).into_owned(),
                    )
                } else {
                    let f = dir.path().join("in");
                    std::fs::write(&f, input).unwrap();
                    cmd.stdin(std::fs::File::open(&f).unwrap())
                        .stderr(Stdio::piped());
                    let mut child = Reaper(cmd.spawn().unwrap());
                    let mut stderr = child.0.stderr.take().unwrap();
                    let st = wait_limit(&mut child, Duration::from_secs(20));
                    let mut err = String::new();
                    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
                    (st.code(), err)
                };
                let what = format!("{arg}, stdin a {}", if pipe { "pipe" } else { "file" });
                assert_eq!(code, Some(0), "{what}: {err}");
                assert_eq!(err, "", "{what}");
                let lf = read_logdir(&dir.path().join("d"));
                assert_eq!(lf.all(), b"first\nsecond\nthird\n", "{what}");
                assert!(lf.archives.is_empty(), "{what}: rotated");
            }
        }
    }
}
