//! The `svinit` program; see [`daemontools::supervise::svinit`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::svinit);
