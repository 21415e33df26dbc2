//! Renames and removals racing a reader: done at the moment the reader
//! has listed an archive and is about to open or stat it
//! ([`crate::logdir::open::race_point`]), as multilog's finisher, its
//! compressor and retention do them.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::logdir::names::{archive_name, loose_kind, Kind};
use crate::logdir::open::{set_race, RaceGuard};
use crate::tai64::LABEL_LEN;

/// What happens to an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// The finisher: `.u` renamed `.s`.
    Finish,
    /// The compressor, done: `.s.zst` in place, then the original removed.
    Compress,
    /// The compressor, half done: `.s.zst` in place beside the original.
    TwinAppears,
    /// The compressor's last step: the original beside a `.s.zst` removed.
    OriginalGoes,
    /// Retention: every name of the label removed.
    Retention,
}

/// The ops by number.
pub(super) const OPS: [Op; 5] = [
    Op::Finish,
    Op::Compress,
    Op::TwinAppears,
    Op::OriginalGoes,
    Op::Retention,
];

/// Do `op` to the archive labelled `label` in `dir`.
pub(super) fn apply(dir: &Path, label: &[u8], op: Op) {
    let p = |k: Kind| dir.join(archive_name(label, k));
    let original = [Kind::S, Kind::U].into_iter().map(p).find(|p| p.exists());
    match op {
        Op::Finish => {
            if p(Kind::U).exists() && !p(Kind::S).exists() {
                std::fs::rename(p(Kind::U), p(Kind::S)).unwrap();
            }
        }
        Op::Compress | Op::TwinAppears => {
            if let Some(o) = original {
                let z = zstd::encode_all(&std::fs::read(&o).unwrap()[..], 1).unwrap();
                // Written aside, renamed into place: never seen partial.
                let tmp = dir.join("compressing0");
                std::fs::write(&tmp, z).unwrap();
                std::fs::rename(&tmp, p(Kind::Zst)).unwrap();
                if op == Op::Compress {
                    std::fs::remove_file(o).unwrap();
                }
            }
        }
        Op::OriginalGoes => {
            if let (Some(o), true) = (original, p(Kind::Zst).exists()) {
                std::fs::remove_file(o).unwrap();
            }
        }
        Op::Retention => {
            for k in [Kind::S, Kind::U, Kind::Zst] {
                let _ = std::fs::remove_file(p(k));
            }
        }
    }
}

/// A race set on this thread: `op` done to the archive labelled `label`
/// in `dir` the first time a reader is about to open one of its names.
pub(super) struct Race {
    _guard: RaceGuard,
    fired: Rc<Cell<bool>>,
}

impl Race {
    /// Set the race (`None`: no race).
    pub(super) fn set(dir: &Path, race: Option<(Vec<u8>, Op)>) -> Race {
        let fired = Rc::new(Cell::new(false));
        let f = Rc::clone(&fired);
        let dir: PathBuf = dir.to_path_buf();
        let guard = set_race(move |listed: &Path| {
            use std::os::unix::ffi::OsStrExt;
            let Some((label, op)) = &race else { return };
            let name = listed.file_name().map_or(&[][..], |n| n.as_bytes());
            if f.get() || loose_kind(name).is_none() || name[..LABEL_LEN] != label[..] {
                return;
            }
            f.set(true);
            apply(&dir, label, *op);
        });
        Race {
            _guard: guard,
            fired,
        }
    }

    /// Whether the op was done.
    pub(super) fn fired(&self) -> bool {
        self.fired.get()
    }
}
