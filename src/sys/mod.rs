//! The thin system-call layer: everything that needs `unsafe` or raw
//! descriptors lives below here, each block with a `// SAFETY:` line.
//!
//! Safe wrappers come from `rustix`; `libc` is used only where rustix has no
//! process-wide equivalent (account lookup, `setgroups`, resource limits).

pub(crate) mod account;
pub mod cmain;
pub(crate) mod init;
pub(crate) mod outlive;
pub mod pathexec;
pub(crate) mod processor;
pub(crate) mod proctitle;
pub mod signals;
pub(crate) mod spawn;
