//! Fuzz envdir's file-content rules: a sequence of entries, each either the
//! bytes of a file or "vanished" (`None`, open gave ENOENT), fed through
//! `envdir::Reader` and checked against the plain rules.
#![no_main]

use daemontools::supervise::envdir::{value, Reader};
use libfuzzer_sys::fuzz_target;

fn oracle(c: &[u8]) -> Option<Vec<u8>> {
    if c.is_empty() {
        return None;
    }
    let first = c.split(|&b| b == b'\n').next().unwrap_or_default();
    let end = first
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    Some(
        first[..end]
            .iter()
            .map(|&b| if b == 0 { b'\n' } else { b })
            .collect(),
    )
}

fuzz_target!(|entries: Vec<Option<Vec<u8>>>| {
    let mut reader = Reader::new();
    let mut last: Option<Vec<u8>> = None;
    for e in entries {
        let want = match &e {
            Some(c) => {
                assert_eq!(value(c), oracle(c));
                oracle(c)
            }
            None => last.as_ref().and_then(|v| {
                let mut sa = v.clone();
                sa.push(0);
                oracle(&sa)
            }),
        };
        let got = reader.entry(e);
        if let Some(v) = &got {
            assert!(!v.contains(&0));
        }
        assert_eq!(got, want);
        last = got;
    }
});
