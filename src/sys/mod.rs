//! The thin system-call layer: everything that needs `unsafe` or raw
//! descriptors lives below here, each block with a `// SAFETY:` line.
//!
//! Safe wrappers come from `rustix`; `libc` is used only where rustix has no
//! process-wide equivalent (account lookup, `setgroups`, resource limits).

pub mod account;
pub mod cmain;
pub mod pathexec;
pub mod processor;
pub mod proctitle;
pub mod signals;
pub mod spawn;
