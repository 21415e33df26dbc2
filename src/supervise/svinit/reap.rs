//! Finding and signalling what is left: the processes below svinit.
//!
//! As PID 1 of a namespace every process of the namespace is below svinit,
//! and the last SIGKILL is `kill(-1, SIGKILL)`. As a child subreaper
//! (`PR_SET_CHILD_SUBREAPER`), an orphan below svinit is re-parented to it,
//! so "what is left" is the process tree under svinit's pid, read from
//! each process's `/proc/PID/task/TID/children` (or, on kernels without
//! those files, from every `/proc/PID/stat`, whose fourth field is the
//! parent pid). The tree is only
//! read when `/proc` shows this process's own PID namespace
//! (`/proc/self` is svinit's pid): a `/proc` of another namespace would
//! name other processes.

use std::collections::{HashMap, HashSet};

use rustix::process::{Pid, Signal};

use crate::sys::init;

/// Does `/proc` show this process's PID namespace (`/proc/self` names
/// our own pid)?
pub(super) fn proc_is_ours() -> bool {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse::<i32>().ok()))
        == Some(me)
}

/// The parent pid in the text of `/proc/PID/stat`: the second field after
/// the command name, which ends at the last `)`.
pub(super) fn stat_ppid(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The children of `pid`, from `/proc/PID/task/TID/children` for each of
/// its threads (`CONFIG_PROC_CHILDREN`); `None` when the kernel has no such
/// file.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Some(out);
    };
    for t in tasks.flatten() {
        let path = t.path().join("children");
        match std::fs::read_to_string(&path) {
            Ok(s) => out.extend(
                s.split_ascii_whitespace()
                    .filter_map(|w| w.parse::<i32>().ok()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !t.path().exists() => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(_) => {}
        }
    }
    Some(out)
}

/// Parent → children of every process, from every `/proc/PID/stat`: the
/// slow way, for kernels without [`children_of`]'s files.
fn all_children() -> HashMap<i32, Vec<i32>> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return children;
    };
    for ent in dir.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(ppid) = stat_ppid(&stat) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    children
}

/// Every process below `root`, leaving out the subtrees rooted at the pids
/// in `spare` (the log supervise processes and their loggers, which are
/// still reading their pipes). Only the subtree is read, through each
/// process's `children` file; all of `/proc` when those are missing.
/// Empty when `/proc` is not ours.
pub(super) fn descendants(root: i32, spare: &[i32]) -> Vec<i32> {
    if !proc_is_ours() {
        return Vec::new();
    }
    let mut table: Option<HashMap<i32, Vec<i32>>> = None;
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        let kids = match table
            .as_ref()
            .map(|t| t.get(&p).cloned().unwrap_or_default())
        {
            Some(k) => k,
            None => match children_of(p) {
                Some(k) => k,
                None => {
                    let t = table.insert(all_children());
                    t.get(&p).cloned().unwrap_or_default()
                }
            },
        };
        for c in kids {
            if !spare.contains(&c) && seen.insert(c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// Send `sig` to every process below svinit but the `spare` subtrees
/// ([`descendants`]); the number signalled.
pub(super) fn signal_rest(sig: Signal, spare: &[i32]) -> usize {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let mut n = 0;
    for p in descendants(me, spare) {
        if let Some(pid) = Pid::from_raw(p) {
            if rustix::process::kill_process(pid, sig).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// SIGKILL everything below svinit: `kill(-1)` as PID 1 (exact, whatever
/// `/proc` shows), the process tree otherwise.
pub(super) fn kill_rest(pid1: bool) {
    if pid1 {
        init::kill_all(libc::SIGKILL);
    } else {
        signal_rest(Signal::KILL, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_after_the_last_parenthesis() {
        assert_eq!(stat_ppid("12 (sh) S 7 12 12 0"), Some(7));
        assert_eq!(stat_ppid("13 (a) b) (c) R 1 13 13"), Some(1));
        assert_eq!(stat_ppid("14 (x"), None);
    }

    #[test]
    fn our_children_are_found_and_spared() {
        assert!(proc_is_ours());
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let mut a = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut b = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let (pa, pb) = (a.id() as i32, b.id() as i32);
        let all = descendants(me, &[]);
        assert!(all.contains(&pa) && all.contains(&pb), "{all:?}");
        let spared = descendants(me, &[pb]);
        assert!(spared.contains(&pa) && !spared.contains(&pb));
        let _ = a.kill();
        let _ = b.kill();
        let _ = a.wait();
        let _ = b.wait();
    }
}
