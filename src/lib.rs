//! daemontools-rs: a drop-in reimplementation of daemontools 0.76.
//!
//! | program | module |
//! |---|---|
//! | `multilog` | [`multilog`] |
//! | `tai64n` | [`filters::tai64n`] |
//! | `tai64nlocal` | [`filters::tai64nlocal`] |
//! | `tai64nfrac` | [`filters::tai64nfrac`] |
//! | `supervise` | [`supervise::supervise`] |
//! | `svscan` | [`supervise::svscan`] |
//! | `svscanboot` | [`supervise::svscanboot`] |
//! | `svc` | [`supervise::svc`] |
//! | `svstat` | [`supervise::svstat`] |
//! | `svok` | [`supervise::svok`] |
//! | `readproctitle` | [`supervise::readproctitle`] |
//! | `setuidgid` | [`chain::setuidgid`] |
//! | `envuidgid` | [`chain::envuidgid`] |
//! | `envdir` | [`chain::envdir`] |
//! | `softlimit` | [`chain::softlimit`] |
//! | `setlock` | [`chain::setlock`] |
//! | `pgrphack` | [`chain::pgrphack`] |
//! | `fghack` | [`chain::fghack`] |
//!
//! Every program is a thin binary in `src/bin/` calling its module's `main()`
//! or `run()`.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod chain;
pub mod error;
pub mod filters;
pub mod multilog;
pub mod supervise;
pub mod sys;
pub mod tai64;
