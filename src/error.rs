//! Error reporting in daemontools' own words.
//!
//! Ports `strerr_die.c`, `strerr_sys.c` and `error_str.c`: every message is one
//! line, `"{prog}: fatal: {text}"` or `"{prog}: warning: {text}"`, and the errno
//! part is djb's table, never `strerror(3)` and never Rust's `(os error N)`.
//! A message is written with a single `write(2)` so that concurrent writers on
//! the same stderr do not interleave inside a line.

use std::io::{self, Write};

/// Exit code for a usage error (`die_usage`).
pub(crate) const EXIT_USAGE: u8 = 100;
/// Exit code for a temporary (fatal) failure (`strerr_die` with 111).
pub(crate) const EXIT_TEMP: u8 = 111;

/// djb's text for an errno value (`error_str.c:error_str`).
#[must_use]
pub(crate) fn errno_str(errno: i32) -> &'static str {
    use libc::*;
    // The order matters only where two constants share a value on Linux
    // (EAGAIN == EWOULDBLOCK, EDEADLK == EDEADLOCK): djb tests EAGAIN first.
    match errno {
        0 => "no error",
        EINTR => "interrupted system call",
        ENOMEM => "out of memory",
        ENOENT => "file does not exist",
        ETXTBSY => "text busy",
        EIO => "input/output error",
        EEXIST => "file already exists",
        ETIMEDOUT => "timed out",
        EINPROGRESS => "operation in progress",
        EAGAIN => "temporary failure",
        EPIPE => "broken pipe",
        EPERM => "permission denied",
        EACCES => "access denied",
        ENXIO => "device not configured",
        EPROTO => "protocol error",
        EISDIR => "is a directory",
        ECONNREFUSED => "connection refused",
        ENOTDIR => "not a directory",
        ESRCH => "no such process",
        E2BIG => "argument list too long",
        ENOEXEC => "exec format error",
        EBADF => "file descriptor not open",
        ECHILD => "no child processes",
        EDEADLK => "operation would cause deadlock",
        EFAULT => "bad address",
        ENOTBLK => "not a block device",
        EBUSY => "device busy",
        EXDEV => "cross-device link",
        ENODEV => "device does not support operation",
        EINVAL => "invalid argument",
        ENFILE => "system cannot open more files",
        EMFILE => "process cannot open more files",
        ENOTTY => "not a tty",
        EFBIG => "file too big",
        ENOSPC => "out of disk space",
        ESPIPE => "unseekable descriptor",
        EROFS => "read-only file system",
        EMLINK => "too many links",
        EDOM => "input out of range",
        ERANGE => "output out of range",
        EALREADY => "operation already in progress",
        ENOTSOCK => "not a socket",
        EDESTADDRREQ => "destination address required",
        EMSGSIZE => "message too long",
        EPROTOTYPE => "incorrect protocol type",
        ENOPROTOOPT => "protocol not available",
        EPROTONOSUPPORT => "protocol not supported",
        ESOCKTNOSUPPORT => "socket type not supported",
        EOPNOTSUPP => "operation not supported",
        EPFNOSUPPORT => "protocol family not supported",
        EAFNOSUPPORT => "address family not supported",
        EADDRINUSE => "address already used",
        EADDRNOTAVAIL => "address not available",
        ENETDOWN => "network down",
        ENETUNREACH => "network unreachable",
        ENETRESET => "network reset",
        ECONNABORTED => "connection aborted",
        ECONNRESET => "connection reset",
        ENOBUFS => "out of buffer space",
        EISCONN => "already connected",
        ENOTCONN => "not connected",
        ESHUTDOWN => "socket shut down",
        ETOOMANYREFS => "too many references",
        ELOOP => "symbolic link loop",
        ENAMETOOLONG => "file name too long",
        EHOSTDOWN => "host down",
        EHOSTUNREACH => "host unreachable",
        ENOTEMPTY => "directory not empty",
        EUSERS => "too many users",
        EDQUOT => "disk quota exceeded",
        ESTALE => "stale NFS file handle",
        EREMOTE => "too many levels of remote in path",
        ENOLCK => "no locks available",
        ENOSYS => "system call not available",
        EIDRM => "identifier removed",
        ENOMSG => "no message of desired type",
        ENOSTR => "not a stream device",
        ETIME => "timer expired",
        ENOSR => "out of stream resources",
        EBADMSG => "bad message type",
        ENOLINK => "link severed",
        EMULTIHOP => "multihop attempted",
        _ => "unknown error",
    }
}

/// djb's text for an I/O error (errno when there is one, `unknown error` otherwise).
#[must_use]
pub(crate) fn reason(err: &io::Error) -> &'static str {
    errno_str(err.raw_os_error().unwrap_or(-1))
}

/// djb's text for a rustix errno.
#[must_use]
pub(crate) fn reason_errno(err: rustix::io::Errno) -> &'static str {
    errno_str(err.raw_os_error())
}

/// The kind of a message line: the word after `"{prog}: "`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `prog: fatal: ...` (`strerr_die`).
    Fatal,
    /// `prog: warning: ...` (`strerr_warn`).
    Warning,
    /// `prog: usage: ...` (`die_usage`).
    Usage,
}

impl Kind {
    fn word(self) -> &'static [u8] {
        match self {
            Kind::Fatal => b": fatal: ",
            Kind::Warning => b": warning: ",
            Kind::Usage => b": usage: ",
        }
    }
}

/// The start of a message line, `"{prog}: {kind}: "` and `parts`, without
/// the reason and the newline ([`finish`] or [`with_errno`] add them).
///
/// As in djb's `strerr_*` calls, a caller that wants an errno text after
/// its pieces ends them with `": "` itself. Build the prefix before `fork`
/// when the child is to report an `exec` failure ([`with_errno`]).
#[must_use]
pub(crate) fn prefix(prog: &str, kind: Kind, parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Vec::with_capacity(128);
    m.extend_from_slice(prog.as_bytes());
    m.extend_from_slice(kind.word());
    for p in parts {
        m.extend_from_slice(p);
    }
    m
}

/// Complete a [`prefix`]: append `reason` (if any) and the newline.
#[must_use]
pub(crate) fn finish(mut m: Vec<u8>, reason: Option<&str>) -> Vec<u8> {
    if let Some(r) = reason {
        m.extend_from_slice(r.as_bytes());
    }
    m.push(b'\n');
    m
}

/// The three pieces of a pre-built [`prefix`] completed with djb's text for
/// `errno`: `[prefix, text, "\n"]`. Allocates nothing, so a forked child may
/// use it (written with one `writev`).
#[must_use]
pub(crate) fn with_errno(prefix: &[u8], errno: i32) -> [&[u8]; 3] {
    [prefix, errno_str(errno).as_bytes(), b"\n"]
}

/// Build a whole line ([`prefix`] + `reason` + newline) and [`emit`] it.
pub(crate) fn say(prog: &str, kind: Kind, parts: &[&[u8]], reason: Option<&str>) {
    emit(&finish(prefix(prog, kind, parts), reason));
}

/// A fatal start-up error: `"{prog}: fatal: {what}: {reason}"`, exit 111.
///
/// `what` holds everything before the errno text (djb's caller pieces, any
/// bytes); when `cause` is `None` the message ends with `what` alone.
#[derive(Debug)]
pub struct Fatal {
    /// The text before `": reason"`, e.g. `unable to lock directory ./main`.
    pub(crate) what: Vec<u8>,
    /// The error whose djb text follows, if any.
    pub(crate) cause: Option<io::Error>,
    /// The exit code (111 unless a caller says otherwise).
    pub(crate) code: u8,
}

impl Fatal {
    /// A fatal error with an errno part.
    pub(crate) fn new(what: impl Into<Vec<u8>>, cause: impl Into<io::Error>) -> Self {
        Fatal {
            what: what.into(),
            cause: Some(cause.into()),
            code: EXIT_TEMP,
        }
    }

    /// A fatal error without an errno part.
    pub fn plain(what: impl Into<Vec<u8>>) -> Self {
        Fatal {
            what: what.into(),
            cause: None,
            code: EXIT_TEMP,
        }
    }

    /// The whole message line, e.g.
    /// `multilog: fatal: unable to open directory d: file does not exist`.
    #[must_use]
    pub(crate) fn message(&self, prog: &str) -> Vec<u8> {
        match &self.cause {
            Some(e) => finish(
                prefix(prog, Kind::Fatal, &[&self.what, b": "]),
                Some(reason(e)),
            ),
            None => finish(prefix(prog, Kind::Fatal, &[&self.what]), None),
        }
    }

    /// Print it as a warning (`prog: warning: ...`): the program goes on
    /// without what failed.
    pub(crate) fn warn(&self, prog: &str) {
        match &self.cause {
            Some(e) => say(prog, Kind::Warning, &[&self.what, b": "], Some(reason(e))),
            None => say(prog, Kind::Warning, &[&self.what], None),
        }
    }

    /// Print the message to stderr and return the exit code.
    pub(crate) fn report(&self, prog: &str) -> u8 {
        emit(&self.message(prog));
        self.code
    }
}

/// Attach daemontools wording to a failing result: `.unable(|| "lock directory d")`.
pub(crate) trait Unable<T> {
    /// On error, make a [`Fatal`] reading `unable to {what()}: {reason}`.
    ///
    /// # Errors
    /// Returns the wrapped error as a [`Fatal`].
    fn unable<F: FnOnce() -> String>(self, what: F) -> Result<T, Fatal>;
}

impl<T, E: Into<io::Error>> Unable<T> for Result<T, E> {
    fn unable<F: FnOnce() -> String>(self, what: F) -> Result<T, Fatal> {
        self.map_err(|e| Fatal::new(format!("unable to {}", what()), e))
    }
}

/// Write one whole message to stderr with a single write, ignoring errors
/// (daemontools ignores errors on fd 2 too).
pub(crate) fn emit(msg: &[u8]) {
    let stderr = io::stderr();
    let mut lock = stderr.lock();
    let _ = lock.write_all(msg);
    let _ = lock.flush();
}

/// Print `"{prog}: warning: {text}: {reason}"` (`text` alone without a cause).
pub(crate) fn warn(prog: &str, text: &str, cause: Option<&io::Error>) {
    match cause {
        Some(e) => say(
            prog,
            Kind::Warning,
            &[text.as_bytes(), b": "],
            Some(reason(e)),
        ),
        None => say(prog, Kind::Warning, &[text.as_bytes()], None),
    }
}

/// Print a usage line `"{prog}: usage: {usage}"`; returns [`EXIT_USAGE`],
/// the exit code that goes with it except where daemontools says otherwise.
pub(crate) fn usage(prog: &str, usage: &str) -> u8 {
    say(prog, Kind::Usage, &[usage.as_bytes()], None);
    EXIT_USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn djb_wording() {
        assert_eq!(errno_str(libc::ENOENT), "file does not exist");
        assert_eq!(errno_str(libc::EAGAIN), "temporary failure");
        assert_eq!(errno_str(libc::EWOULDBLOCK), "temporary failure");
        assert_eq!(errno_str(libc::ENOSPC), "out of disk space");
        assert_eq!(errno_str(libc::EACCES), "access denied");
        assert_eq!(errno_str(9999), "unknown error");
    }

    #[test]
    fn prefix_then_reason() {
        let p = prefix("svscan", Kind::Warning, &[b"unable to start \xff", b": "]);
        assert_eq!(
            with_errno(&p, libc::ENOENT).concat(),
            b"svscan: warning: unable to start \xff: file does not exist\n"
        );
        assert_eq!(
            finish(prefix("svok", Kind::Usage, &[b"svok dir"]), None),
            b"svok: usage: svok dir\n"
        );
    }

    #[test]
    fn fatal_message_has_no_os_error_suffix() {
        let f = Fatal::new(
            "unable to open directory d",
            io::Error::from_raw_os_error(libc::ENOTDIR),
        );
        assert_eq!(
            f.message("multilog"),
            b"multilog: fatal: unable to open directory d: not a directory\n"
        );
        assert_eq!(
            Fatal::plain("unknown account x").message("setuidgid"),
            b"setuidgid: fatal: unknown account x\n"
        );
    }
}
