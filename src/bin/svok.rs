//! The `svok` program; see [`daemontools::supervise::svok`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::svok);
