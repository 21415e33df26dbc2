//! svscan's service table: one entry per service directory, found by its
//! (device, inode), with the pids of its supervise pair and its log pipe.

use std::os::fd::OwnedFd;

use super::SERVICES;

/// One service: identity, supervise pids and the log pipe.
#[derive(Debug)]
pub(crate) struct Entry {
    /// `st_dev` of the directory.
    pub(crate) dev: u64,
    /// `st_ino` of the directory.
    pub(crate) ino: u64,
    /// Pid of the main supervise, 0 if none.
    pub(crate) pid: i32,
    /// Pid of the log supervise, 0 if none.
    pub(crate) pidlog: i32,
    /// Seen in the current scan.
    pub(crate) active: bool,
    /// Read and write ends of the log pipe, if the service has a log.
    pub(crate) log: Option<(OwnedFd, OwnedFd)>,
}

/// The service table.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// The entries, in no particular order.
    pub(crate) x: Vec<Entry>,
}

/// Why a new entry could not be added.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// Already [`SERVICES`] entries.
    TooMany,
}

impl Table {
    /// Index of the entry for (dev, ino).
    #[must_use]
    pub(crate) fn find(&self, dev: u64, ino: u64) -> Option<usize> {
        self.x.iter().position(|e| e.ino == ino && e.dev == dev)
    }

    /// Check that a new entry fits.
    ///
    /// # Errors
    /// [`Full::TooMany`] at [`SERVICES`] entries.
    pub(crate) fn room(&self) -> Result<(), Full> {
        if self.x.len() >= SERVICES {
            Err(Full::TooMany)
        } else {
            Ok(())
        }
    }

    /// Clear the pid or log pid equal to `pid` (after it was reaped).
    pub(crate) fn reaped(&mut self, pid: i32) {
        for e in &mut self.x {
            if e.pid == pid {
                e.pid = 0;
                return;
            }
            if e.pidlog == pid {
                e.pidlog = 0;
                return;
            }
        }
    }

    /// Drop entries that vanished and have no supervise running (closing
    /// their pipe ends).
    pub(crate) fn prune(&mut self) {
        self.x.retain(|e| e.active || e.pid != 0 || e.pidlog != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dev: u64, ino: u64) -> Entry {
        Entry {
            dev,
            ino,
            pid: 0,
            pidlog: 0,
            active: true,
            log: None,
        }
    }

    #[test]
    fn table_cap_and_identity() {
        let mut t = Table::default();
        for i in 0..SERVICES as u64 {
            assert_eq!(t.room(), Ok(()));
            t.x.push(entry(1, i));
        }
        assert_eq!(t.room(), Err(Full::TooMany));
        assert_eq!(t.find(1, 999), Some(999));
        assert_eq!(t.find(2, 999), None);
    }

    #[test]
    fn prune_keeps_running_supervise() {
        let mut t = Table::default();
        for i in 0..4 {
            t.x.push(entry(1, i));
        }
        for e in &mut t.x {
            e.active = false;
        }
        t.x[1].pid = 10;
        t.x[2].pidlog = 11;
        t.x[3].active = true;
        t.prune();
        let inos: Vec<u64> = t.x.iter().map(|e| e.ino).collect();
        assert_eq!(inos, vec![1, 2, 3]);
        t.reaped(10);
        t.reaped(11);
        for e in &mut t.x {
            e.active = false;
        }
        t.prune();
        assert!(t.x.is_empty());
    }
}
