//! logship's command line: djb's getopt over the short options, after the
//! two long spellings (`--ack-timeout`, `--connect-timeout`) were turned
//! into theirs; any other word starting with `--` before the URL (other
//! than `--` itself) is a usage error, never skipped.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::time::Duration;

use crate::djb::getopt::Getopt;

use super::dest::{parse_url, Dest};
use super::syslog::parse_pri;

/// Parsed options.
#[derive(Debug)]
pub struct Opts {
    /// `-p facility.severity` as PRI.
    pub pri: u8,
    /// `-H host`.
    pub host: Option<Vec<u8>>,
    /// `-a app-name`.
    pub app: Option<Vec<u8>>,
    /// `-c DIR`: where the cursors are.
    pub cursors: PathBuf,
    /// `-w N`: messages sent and not yet acknowledged and saved, at most.
    pub window: usize,
    /// `-m N`: bytes of a message at most.
    pub max: usize,
    /// `-t SECONDS`: how long messages in flight may wait for an
    /// acknowledgement.
    pub ack_timeout: Duration,
    /// `-T SECONDS`: how long connecting and opening a session may take.
    pub connect_timeout: Duration,
    /// The destination.
    pub dest: Dest,
    /// The log directories.
    pub dirs: Vec<PathBuf>,
}

/// The default window.
pub const WINDOW: usize = 1024;
/// The default largest message: rsyslog's default `maxMessageSize`.
pub const MAX_MESSAGE: usize = 8192;
/// The smallest `-m` (room for the header, the stamp and some text).
pub const MIN_MESSAGE: usize = 1024;
/// The default `-t`.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// The default `-T`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest `-t` and `-T`: a day.
const MAX_TIMEOUT: u64 = 86_400;
/// The option string.
const OPTS: &str = "p:H:a:c:w:m:t:T:";
/// The long options and their letters.
const LONG: &[(&str, u8)] = &[("ack-timeout", b't'), ("connect-timeout", b'T')];

fn num(s: &OsStr) -> Option<usize> {
    let s = s.to_str()?;
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Seconds, 1 to a day.
fn seconds(s: &OsStr) -> Option<Duration> {
    let n = u64::try_from(num(s)?).ok()?;
    (1..=MAX_TIMEOUT)
        .contains(&n)
        .then(|| Duration::from_secs(n))
}

/// `args` with `--ack-timeout[=]S` and `--connect-timeout[=]S` written
/// `-t S` and `-T S`; `None` for another long option among the options.
fn shorten(args: &[OsString]) -> Option<Vec<OsString>> {
    let mut out = args.first().cloned().into_iter().collect::<Vec<_>>();
    let mut i = 1;
    while i < args.len() {
        let w = args[i].as_bytes();
        if w == b"--" || w.first() != Some(&b'-') || w.len() == 1 {
            // The options end here.
            out.extend_from_slice(&args[i..]);
            return Some(out);
        }
        if let Some(long) = w.strip_prefix(b"--") {
            let (name, value) = match long.iter().position(|&c| c == b'=') {
                Some(e) => (&long[..e], Some(OsStr::from_bytes(&long[e + 1..]))),
                None => (long, None),
            };
            let &(_, letter) = LONG.iter().find(|(n, _)| n.as_bytes() == name)?;
            let value = match value {
                Some(v) => v.to_owned(),
                None => {
                    i += 1;
                    args.get(i)?.clone()
                }
            };
            out.push(OsString::from_vec(vec![b'-', letter]));
            out.push(value);
            i += 1;
            continue;
        }
        // Short options, bundled: the word, and the next one too when its
        // last option takes an argument that is not in the word.
        out.push(args[i].clone());
        i += 1;
        for (k, &c) in w.iter().enumerate().skip(1) {
            let takes = OPTS
                .as_bytes()
                .windows(2)
                .any(|p| p[0] == c && p[1] == b':');
            if takes {
                if k + 1 == w.len() {
                    if let Some(a) = args.get(i) {
                        out.push(a.clone());
                        i += 1;
                    }
                }
                break;
            }
        }
    }
    Some(out)
}

/// Parse `args` (with the program name first); `None` means usage.
#[must_use]
pub fn parse(args: &[OsString]) -> Option<Opts> {
    let args = &shorten(args)?;
    let mut g = Getopt::new(args, OPTS);
    let mut pri = 13;
    let (mut host, mut app) = (None, None);
    let mut cursors = PathBuf::from(".");
    let (mut window, mut max) = (WINDOW, MAX_MESSAGE);
    let (mut ack_timeout, mut connect_timeout) = (ACK_TIMEOUT, CONNECT_TIMEOUT);
    while let Some(o) = g.next_opt() {
        let (c, v) = match o {
            Ok(x) => x,
            Err(e) => {
                e.print(args);
                return None;
            }
        };
        let v = v?;
        match c {
            b'p' => pri = parse_pri(v.to_str()?)?,
            b'H' => host = Some(v.as_bytes().to_vec()),
            b'a' => app = Some(v.as_bytes().to_vec()),
            b'c' => cursors = PathBuf::from(v),
            b'w' => window = num(v).filter(|&w| (1..=100_000).contains(&w))?,
            b'm' => max = num(v).filter(|&m| (MIN_MESSAGE..=1 << 20).contains(&m))?,
            b't' => ack_timeout = seconds(v)?,
            b'T' => connect_timeout = seconds(v)?,
            _ => return None,
        }
    }
    let rest = &args[g.optind()..];
    let (url, dirs) = rest.split_first()?;
    if dirs.is_empty() {
        return None;
    }
    Some(Opts {
        pri,
        host,
        app,
        cursors,
        window,
        max,
        ack_timeout,
        connect_timeout,
        dest: parse_url(url.to_str()?)?,
        dirs: dirs.iter().map(PathBuf::from).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Option<Opts> {
        let v: Vec<OsString> = std::iter::once("logship")
            .chain(a.iter().copied())
            .map(OsString::from)
            .collect();
        parse(&v)
    }

    #[test]
    fn timeouts_long_and_short() {
        let o = p(&["relp://h:1", "d"]).unwrap();
        assert_eq!(
            (o.ack_timeout, o.connect_timeout),
            (ACK_TIMEOUT, CONNECT_TIMEOUT)
        );
        let s = Duration::from_secs;
        for a in [
            &["-t", "3", "-T", "4", "relp://h:1", "d"][..],
            &["-t3", "-T4", "relp://h:1", "d"],
            &[
                "--ack-timeout",
                "3",
                "--connect-timeout=4",
                "relp://h:1",
                "d",
            ],
            &[
                "-w",
                "5",
                "--ack-timeout=3",
                "-T",
                "4",
                "--",
                "relp://h:1",
                "d",
            ],
        ] {
            let o = p(a).unwrap();
            assert_eq!((o.ack_timeout, o.connect_timeout), (s(3), s(4)), "{a:?}");
        }
        // A long option's spelling as another option's argument is that.
        let o = p(&["-c", "--ack-timeout", "relp://h:1", "d"]).unwrap();
        assert_eq!(o.cursors, PathBuf::from("--ack-timeout"));
        // Operands are not options.
        let o = p(&["relp://h:1", "--bogus"]).unwrap();
        assert_eq!(o.dirs, [PathBuf::from("--bogus")]);
    }

    #[test]
    fn refused() {
        for a in [
            &["--bogus", "relp://h:1", "d"][..],
            &["--ack-timeout", "0", "relp://h:1", "d"],
            &["--ack-timeout"],
            &["-t", "x", "relp://h:1", "d"],
            &["-T", "86401", "relp://h:1", "d"],
            &["--ack-timeout-x=1", "relp://h:1", "d"],
            &["-x", "relp://h:1", "d"],
            &["relp://h:1"],
        ] {
            assert!(p(a).is_none(), "{a:?}");
        }
    }
}
