//! The thin system-call layer: everything that needs `unsafe` or raw
//! descriptors lives below here, each block with a `// SAFETY:` line.
//!
//! Safe wrappers come from `rustix`; `libc` is used only where rustix has no
//! process-wide equivalent (account lookup, `setgroups`, resource limits).

pub mod processor;
/// `signal(SIGPIPE, SIG_DFL)`: undo the Rust runtime's `SIG_IGN`, so a filter
/// writing to a pipe whose reader has gone is killed by SIGPIPE, as the C
/// programs are (instead of seeing `EPIPE`).
pub fn sigpipe_default() {
    // SAFETY: installing SIG_DFL for SIGPIPE runs no handler code and touches
    // no memory; the call is async-signal-safe and valid at any time.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
pub mod account;
pub mod cmain;
pub mod pathexec;
pub mod proctitle;
pub mod signals;
pub mod spawn;
