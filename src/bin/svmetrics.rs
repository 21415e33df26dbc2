//! The `svmetrics` program; see [`daemontools::supervise::svmetrics`].
daemontools::std_main!(daemontools::supervise::svmetrics);
