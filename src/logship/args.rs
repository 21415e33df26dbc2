//! logship's command line.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::djb::getopt::Getopt;

use super::conn::{parse_url, Dest};
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

fn num(s: &std::ffi::OsStr) -> Option<usize> {
    let s = s.to_str()?;
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parse `args` (with the program name first); `None` means usage.
#[must_use]
pub fn parse(args: &[OsString]) -> Option<Opts> {
    use std::os::unix::ffi::OsStrExt;
    let mut g = Getopt::new(args, "p:H:a:c:w:m:");
    let mut pri = 13;
    let (mut host, mut app) = (None, None);
    let mut cursors = PathBuf::from(".");
    let (mut window, mut max) = (WINDOW, MAX_MESSAGE);
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
        dest: parse_url(url.to_str()?)?,
        dirs: dirs.iter().map(PathBuf::from).collect(),
    })
}
