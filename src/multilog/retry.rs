//! The single "pausing" loop (ports `multilog.c:pause3/pause5` and
//! `deepsleep`): every disk operation after start-up that fails prints
//! `multilog: warning: TEXT, pausing: REASON`, sleeps, and is tried again,
//! forever. Nothing is dropped and nothing is done twice.
//!
//! The pause is 5 s as in daemontools. Tests may shorten it with the
//! environment variable `DTOOLS_TEST_PAUSE_MS` (read once at start-up).

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use crate::error;

/// daemontools' pause after a failed disk operation.
pub(crate) const PAUSE: Duration = Duration::from_secs(5);

static PAUSE_CELL: OnceLock<Duration> = OnceLock::new();

/// The pause in force (5 s unless `DTOOLS_TEST_PAUSE_MS` says otherwise).
pub(crate) fn pause_duration() -> Duration {
    *PAUSE_CELL.get_or_init(|| {
        std::env::var("DTOOLS_TEST_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(PAUSE, Duration::from_millis)
    })
}

/// Sleep for the pause, whatever signals arrive (`deepsleep`).
pub(crate) fn pause() {
    std::thread::sleep(pause_duration());
}

/// Print the pausing warning for `what` and `err`, then sleep.
pub(crate) fn complain(what: &str, err: &io::Error) {
    error::warn("multilog", &format!("{what}, pausing"), Some(err));
    pause();
}

/// Run `op` until it succeeds, complaining and pausing after each failure.
/// `op` may fail with an [`io::Error`] or a rustix errno.
pub(crate) fn retry<T, E: Into<io::Error>>(
    what: impl Fn() -> String,
    mut op: impl FnMut() -> Result<T, E>,
) -> T {
    loop {
        match op() {
            Ok(v) => return v,
            Err(e) => complain(&what(), &e.into()),
        }
    }
}

/// Write all of `data` to `w`, retrying (after a pause) on every error and
/// on zero-length writes, continuing after short writes. `w` is anything
/// that writes, so tests can inject a failing disk.
pub(crate) fn write_all<W: io::Write + ?Sized>(
    w: &mut W,
    mut data: &[u8],
    what: impl Fn() -> String,
) {
    while !data.is_empty() {
        match w.write(data) {
            Ok(0) => complain(&what(), &io::Error::from_raw_os_error(0)),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => complain(&what(), &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that is full for the first `fail` writes, then accepts at most
    /// `chunk` bytes per write.
    struct FlakyDisk {
        fail: usize,
        chunk: usize,
        data: Vec<u8>,
        errors: usize,
    }

    impl io::Write for FlakyDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.fail > 0 {
                self.fail -= 1;
                self.errors += 1;
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let n = buf.len().min(self.chunk);
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn disk_full_is_retried_without_loss_or_duplication() {
        let _ = PAUSE_CELL.set(Duration::from_millis(1));
        let mut disk = FlakyDisk {
            fail: 3,
            chunk: 7,
            data: Vec::new(),
            errors: 0,
        };
        let input: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        write_all(&mut disk, &input, || {
            "unable to write to ./d/current".into()
        });
        assert_eq!(disk.errors, 3);
        assert_eq!(disk.data, input);
    }

    #[test]
    fn retry_returns_first_success() {
        let _ = PAUSE_CELL.set(Duration::from_millis(1));
        let mut n = 0;
        let v = retry(
            || "unable to x".into(),
            || {
                n += 1;
                if n < 3 {
                    Err(io::Error::from_raw_os_error(libc::EIO))
                } else {
                    Ok(n)
                }
            },
        );
        assert_eq!(v, 3);
    }
}
