//! daemontools-rs: a drop-in reimplementation of daemontools 0.76.
//!
//! | program | module |
//! |---|---|
//! | `multilog` | [`multilog`] |
//! | `tai64n` | [`filters::tai64n`] |
//! | `tai64nlocal` | [`filters::tai64nlocal`] |
//! | `tai64nfrac` | [`filters::tai64nfrac`] |
//! | `supervise` `svscan` `svc` `svstat` `svok` `readproctitle` | [`supervise`] |
//! | `setuidgid` | [`supervise::setuidgid`] |
//! | `envuidgid` | [`supervise::envuidgid`] |
//! | `envdir` | [`supervise::envdir`] |
//! | `softlimit` | [`supervise::softlimit`] |
//! | `setlock` | [`supervise::setlock`] |
//! | `pgrphack` | [`supervise::pgrphack`] |
//! | `fghack` | [`supervise::fghack`] |
//!
//! Every program is a thin binary in `src/bin/` calling a `main()` here.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod error;
pub mod filters;
pub mod multilog;
pub mod supervise;
pub mod sys;
pub mod tai64;
