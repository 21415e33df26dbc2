//! logship's command line: djb's getopt over the short options, after the
//! two long spellings (`--ack-timeout`, `--connect-timeout`) were turned
//! into theirs and the TLS options (`--ca`, `--cert`, `--key`,
//! `--server-name`, long only: `tls.rs`) taken out; any other word
//! starting with `--` before the URL (other than `--` itself) is a usage
//! error, never skipped.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::time::Duration;

use crate::djb::getopt::Getopt;

use super::dest::{parse_url, Dest};
use super::syslog::parse_pri;
use super::tls;

/// Parsed options.
#[derive(Debug)]
pub struct Opts {
    /// `-e`: with no cursor yet, start at the end of the directory.
    pub end: bool,
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
    /// The TLS options.
    pub tls: tls::Files,
}

/// What was wrong with the command line, or what it asked for instead.
#[derive(Debug, PartialEq, Eq)]
pub enum Bad {
    /// Something is missing: the usage line alone.
    Usage,
    /// The usage line and what was wrong (`unknown facility: local9`).
    Named(String),
    /// `--help` among the options.
    Help,
    /// `--version` among the options.
    Version,
}

fn named(what: &str, v: &OsStr) -> Bad {
    Bad::Named(format!("{what}: {}", v.to_string_lossy()))
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
const OPTS: &str = "ep:H:a:c:w:m:t:T:";
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
/// `-t S` and `-T S`, and the TLS options taken into `tls`; `--help`,
/// `--version` or another long option among the options ends the parse.
fn shorten(args: &[OsString], tls: &mut tls::Files) -> Result<Vec<OsString>, Bad> {
    let mut out = args.first().cloned().into_iter().collect::<Vec<_>>();
    let mut i = 1;
    while i < args.len() {
        let w = args[i].as_bytes();
        if w == b"--" || w.first() != Some(&b'-') || w.len() == 1 {
            // The options end here.
            out.extend_from_slice(&args[i..]);
            return Ok(out);
        }
        if let Some(long) = w.strip_prefix(b"--") {
            let (name, value) = match long.iter().position(|&c| c == b'=') {
                Some(e) => (&long[..e], Some(OsStr::from_bytes(&long[e + 1..]))),
                None => (long, None),
            };
            match long {
                b"help" => return Err(Bad::Help),
                b"version" => return Err(Bad::Version),
                _ => {}
            }
            let letter = LONG.iter().find(|(n, _)| n.as_bytes() == name);
            if letter.is_none() && !tls::OPTIONS.iter().any(|n| n.as_bytes() == name) {
                return Err(named("unknown option", &args[i]));
            }
            let value = match value {
                Some(v) => v.to_owned(),
                None => {
                    i += 1;
                    args.get(i)
                        .ok_or_else(|| named("option needs a value", &args[i - 1]))?
                        .clone()
                }
            };
            if let Some(&(_, letter)) = letter {
                out.push(OsString::from_vec(vec![b'-', letter]));
                out.push(value);
            } else {
                tls.take(name, &value);
            }
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
    Ok(out)
}

/// Parse `args` (with the program name first). The directories are
/// paths, taken as they are (a name need not be UTF-8).
///
/// # Errors
/// What was wrong, or `--help`/`--version`.
pub fn parse(args: &[OsString]) -> Result<Opts, Bad> {
    let mut tls = tls::Files::default();
    let args = &shorten(args, &mut tls)?;
    let mut g = Getopt::new(args, OPTS);
    let mut pri = 13;
    let mut end = false;
    let (mut host, mut app) = (None, None);
    let mut cursors = PathBuf::from(".");
    let (mut window, mut max) = (WINDOW, MAX_MESSAGE);
    let (mut ack_timeout, mut connect_timeout) = (ACK_TIMEOUT, CONNECT_TIMEOUT);
    while let Some(o) = g.next_opt() {
        let (c, v) = match o {
            Ok(x) => x,
            Err(e) => {
                e.print(args);
                return Err(Bad::Usage);
            }
        };
        if c == b'e' {
            end = true;
            continue;
        }
        let v = v.ok_or(Bad::Usage)?;
        match c {
            b'p' => pri = v.to_str().and_then(parse_pri).ok_or_else(|| bad_pri(v))?,
            b'H' => host = Some(v.as_bytes().to_vec()),
            b'a' => app = Some(v.as_bytes().to_vec()),
            b'c' => cursors = PathBuf::from(v),
            b'w' => {
                window = num(v)
                    .filter(|&w| (1..=100_000).contains(&w))
                    .ok_or_else(|| named("-w: not a window from 1 to 100000", v))?;
            }
            b'm' => {
                max = num(v)
                    .filter(|&m| (MIN_MESSAGE..=1 << 20).contains(&m))
                    .ok_or_else(|| named("-m: not a size from 1024 to 1048576", v))?;
            }
            b't' => ack_timeout = seconds(v).ok_or_else(|| named("-t: not 1 to 86400 s", v))?,
            b'T' => {
                connect_timeout = seconds(v).ok_or_else(|| named("-T: not 1 to 86400 s", v))?;
            }
            _ => return Err(Bad::Usage),
        }
    }
    let rest = &args[g.optind()..];
    let (url, dirs) = rest.split_first().ok_or(Bad::Usage)?;
    if dirs.is_empty() {
        return Err(Bad::Usage);
    }
    let dest = url
        .to_str()
        .ok_or_else(|| named("not a URL", url))
        .and_then(|u| parse_url(u).map_err(Bad::Named))?;
    tls.check(dest.secure, &dest.url).map_err(Bad::Named)?;
    Ok(Opts {
        end,
        pri,
        host,
        app,
        cursors,
        window,
        max,
        ack_timeout,
        connect_timeout,
        dest,
        dirs: dirs.iter().map(PathBuf::from).collect(),
        tls,
    })
}

/// Which half of `fac.sev` is wrong.
fn bad_pri(v: &OsStr) -> Bad {
    let s = v.to_string_lossy();
    match s.split_once('.') {
        Some((f, _)) if parse_pri(&format!("{f}.info")).is_none() => {
            Bad::Named(format!("unknown facility: {f}"))
        }
        Some((_, sev)) => Bad::Named(format!("unknown severity: {sev}")),
        None => Bad::Named(format!("not facility.severity: {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Opts, Bad> {
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
        assert!(!o.end);
        assert!(p(&["-e", "relp://h:1", "d"]).unwrap().end);
        assert!(p(&["-ew", "5", "relp://h:1", "d"]).unwrap().end);
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
            assert!(p(a).is_err(), "{a:?}");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let why = |a: &[&str]| match p(a) {
            Err(Bad::Named(s)) => s,
            other => panic!("{a:?}: {other:?}"),
        };
        assert_eq!(
            why(&["-p", "local9.info", "relp://h:1", "d"]),
            "unknown facility: local9"
        );
        assert_eq!(
            why(&["-p", "user.loud", "relp://h:1", "d"]),
            "unknown severity: loud"
        );
        assert!(why(&["relp://h", "d"]).contains("port"));
        assert!(why(&["udp://h:1", "d"]).contains("scheme"));
        assert!(why(&["-w", "abc", "relp://h:1", "d"]).contains("abc"));
        assert_eq!(
            why(&["--bogus", "relp://h:1", "d"]),
            "unknown option: --bogus"
        );
        assert!(why(&["--ca", "c", "relp://h:1", "d"]).contains("need tls://"));
        assert_eq!(why(&["--key", "k", "tls://h:1", "d"]), "--key needs --cert");
        let o = p(&["--ca=c", "--server-name", "n", "relp+tls://h:1", "d"]).unwrap();
        assert_eq!(o.tls.ca, Some(PathBuf::from("c")));
        assert_eq!(o.tls.server_name.as_deref(), Some("n"));
        assert_eq!(p(&["-w", "5", "--help"]).err(), Some(Bad::Help));
        assert_eq!(p(&["--version", "x"]).err(), Some(Bad::Version));
    }
}
