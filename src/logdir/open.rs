//! Opening the files of a log directory: under the name an archive has
//! by then (finished, compressed since the listing: the twin rule of
//! [`super::names::Kind`]), without waiting (a FIFO), without following a
//! symbolic link, and only a regular file.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::error;

use super::files::LogFile;
use super::names::twin_names;

/// Open `path` for reading, without following a symbolic link (`nofollow`:
/// a link named like an archive must not make root ship a file only root
/// may read) and without waiting (a FIFO would block `open` until a writer
/// came), and only if it is a regular file: `Ok(None)` if it is not.
///
/// # Errors
/// The open fails (`NotFound` if it has gone).
pub(crate) fn open_regular(path: &Path, nofollow: bool) -> io::Result<Option<File>> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    if nofollow {
        flags |= OFlags::NOFOLLOW;
    }
    let f = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        // O_NOFOLLOW met a symbolic link.
        Err(rustix::io::Errno::LOOP) if nofollow => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(f.metadata()?.file_type().is_file().then_some(f))
}

/// `unable to read PATH: not a regular file`.
pub(crate) fn not_regular(path: &Path) -> String {
    format!("unable to read {}: not a regular file", path.display())
}

/// An archive opened, or why not.
#[derive(Debug)]
pub(crate) enum Opened {
    /// The file, and the name it was found under (a `.s.zst` is returned
    /// compressed).
    File(File, PathBuf),
    /// None of its names is there.
    Gone,
    /// The name found is not a regular file (a link, a FIFO, a directory):
    /// not read, but not lost either.
    Skipped(PathBuf),
    /// Opening the name found failed otherwise.
    Failed(PathBuf, io::Error),
}

/// The first of `names` (an archive's names, in the twin rule's order)
/// that `probe` finds: `Ok(None)` if every one is not found, the name and
/// the error if `probe` fails otherwise.
///
/// Tried in the rule's order, a name can move on behind the reader: the
/// finisher renames `.u` to `.s` after `.s` was tried and before `.u` is,
/// or a compressor replaces `.s` with `.s.zst`. A label moves at most
/// twice (`.u` → `.s` → `.s.zst`), so a third pass finds it unless it has
/// really gone. (With one pass, logship counted such an archive as
/// deleted and went on without its lines.)
///
/// # Errors
/// `probe`'s, other than `NotFound`, with the name it failed on.
pub(crate) fn first_found<T>(
    names: &[PathBuf],
    mut probe: impl FnMut(&Path) -> io::Result<T>,
) -> Result<Option<(PathBuf, T)>, (PathBuf, io::Error)> {
    for _ in 0..PASSES {
        for p in names {
            match probe(p) {
                Ok(t) => return Ok(Some((p.clone(), t))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => missed(p),
                Err(e) => return Err((p.clone(), e)),
            }
        }
    }
    Ok(None)
}

/// Open the archive listed as `path` under the first of its
/// [`twin_names`] still there ([`first_found`]), never through a link
/// ([`open_regular`]).
pub(crate) fn open_twin(path: &Path) -> Opened {
    race_point(path);
    match first_found(&twin_names(path), |p| open_regular(p, true)) {
        Ok(Some((p, Some(f)))) => Opened::File(f, p),
        Ok(Some((p, None))) => Opened::Skipped(p),
        Ok(None) => Opened::Gone,
        Err((p, e)) => Opened::Failed(p, e),
    }
}

/// Passes over an archive's names before it counts as gone: one more than
/// the moves a label can make (see [`first_found`]).
const PASSES: usize = 3;

/// [`open_twin`] for `prog`, which reads what it can: `None` if the
/// archive has gone; a file that is not regular and other errors give a
/// warning (then `said` is set) and `None`.
pub(crate) fn open_archive(
    prog: &str,
    f: &LogFile,
    said: &std::cell::Cell<bool>,
) -> Option<(File, PathBuf)> {
    match open_twin(&f.path) {
        Opened::File(file, p) => Some((file, p)),
        Opened::Gone => None,
        Opened::Skipped(p) => {
            error::warn(prog, &not_regular(&p), None);
            said.set(true);
            None
        }
        Opened::Failed(p, e) => {
            error::warn(prog, &format!("unable to open {}", p.display()), Some(&e));
            said.set(true);
            None
        }
    }
}

#[cfg(test)]
type Race = Box<dyn FnMut(&Path)>;

#[cfg(test)]
thread_local! {
    /// What a test does to the directory at [`race_point`].
    static RACE: std::cell::RefCell<Option<Race>> = const { std::cell::RefCell::new(None) };
}

/// A reader listed `listed` and is about to open or stat it: the moment a
/// finisher's, a compressor's or retention's rename or removal races it.
/// Tests make the directory change here ([`set_race`]); otherwise nothing.
#[cfg_attr(not(test), inline(always))]
pub(crate) fn race_point(listed: &Path) {
    #[cfg(test)]
    run_hook(&RACE, listed);
    #[cfg(not(test))]
    let _ = listed;
}

/// Run the test's hook `hook` on `p`, if one is set.
#[cfg(test)]
fn run_hook(hook: &'static std::thread::LocalKey<std::cell::RefCell<Option<Race>>>, p: &Path) {
    hook.with(|r| {
        // Taken out while it runs: what it does is not itself raced.
        let f = r.borrow_mut().take();
        if let Some(mut f) = f {
            f(p);
            *r.borrow_mut() = Some(f);
        }
    });
}

/// A reader tried `name` of an archive and did not find it: the moment
/// the finisher's rename races it. Tests rename here ([`set_miss`]).
#[cfg_attr(not(test), inline(always))]
pub(crate) fn missed(name: &Path) {
    #[cfg(test)]
    run_hook(&MISS, name);
    #[cfg(not(test))]
    let _ = name;
}

#[cfg(test)]
thread_local! {
    /// What a test does to the directory at [`missed`].
    static MISS: std::cell::RefCell<Option<Race>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` at every [`missed`] of this thread (for the rest of the
/// thread: tests run each in its own).
#[cfg(test)]
pub(crate) fn set_miss(f: impl FnMut(&Path) + 'static) {
    MISS.with(|r| *r.borrow_mut() = Some(Box::new(f)));
}

/// Run `f` at every [`race_point`] of this thread until the result is
/// dropped.
#[cfg(test)]
pub(crate) fn set_race(f: impl FnMut(&Path) + 'static) -> RaceGuard {
    RACE.with(|r| *r.borrow_mut() = Some(Box::new(f)));
    RaceGuard
}

/// Ends a [`set_race`].
#[cfg(test)]
pub(crate) struct RaceGuard;

#[cfg(test)]
impl Drop for RaceGuard {
    fn drop(&mut self) {
        RACE.with(|r| *r.borrow_mut() = None);
    }
}

#[cfg(test)]
mod twin_race_tests {
    use super::*;

    /// The finisher renames `.u` to `.s` just after the reader found no
    /// `.s`: the archive is still opened, under its new name.
    #[test]
    fn a_u_finished_between_two_names_is_found() {
        let d = tempfile::tempdir().unwrap();
        let label = "@400000006a1b2c3d0000000a";
        let u = d.path().join(format!("{label}.u"));
        let s = d.path().join(format!("{label}.s"));
        std::fs::write(&u, b"line\n").unwrap();
        let (from, to) = (u.clone(), s.clone());
        set_miss(move |name| {
            if name == to && from.exists() {
                std::fs::rename(&from, &to).unwrap();
            }
        });
        match open_twin(&u) {
            Opened::File(_, p) => assert_eq!(p, s),
            other => panic!("{other:?}"),
        }
        // Really gone: every name tried, then gone.
        std::fs::remove_file(&s).unwrap();
        assert!(matches!(open_twin(&u), Opened::Gone));
    }
}
