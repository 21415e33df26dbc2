//! svlog's command line: `-f`, `-g`, `-o`, `-n`, `--since`, `--until`,
//! and which of them go together.

use std::ffi::OsString;
use std::path::PathBuf;

use super::{timeexpr, Format};
use crate::tai64::local::LocalZone;
use crate::tai64::Tai64N;

/// Parsed options.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Opts {
    /// `-f`: follow.
    pub follow: bool,
    /// `-n N`.
    pub last: Option<u64>,
    /// `--since T`.
    pub since: Option<Tai64N>,
    /// `--until T`.
    pub until: Option<Tai64N>,
    /// `-g REGEX`, not yet compiled.
    pub grep: Option<String>,
    /// `-o FORMAT`.
    pub format: Format,
    /// The directories.
    pub dirs: Vec<PathBuf>,
    /// Where the index files of `--since`/`--until` are kept (not an
    /// option: the run sets it from the environment).
    pub index: Option<PathBuf>,
}

/// What was wrong with the command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Bad {
    /// The options do not go together, or something is missing: the usage
    /// line alone.
    Usage,
    /// The usage line and what was wrong (`unknown output format: jsn`).
    Named(String),
    /// A time expression that means nothing (`unable to parse time: X`).
    Time(String),
    /// `--help` among the options.
    Help,
    /// `--version` among the options.
    Version,
}

/// Parse argv (without the program name). The directories are paths,
/// taken as they are (a name need not be UTF-8); options and their values
/// are text.
pub(crate) fn parse_args(
    args: &[OsString],
    now: Tai64N,
    zone: &mut LocalZone,
) -> Result<Opts, Bad> {
    let mut o = Opts::default();
    let mut dirs = Vec::new();
    let mut i = 0;
    let mut opts_done = false;
    let text = |w: &OsString| {
        w.to_str()
            .map(str::to_string)
            .ok_or_else(|| Bad::Named(format!("not text: {}", w.to_string_lossy())))
    };
    while i < args.len() {
        let raw = &args[i];
        i += 1;
        let word = raw.as_encoded_bytes();
        if opts_done || word.first() != Some(&b'-') || word == b"-" {
            dirs.push(PathBuf::from(raw));
            continue;
        }
        let a = &text(raw)?;
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ if a.len() > 2
                && (a.starts_with("-n") || a.starts_with("-g") || a.starts_with("-o")) =>
            {
                (&a[..2], Some(a[2..].to_string()))
            }
            _ => (a.as_str(), None),
        };
        if name == "--" {
            opts_done = true;
            continue;
        }
        if name == "--help" {
            return Err(Bad::Help);
        }
        if name == "--version" {
            return Err(Bad::Version);
        }
        if name == "-f" {
            o.follow = true;
            continue;
        }
        if !matches!(name, "-n" | "-g" | "-o" | "--since" | "--until") {
            return Err(Bad::Named(format!("unknown option: {name}")));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = text(
                    args.get(i)
                        .ok_or_else(|| Bad::Named(format!("option needs a value: {name}")))?,
                )?;
                i += 1;
                v
            }
        };
        let time = |v: &str, zone: &mut LocalZone| {
            timeexpr::parse(v, now, zone).ok_or_else(|| Bad::Time(v.to_string()))
        };
        match name {
            "-n" => {
                let n = (!value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()))
                    .then(|| value.parse().ok())
                    .flatten();
                let n = n.ok_or_else(|| Bad::Named(format!("not a number of lines: {value}")))?;
                o.last = Some(n);
            }
            "-g" => o.grep = Some(value),
            "-o" => {
                o.format = Format::from_name(&value)
                    .ok_or_else(|| Bad::Named(format!("unknown output format: {value}")))?;
            }
            "--since" => o.since = Some(time(&value, zone)?),
            _ => o.until = Some(time(&value, zone)?),
        }
    }
    let range = o.since.is_some() || o.until.is_some();
    // `-f` goes with everything: its history is what the same options
    // print without it (`--until` then also ends the following).
    if dirs.is_empty() || (range && o.last.is_some()) {
        return Err(Bad::Usage);
    }
    o.dirs = dirs;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tai64::tz::Zone;

    #[test]
    fn args() {
        let mut z = LocalZone::new(Zone::utc());
        let now = Tai64N::from_unix(1_000_000, 0);
        let a = |v: &[&str], z: &mut LocalZone| {
            parse_args(&v.iter().map(OsString::from).collect::<Vec<_>>(), now, z)
        };
        assert_eq!(a(&["d"], &mut z).unwrap().dirs, [PathBuf::from("d")]);
        assert_eq!(a(&["-n", "5", "d"], &mut z).unwrap().last, Some(5));
        assert_eq!(a(&["-n5", "d"], &mut z).unwrap().last, Some(5));
        assert!(a(&["-f", "-n", "3", "d"], &mut z).unwrap().follow);
        assert_eq!(
            a(&["--since", "-10s", "d"], &mut z).unwrap().since,
            Some(Tai64N::from_unix(999_990, 0))
        );
        assert_eq!(
            a(&["--until=@400000000000000a00000000", "d"], &mut z)
                .unwrap()
                .until,
            Some(Tai64N::from_unix(0, 0))
        );
        assert_eq!(
            a(&["--", "-n"], &mut z).unwrap().dirs,
            [PathBuf::from("-n")]
        );
        for bad in [
            &[][..],
            &["-x", "d"],
            &["-n", "d"],
            &["-n", "-1", "d"],
            &["--since", "bogus", "d"],
            &["-n", "1", "--since", "-1s", "d"],
            &["-o", "iso", "d"],
            &["-o"],
            &["-g"],
            &["-n", "1"],
            &["-f"],
            &["-f", "-n", "1", "--since", "-1s", "d"],
        ] {
            assert!(a(bad, &mut z).is_err(), "{bad:?}");
        }
        for good in [
            &["-f", "--since", "-1s", "d"][..],
            &["-f", "--until", "-1s", "d"],
            &["-f", "d", "e"],
            &["-f", "-g", "x", "-n", "3", "d"],
            &["-f", "-o", "json", "d", "e"],
        ] {
            assert!(a(good, &mut z).unwrap().follow, "{good:?}");
        }
        assert_eq!(a(&["-n", "1", "--help", "d"], &mut z), Err(Bad::Help));
        assert_eq!(a(&["--version"], &mut z), Err(Bad::Version));
        // A directory's name is a path, not text.
        use std::os::unix::ffi::OsStringExt;
        let d = OsString::from_vec(b"d\xff".to_vec());
        let o = parse_args(&[OsString::from("-n1"), d.clone()], now, &mut z).unwrap();
        assert_eq!(o.dirs, [PathBuf::from(d)]);
    }
}
