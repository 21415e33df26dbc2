//! Error reporting in daemontools' own words.
//!
//! Ports `strerr_die.c`, `strerr_sys.c` and `error_str.c`: every message is one
//! line, `"{prog}: fatal: {text}"` or `"{prog}: warning: {text}"`, and the errno
//! part is djb's table, never `strerror(3)` and never Rust's `(os error N)`.
//! A message is written with a single `write(2)` so that concurrent writers on
//! the same stderr do not interleave inside a line.

use std::io::{self, Write};
use std::process::ExitCode;

/// Exit code for a usage error (`die_usage`).
pub const EXIT_USAGE: u8 = 100;
/// Exit code for a temporary (fatal) failure (`strerr_die` with 111).
pub const EXIT_TEMP: u8 = 111;

/// djb's text for an errno value (`error_str.c:error_str`).
#[must_use]
pub fn errno_str(errno: i32) -> &'static str {
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
pub fn reason(err: &io::Error) -> &'static str {
    errno_str(err.raw_os_error().unwrap_or(-1))
}

/// djb's text for a rustix errno.
#[must_use]
pub fn reason_errno(err: rustix::io::Errno) -> &'static str {
    errno_str(err.raw_os_error())
}

/// A fatal start-up error: `"{prog}: fatal: {what}: {reason}"`, exit 111.
///
/// `what` holds everything before the errno text (djb's caller pieces); when
/// `cause` is `None` the message ends with `what` alone.
#[derive(Debug)]
pub struct Fatal {
    /// The text before `": reason"`, e.g. `unable to lock directory ./main`.
    pub what: String,
    /// The error whose djb text follows, if any.
    pub cause: Option<io::Error>,
    /// The exit code (111 unless a caller says otherwise).
    pub code: u8,
}

impl Fatal {
    /// A fatal error with an errno part.
    pub fn new(what: impl Into<String>, cause: io::Error) -> Self {
        Fatal {
            what: what.into(),
            cause: Some(cause),
            code: EXIT_TEMP,
        }
    }

    /// A fatal error without an errno part.
    pub fn plain(what: impl Into<String>) -> Self {
        Fatal {
            what: what.into(),
            cause: None,
            code: EXIT_TEMP,
        }
    }

    /// The message line (without the program prefix), e.g.
    /// `fatal: unable to open directory d: file does not exist`.
    #[must_use]
    pub fn message(&self, prog: &str) -> Vec<u8> {
        let mut m = format!("{prog}: fatal: {}", self.what).into_bytes();
        if let Some(e) = &self.cause {
            m.extend_from_slice(b": ");
            m.extend_from_slice(reason(e).as_bytes());
        }
        m.push(b'\n');
        m
    }

    /// Print the message to stderr and return the exit code.
    pub fn report(&self, prog: &str) -> ExitCode {
        emit(&self.message(prog));
        ExitCode::from(self.code)
    }
}

/// Attach daemontools wording to a failing result: `.unable(|| "lock directory d")`.
pub trait Unable<T> {
    /// On error, make a [`Fatal`] reading `unable to {what()}: {reason}`.
    ///
    /// # Errors
    /// Returns the wrapped error as a [`Fatal`].
    fn unable<F: FnOnce() -> String>(self, what: F) -> Result<T, Fatal>;
}

impl<T> Unable<T> for io::Result<T> {
    fn unable<F: FnOnce() -> String>(self, what: F) -> Result<T, Fatal> {
        self.map_err(|e| Fatal::new(format!("unable to {}", what()), e))
    }
}

impl<T> Unable<T> for rustix::io::Result<T> {
    fn unable<F: FnOnce() -> String>(self, what: F) -> Result<T, Fatal> {
        self.map_err(|e| {
            Fatal::new(
                format!("unable to {}", what()),
                io::Error::from_raw_os_error(e.raw_os_error()),
            )
        })
    }
}

/// Write one whole message to stderr with a single write, ignoring errors
/// (daemontools ignores errors on fd 2 too).
pub fn emit(msg: &[u8]) {
    let stderr = io::stderr();
    let mut lock = stderr.lock();
    let _ = lock.write_all(msg);
    let _ = lock.flush();
}

/// Print `"{prog}: warning: {text}: {reason}"`.
pub fn warn(prog: &str, text: &str, cause: Option<&io::Error>) {
    let mut m = format!("{prog}: warning: {text}").into_bytes();
    if let Some(e) = cause {
        m.extend_from_slice(b": ");
        m.extend_from_slice(reason(e).as_bytes());
    }
    m.push(b'\n');
    emit(&m);
}

/// Print a usage line `"{prog}: usage: {usage}"` and return exit 100.
pub fn usage(prog: &str, usage: &str) -> ExitCode {
    emit(format!("{prog}: usage: {usage}\n").as_bytes());
    ExitCode::from(EXIT_USAGE)
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
