//! The `svc` program; see [`daemontools::supervise::svc`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::svc);
