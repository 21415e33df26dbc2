//! Access to the process's own argv strings, for readproctitle, which shows
//! its input in `ps` by overwriting its last argument in place (what
//! `/proc/PID/cmdline` reads).
//!
//! The original `argv` pointer is captured by an `.init_array` function
//! (glibc passes `argc, argv, envp` to those, which is also how std gets its
//! arguments). Where that is unavailable, the area is found through the
//! `arg_end` field of `/proc/self/stat` and the length of the last string in
//! `/proc/self/cmdline`.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

// SAFETY: glibc calls every `.init_array` entry once, before `main`, with
// (argc, argv, envp); `capture` matches that signature and only stores the
// two values in atomics.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[unsafe(link_section = ".init_array.00099")]
static CAPTURE: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut *mut libc::c_char) =
    capture;

#[allow(dead_code)]
extern "C" fn capture(
    argc: libc::c_int,
    argv: *mut *mut libc::c_char,
    _env: *mut *mut libc::c_char,
) {
    ARGC.store(usize::try_from(argc).unwrap_or(0), Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

/// The bytes of the last argument string, in the process's own argv memory.
pub struct LastArg {
    ptr: *mut u8,
    len: usize,
}

impl LastArg {
    /// Locate the last argument; `None` with fewer than two arguments or when
    /// the memory cannot be found.
    #[must_use]
    pub fn find() -> Option<LastArg> {
        let argc = ARGC.load(Ordering::Relaxed);
        let argv = ARGV.load(Ordering::Relaxed);
        if !argv.is_null() && argc > 0 {
            if argc < 2 {
                return None;
            }
            // SAFETY: glibc passed a valid argv of `argc` NUL-terminated
            // strings that live for the whole process; nothing has freed them.
            unsafe {
                let p = *argv.add(argc - 1);
                if p.is_null() {
                    return None;
                }
                let len = libc::strlen(p);
                return Some(LastArg { ptr: p.cast(), len });
            }
        }
        Self::from_proc()
    }

    fn from_proc() -> Option<LastArg> {
        let stat = std::fs::read("/proc/self/stat").ok()?;
        // Fields after the ")" that ends the command name; arg_end is field 49.
        let close = stat.iter().rposition(|&c| c == b')')?;
        let fields: Vec<&[u8]> = stat[close + 2..].split(|&c| c == b' ').collect();
        let arg_end: usize = std::str::from_utf8(fields.get(49 - 3)?)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read("/proc/self/cmdline").ok()?;
        let body = cmdline.strip_suffix(b"\0")?;
        if !body.contains(&0) {
            return None;
        }
        let len = body.len() - body.iter().rposition(|&c| c == 0)? - 1;
        Some(LastArg {
            ptr: (arg_end - 1 - len) as *mut u8,
            len,
        })
    }

    /// Length of the argument in bytes (without its NUL).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the argument is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrite the argument with `bytes` (at most `len()` bytes are used).
    pub fn set(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.len);
        // SAFETY: `ptr..ptr+len` is the process's own writable argv string
        // (stack memory set up by the kernel), found via glibc's argv or the
        // kernel's arg_end; `&mut self` makes this the only writer.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr, n) };
    }
}
