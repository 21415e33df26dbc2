//! Access to the process's own argv strings, for readproctitle, which shows
//! its input in `ps` by overwriting its last argument in place (what
//! `/proc/PID/cmdline` reads).
//!
//! The strings are the ones the C `main` received: a [`LastArg`] is made only
//! by [`super::cmain::MainArgs::from_c_main`], from the real `argv`, so it
//! never writes anywhere else (an address parsed from `/proc` is not used).

/// The bytes of the last argument string, in the process's own argv memory.
///
/// Not `Send`: it stays on the thread that runs `main`.
#[derive(Debug)]
pub(crate) struct LastArg {
    ptr: *mut u8,
    len: usize,
}

impl LastArg {
    /// The last of `argc` arguments; `None` with fewer than two arguments.
    ///
    /// # Safety
    /// `argv` must be the `argv` of the C `main` (`argc` pointers to
    /// NUL-terminated strings), whose strings are writable and live for the
    /// whole process. For as long as the result is used, nothing else may
    /// write the last string or read it while [`LastArg::set`] runs (in
    /// particular `std::env::args_os` on another thread), and no other
    /// `LastArg` for it may exist.
    pub(crate) unsafe fn from_argv(
        argc: libc::c_int,
        argv: *const *mut libc::c_char,
    ) -> Option<LastArg> {
        let argc = usize::try_from(argc).ok()?;
        if argc < 2 || argv.is_null() {
            return None;
        }
        // SAFETY: `argv` holds `argc` pointers (contract), so index argc-1 is
        // in bounds.
        let p = unsafe { *argv.add(argc - 1) };
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` is a NUL-terminated string (contract).
        let len = unsafe { libc::strlen(p) };
        Some(LastArg { ptr: p.cast(), len })
    }

    /// Length of the argument in bytes (without its NUL).
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Overwrite the argument with `bytes` (at most `len()` bytes are used;
    /// the terminating NUL is never touched).
    pub(crate) fn set(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.len);
        // SAFETY: `ptr..ptr+len` is the writable last argv string of the C
        // `main` (contract of `from_argv`), with no other writer or reader
        // now; `&mut self` makes this the only `LastArg` writing, and `bytes`
        // is a distinct Rust slice, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr, n) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_inside_the_last_string() {
        let mut a0 = *b"prog\0";
        let mut a1 = *b"area.\0guard";
        let argv = [
            a0.as_mut_ptr().cast::<libc::c_char>(),
            a1.as_mut_ptr().cast(),
        ];
        {
            // SAFETY: `argv` holds two valid NUL-terminated, writable strings
            // that outlive `arg`, and nothing else touches them meanwhile.
            let mut arg = unsafe { LastArg::from_argv(2, argv.as_ptr()) }.unwrap();
            assert_eq!(arg.len(), 5);
            arg.set(b"0123456789");
        }
        assert_eq!(&a1, b"01234\0guard");
        assert_eq!(&a0, b"prog\0");
        // SAFETY: as above.
        assert!(unsafe { LastArg::from_argv(1, argv.as_ptr()) }.is_none());
    }
}
