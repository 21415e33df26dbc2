//! The `svscan` program; see [`daemontools::supervise::svscan`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::svscan);
