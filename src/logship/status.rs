//! logship's status file: how far shipping one directory to one
//! destination lags, one small file per cursor, for `svmetrics` (and
//! people) to read. This module is the one writer and the one reader of
//! the format.
//!
//! Name: `logship-status-HASH-TAIL` beside the cursor `logship-HASH-TAIL`
//! ([`super::cursor_file::status_path`]); no cursor's name starts with
//! `logship-status-` (HASH is hex), so a listing tells them apart by name.
//! Content: one JSON object and a newline, at most [`MAX_BYTES`]:
//!
//! ```text
//! {"format":"logship-status 1","state":"sending","destination":"relp://logs:2514",
//!  "directory":"/service/app/log/main","service":"app","lag_bytes":0,"lag_lines":0,
//!  "last_ack":1796117068.123456,"updated":1796117069.5,"pid":4242}
//! ```
//!
//! * `state`: `sending` (a session is ready), `waiting` (connecting, or
//!   after a failure to reach the receiver), `refused` (the receiver
//!   answered and refused: a session or message refused, a certificate
//!   refused), `stopped` (logship ended cleanly).
//! * `lag_bytes`: bytes in the directory past the last acknowledged
//!   message: read and not acknowledged, plus not read yet (the rest of
//!   the file being read and the sizes of the files queued after it; a
//!   `.s.zst` archive not opened yet counts compressed).
//! * `lag_lines`: messages read and not acknowledged, plus the bytes not
//!   read yet divided by the mean line length seen so far: approximate,
//!   exact once everything is read.
//! * `last_ack`: Unix time of the last acknowledgement (RELP) or write the
//!   kernel took (TCP) that moved this directory's position, `null` if
//!   none yet (carried over from the previous file across restarts).
//! * `updated`: Unix time the file was written; `pid`: the writer.
//!
//! Written through a hidden temporary file `.NAME.tmp.PID.N` (created
//! exclusively, never through a link, mode 0644) renamed over NAME, so a
//! reader sees a whole file; not fsynced (it is rewritten every few
//! seconds and says nothing that must survive a crash). logship writes it
//! on each change of state, at most once a second while the lag changes,
//! and every [`HEARTBEAT`] otherwise, so `updated` older than a minute
//! means logship is not running.

use std::io;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

/// The `format` value of this version.
pub const FORMAT: &str = "logship-status 1";
/// The name prefix of status files.
pub const PREFIX: &str = "logship-status-";
/// The largest status file read; larger is not one.
pub const MAX_BYTES: usize = 8192;
/// Rewritten at least this often while logship runs.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// Rewritten at most this often while the state stays the same.
pub const EVERY: Duration = Duration::from_secs(1);

/// Where shipping stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// A session is ready.
    Sending,
    /// Connecting, or paused after the receiver could not be reached.
    Waiting,
    /// Paused after the receiver refused the session, a message or the
    /// certificates.
    Refused,
    /// logship ended cleanly.
    Stopped,
}

impl State {
    /// The word in the file.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            State::Sending => "sending",
            State::Waiting => "waiting",
            State::Refused => "refused",
            State::Stopped => "stopped",
        }
    }

    fn from_word(s: &str) -> Option<State> {
        [
            State::Sending,
            State::Waiting,
            State::Refused,
            State::Stopped,
        ]
        .into_iter()
        .find(|st| st.word() == s)
    }
}

/// One status file's content.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The destination URL.
    pub destination: String,
    /// The directory's absolute path (lossy UTF-8).
    pub directory: String,
    /// The directory's service name (`app` for `/service/app/log/main`).
    pub service: String,
    /// Bytes behind.
    pub lag_bytes: u64,
    /// Lines behind (approximate).
    pub lag_lines: u64,
    /// Unix time of the last acknowledgement.
    pub last_ack: Option<f64>,
    /// Unix time of the writing.
    pub updated: f64,
    /// The writer's process id.
    pub pid: u32,
}

/// The file's bytes for `s`.
#[must_use]
pub fn format(s: &Status) -> Vec<u8> {
    let v = json!({
        "format": FORMAT,
        "state": s.state.word(),
        "destination": s.destination,
        "directory": s.directory,
        "service": s.service,
        "lag_bytes": s.lag_bytes,
        "lag_lines": s.lag_lines,
        "last_ack": s.last_ack,
        "updated": s.updated,
        "pid": s.pid,
    });
    let mut out = v.to_string().into_bytes();
    out.push(b'\n');
    out
}

/// A finite number at least 0.
fn time(v: &Value) -> Option<f64> {
    v.as_f64().filter(|t| t.is_finite() && *t >= 0.0)
}

/// The status in `b`; `None` if it is not one (too long, not JSON, another
/// format, a field missing or of the wrong kind).
#[must_use]
pub fn parse(b: &[u8]) -> Option<Status> {
    if b.len() > MAX_BYTES {
        return None;
    }
    let v: Value = serde_json::from_slice(b).ok()?;
    if v.get("format")?.as_str()? != FORMAT {
        return None;
    }
    let text = |k: &str| v.get(k)?.as_str().map(str::to_string);
    let last_ack = match v.get("last_ack")? {
        Value::Null => None,
        t => Some(time(t)?),
    };
    Some(Status {
        state: State::from_word(v.get("state")?.as_str()?)?,
        destination: text("destination")?,
        directory: text("directory")?,
        service: text("service")?,
        lag_bytes: v.get("lag_bytes")?.as_u64()?,
        lag_lines: v.get("lag_lines")?.as_u64()?,
        last_ack,
        updated: time(v.get("updated")?)?,
        pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
    })
}

/// Read the status file `path`, if it is one: at most [`MAX_BYTES`] + 1
/// bytes, never through a link or from a FIFO.
#[must_use]
pub fn load(path: &Path) -> Option<Status> {
    use std::io::Read;
    let f = crate::follow::open_regular(path).ok()??;
    let mut b = Vec::new();
    f.take(MAX_BYTES as u64 + 1).read_to_end(&mut b).ok()?;
    parse(&b)
}

/// Replace the status file `path` by `s` (see the module's comment).
///
/// # Errors
/// The temporary file cannot be made or written, or the rename failed.
pub fn save(path: &Path, s: &Status) -> io::Result<()> {
    super::cursor_file::replace(path, true, &format(s), false)
}

/// Unix time now, as a number of seconds.
#[must_use]
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            state: State::Waiting,
            destination: "relp://h:1".into(),
            directory: "/s/a \"b\"\n/log/main".into(),
            service: "a \"b\"\n".into(),
            lag_bytes: 123_456_789_012,
            lag_lines: 42,
            last_ack: Some(1_796_117_068.25),
            updated: 1_796_117_069.5,
            pid: 77,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let s = sample();
        let b = format(&s);
        assert!(b.ends_with(b"}\n") && b.len() < MAX_BYTES);
        assert_eq!(parse(&b), Some(s.clone()));
        let none = Status {
            last_ack: None,
            state: State::Sending,
            ..s.clone()
        };
        assert_eq!(parse(&format(&none)), Some(none));
        let text = String::from_utf8(b).unwrap();
        for (from, to) in [
            ("\"waiting\"", "\"asleep\""),
            ("logship-status 1", "logship-status 2"),
            ("\"lag_bytes\":123456789012", "\"lag_bytes\":-1"),
            ("\"lag_lines\":42", "\"lag_lines\":\"42\""),
            ("\"pid\":77", "\"pid\":99999999999"),
            ("\"updated\":1796117069.5", "\"updated\":-1"),
            ("\"last_ack\":1796117068.25", "\"last_ack\":\"x\""),
            (",\"service\"", ",\"servic\""),
        ] {
            assert!(text.contains(from), "{from}");
            assert_eq!(parse(text.replace(from, to).as_bytes()), None, "{to}");
        }
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"logship-cursor 2 1 2 3 4 - - - -\n",
        ] {
            assert_eq!(parse(bad), None);
        }
        let mut long = text.clone().into_bytes();
        long.truncate(long.len() - 1);
        long.extend(std::iter::repeat_n(b' ', MAX_BYTES));
        assert_eq!(parse(&long), None);
    }

    #[test]
    fn saved_whole_never_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("logship-status-x");
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let planted = format!(".logship-status-x.tmp.{}.0", std::process::id());
        std::os::unix::fs::symlink(&victim, d.path().join(planted)).unwrap();
        let s = sample();
        save(&p, &s).unwrap();
        save(&p, &s).unwrap();
        assert_eq!(load(&p), Some(s));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // A link or a FIFO under the name is not read.
        let l = d.path().join("logship-status-l");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert_eq!(load(&l), None);
    }
}
