//! Saving one cursor again and again, as cheaply as the guarantees allow.
//!
//! [`super::cursor_file::write_atomic`] makes a new temporary file for
//! each save; at full speed logship saves twice a window (every 512
//! messages by default), and creating and deleting an inode each time
//! cost more CPU than everything else logship does per line (ext4's
//! inode allocator searches past recently deleted inodes). So a cursor
//! being shipped keeps one spare file beside it, `CURSOR.tmp.PID.N`
//! (created exclusively, never through a link, mode 0644), and each save
//! writes the new content into the spare through the descriptor held,
//! fsyncs it, and swaps the two names in one step (renameat2(2)
//! `RENAME_EXCHANGE`), then fsyncs the directory: a reader of the name
//! sees the old content or the new, whole, also after a crash of the
//! machine, as before. The spare then holds the previous content and is
//! written over at the next save. It is removed at the end; one a crash
//! left is removed at the next start, with the other temporary files
//! ([`super::cursor_file::lock`]).
//!
//! Where the file system cannot exchange names (`EINVAL`), and for the
//! first save (no cursor yet), the spare is renamed over the cursor as
//! `write_atomic` does.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::{RenameFlags, CWD};
use rustix::io::Errno;

use super::cursor_file::{make_tmp, sync_dir};

/// The saver of one cursor.
pub struct Saver {
    path: PathBuf,
    /// The spare file and its descriptor.
    spare: Option<(PathBuf, File)>,
    /// The descriptor of the file under the cursor's name, once known.
    current: Option<File>,
    /// The directory, for its fsync.
    dir: Option<File>,
    /// The file system exchanges names.
    exchange: bool,
}

impl Saver {
    /// A saver for the cursor `path`.
    #[must_use]
    pub fn new(path: PathBuf) -> Saver {
        Saver {
            path,
            spare: None,
            current: None,
            dir: None,
            exchange: true,
        }
    }

    /// Save `data` as the cursor's whole content (see the module's
    /// comment).
    ///
    /// # Errors
    /// A create, write, fsync or rename failed; the cursor keeps its
    /// previous content.
    pub fn save(&mut self, data: &[u8]) -> io::Result<()> {
        let r = self.save_in(data);
        if r.is_err() {
            // Start afresh next time: no descriptor is trusted after a
            // failure.
            self.discard();
        }
        r
    }

    fn save_in(&mut self, data: &[u8]) -> io::Result<()> {
        let (tmp, f) = match self.spare.take() {
            Some(s) => s,
            None => make_tmp(&self.path, false)?,
        };
        // Written over, then cut to its length: the file keeps its block
        // (the content is about the same length each time).
        f.write_all_at(data, 0)?;
        f.set_len(data.len() as u64)?;
        f.sync_all()?;
        let exchanged = self.exchange
            && match rustix::fs::renameat_with(CWD, &tmp, CWD, &self.path, RenameFlags::EXCHANGE) {
                Ok(()) => true,
                // No cursor yet: renamed below.
                Err(Errno::NOENT) => false,
                Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {
                    self.exchange = false;
                    false
                }
                Err(e) => {
                    self.spare = Some((tmp, f));
                    return Err(e.into());
                }
            };
        if exchanged {
            // The spare's name now holds the previous content: its file
            // is written over next time, through a descriptor opened
            // without following a link (the name held the cursor a moment
            // ago, a regular file of ours).
            let old = match self.current.take() {
                Some(c) => c,
                None => open_spare(&tmp)?,
            };
            self.current = Some(f);
            self.spare = Some((tmp, old));
        } else {
            if let Err(e) = std::fs::rename(&tmp, &self.path) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            self.current = Some(f);
        }
        if self.dir.is_none() {
            let d = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            self.dir = Some(File::open(d)?);
        }
        self.dir.as_ref().map_or(Ok(()), sync_dir)
    }

    /// Remove the spare file and forget the descriptors.
    fn discard(&mut self) {
        if let Some((tmp, _)) = self.spare.take() {
            let _ = std::fs::remove_file(tmp);
        }
        self.current = None;
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Open the spare `p` to write, never through a link, regular files only.
fn open_spare(p: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(p)?;
    if f.metadata()?.is_file() {
        Ok(f)
    } else {
        Err(io::Error::from_raw_os_error(libc::EINVAL))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_swap_two_files_and_leave_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("logship-x");
        let names = || {
            let mut v: Vec<String> = std::fs::read_dir(d.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let mut s = Saver::new(c.clone());
        s.save(b"first\n").unwrap();
        assert_eq!(std::fs::read(&c).unwrap(), b"first\n");
        assert_eq!(names(), ["logship-x"]);
        let mut inodes = std::collections::HashSet::new();
        for i in 0..10 {
            let text = format!("save {i}{}\n", "x".repeat(10 - i));
            s.save(text.as_bytes()).unwrap();
            assert_eq!(std::fs::read_to_string(&c).unwrap(), text);
            use std::os::unix::fs::MetadataExt;
            inodes.insert(std::fs::metadata(&c).unwrap().ino());
            assert_eq!(names().len(), 2, "{:?}", names());
        }
        // Two files take turns under the name.
        assert_eq!(inodes.len(), 2);
        drop(s);
        assert_eq!(names(), ["logship-x"]);
        assert_eq!(std::fs::read_to_string(&c).unwrap(), "save 9x\n");
        // A cursor left by an earlier process is taken over the same way.
        let mut s = Saver::new(c.clone());
        s.save(b"a\n").unwrap();
        s.save(b"b\n").unwrap();
        assert_eq!(std::fs::read(&c).unwrap(), b"b\n");
    }
}
