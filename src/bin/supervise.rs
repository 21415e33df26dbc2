//! The `supervise` program; see [`daemontools::supervise::supervise`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::supervise);
