//! The `svstat` program; see [`daemontools::supervise::svstat`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::svstat);
