//! Running our `svlog` in the tests: in time zone `tz`, its range index
//! kept in `cache` (tests never write to `$HOME`; under `/dev/null` it
//! cannot be made, even by root), killed at the usual deadline.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{ours, wait_deadline, SOON};

/// `svlog args` in zone `tz`, its range index kept in `cache`.
pub fn svlog_cache(args: &[&str], tz: &str, cache: &Path) -> Output {
    let child = Command::new(ours("svlog"))
        .args(args)
        .env("TZ", tz)
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn svlog");
    wait_deadline(child, SOON)
}

/// `svlog args` in zone `tz`, with no range index it could keep.
pub fn svlog(args: &[&str], tz: &str) -> Output {
    svlog_cache(args, tz, Path::new("/dev/null/svlog-index"))
}
