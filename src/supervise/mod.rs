//! The process-control programs of daemontools.
//!
//! The chain-loading tools each do one thing to the process state and then
//! exec the rest of their arguments: [`setuidgid`], [`envuidgid`],
//! [`envdir`], [`softlimit`], [`setlock`], [`pgrphack`]; [`fghack`] runs its
//! child and waits for every descriptor copy to close. Shared pieces are in
//! [`chain`].

pub mod chain;
pub mod envdir;
pub mod envuidgid;
pub mod fghack;
pub mod pgrphack;
pub mod setlock;
pub mod setuidgid;
pub mod softlimit;
