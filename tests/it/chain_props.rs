//! Property tests for the pure parts of the chain-loading tools, each
//! against a slow, obviously-correct oracle: envdir's value rules (with the
//! buffer reuse for vanished entries), djb's getopt, and the environment
//! edits of `pathexec`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use daemontools::chain::envdir::{value, Reader};
use daemontools::djb::getopt::{Getopt, OptError};
use daemontools::sys::pathexec::EnvEdits;
use proptest::prelude::*;

// ---- envdir ------------------------------------------------------------------

/// The rules as the documentation states them.
fn value_oracle(c: &[u8]) -> Option<Vec<u8>> {
    if c.is_empty() {
        return None;
    }
    let first = c.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut end = first.len();
    while end > 0 && (first[end - 1] == b' ' || first[end - 1] == b'\t') {
        end -= 1;
    }
    Some(
        first[..end]
            .iter()
            .map(|&b| if b == 0 { b'\n' } else { b })
            .collect(),
    )
}

fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b' '),
            Just(b'\t'),
            Just(b'\n'),
            Just(0u8),
            Just(b'a'),
            Just(b'\r'),
            any::<u8>()
        ],
        0..24,
    )
}

proptest! {
    #[test]
    fn envdir_value_matches_oracle(c in interesting_bytes()) {
        prop_assert_eq!(value(&c), value_oracle(&c));
    }

    /// A vanished entry (None) sees the previous processed value plus the
    /// NUL that terminated it; a fresh reader's buffer is empty.
    #[test]
    fn envdir_reader_reuses_buffer(
        entries in prop::collection::vec(prop::option::of(interesting_bytes()), 0..12)
    ) {
        let mut reader = Reader::new();
        let mut last: Option<Vec<u8>> = None;
        for e in entries {
            let want = match &e {
                Some(c) => value_oracle(c),
                None => last.as_ref().and_then(|v| {
                    let mut sa = v.clone();
                    sa.push(0);
                    value_oracle(&sa)
                }),
            };
            let got = reader.entry(e);
            prop_assert_eq!(&got, &want);
            last = got;
        }
    }
}

// ---- getopt --------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Parse {
    opts: Vec<(u8, Option<Vec<u8>>)>,
    end: Result<usize, OptError>,
}

/// Word-by-word restatement of djb's rules for option string `opts`.
fn getopt_oracle(words: &[Vec<u8>], opts: &[u8]) -> Parse {
    let takes = |c: u8| -> Option<bool> {
        let mut i = 0;
        while i < opts.len() {
            let arg = opts.get(i + 1) == Some(&b':');
            if opts[i] == c {
                return Some(arg);
            }
            i += 1 + usize::from(arg);
        }
        None
    };
    let mut out = Vec::new();
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        if w.len() < 2 || w[0] != b'-' {
            break;
        }
        if w[1] == b'-' {
            i += 1;
            break;
        }
        for k in 1..w.len() {
            match takes(w[k]) {
                None => {
                    return Parse {
                        opts: out,
                        end: Err(OptError::Illegal(w[k])),
                    }
                }
                Some(false) => out.push((w[k], None)),
                Some(true) if k + 1 < w.len() => {
                    out.push((w[k], Some(w[k + 1..].to_vec())));
                    break;
                }
                Some(true) => {
                    i += 1;
                    match words.get(i) {
                        Some(a) => out.push((w[k], Some(a.clone()))),
                        None => {
                            return Parse {
                                opts: out,
                                end: Err(OptError::MissingArgument(w[k])),
                            }
                        }
                    }
                }
            }
        }
        i += 1;
    }
    Parse {
        opts: out,
        end: Ok(i),
    }
}

fn getopt_ours(words: &[Vec<u8>], opts: &str) -> Parse {
    let args: Vec<OsString> = words
        .iter()
        .map(|w| OsString::from_vec(w.clone()))
        .collect();
    let mut g = Getopt::new(&args, opts);
    let mut out = Vec::new();
    while let Some(r) = g.next_opt() {
        match r {
            Ok((c, a)) => out.push((c, a.map(|s| s.as_bytes().to_vec()))),
            Err(e) => {
                return Parse {
                    opts: out,
                    end: Err(e),
                }
            }
        }
    }
    Parse {
        opts: out,
        end: Ok(g.optind()),
    }
}

fn word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"-".to_vec()),
        Just(b"--".to_vec()),
        Just(b"--x".to_vec()),
        Just(b"".to_vec()),
        Just(b"file".to_vec()),
        "-[noxNz:]{1,4}".prop_map(String::into_bytes),
        "[-a-z0-9]{0,4}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn getopt_matches_oracle(words in prop::collection::vec(word(), 0..7)) {
        for opts in ["no:x", "nNxX", "o:", "a:c:d:"] {
            prop_assert_eq!(
                getopt_ours(&words, opts),
                getopt_oracle(&words, opts.as_bytes()),
                "opts {}", opts
            );
        }
    }

    #[test]
    fn getopt_message_names_basename(
        dir in "(/[a-z]{1,3}){0,3}/",
        name in "[a-z]{0,6}",
        c in any::<u8>(),
    ) {
        let argv0 = format!("{dir}{name}");
        let m = OptError::Illegal(c).message(OsStr::new(&argv0));
        let mut want = format!("{name}: illegal option -- ").into_bytes();
        want.extend_from_slice(&[c, b'\n']);
        prop_assert_eq!(m, want);
    }
}

// ---- environment edits -------------------------------------------------------

fn env_entry() -> impl Strategy<Value = Vec<u8>> {
    "[ABE]{1,2}(=[a-z=]{0,3})?".prop_map(String::into_bytes)
}

proptest! {
    /// Same entries as "remove the first match, append", in any order
    /// (names in the starting environment are unique).
    #[test]
    fn env_edits_match_oracle(
        env in prop::collection::vec(env_entry(), 0..6),
        edits in prop::collection::vec((("[ABE]{1,2}(=[a-z]{0,2})?"), prop::option::of("[a-z=]{0,3}")), 0..5),
    ) {
        // With duplicate names, which one is "first" depends on the
        // swap-remove order (tested by the unit tests), so keep names unique.
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let env: Vec<Vec<u8>> = env
            .into_iter()
            .filter(|e| match e.iter().position(|&b| b == b'=') {
                None => true,
                Some(i) if seen.contains(&e[..i].to_vec()) => false,
                Some(i) => {
                    seen.push(e[..i].to_vec());
                    true
                }
            })
            .collect();
        let mut ed = EnvEdits::new();
        let mut oracle: Vec<Vec<u8>> = env.clone();
        for (name, val) in &edits {
            let entry = match val {
                Some(v) => {
                    ed.set(OsStr::new(name), OsStr::new(v));
                    format!("{name}={v}").into_bytes()
                }
                None => {
                    ed.unset(OsStr::new(name));
                    name.clone().into_bytes()
                }
            };
            let key = entry.split(|&b| b == b'=').next().unwrap().to_vec();
            if let Some(t) = oracle.iter().position(|e| {
                e.len() > key.len() && e.starts_with(&key) && e[key.len()] == b'='
            }) {
                oracle.remove(t);
            }
            if entry.len() > key.len() {
                oracle.push(entry);
            }
        }
        let refs: Vec<&[u8]> = env.iter().map(Vec::as_slice).collect();
        let mut got: Vec<Vec<u8>> = ed.apply(&refs).into_iter().map(<[u8]>::to_vec).collect();
        got.sort();
        oracle.sort();
        prop_assert_eq!(got, oracle);
    }
}
