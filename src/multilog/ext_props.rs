//! Property tests of the extensions `S`, `n`, `Z`, `R` and `~+`/`~-`, run
//! in-process: after any input, chunking and settings, the decompressed
//! archives in label order followed by `current` are exactly the selected
//! input, minus only whole oldest archives that `S` or `n` removed; and the
//! limits hold at the end.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::engine::SELECT_BYTES;
use super::tests::run_chunked_with;

/// One run's settings.
#[derive(Debug, Clone)]
struct Case {
    size: u64,
    num: u64,
    space: Option<u64>,
    zstd: bool,
    /// Rotate by age (with a clock moved far ahead) after these chunks.
    timer_every: Option<usize>,
    regex: bool,
}

fn script(c: &Case) -> Vec<String> {
    let mut a = vec![format!("s{}", c.size), format!("n{}", c.num)];
    if let Some(s) = c.space {
        a.push(format!("S{s}"));
    }
    if c.zstd {
        a.push("Z".into());
    }
    if c.timer_every.is_some() {
        a.push("R1".into());
    }
    if c.regex {
        a.extend(["-*".into(), "~+E[R]+".into(), "~+^q".into(), "~-^x".into()]);
    }
    a.push("./d".into());
    a
}

/// Run the script over `input` in `chunks`-sized reads; the directory.
fn run(c: &Case, input: &[u8], chunks: &[usize]) -> tempfile::TempDir {
    let args: Vec<OsString> = script(c).into_iter().map(OsString::from).collect();
    run_chunked_with(&args, input, chunks, |engine, i| {
        if c.timer_every.is_some_and(|k| i % k == 0) {
            engine.flush();
            let late = Instant::now() + Duration::from_secs(3600);
            assert_eq!(engine.timers_at(late), None);
        }
    })
}

/// Archives in label order (decompressed), their sizes on disk, and
/// `current`.
fn logged(dir: &std::path::Path) -> (Vec<Vec<u8>>, Vec<u64>, Vec<u8>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        !names.iter().any(|n| n.starts_with("compressing")),
        "{names:?}"
    );
    let mut archives = Vec::new();
    let mut sizes = Vec::new();
    for n in names.iter().filter(|n| n.starts_with('@')) {
        let bytes = std::fs::read(dir.join(n)).unwrap();
        sizes.push(bytes.len() as u64);
        archives.push(if n.ends_with(".s.zst") {
            zstd::decode_all(&bytes[..]).unwrap()
        } else {
            assert!(n.ends_with(".s"), "{n}");
            bytes
        });
    }
    (archives, sizes, std::fs::read(dir.join("current")).unwrap())
}

/// The lines a `-* ~+E[R]+ ~+^q ~-^x` script keeps (each completed with a
/// newline), decided on their first 1000 bytes.
fn selected(input: &[u8], regex: bool) -> Vec<u8> {
    let mut v = input.to_vec();
    if v.last().is_some_and(|&c| c != b'\n') {
        v.push(b'\n');
    }
    if !regex {
        return v;
    }
    v.split_inclusive(|&c| c == b'\n')
        .filter(|l| {
            let head = &l[..l.len().min(SELECT_BYTES)];
            let head = head.strip_suffix(b"\n").unwrap_or(head);
            (head.windows(2).any(|w| w == b"ER") || head.first() == Some(&b'q'))
                && head.first() != Some(&b'x')
        })
        .flatten()
        .copied()
        .collect()
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 0..120),
            1 => (0usize..3000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
            2 => Just(b"ERROR here\n".to_vec()),
            1 => Just(b"xERROR not\n".to_vec()),
            1 => Just(b"q yes\n".to_vec()),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

fn case() -> impl Strategy<Value = Case> {
    (
        4096u64..9000,
        prop_oneof![Just(1000u64), 2u64..6],
        proptest::option::of(0u64..40_000),
        any::<bool>(),
        proptest::option::of(1usize..6),
        any::<bool>(),
    )
        .prop_map(|(size, num, space, zstd, timer_every, regex)| Case {
            size,
            num,
            space,
            zstd,
            timer_every,
            regex,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn archives_and_current_are_the_selected_input_minus_oldest(
        c in case(),
        input in input(),
        chunks in proptest::collection::vec(1usize..5000, 1..6),
    ) {
        let dir = run(&c, &input, &chunks);
        let (archives, sizes, current) = logged(&dir.path().join("d"));
        let want = selected(&input, c.regex);
        let got: Vec<u8> = archives.concat().into_iter().chain(current).collect();
        prop_assert!(want.ends_with(&got), "not a suffix: {} of {} bytes", got.len(), want.len());
        prop_assert!((archives.len() as u64) < c.num);
        if let Some(cap) = c.space.filter(|&s| s > 0) {
            prop_assert!(sizes.iter().sum::<u64>() <= cap, "{sizes:?} > {cap}");
        }
        let nothing_removed = c.num == 1000 && c.space.is_none_or(|s| s == 0);
        if nothing_removed {
            prop_assert_eq!(got.len(), want.len());
        }
        for a in &archives {
            prop_assert!(a.len() as u64 <= c.size);
        }
    }
}
