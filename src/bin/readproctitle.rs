//! The `readproctitle` program; see [`daemontools::supervise::readproctitle`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::readproctitle);
