//! Accounts and process credentials: `getpwnam(3)` and djb's `prot.c`.
//!
//! The account name is bytes (any non-NUL bytes are looked up as given).
//! `setgroups`, `setgid` and `setuid` go through libc, whose wrappers change
//! the credentials of **every** thread of the process (rustix's raw calls
//! change only the calling thread's).

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// The fields of a `struct passwd` that daemontools uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    /// `pw_uid`.
    pub(crate) uid: libc::uid_t,
    /// `pw_gid` (the primary group).
    pub(crate) gid: libc::gid_t,
}

/// `getpwnam(3)` (reentrant form). `None` when the account does not exist
/// or cannot be looked up — daemontools does not tell these apart either.
#[must_use]
pub(crate) fn getpwnam(name: &OsStr) -> Option<Account> {
    let name = CString::new(name.as_bytes()).ok()?;
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: a zeroed passwd is a valid out-parameter.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call and `buf.len()` is the
        // true size of `buf`; the result points into `pw`/`buf`, both live.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &raw mut pw,
                buf.as_mut_ptr(),
                buf.len(),
                &raw mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return Some(Account {
            uid: pw.pw_uid,
            gid: pw.pw_gid,
        });
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `prot_gid`: `setgroups(1, [gid])`, then `setgid(gid)`.
///
/// # Errors
/// The first failing call's error (daemontools reports both as
/// `unable to setgid`).
pub(crate) fn prot_gid(gid: libc::gid_t) -> io::Result<()> {
    // SAFETY: the list pointer is valid for one element.
    check(unsafe { libc::setgroups(1, &raw const gid) })?;
    // SAFETY: plain system call wrapper.
    check(unsafe { libc::setgid(gid) })
}

/// `prot_uid`: `setuid(uid)`.
///
/// # Errors
/// The `setuid` error.
pub(crate) fn prot_uid(uid: libc::uid_t) -> io::Result<()> {
    // SAFETY: plain system call wrapper.
    check(unsafe { libc::setuid(uid) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_missing() {
        assert_eq!(
            getpwnam(OsStr::new("root")),
            Some(Account { uid: 0, gid: 0 })
        );
        assert_eq!(getpwnam(OsStr::new("no-such-account-xyz")), None);
        assert_eq!(getpwnam(OsStr::new("")), None);
    }
}
