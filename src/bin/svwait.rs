//! The `svwait` program; see [`daemontools::supervise::svwait`].
daemontools::std_main!(daemontools::supervise::svwait);
