//! The `svstat-json` program; see [`daemontools::supervise::svstat_json`].
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
daemontools::c_main!(daemontools::supervise::svstat_json);
