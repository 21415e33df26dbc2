//! Starting a service's supervise pair (`svscan.c:start`): a new entry,
//! its log pipe, and `supervise NAME` / `supervise log` forked with their
//! descriptors.

use super::*;

impl Scanner {
    /// A warning prefix built before `fork`, for the child to complete.
    fn child_warning(&self, parts: &[&[u8]]) -> Vec<u8> {
        error::prefix(self.prog, Kind::Warning, parts)
    }

    /// `NAME/log` exists (any type)? `Err` on a `stat` error other than
    /// ENOENT (svscan.c's check in `start`).
    fn has_log(fn_: &[u8]) -> Result<bool, Errno> {
        if fn_.len() > 255 {
            return Ok(false);
        }
        match rustix::fs::stat(OsStr::from_bytes(&cat(&[fn_, b"/", LOG.text.as_bytes()]))) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// An entry without a log and without a running main supervise whose
    /// `log` has appeared since: create the pipe now, so the supervise about
    /// to be started writes into it. (svscan.c decides only once.)
    fn relog(&mut self, i: usize, fn_: &[u8]) {
        let e = &self.table.x[i];
        if e.log.is_some() || e.pid != 0 || !matches!(Self::has_log(fn_), Ok(true)) {
            return;
        }
        match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
            Ok(p) => self.table.x[i].log = Some(p),
            Err(e) => self.warn(&[b"unable to create pipe for ", fn_, b": "], Some(e)),
        }
    }

    /// `start`: handle one directory entry.
    pub(super) fn start(&mut self, name: &OsStr, mode: Mode) {
        let fn_ = name.as_bytes();
        if fn_.first() == Some(&b'.') {
            return;
        }
        let st = match rustix::fs::stat(name) {
            Ok(st) => st,
            Err(e) => {
                self.waiting.remove(name);
                if matches!(mode, Mode::Placed | Mode::Waiting) {
                    return;
                }
                return self.warn(&[b"unable to stat ", fn_, b": "], Some(e));
            }
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            self.waiting.remove(name);
            return;
        }
        let (dev, ino) = (st.st_dev, st.st_ino);
        let i = match self.table.find(dev, ino) {
            Some(i) => {
                self.waiting.remove(name);
                self.relog(i, fn_);
                i
            }
            None => {
                if matches!(mode, Mode::Scan | Mode::Waiting) && self.defer(name, &st) {
                    return;
                }
                self.waiting.remove(name);
                if self.table.room().is_err() {
                    return self.warn(
                        &[b"unable to start ", fn_, b": running too many services"],
                        None,
                    );
                }
                let flaglog = match Self::has_log(fn_) {
                    Ok(f) => f,
                    Err(e) => {
                        return self.warn(
                            &[b"unable to stat ", fn_, b"/", LOG.text.as_bytes(), b": "],
                            Some(e),
                        )
                    }
                };
                let log = if flaglog {
                    match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            return self
                                .warn(&[b"unable to create pipe for ", fn_, b": "], Some(e));
                        }
                    }
                } else {
                    None
                };
                self.table.x.push(Entry {
                    dev,
                    ino,
                    pid: 0,
                    pidlog: 0,
                    active: false,
                    log,
                });
                self.table.x.len() - 1
            }
        };
        self.table.x[i].active = true;
        let arg0 = c"supervise";
        let Ok(cname) = CString::new(fn_) else { return };
        if self.table.x[i].pid == 0 {
            let setup = self.child_warning(&[b"unable to set up descriptors for ", fn_, b": "]);
            let exec_err = self.child_warning(&[b"unable to start supervise ", fn_, b": "]);
            let argv = CStrArray::new(vec![arg0.to_owned(), cname.clone()]);
            let detach = self.child_warning(&[b"unable to start a session for ", fn_, b": "]);
            let plan = spawn::ChildPlan {
                setsid: self.setsid.then_some(detach.as_slice()),
                fd_move: self.table.x[i]
                    .log
                    .as_ref()
                    .map(|(_, w)| (1, w.as_raw_fd(), setup.as_slice())),
                ..spawn::ChildPlan::new(&self.supervise, &argv, &self.envp, &exec_err)
            };
            match spawn::spawn(&plan) {
                Ok(pid) => self.table.x[i].pid = pid,
                Err(e) => return self.warn_io(&[b"unable to fork for ", fn_, b": "], &e),
            }
        }
        if self.table.x[i].log.is_some() && self.table.x[i].pidlog == 0 {
            let setup = self.child_warning(&[
                b"unable to set up descriptors for ",
                fn_,
                b"/",
                LOG.text.as_bytes(),
                b": ",
            ]);
            let switch = self.child_warning(&[b"unable to switch to ", fn_, b": "]);
            let exec_err = self.child_warning(&[
                b"unable to start supervise ",
                fn_,
                b"/",
                LOG.text.as_bytes(),
                b": ",
            ]);
            let argv = CStrArray::new(vec![arg0.to_owned(), LOG.path.to_owned()]);
            let detach = self.child_warning(&[
                b"unable to start a session for ",
                fn_,
                b"/",
                LOG.text.as_bytes(),
                b": ",
            ]);
            let plan = spawn::ChildPlan {
                setsid: self.setsid.then_some(detach.as_slice()),
                fd_move: self.table.x[i]
                    .log
                    .as_ref()
                    .map(|(r, _)| (0, r.as_raw_fd(), setup.as_slice())),
                chdir: Some((&cname, &switch)),
                ..spawn::ChildPlan::new(&self.supervise, &argv, &self.envp, &exec_err)
            };
            match spawn::spawn(&plan) {
                Ok(pid) => self.table.x[i].pidlog = pid,
                Err(e) => self.warn_io(
                    &[
                        b"unable to fork for ",
                        fn_,
                        b"/",
                        LOG.text.as_bytes(),
                        b": ",
                    ],
                    &e,
                ),
            }
        }
    }
}
