//! A random log directory as multilog and its helpers leave it, and the
//! stream of bytes its readers must see.

use std::path::Path;

use crate::logdir::names::{archive_name, Kind, CURRENT, PREVIOUS, PROCESSED, STATE};
use crate::tai64::Tai64N;

/// One archive.
#[derive(Clone, Debug)]
pub(super) struct Archive {
    /// Its label: `@` and 24 hex digits.
    pub label: Vec<u8>,
    /// How it is stored.
    pub kind: Kind,
    /// A compressor's `.s.zst` beside it (same bytes, the original not yet
    /// removed).
    pub twin: bool,
    /// Its bytes (uncompressed).
    pub bytes: Vec<u8>,
}

/// What a processor left: nothing, `previous` with a partial `processed`
/// and `state` (at work), `processed` and `state` but no `previous` (the
/// moment between its removal and the rename to `@….s`), `state` alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Proc {
    None,
    AtWork,
    Between,
    Idle,
}

/// A directory to write.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    /// The archives, in the order they were written (labels in any order:
    /// the clock may have stepped back).
    pub archives: Vec<Archive>,
    /// `previous`'s bytes, if a processor is at work.
    pub previous: Option<Vec<u8>>,
    pub proc: Proc,
    pub current: Vec<u8>,
}

/// One generated line: second, RFC 3339 stamp (else TAI64N), text.
pub(super) type Line = (u32, bool, String);
/// One generated cut: where, kind (0 `.s`, 1 `.u`, 2 `.s.zst`, 3 a
/// processor's `.s`), a twin (0), the label's seconds.
pub(super) type Cut = (usize, u8, u8, u32);

/// A line's stamp: a TAI64N label or an RFC 3339 stamp of second `s`.
pub(super) fn stamped(s: u32, rfc: bool, text: &str) -> Vec<u8> {
    let t = Tai64N::from_unix(1_700_000_000 + i64::from(s), s % 1000 * 1_000_000);
    let mut v = Vec::new();
    if rfc {
        assert!(crate::tai64::rfc3339::format(t, &mut v));
        v.push(b' ');
    } else {
        v.extend_from_slice(&t.stamp());
    }
    v.extend_from_slice(text.as_bytes());
    v.push(b'\n');
    v
}

impl Plan {
    /// The stream of `lines` cut at `cuts` into archives, the rest
    /// `current`. `whole`: cut only at line starts (multilog never cuts
    /// inside a stamp), and give labels in any order (clock steps);
    /// otherwise cut anywhere, labels rising.
    pub(super) fn new(lines: &[Line], cuts: &[Cut], whole: bool, proc: Proc) -> Plan {
        let data: Vec<u8> = lines
            .iter()
            .flat_map(|(s, r, t)| stamped(*s, *r, t))
            .collect();
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                data.iter()
                    .enumerate()
                    .filter(|c| *c.1 == b'\n')
                    .map(|c| c.0 + 1),
            )
            .collect();
        let mut at: Vec<(usize, &Cut)> = cuts
            .iter()
            .map(|c| {
                let p = c.0 % (data.len() + 1);
                let p = if whole {
                    starts[starts.partition_point(|&s| s < p)]
                } else {
                    p
                };
                (p, c)
            })
            .collect();
        at.sort_by_key(|a| a.0);
        let (mut from, mut archives) = (0, Vec::new());
        for (k, (to, &(_, kind, twin, secs))) in at.into_iter().enumerate() {
            let piece = data[from..to].to_vec();
            from = to;
            // Distinct labels: rising unless `whole`.
            let l = if whole {
                u64::from(secs)
            } else {
                k as u64 * 100_000 + u64::from(secs) % 100_000
            };
            let label = Tai64N::from_unix(1_800_000_000 + (l * 64 + k as u64) as i64, 0)
                .label()
                .to_vec();
            let (kind, bytes) = match kind {
                0 => (Kind::S, piece),
                1 => (Kind::U, piece),
                2 => (Kind::Zst, piece),
                // A processor's output: its own bytes, whole lines.
                _ => {
                    let mut b = b"proc ".to_vec();
                    b.extend_from_slice(&piece);
                    if b.last() != Some(&b'\n') {
                        b.push(b'\n');
                    }
                    (Kind::S, b)
                }
            };
            archives.push(Archive {
                label,
                twin: twin == 0 && kind != Kind::Zst,
                kind,
                bytes,
            });
        }
        // A processor at work on the newest rotation.
        let previous = if proc == Proc::AtWork {
            archives.pop().map(|a| a.bytes)
        } else {
            None
        };
        let proc = if proc == Proc::AtWork && previous.is_none() {
            Proc::Between
        } else {
            proc
        };
        Plan {
            archives,
            previous,
            proc,
            current: data[from..].to_vec(),
        }
    }

    /// The archives in label order.
    pub(super) fn ordered(&self) -> Vec<&Archive> {
        let mut v: Vec<&Archive> = self.archives.iter().collect();
        v.sort_by(|a, b| a.label.cmp(&b.label));
        v
    }

    /// What every reader reads: the archives in label order (but the one
    /// labelled `gone`), `previous`, `current`.
    pub(super) fn stream(&self, gone: Option<&[u8]>) -> Vec<u8> {
        let mut v = Vec::new();
        for a in self.ordered() {
            if Some(&a.label[..]) != gone {
                v.extend_from_slice(&a.bytes);
            }
        }
        v.extend(self.previous.iter().flatten());
        v.extend_from_slice(&self.current);
        v
    }

    /// Where each file's bytes start in [`Plan::stream`] of `gone`.
    pub(super) fn boundaries(&self, gone: Option<&[u8]>) -> Vec<usize> {
        let mut at = 0;
        let mut v = Vec::new();
        for a in self.ordered() {
            if Some(&a.label[..]) == gone {
                continue;
            }
            v.push(at);
            at += a.bytes.len();
        }
        if let Some(p) = &self.previous {
            v.push(at);
            at += p.len();
        }
        v.push(at);
        v
    }

    /// Write the directory at `dir` (made).
    pub(super) fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for a in &self.archives {
            let put = |k: Kind| {
                let body = if k == Kind::Zst {
                    zstd::encode_all(&a.bytes[..], 1).unwrap()
                } else {
                    a.bytes.clone()
                };
                std::fs::write(dir.join(archive_name(&a.label, k)), body).unwrap();
            };
            put(a.kind);
            if a.twin {
                put(Kind::Zst);
            }
        }
        if let Some(p) = &self.previous {
            std::fs::write(dir.join(PREVIOUS), p).unwrap();
        }
        if matches!(self.proc, Proc::AtWork | Proc::Between) {
            std::fs::write(dir.join(PROCESSED), b"proc partial output\n").unwrap();
        }
        if self.proc != Proc::None {
            std::fs::write(dir.join(STATE), b"state\n").unwrap();
        }
        std::fs::write(dir.join(CURRENT), &self.current).unwrap();
    }
}

/// The archive files in `dir` and their total size, as on disk.
pub(super) fn on_disk(dir: &Path) -> (u64, u64) {
    use std::os::unix::ffi::OsStrExt;
    let (mut n, mut bytes) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if crate::logdir::archive_kind(e.file_name().as_bytes()).is_some() {
            n += 1;
            bytes += e.metadata().unwrap().len();
        }
    }
    (n, bytes)
}
