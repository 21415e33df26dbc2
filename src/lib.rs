//! daemontools-rs: a drop-in reimplementation of daemontools 0.76.
//!
//! | program | module |
//! |---|---|
//! | `multilog` | [`multilog`] |
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
pub mod supervise;
pub mod sys;
pub mod tai64;
