//! The chain-loading tools: `setuidgid`, `envuidgid`, `envdir`, `softlimit`,
//! `setlock`, `pgrphack`, `fghack` (daemontools 0.76 §12–§18).
//!
//! [`setuidgid`], [`envuidgid`], [`envdir`], [`softlimit`], [`setlock`] and
//! [`pgrphack`] each change one thing about the process and exec the rest of
//! their arguments; [`fghack`] runs its child and waits for every copy of a
//! pipe to close. One module per program, each with the `run` of the
//! crate's entry convention (see the crate documentation).
//!
//! The shared prologue and epilogue — the start-up state, byte-exact fatal and usage
//! messages, and the final "exec or die" step — are in [`prologue`]. The
//! system calls underneath (PATH search, environment edits, account lookup,
//! resource limits) are in [`crate::sys`]; djb's option parser is
//! [`crate::djb::getopt`].

pub mod envdir;
pub mod envuidgid;
pub mod fghack;
pub mod pgrphack;
pub(crate) mod prologue;
pub mod setlock;
pub mod setuidgid;
pub mod softlimit;
